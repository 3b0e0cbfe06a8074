"""The assistant every channel talks to: offline answers by default, a grounded LLM answer when configured."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from analytics import periods
from bot.config import Config, LLMConfig
from bot.llm import answers
from bot.llm.answers import Answer, Facade
from bot.llm.client import LLMClient, LLMTurnError, ResponseTooLarge
from bot.llm.context import ConversationMemory, ConversationState
from bot.llm.grounding import collect, ungrounded
from bot.llm.nlu import IntentClassifier, trained_classifier
from bot.llm.offline import OfflineAssistant, Understanding
from bot.llm.privacy import PLACEHOLDER, Redactor, drop_personal
from bot.llm.prompts import system_prompt
from bot.llm.tools import BoundTools, ToolCallError
from bot.services.errors import CustomerNotFound, NoData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantReply:
    text: str
    intent: str                       # the offline model's reading of the question ("unclear" when it asked)
    confidence: float
    source: str                       # "offline" or "llm"
    suggestions: tuple[str, ...] = ()  # follow-up questions, e.g. for buttons
    fallback: str | None = None       # why the LLM's answer was not used: "timeout", "ungrounded", ...
    action: str | None = None         # what the channel must do beyond replying: "handoff" (to a person)
    offer_handoff: bool = False       # the assistant could not help twice in a row: offer a person (a button)


# A turn the assistant could not help with: it asked back, or the question was out of scope (a refusal too).
# After this many in a row it offers a person; an LLM answer counts as help.
FAILED_INTENTS = frozenset({"unclear", "out_of_scope"})
OFFER_HANDOFF_AFTER = 2


class Ungrounded(ValueError):
    """The model's reply has figures no tool returned this turn."""


def fallback_reason(exc: BaseException) -> str:
    """A short, stable name for why an LLM turn was answered offline (logs, tests, metrics)."""
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, ResponseTooLarge) or isinstance(exc.__cause__, ResponseTooLarge):
        return "response too large"
    if isinstance(exc, Ungrounded):
        return "ungrounded"
    if isinstance(exc, openai.APIStatusError):
        return f"http {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError | httpx2.RequestError):
        return "connection"
    if isinstance(exc, json.JSONDecodeError):
        return "malformed response"
    if isinstance(exc, ToolCallError):
        return "bad tool call"
    if isinstance(exc, LLMTurnError):
        return "unusable reply"
    return "error"


def check_grounding(reply: str, results: list[Any], clock: tuple[Any, ...]) -> list[str]:
    """The ungrounded figures of a reply (sync and linear-time: the assistant runs it in a worker thread)."""
    facts = collect((drop_personal(r) for r in results), clock)
    return ungrounded(PLACEHOLDER.sub(" ", reply), facts)


