"""A loopback OpenAI-compatible server for tests: scripted /v1/chat/completions answers, every request recorded.

    async with FakeOpenAI() as server:           # listens on 127.0.0.1:<free port>
        server.push_tool_call("get_balance", {})
        server.push_text("Your balance is ₹12,345.67.")
        config.llm.base_url = server.base_url     # "http://127.0.0.1:PORT/v1"
        ...
        server.requests                           # the JSON bodies the client sent, in order

Hostile answers for the caps: `push_text(..., hold=event)` answers only once the event is set (a stalled
server), `push_huge(n)` streams an n-byte body (optionally stopping after `pause_after` bytes until `release`
is set), `push_drip()` sends a body a few bytes at a time, for ever (until `release`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Scripted:
    status: int = 200
    body: Any = None            # dict -> JSON; str -> sent raw (garbage bodies)
    delay_s: float = 0.0
    hold: asyncio.Event | None = None   # answer only once this is set
    stream_bytes: int = 0       # > 0: stream a body of this many bytes instead
    pause_after: int | None = None      # stop streaming after this many bytes until `release` is set
    content_length: bool = False
    drip: bool = False


class FakeOpenAI:
    def __init__(self, model: str = "fake-model") -> None:
        self.model = model
        self.script: deque[Scripted] = deque()
        self.requests: list[dict[str, Any]] = []
        self.release = asyncio.Event()          # lets a paused or dripping stream go on
        self.bytes_sent = 0                     # of streamed bodies, as far as the client read them
        self.streams_finished = 0
        self.streaming = asyncio.Event()        # set once a streamed body has started
        self.answered = 0                       # responses handed over in full (not cut short)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- scripting -------------------------------------------------------------------------------------
    def _completion(self, message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
        return {"id": f"chatcmpl-{next(self._ids)}", "object": "chat.completion", "created": int(time.time()),
                "model": self.model, "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}

    def push_tool_call(self, name: str, arguments: dict[str, Any] | str, *more: tuple[str, Any]) -> None:
        """One assistant message calling one or more tools; `arguments` may be raw (malformed) text."""
        calls = []
        for i, (n, args) in enumerate(((name, arguments), *more), start=1):
            calls.append({"id": f"call_{next(self._ids)}_{i}", "type": "function",
                          "function": {"name": n, "arguments": args if isinstance(args, str) else json.dumps(args)}})
        self.script.append(Scripted(body=self._completion(
            {"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls")))

    def push_text(self, text: str, delay_s: float = 0.0, hold: asyncio.Event | None = None) -> None:
        self.script.append(Scripted(body=self._completion({"role": "assistant", "content": text}, "stop"),
                                    delay_s=delay_s, hold=hold))

    def push_reply(self, compose: Any) -> None:
        """A text answer composed from the request it answers: `compose(request_json) -> str` (a model echoing
        what it was sent, e.g. a placeholder from a tool result)."""
        self.script.append(Scripted(body=compose))

    def push_huge(self, size: int, pause_after: int | None = None, content_length: bool = False) -> None:
        """A 200 whose body is `size` bytes of one long JSON string (the shape of a runaway completion)."""
        self.script.append(Scripted(stream_bytes=size, pause_after=pause_after, content_length=content_length))

    def push_drip(self) -> None:
        """A 200 that sends its body a few bytes at a time and never finishes (until `release` is set)."""
        self.script.append(Scripted(stream_bytes=1 << 30, drip=True))

    def push_error(self, status: int, message: str = "error", err_type: str = "server_error") -> None:
        self.script.append(Scripted(status=status, body={"error": {"message": message, "type": err_type,
                                                                    "param": None, "code": None}}))

    def push_raw(self, text: str, status: int = 200) -> None:
        self.script.append(Scripted(status=status, body=text))

    # ---- serving ---------------------------------------------------------------------------------------
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        step = self.script.popleft() if self.script else Scripted(
            status=500, body={"error": {"message": "script exhausted", "type": "server_error"}})
        if step.delay_s:
            await asyncio.sleep(step.delay_s)
        if step.hold is not None:
            await step.hold.wait()
        if step.stream_bytes:
            return await self._stream(request, step)
        self.answered += 1
        if callable(step.body):
            text = step.body(self.requests[-1])
            return web.json_response(self._completion({"role": "assistant", "content": text}, "stop"))
        if isinstance(step.body, str):
            return web.Response(status=step.status, text=step.body, content_type="application/json")
        return web.json_response(step.body, status=step.status)

    async def _stream(self, request: web.Request, step: Scripted) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        if step.content_length:
            response.content_length = step.stream_bytes
        await response.prepare(request)
        self.streaming.set()
        head = b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"content": "'
        chunk = 64 * 1024 if not step.drip else 4
        try:
            await response.write(head)
            self.bytes_sent += len(head)
            while self.bytes_sent < step.stream_bytes:
                if step.drip:
                    if self.release.is_set():
                        break
                    await asyncio.sleep(0.02)
                elif step.pause_after is not None and self.bytes_sent >= step.pause_after:
                    await self.release.wait()
                piece = b"9" * min(chunk, step.stream_bytes - self.bytes_sent)
                await response.write(piece)
                self.bytes_sent += len(piece)
            self.streams_finished += 1
        except (ConnectionError, RuntimeError):
            pass                                  # the client hung up: what the caps are for
        return response

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeOpenAI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def sent_text(self) -> str:
        """Everything the client sent, as one string, for 'this never left the machine' assertions."""
        return json.dumps(self.requests, ensure_ascii=False)
