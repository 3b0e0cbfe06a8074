"""One LLM turn over any OpenAI-compatible Chat Completions endpoint: a short tool loop, then the reply text.

A broken or hostile endpoint must not take the bot with it, so every answer is bounded before it is parsed:
the HTTP transport refuses a response body over `MAX_RESPONSE_BYTES` (by its Content-Length at once, else
while reading it) and any compressed body (we ask for none), the request asks for at most `MAX_REPLY_TOKENS`,
and a reply over `MAX_REPLY_CHARS` or a message with more than `MAX_TOOL_CALLS` calls is refused. The caller
puts the whole turn, every tool round included, under one `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
from openai import AsyncOpenAI

from bot.config import LLMConfig
from bot.llm.tools import BoundTools

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 4
MAX_TOOL_CALLS = 8                  # in one model message
MAX_REPLY_TOKENS = 600              # the prompt asks for 120 words; this leaves room and bounds the cost
MAX_REPLY_CHARS = 4000              # a Telegram message holds 4096
MAX_RESPONSE_BYTES = 256 * 1024     # a 600-token completion is a few KB of JSON

Outgoing = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class LLMTurnError(RuntimeError):
    """The model's answer was unusable (no choices, empty or oversized text, too many tool calls or rounds)."""


class ResponseTooLarge(httpx2.TransportError):
    """The endpoint sent more than MAX_RESPONSE_BYTES, or a compressed body whose size cannot be bounded."""


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limit: int, request: httpx2.Request) -> None:
        self._inner, self._limit, self._request = inner, limit, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLarge(f"response body over {self._limit} bytes", request=self._request)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class CappedTransport(httpx2.AsyncBaseTransport):
    """An HTTP transport that stops reading a response once it exceeds `limit` bytes."""

    def __init__(self, limit: int = MAX_RESPONSE_BYTES, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.limit = limit
        self._inner = inner or httpx2.AsyncHTTPTransport(
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        length = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if (length.isdigit() and int(length) > self.limit) or encoding not in ("", "identity"):
            await response.aclose()
            reason = f"content-length {length}" if encoding in ("", "identity") else f"content-encoding {encoding}"
            raise ResponseTooLarge(f"refused a response with {reason}", request=request)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        return httpx2.Response(status_code=response.status_code, headers=response.headers,
                               stream=_CappedStream(response.stream, self.limit, request),
                               extensions=response.extensions)

    async def aclose(self) -> None:
        await self._inner.aclose()


class LLMClient:
    """Wraps `AsyncOpenAI`; the caller puts the whole turn under `asyncio.timeout` for a hard budget."""

    def __init__(self, config: LLMConfig, max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self.config = config
        http = httpx2.AsyncClient(transport=CappedTransport(max_response_bytes),
                                  headers={"Accept-Encoding": "identity"}, follow_redirects=False)
        self.client = AsyncOpenAI(
            base_url=config.base_url or None,
            api_key=config.api_key or "not-needed",
            timeout=config.timeout_s,
            max_retries=0,     # a retry would blow the turn's budget; the offline answer is the fallback
            http_client=http,
        )

    async def run_turn(self, messages: list[dict[str, Any]], tools: BoundTools, outgoing: Outgoing | None = None) -> str:
        """Chat until the model answers in text; tool calls run for the bound customer (in a thread).

        `outgoing` sees the whole conversation before each request and returns what is actually sent (the
        privacy redactor); the loop itself keeps the unredacted messages.
        """
        messages = list(messages)
        for _ in range(MAX_TOOL_ROUNDS + 1):
            body = await asyncio.to_thread(outgoing, messages) if outgoing else messages
            response = await self.client.chat.completions.create(
                model=self.config.model, messages=body, tools=tools.specs(), temperature=0,
                max_tokens=MAX_REPLY_TOKENS,
            )
            if not response.choices:
                raise LLMTurnError("the model returned no choices")
            message = response.choices[0].message
            calls = message.tool_calls or []
            if not calls:
                text = (message.content or "").strip()
                if not text:
                    raise LLMTurnError("the model returned an empty reply")
                if len(text) > MAX_REPLY_CHARS:
                    raise LLMTurnError(f"the reply has {len(text)} characters (at most {MAX_REPLY_CHARS})")
                return text
            if len(calls) > MAX_TOOL_CALLS:
                raise LLMTurnError(f"{len(calls)} tool calls in one message (at most {MAX_TOOL_CALLS})")
            messages.append({
                "role": "assistant", "content": (message.content or "")[:MAX_REPLY_CHARS] or None,
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
