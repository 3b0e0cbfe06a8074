"""ASGI guard in front of the REST API: the key is checked before any body is read, and bodies are capped.

A route's `Depends` runs only after FastAPI has read and parsed the whole body, so without this an
anonymous client could make the server read (and hold) a 40 MB upload just to be told 401. Here the
headers decide first: a missing or wrong `X-API-Key` is answered 401 at once; a declared `Content-Length`
above the cap is 413 at once; a body streamed without one is counted as it arrives and cut off at the cap.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KEY_HEADER = b"x-api-key"


class KeyFirstGuard:
    """`key_is_right(value)` decides on the X-API-Key header; `max_body_bytes` caps every request body."""

    def __init__(self, app: ASGIApp, *, key_is_right: Callable[[str | None], bool], max_body_bytes: int) -> None:
        self.app = app
        self.key_is_right = key_is_right
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        raw_key = headers.get(KEY_HEADER)
        if not self.key_is_right(raw_key.decode("latin-1") if raw_key is not None else None):
            await _answer(send, 401, "missing or wrong X-API-Key", {"www-authenticate": "APIKey"})
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _answer(send, 413, self._too_large())
            return
        await self.app(scope, self._counting(receive), send)

    def _too_large(self) -> str:
        return f"request body above {self.max_body_bytes:,} bytes"

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:  # raised inside FastAPI's body read: answered as a 413
                    raise HTTPException(status_code=413, detail=self._too_large())
            return message

        return counted


async def _answer(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
