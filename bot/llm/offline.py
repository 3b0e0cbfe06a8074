"""The offline assistant: intent model + slots + conversation context -> a template answer from the facade."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from analytics import periods
from bot.llm import answers
from bot.llm.answers import Answer, Facade, Request
from bot.llm.context import ConversationState
from bot.llm.guard import is_off_limits, other_customer_ids
from bot.llm.nlu import IntentClassifier
from bot.llm.slots import Slots, extract_slots, normalize, resolve_month
from bot.services.errors import CustomerNotFound, InvalidMonth, NoData, NotTrained

log = logging.getLogger(__name__)

DATA_INTENTS = frozenset(answers.TEMPLATES) - {"help", "greeting", "thanks", "out_of_scope", "handoff"}
# A follow-up naming a category ("what about dining?") after these is a question about that category's spending.
_TO_CATEGORY = ("spending_summary", "compare_months", "monthly_report", "income", "subscriptions",
                "recent_transactions")
# A message that starts like a follow-up keeps the previous question with new details.
_FOLLOWUP = re.compile(r"^(and|what about|how about|aur|also|ok and|n|&|then|same for|what of)\b|^\W*$")


@dataclass(frozen=True)
class Understanding:
    intent: str                 # a TEMPLATES key or "unclear"
    confidence: float
    slots: Slots
    ranked: tuple[tuple[str, float], ...] = ()
    refused: bool = False       # another customer's data or an injection attempt


class OfflineAssistant:
    """Understands a question and answers it from the facade; remembers context in the state it is given."""

    def __init__(self, insights: Facade, classifier: IntentClassifier, threshold: float | None = None) -> None:
        self.insights = insights
        self.classifier = classifier
        self.threshold = classifier.threshold_ if threshold is None else threshold

    # ---- understanding ---------------------------------------------------------------------------------
    def understand(self, text: str, customer_id: str | None = None,
                   state: ConversationState | None = None) -> Understanding:
        slots = extract_slots(text)
        if is_off_limits(text, customer_id):
            return Understanding("out_of_scope", 1.0, slots, refused=True)
        own = re.sub(rf"\b{re.escape(customer_id)}\b", "my account", text, flags=re.I) if customer_id else text
        guess = self.classifier.guess(own)
        intent, confidence = guess.intent, guess.confidence
        if state is not None and state.pending_intent and slots.amount is not None and (
                confidence < 0.6 or len(normalize(text).split()) <= 3):
            return Understanding(state.pending_intent, max(confidence, 0.9), slots, guess.ranked)
        last = state.last_intent if state is not None else None
        if last in DATA_INTENTS and self._is_followup(text, slots, intent, confidence, last):
            intent = last
            if slots.categories and intent in _TO_CATEGORY:
                intent = "spending_category"
            return Understanding(intent, max(confidence, 0.9), slots, guess.ranked)
        if intent == "spending_summary" and slots.categories:
            intent = "spending_category"
        if confidence < self.threshold:
            return Understanding("unclear", confidence, slots, guess.ranked)
        return Understanding(intent, confidence, slots, guess.ranked)

    @staticmethod
    def _is_followup(text: str, slots: Slots, intent: str, confidence: float, last: str | None = None) -> bool:
        """'and the month before?', 'what about dining?', 'aug?', 'last 10?': slots with little else."""
        if slots.is_empty() or slots.amount is not None and not slots.months:
            return False
        if slots.count is not None and not (slots.months or slots.categories or slots.kind) \
                and last != "recent_transactions":
            return False          # "last 10?" only continues a list of transactions
        clean = normalize(text)
        if _FOLLOWUP.search(clean):
            return True
        return len(clean.split()) <= 4 and (confidence < 0.6 or intent in ("spending_category", "compare_months"))

    # ---- answering -------------------------------------------------------------------------------------
    def request_for(self, understanding: Understanding, state: ConversationState | None) -> Request:
        as_of = self.insights.as_of()
        context_month = state.month if state is not None else None
        months = tuple(resolve_month(m, as_of, context_month) for m in understanding.slots.months)
        categories = understanding.slots.categories
        kind = understanding.slots.kind
        count = understanding.slots.count
        followup_of_same = state is not None and understanding.intent == state.last_intent
        if state is not None and followup_of_same:
            if not months and state.month and categories:
                months = (state.month,)
            if not categories and understanding.intent == "spending_category":
                categories = state.categories
            kind = kind or state.kind
            count = count if count is not None else state.count
        return Request(understanding.intent, months, categories, understanding.slots.amount, kind, count)

    def respond(self, customer_id: str, text: str, state: ConversationState) -> tuple[Understanding, Answer]:
        """Answer one message and update the conversation state (sync: it reads the store)."""
        understanding = self.understand(text, customer_id, state)
        if understanding.refused:
            refusal = answers.OTHER_CUSTOMER_REFUSAL if other_customer_ids(text, customer_id) else answers.REFUSAL
            answer = Answer(refusal, answers.DEFAULT_SUGGESTIONS)
        elif understanding.intent == "unclear":
            answer = self._clarify(understanding)
        else:
            request = self.request_for(understanding, state)
            answer = self._answer(customer_id, request)
            if understanding.intent in DATA_INTENTS:
                state.last_intent = understanding.intent
                state.month = answer.month or (request.month if request.month else state.month)
                state.categories = request.categories or state.categories
                state.kind = request.kind
                state.count = request.count
            state.pending_intent = understanding.intent if answer.needs else None
        state.turns.append((text, answer.text))
        return understanding, answer

    def _answer(self, customer_id: str, request: Request) -> Answer:
        template = answers.TEMPLATES[request.intent]
        try:
            return template(self.insights, customer_id, request)
        except CustomerNotFound:
            return Answer("I can't find your account in our records, so I can't answer that.")
        except (InvalidMonth, NoData):
            return self._no_month(customer_id, request)
        except NotTrained:
            return Answer("That needs our customer models, which haven't been built yet. Please try later.",
                          answers.DEFAULT_SUGGESTIONS)

    def _no_month(self, customer_id: str, request: Request) -> Answer:
        months = self.insights.months_available(customer_id)
        asked = periods.month_label(request.month) if request.month else "that period"
        if not months:
            return Answer("I don't have any transactions for your account yet.")
        have = ", ".join(periods.month_label(m) for m in months[-6:])
        return Answer(f"I don't have data for {asked}. I have: {have}.",
                      tuple(f"Spending in {periods.month_label(m)}" for m in months[-2:]))

    @staticmethod
    def _clarify(understanding: Understanding) -> Answer:
        options = [answers.EXAMPLES[i] for i, _ in understanding.ranked if i in answers.EXAMPLES][:3]
        if len(options) < 2:
            options = list(answers.DEFAULT_SUGGESTIONS)
        return Answer("Sorry, I'm not sure what you mean. Did you want one of these?\n"
                      + "\n".join(f"• {o}" for o in options), tuple(options))
