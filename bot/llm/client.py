"""One LLM turn over any OpenAI-compatible Chat Completions endpoint: a short tool loop, then the reply text."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from openai import AsyncOpenAI

from bot.config import LLMConfig
from bot.llm.tools import BoundTools

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 4


class LLMTurnError(RuntimeError):
    """The model's answer was unusable (no choices, empty text, too many tool rounds)."""


class LLMClient:
    """Wraps `AsyncOpenAI`; the caller puts the whole turn under `asyncio.timeout` for a hard budget."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.client = AsyncOpenAI(
            base_url=config.base_url or None,
            api_key=config.api_key or "not-needed",
            timeout=config.timeout_s,
            max_retries=0,     # a retry would blow the turn's budget; the offline answer is the fallback
        )

    async def run_turn(self, messages: list[dict[str, Any]], tools: BoundTools) -> str:
        """Chat until the model answers in text; tool calls run for the bound customer (in a thread)."""
        messages = list(messages)
        for _ in range(MAX_TOOL_ROUNDS + 1):
            response = await self.client.chat.completions.create(
                model=self.config.model, messages=messages, tools=tools.specs(), temperature=0,
            )
            if not response.choices:
                raise LLMTurnError("the model returned no choices")
            message = response.choices[0].message
            calls = message.tool_calls or []
            if not calls:
                if not (message.content or "").strip():
                    raise LLMTurnError("the model returned an empty reply")
                return message.content.strip()
            messages.append({
                "role": "assistant", "content": message.content,
                "tool_calls": [{"id": c.id, "type": "function",
                                "function": {"name": c.function.name, "arguments": c.function.arguments}}
                               for c in calls],
            })
            for call in calls:
                log.debug("tool call %s", call.function.name)
                content = await asyncio.to_thread(tools.call, call.function.name, call.function.arguments)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        raise LLMTurnError(f"no final answer after {MAX_TOOL_ROUNDS} tool rounds")

    async def aclose(self) -> None:
        await self.client.close()
