"""A fake Telegram Bot API server on 127.0.0.1 that answers in the real JSON shapes and records every call.

Usage (one server per test, on a free loopback port)::

    async with FakeTelegramServer() as fake:          # token defaults to FakeTelegramServer.TOKEN
        app = (ApplicationBuilder().token(fake.token)
               .base_url(fake.base_url).base_file_url(fake.base_file_url).build())
        ...
        mark = fake.mark()                             # index of the next recorded call
        fake.push_command(chat_id=42, user_id=42, text="/start CODE")
        [call] = await fake.wait_for("sendMessage", lambda c: c.chat_id == 42, since=mark)
        call.text, call.params["reply_markup"]         # JSON fields already decoded

API (all synchronous unless marked ``await``):

- ``base_url`` ("http://127.0.0.1:PORT/bot"), ``base_file_url`` ("http://127.0.0.1:PORT/file/bot"), ``token``,
  ``bot_user`` (the getMe answer; username ``finassist_test_bot``, ``is_bot`` true).
- Queue updates: ``push_command(chat_id, user_id, "/start CODE")`` (adds the ``bot_command`` entity),
  ``push_text(chat_id, user_id, text)``, ``push_reply(chat_id, user_id, text, reply_to_message_id)`` (a reply
  to a recorded bot message), ``push_callback(chat_id, user_id, message_id, data)`` (a CallbackQuery
  with ``id``, ``from``, ``chat_instance`` and the recorded bot message it belongs to), ``push_update(dict)``.
  Each returns the update dict (with ``update_id``). A positive chat id is a private chat, a negative one a
  group; ``chat_types[chat_id] = "supergroup"`` (or ``set_chat_type``) gives a chat another type. ``getUpdates`` honours ``offset`` and long-polls on an
  ``asyncio.Event`` for at most ``min(timeout, max_long_poll)`` seconds.
- Inspect: ``calls`` (every ``Call(method, params, time)``, params with JSON fields decoded and uploads as
  ``UploadedFile(filename, content_type, size)``), ``mark()``, ``calls_of(method)``, ``sent_to(chat_id)``
  (sendMessage/sendPhoto calls to a chat), ``message(chat_id, message_id)`` (the current state of a bot
  message, edits applied), ``last_message_id(chat_id)``.
- ``await wait_for(method, predicate=None, timeout=5.0, count=1, since=0)`` returns the matching calls once at
  least ``count`` exist (event-driven; raises ``TimeoutError`` with the recent calls in the message).
- ``await ask(chat_id, user_id, text, method="sendMessage", timeout=5.0)``: push a command (text starting
  with "/") or plain text and return the first matching call to that chat made after it.
- ``on_call``: an optional callback run for every recorded call (lets a benchmark match replies in O(1)).
- Failure injection: ``fail_next(method, status, description, retry_after=None, times=1)`` makes the next
  call(s) of ``method`` answer ``{"ok": false, "error_code": status, "description": ..., "parameters": {...}}``
  with that HTTP status (403 "Forbidden: bot was blocked by the user", 429 + retry_after, 500, 400 ...);
  ``chat_id=`` limits it to calls for one chat.
  Failed calls are recorded too, with ``Call.failed`` set.
- ``hang_next(method, seconds, times=1, chat_id=None)``: accept-then-hang. The call is accepted (recorded as
  delivered, the message stored) and the answer held for ``seconds`` (or until ``release_hangs()``), so a
  client with a shorter timeout gives up on a message Telegram did deliver. ``Call.hung`` marks them.
- ``fault_hook``: an optional ``callable(method, params) -> Fault | None`` asked for every Bot API call before
  the queued failures (benchmarks inject 5xx / 429 / hangs at random with it); ``Fault(status, description,
  retry_after)`` fails the call, ``Fault(hang_s=...)`` accepts it and hangs.
- ``delivered(chat_id=None, method=("sendMessage", "sendPhoto"))``: accepted sends (hung ones included):
  what the customer actually received.
  Failed calls are recorded too, with ``Call.failed`` set. A call with any other token than ``token`` is
  answered 401 "Unauthorized" (as Telegram does) and only its method is kept, in ``unauthorized``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Fields PTB sends JSON-encoded inside form bodies.
_JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
    "link_preview_options", "reply_parameters", "media", "results", "prices",
}


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    size: int


@dataclass
class Call:
    """One recorded Bot API request."""

    method: str
    params: dict[str, Any]
    time: float
    failed: bool = False
    hung: bool = False          # accepted, but the answer was held past the client's timeout

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    def button_data(self) -> list[str]:
        """Every callback_data of the inline keyboard, row by row."""
        markup = self.reply_markup or {}
        return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]

    def button_texts(self) -> list[str]:
        markup = self.reply_markup or {}
        return [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | None = None


@dataclass(frozen=True)
class Fault:
    """What `fault_hook` returns for a call: an error answer, or accept-then-hang (`hang_s`)."""

    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    hang_s: float | None = None


@dataclass
class _Hang:
    seconds: float
    times: int
    chat_id: int | None = None


@dataclass
class FakeTelegramServer:
    """See the module docstring."""

    TOKEN = "123456:TEST-fake-token"

    token: str = TOKEN
    bot_id: int = 123456
    bot_username: str = "finassist_test_bot"
    max_long_poll: float = 0.25
    calls: list[Call] = field(default_factory=list)
    chat_types: dict[int, str] = field(default_factory=dict)   # chat id -> "private" / "group" / "supergroup"
    unauthorized: list[str] = field(default_factory=list)   # methods called with another token (answered 401)

    def __post_init__(self) -> None:
        self.on_call: Callable[[Call], None] | None = None   # called for every recorded call (benchmarks)
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._hangs: dict[str, deque[_Hang]] = defaultdict(deque)
        self._release = asyncio.Event()
        self._stopped = False
        self.fault_hook: Callable[[str, dict[str, Any]], Fault | None] | None = None
        self._commands: list[dict[str, Any]] = []
        self._callback_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> FakeTelegramServer:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        self._new_update.set()  # release long polls
        self._stopped = True
        self._release.set()     # and hung answers
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id, "is_bot": True, "first_name": "FinAssist Test", "username": self.bot_username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }

    # ----------------------------------------------------------------- queueing updates
    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._new_update.set()
        return update

    def _user(self, user_id: int, first_name: str = "Test", username: str | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if username:
            user["username"] = username
        return user

    def set_chat_type(self, chat_id: int, chat_type: str) -> None:
        """Make updates from `chat_id` (and the bot's messages there) carry this chat type."""
        self.chat_types[chat_id] = chat_type

    def _chat(self, chat_id: int) -> dict[str, Any]:
        chat_type = self.chat_types.get(chat_id, "private" if chat_id > 0 else "group")
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": "Test"}
        return {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}

    def _incoming(self, chat_id: int, user_id: int, text: str, entities: list[dict[str, Any]] | None,
                  first_name: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._user(user_id, first_name),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        return self.push_update({"message": message})

    def push_text(self, chat_id: int, user_id: int, text: str, first_name: str = "Test") -> dict[str, Any]:
        return self._incoming(chat_id, user_id, text, None, first_name)

    def push_command(self, chat_id: int, user_id: int, text: str, first_name: str = "Test") -> dict[str, Any]:
        if not text.startswith("/"):
            raise ValueError("a command starts with '/'")
        length = len(text.split(maxsplit=1)[0])
        entities = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._incoming(chat_id, user_id, text, entities, first_name)

    def push_reply(self, chat_id: int, user_id: int, text: str, reply_to_message_id: int,
                   first_name: str = "Test") -> dict[str, Any]:
        """A message that replies to a recorded bot message (a command entity when the text starts with '/')."""
        replied = self._messages.get((chat_id, reply_to_message_id))
        if replied is None:
            raise ValueError(f"no bot message {reply_to_message_id} in chat {chat_id} to reply to")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]), "date": int(time.time()), "chat": self._chat(chat_id),
            "from": self._user(user_id, first_name), "text": text, "reply_to_message": replied,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}]
        return self.push_update({"message": message})

    def push_callback(self, chat_id: int, user_id: int, message_id: int, data: str,
                      first_name: str = "Test") -> dict[str, Any]:
        message = self._messages.get((chat_id, message_id)) or {
            "message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id),
            "from": self.bot_user, "text": "(message)",
        }
        query = {
            "id": str(next(self._callback_ids)),
            "from": self._user(user_id, first_name),
            "chat_instance": f"ci{chat_id}",
            "message": message,
            "data": data,
        }
        return self.push_update({"callback_query": query})

    # ----------------------------------------------------------------- inspecting
    def mark(self) -> int:
        return len(self.calls)

    def calls_of(self, method: str, since: int = 0) -> list[Call]:
        return [c for c in self.calls[since:] if c.method == method]

    def sent_to(self, chat_id: int, since: int = 0) -> list[Call]:
        return [c for c in self.calls[since:]
                if c.method in ("sendMessage", "sendPhoto") and c.chat_id == chat_id and not c.failed]

    def delivered(self, chat_id: int | None = None,
                  methods: tuple[str, ...] = ("sendMessage", "sendPhoto")) -> list[Call]:
        """Sends Telegram accepted (including those whose answer hung): what the chats really received."""
        return [c for c in self.calls if c.method in methods and not c.failed
                and (chat_id is None or c.chat_id == chat_id)]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self._messages.get((chat_id, message_id))

    def last_message_id(self, chat_id: int) -> int:
        """The newest bot message in a chat (to press its buttons with push_callback)."""
        ids = [m for (c, m) in self._messages if c == chat_id]
        if not ids:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return max(ids)

    def set_commands(self) -> list[dict[str, Any]]:
        return list(self._commands)

    async def wait_for(self, method: str, predicate: Callable[[Call], bool] | None = None,
                       timeout: float = 20.0, count: int = 1, since: int = 0) -> list[Call]:
        """Matching calls once at least `count` exist; waits on new-call events, never sleeps. The timeout is
        a bound on waiting for a broken bot, not a speed check: generous, so a loaded CI machine stays green."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def matching() -> list[Call]:
            return [c for c in self.calls[since:]
                    if c.method == method and not c.failed and (predicate is None or predicate(c))]

        while True:
            found = matching()
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [(c.method, c.params.get("chat_id"), c.text[:60]) for c in self.calls[-8:]]
                raise TimeoutError(f"no {count}× {method} matching within {timeout}s; recent calls: {recent}")
            self._new_call.clear()
            try:
                await asyncio.wait_for(self._new_call.wait(), remaining)
            except TimeoutError:
                pass

    async def ask(self, chat_id: int, user_id: int, text: str, method: str = "sendMessage",
                  timeout: float = 20.0) -> Call:
        """Push a command or text and return the bot's first `method` call to that chat after it."""
        since = self.mark()
        if text.startswith("/"):
            self.push_command(chat_id, user_id, text)
        else:
            self.push_text(chat_id, user_id, text)
        calls = await self.wait_for(method, lambda c: c.chat_id == chat_id, timeout=timeout, since=since)
        return calls[0]

    # ----------------------------------------------------------------- failure injection
    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None,
                  times: int = 1, chat_id: int | None = None) -> None:
        """The next `times` calls of `method` (to `chat_id` only, when given) fail with this error."""
        self._failures[method].append(_Failure(status, description, retry_after, times, chat_id))

    def hang_next(self, method: str, seconds: float, times: int = 1, chat_id: int | None = None) -> None:
        """Accept the next `times` calls of `method` (to `chat_id` only, when given), then hold each answer
        for `seconds` (or until `release_hangs()`): the client times out on a delivered message."""
        self._hangs[method].append(_Hang(seconds, times, chat_id))

    def release_hangs(self) -> None:
        """Answer every held call now (later hangs hang again)."""
        self._release.set()
        if not self._stopped:
            self._release = asyncio.Event()

    def _take_hang(self, method: str, params: dict[str, Any]) -> float | None:
        queue = self._hangs.get(method)
        hang = next((h for h in queue or () if h.chat_id is None or str(h.chat_id) == str(params.get("chat_id"))),
                    None)
        if queue is None or hang is None:
            return None
        hang.times -= 1
        if hang.times <= 0:
            queue.remove(hang)
        return hang.seconds

    async def _hold(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._release.wait(), seconds)
        except TimeoutError:
            pass

    # ----------------------------------------------------------------- HTTP
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            return dict(body or {})
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                params[key] = UploadedFile(value.filename or "", value.content_type or "", len(data))
                continue
            text = value.decode() if isinstance(value, bytes) else str(value)
            if key in _JSON_FIELDS and text[:1] in "[{":
                try:
                    params[key] = json.loads(text)
                    continue
                except json.JSONDecodeError:
                    pass
            params[key] = text
        # Multipart attachments referenced as attach://name are folded into the named field.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.get(value[len("attach://"):], value)
        return params

    def _record(self, method: str, params: dict[str, Any], failed: bool = False, hung: bool = False) -> Call:
        call = Call(method, params, time.time(), failed, hung)
        self.calls.append(call)
        self._new_call.set()
        if self.on_call is not None:
            self.on_call(call)
        return call

    async def _handle_file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG fake file", content_type="application/octet-stream")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.unauthorized.append(request.match_info["method"])
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        fault = self.fault_hook(method, params) if self.fault_hook is not None else None
        if fault is not None and fault.hang_s is None:
            self._record(method, params, failed=True)
            return self._error(fault.status, fault.description, fault.retry_after)
        hang_s = fault.hang_s if fault is not None else None
        if hang_s is None and method != "getUpdates":
            hang_s = self._take_hang(method, params)
        if hang_s is not None:
            handler = getattr(self, f"_m_{method}", None)
            try:
                result = handler(params) if handler is not None else True
            except _ApiError as exc:
                self._record(method, params, failed=True)
                return self._error(exc.status, exc.description)
            self._record(method, params, hung=True)
            await self._hold(hang_s)
            return self._ok(result)
        queue = self._failures.get(method)
        failure = next((f for f in queue or () if f.chat_id is None or str(f.chat_id) == str(params.get("chat_id"))),
                       None)
        if queue and failure is not None:
            failure.times -= 1
            if failure.times <= 0:
                queue.remove(failure)
            self._record(method, params, failed=True)
            return self._error(failure.status, failure.description, failure.retry_after)
        if method == "getUpdates":
            result = await self._get_updates(params)
            self._record(method, params)
            return self._ok(result)
        handler = getattr(self, f"_m_{method}", None)
        call = self._record(method, params)
        if handler is None:
            call.failed = True
            return self._error(404, "Not Found: method not found")
        try:
            return self._ok(handler(params))
        except _ApiError as exc:
            call.failed = True   # refused (e.g. too long): nothing was delivered
            return self._error(exc.status, exc.description)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), self.max_long_poll)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()  # confirmed by the offset, as Telegram does
        if not self._updates and timeout > 0:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                pass
        return [u for u in self._updates if u["update_id"] >= offset][:limit]

    # ----------------------------------------------------------------- Bot API methods
    def _chat_id(self, params: dict[str, Any]) -> int:
        try:
            return int(params["chat_id"])
        except (KeyError, ValueError) as exc:
            raise _ApiError(400, "Bad Request: chat_id is empty") from exc

    @staticmethod
    def _check_markup(params: dict[str, Any]) -> None:
        """Telegram refuses callback data outside 1-64 bytes (PTB does not check it)."""
        markup = params.get("reply_markup")
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        self._check_markup(params)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
            **content,
        }
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _m_close(self, params: dict[str, Any]) -> bool:
        return True

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._bot_message(params, text=text)

    def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        size = photo.size if isinstance(photo, UploadedFile) else 0
        if photo is None:
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        caption = str(params.get("caption", ""))
        if len(caption) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        sizes = [{"file_id": f"photo{self.mark()}", "file_unique_id": f"u{self.mark()}", "width": 800,
                  "height": 600, "file_size": size}]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._bot_message(params, **content)

    def _edited(self, params: dict[str, Any], **changes: Any) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        chat_id = self._chat_id(params)
        key = (chat_id, int(params.get("message_id", 0)))
        message = self._messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        new_markup = params.get("reply_markup")
        if all(message.get(k) == v for k, v in changes.items()) and message.get("reply_markup") == new_markup:
            raise _ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                 "reply markup are exactly the same as a current content and reply markup "
                                 "of the message")
        message = {**message, **changes, "edit_date": int(time.time())}
        if isinstance(new_markup, dict) and "inline_keyboard" in new_markup:
            message["reply_markup"] = new_markup
        else:
            message.pop("reply_markup", None)
        self._messages[key] = message
        return message

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edited(params, text=str(params.get("text", "")))

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edited(params)

    def _m_editMessageCaption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edited(params, caption=str(params.get("caption", "")))

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        self._commands = list(params.get("commands") or [])
        return True

    def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self._commands)

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self._commands = []
        return True

    def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat_id(params)
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