class Assistant:
    """`await assistant.answer(customer_id, text, conversation_id)`; never raises for a model failure."""

    def __init__(self, insights: Facade, llm_config: LLMConfig, classifier: IntentClassifier | None = None,
                 memory: ConversationMemory | None = None) -> None:
        self.insights = insights
        self.llm_config = llm_config
        self.offline = OfflineAssistant(insights, classifier or trained_classifier())
        self.memory = memory or ConversationMemory()
        self.llm = LLMClient(llm_config) if llm_config.provider == "openai" else None

    async def answer(self, customer_id: str, text: str, conversation_id: str) -> AssistantReply:
        state = self.memory.get(conversation_id, customer_id)
        history = list(state.turns)
        understanding, offline = await asyncio.to_thread(self.offline.respond, customer_id, text, state)
        offline_reply = AssistantReply(offline.text, understanding.intent, understanding.confidence, "offline",
                                       offline.suggestions, action=offline.action)
        # A handoff is an action, not a question: no model is asked about it.
        if self.llm is None or understanding.refused or offline.action is not None:
            return self._after_turn(state, offline_reply)
        try:
            # One budget for the whole turn: redaction, every tool round and the grounding check.
            async with asyncio.timeout(self.llm_config.timeout_s):
                reply = await self._llm_answer(customer_id, text, history, state)
        except Exception as exc:   # a model must never take the channel down with it
            reason = fallback_reason(exc)
            if reason == "timeout":
                log.warning("LLM turn exceeded %.1f s; answering offline", self.llm_config.timeout_s)
            elif reason == "ungrounded":
                log.warning("LLM reply failed the grounding check (%s); answering offline", exc)
            elif reason == "error":
                log.warning("LLM turn failed unexpectedly; answering offline", exc_info=True)
            else:
                log.warning("LLM turn failed (%s: %s); answering offline", reason, exc.__cause__ or exc)
            return self._after_turn(state, dataclasses.replace(offline_reply, fallback=reason))
        if state.turns:
            state.turns[-1] = (text, reply)
        return self._after_turn(state, AssistantReply(reply, understanding.intent, understanding.confidence, "llm",
                                                      offline.suggestions))

    @staticmethod
    def _after_turn(state: ConversationState, reply: AssistantReply) -> AssistantReply:
        """Count turns it could not help with; on the second in a row, offer a person (and start counting again)."""
        if reply.source != "offline" or reply.intent not in FAILED_INTENTS:
            state.failures = 0
            return reply
        state.failures += 1
        if state.failures < OFFER_HANDOFF_AFTER:
            return reply
        state.failures = 0
        text = f"{reply.text}\n\n{answers.HANDOFF_OFFER}"
        if state.turns:
            state.turns[-1] = (state.turns[-1][0], text)
        return dataclasses.replace(reply, text=text, offer_handoff=True)

    def recent_turns(self, conversation_id: str, customer_id: str) -> tuple[tuple[str, str], ...]:
        """The conversation's last few (customer, assistant) turns, oldest first: context for a person taking over."""
        return self.memory.turns(conversation_id, customer_id)

    async def _llm_answer(self, customer_id: str, text: str, history: list[tuple[str, str]],
                          state: ConversationState) -> str:
        """The model's reply if every figure in it is grounded in this turn's tool results; else raises."""
        assert self.llm is not None
        share = self.llm_config.share_personal_data
        redactor = None if share else await asyncio.to_thread(self._redactor, customer_id, state)
        as_of = await asyncio.to_thread(self.insights.as_of)
        personal = f"The customer's ID is {customer_id}." if share else None
        messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(as_of, personal)}]
        for user, assistant in history:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        messages.append({"role": "user", "content": text})
        tools = BoundTools(self.insights, customer_id)
        reply = await self.llm.run_turn(messages, tools, outgoing=redactor.messages if redactor else None)
        clock = (as_of, periods.this_month(as_of), periods.last_complete_month(as_of))
        problems = await asyncio.to_thread(check_grounding, reply, list(tools.results), clock)
        if problems:
            raise Ungrounded("no tool returned " + ", ".join(problems[:5]))
        if redactor is None:
            return reply
        state.remember_private(redactor.hidden)
        return redactor.restore(reply)

    def _redactor(self, customer_id: str, state: ConversationState) -> Redactor:
        """Hides what the store knows about the customer, and what this conversation hid before (sync)."""
        try:
            details = self.insights.personal_details(customer_id)  # type: ignore[attr-defined]
        except (CustomerNotFound, NoData):    # no rows: nothing personal to know; the tools will say so
            details = None
        return Redactor(details, customer_id, tuple(state.private_terms.items()))

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()


def build_assistant(config: Config, insights: Facade, classifier: IntentClassifier | None = None) -> Assistant:
    """The one way channels get an assistant: offline or LLM per `[llm] provider`."""
    return Assistant(insights, config.llm, classifier=classifier)


__all__ = ["Answer", "Assistant", "AssistantReply", "Understanding", "build_assistant"]
