"""The assistant every channel talks to: offline answers by default, a grounded LLM answer when configured."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import openai

from bot.config import Config, LLMConfig
from bot.llm.answers import Answer, Facade
from bot.llm.client import LLMClient, LLMTurnError
from bot.llm.context import ConversationMemory
from bot.llm.grounding import collect, ungrounded
from bot.llm.nlu import IntentClassifier, trained_classifier
from bot.llm.offline import OfflineAssistant, Understanding
from bot.llm.prompts import system_prompt
from bot.llm.tools import BoundTools, Redactor, ToolCallError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantReply:
    text: str
    intent: str                       # the offline model's reading of the question ("unclear" when it asked)
    confidence: float
    source: str                       # "offline" or "llm"
    suggestions: tuple[str, ...] = ()  # follow-up questions, e.g. for buttons


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
                                       offline.suggestions)
        if self.llm is None or understanding.refused:
            return offline_reply
        try:
            async with asyncio.timeout(self.llm_config.timeout_s):
                reply = await self._llm_answer(customer_id, text, history)
        except TimeoutError:
            log.warning("LLM turn exceeded %.1f s; answering offline", self.llm_config.timeout_s)
            return offline_reply
        except (openai.APIError, json.JSONDecodeError, ToolCallError, LLMTurnError) as exc:
            log.warning("LLM turn failed (%s: %s); answering offline", type(exc).__name__, exc)
            return offline_reply
        except Exception:   # a model must never take the channel down with it
            log.warning("LLM turn failed unexpectedly; answering offline", exc_info=True)
            return offline_reply
        if reply is None:
            return offline_reply
        if state.turns:
            state.turns[-1] = (text, reply)
        return AssistantReply(reply, understanding.intent, understanding.confidence, "llm", offline.suggestions)

    async def _llm_answer(self, customer_id: str, text: str, history: list[tuple[str, str]]) -> str | None:
        """The model's reply if every figure in it is grounded in this turn's tool results, else None."""
        assert self.llm is not None
        share = self.llm_config.share_personal_data
        redactor = None if share else await asyncio.to_thread(self._redactor, customer_id)
        scrub = (lambda s: s) if redactor is None else redactor.text
        personal = f"The customer's ID is {customer_id}." if share else None
        messages: list[dict[str, Any]] = [{"role": "system",
                                           "content": system_prompt(await asyncio.to_thread(self.insights.as_of),
                                                                    personal)}]
        for user, assistant in history:
            messages += [{"role": "user", "content": scrub(user)}, {"role": "assistant", "content": scrub(assistant)}]
        messages.append({"role": "user", "content": scrub(text)})
        tools = BoundTools(self.insights, customer_id, redactor)
        reply = await self.llm.run_turn(messages, tools)
        problems = ungrounded(reply, collect(tools.results, text))
        if problems:
            log.warning("LLM reply failed the grounding check (%s); answering offline", ", ".join(problems[:5]))
            return None
        return reply

    def _redactor(self, customer_id: str) -> Redactor:
        """Scrubs the customer's ID and home location (sync: reads the profile)."""
        secrets: tuple[str, ...] = (customer_id,)
        try:
            location = self.insights.profile(customer_id).location
        except Exception:  # an unknown customer has no location to hide; the tools will say so
            location = None
        return Redactor(secrets + ((location,) if location else ()))

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()


def build_assistant(config: Config, insights: Facade, classifier: IntentClassifier | None = None) -> Assistant:
    """The one way channels get an assistant: offline or LLM per `[llm] provider`."""
    return Assistant(insights, config.llm, classifier=classifier)


__all__ = ["Answer", "Assistant", "AssistantReply", "Understanding", "build_assistant"]
