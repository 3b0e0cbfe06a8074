"""A loopback OpenAI-compatible server for tests: scripted /v1/chat/completions answers, every request recorded.

    async with FakeOpenAI() as server:           # listens on 127.0.0.1:<free port>
        server.push_tool_call("get_balance", {})
        server.push_text("Your balance is ₹12,345.67.")
        config.llm.base_url = server.base_url     # "http://127.0.0.1:PORT/v1"
        ...
        server.requests                           # the JSON bodies the client sent, in order
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


class FakeOpenAI:
    def __init__(self, model: str = "fake-model") -> None:
        self.model = model
        self.script: deque[Scripted] = deque()
        self.requests: list[dict[str, Any]] = []
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

    def push_text(self, text: str, delay_s: float = 0.0) -> None:
        self.script.append(Scripted(body=self._completion({"role": "assistant", "content": text}, "stop"),
                                    delay_s=delay_s))

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
        if isinstance(step.body, str):
            return web.Response(status=step.status, text=step.body, content_type="application/json")
        return web.json_response(step.body, status=step.status)

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
