"""Short per-conversation memory (last intent, month, categories, recent turns) so follow-ups make sense."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass
class ConversationState:
    """What the last turns were about. Mutable, owned by one conversation, guarded by the memory's lock."""

    customer_id: str
    last_intent: str | None = None
    month: str | None = None                # the month the last answer was about, "YYYY-MM"
    categories: tuple[str, ...] = ()
    kind: str | None = None
    pending_intent: str | None = None       # asked a question back (e.g. "how much does it cost?")
    count: int | None = None                # how many transactions the last list showed, when asked for
    failures: int = 0                       # turns in a row the assistant could not help (a handoff is offered)
    turns: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=4))   # (user, assistant)
    touched: float = field(default_factory=time.monotonic)
    # Personal values the LLM redactor hid in this conversation (value -> kind, e.g. a name the customer typed),
    # hidden again in later turns wherever they appear; bounded like the turns.
    private_terms: dict[str, str] = field(default_factory=dict)

    def remember_private(self, terms: dict[str, str], limit: int = 200) -> None:
        for term, kind in terms.items():
            self.private_terms.setdefault(term, kind)
        while len(self.private_terms) > limit:
            self.private_terms.pop(next(iter(self.private_terms)))


class ConversationMemory:
    """Bounded, expiring map of conversation id -> state; a new customer on the same id starts afresh."""

    def __init__(self, max_conversations: int = 10_000, ttl_s: float = 30 * 60) -> None:
        self.max_conversations = max_conversations
        self.ttl_s = ttl_s
        self._states: OrderedDict[str, ConversationState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation_id: str, customer_id: str) -> ConversationState:
        now = time.monotonic()
        with self._lock:
            state = self._states.get(conversation_id)
            if state is None or state.customer_id != customer_id or now - state.touched > self.ttl_s:
                state = ConversationState(customer_id)
                self._states[conversation_id] = state
            state.touched = now
            self._states.move_to_end(conversation_id)
            while len(self._states) > self.max_conversations:
                self._states.popitem(last=False)
            return state

    def turns(self, conversation_id: str, customer_id: str) -> tuple[tuple[str, str], ...]:
        """A copy of the recent turns of a live conversation with this customer (() when there is none)."""
        with self._lock:
            state = self._states.get(conversation_id)
            if state is None or state.customer_id != customer_id or time.monotonic() - state.touched > self.ttl_s:
                return ()
            return tuple(state.turns)

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._states.pop(conversation_id, None)
