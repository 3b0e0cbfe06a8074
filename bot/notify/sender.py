"""Drains due outbox rows through a telegram.Bot: claimed one by one with a lease, paced, retried over hours.

What each outcome does to a row (none of them makes the pass sleep long):
- sent → `sent` (and, for a "Was this you?", its fraud check opened; for a broadcast, the recipient recorded);
- 429 RetryAfter → that chat's rows wait `retry_after`, the pass goes on with other chats; 429s on several
  chats in a row mean a global limit: the pass stops and leaves the rest pending;
- network error / 5xx → pending again after the retry schedule's delay (30 s, doubling, capped), then
  dead-lettered (`dead`) when the schedule gives up; several in a row mean an outage: the pass stops;
- a timeout after the request went out → outcome unknown: counted, retried after a delay (never at once);
- 403 or "chat not found" → `dropped`; any other BadRequest or an unexpected error → `dead` at once (one
  bad row never stops the others); InvalidToken → the row is given back and the error raised.

Use a Bot without PTB's AIORateLimiter retries (`sender_bot`): the limiter sleeps inside the call on a 429 and
pauses every other request meanwhile (FACTS).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.config import Config, SchedulerConfig
from bot.notify.clock import Clock, SystemClock
from bot.notify.outbox import TOGGLE_OF_KIND
from bot.notify.quiet_hours import QuietHours, QuietHoursError
from bot.notify.retry import RetrySchedule
from bot.storage.broadcasts import BroadcastStore
from bot.storage.database import Store, StoreUnavailable
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.links import LinkStore
from bot.storage.outbox import OutboxMessage, OutboxRepository
from bot.storage.preferences import PreferenceStore

log = logging.getLogger(__name__)

ProgressHook = Callable[[frozenset[int]], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class SendPolicy:
    """Telegram allows ~30 messages/s overall and ~1/s per chat; stay under both, sequentially."""

    per_second: float = 25.0
    per_chat_interval_s: float = 1.0
    lease_s: float = 120.0                 # a claim outlives any one send; a crashed worker's rows come back
    retry: RetrySchedule = RetrySchedule()
    max_consecutive_failures: int = 5      # network errors / 5xx in a row: an outage, stop the pass
    global_rate_limit_chats: int = 3       # 429s on this many different chats in a row: a global limit, stop
    linger_s: float = 5.0                  # wait this long at the end of a pass for a row falling due (short 429)
    progress_every_s: float = 1.0          # broadcast progress callbacks at most this often
    store_outage_s: float = 60.0           # a lost database connection is retried this long within a pass

    @classmethod
    def from_config(cls, scheduler: SchedulerConfig, **overrides: Any) -> SendPolicy:
        policy = cls(per_second=scheduler.send_rate_per_second, lease_s=scheduler.send_lease_seconds,
                     retry=RetrySchedule(first_s=scheduler.retry_first_seconds,
                                         max_s=scheduler.retry_max_minutes * 60,
                                         give_up_s=scheduler.retry_give_up_hours * 3600))
        known = {f.name for f in fields(cls)}
        return replace(policy, **{k: v for k, v in overrides.items() if k in known})


@dataclass(frozen=True)
class DrainCounts:
    sent: int = 0
    failed: int = 0           # dead-lettered in this pass (retries exhausted, or a permanent error)
    dropped: int = 0          # the user blocked the bot (403), the chat is gone, unlinked, or opted out
    retried: int = 0          # rows given a later due time after a 429, a network error/5xx or a timeout
    left_pending: int = 0     # due but not attempted: the pass stopped on an outage or a global flood wait
    unknown: int = 0          # sends whose outcome is unknown (timeout after sending, or a crashed worker)
    rate_limited: int = 0     # 429s (each deferred that chat, not the pass)
    quiet: int = 0            # rows that fell due inside the chat's quiet hours and were moved to their end


def sender_bot(config: Config, **request_options: Any) -> Bot:
    """A plain Bot for the outbox (no AIORateLimiter: it would sleep inside the call on a 429)."""
    timeout = config.scheduler.send_timeout_seconds
    options: dict[str, Any] = {"connection_pool_size": 4, "connect_timeout": timeout, "read_timeout": timeout,
                               "write_timeout": timeout, "pool_timeout": timeout, "media_write_timeout": timeout * 2}
    options.update(request_options)
    base_url = config.telegram.base_url
    root = base_url[: -len("/bot")] if base_url.endswith("/bot") else base_url.rstrip("/")
    return Bot(config.telegram.token, base_url=base_url, base_file_url=f"{root}/file/bot",
               request=HTTPXRequest(**options), get_updates_request=HTTPXRequest(connection_pool_size=1))


def worker_name() -> str:
    """Who holds a claim: host, process and a random part (two senders in one process differ too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _seconds(retry_after: Any) -> float:
    """`RetryAfter.retry_after` is an int today and a timedelta with PTB_TIMEDELTA (FACTS)."""
    return retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else float(retry_after)


def _markup(buttons: Any) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in buttons]
    )


class _Stop(Exception):
    """Stop this pass (an outage or a global flood wait); the remaining rows stay pending."""


class OutboxSender:
    """Sends what is due; never gathers many requests at once (that floods PTB's connection pool)."""

    def __init__(self, bot: Bot, store: Store, policy: SendPolicy | None = None, *, config: Config | None = None,
                 clock: Clock | None = None, worker: str | None = None,
                 on_progress: ProgressHook | None = None) -> None:
        self.bot = bot
        self.store = store
        self.config = config or Config()
        self.outbox = OutboxRepository(store)
        self.fraud_checks = FraudCheckRepository(store)
        self.broadcasts = BroadcastStore(store)
        self.links = LinkStore(store)
        self.preferences = PreferenceStore(store)
        self.policy = policy or SendPolicy()
        self.clock: Clock = clock or SystemClock()
        self.worker = worker or worker_name()
        self.on_progress = on_progress
        self._next_global = 0.0
        self._next_for_chat: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def drain(self, now: dt.datetime | None = None, limit: int | None = None) -> DrainCounts:
        """Send every row due (at `now`, moving on with the clock; default: the clock's time), up to `limit`."""
        async with self._lock:  # the repeating scan, the daily job and a broadcast must not interleave here
            return await _Pass(self, now, limit).run()

    # ---------------------------------------------------------------- helpers the pass uses
    def still_linked(self, row: OutboxMessage) -> bool:
        """A message about a customer goes out only while its chat is still linked to that customer.

        Rows wait (quiet hours, retries); a chat that unlinked or relinked meanwhile must not get the old data.
        """
        owner = (row.payload.get("meta") or {}).get("customer_id")
        return owner is None or self.links.customer_for_chat(row.chat_id) == owner

    def quiet_until(self, row: OutboxMessage, now: dt.datetime) -> dt.datetime | None:
        """The end of the chat's quiet hours when `now` is inside them (the chat's current setting)."""
        if row.payload.get("bypass_quiet_hours"):
            return None
        prefs = self.preferences.get(row.chat_id)
        text = prefs["quiet_hours"] if prefs else self.config.scheduler.quiet_hours
        try:
            window = QuietHours.parse(text, self.config.scheduler.timezone)
        except QuietHoursError:
            window = QuietHours.parse(self.config.scheduler.quiet_hours, self.config.scheduler.timezone)
        allowed = window.next_allowed(now)
        return allowed if allowed > now else None

    def opted_out(self, row: OutboxMessage) -> bool:
        """Offers (and the trend, forecast and recurring kinds) go only to chats that still want them: the
        choice was checked when queued, but a row can wait hours (quiet hours, retries)."""
        toggle = TOGGLE_OF_KIND.get(row.kind)
        if toggle is None:
            return False
        prefs = self.preferences.get(row.chat_id)
        return prefs is not None and not prefs[toggle]

    async def send(self, row: OutboxMessage) -> Message:
        payload = row.payload
        markup = _markup(payload.get("buttons"))
        photo = payload.get("photo")
        if photo and Path(photo).is_file():
            with open(photo, "rb") as handle:
                return await self.bot.send_photo(row.chat_id, photo=handle, caption=payload["text"],
                                                 parse_mode=ParseMode.HTML, reply_markup=markup)
        if photo:
            log.warning("a monthly chart is gone; sending the summary as text")
        return await self.bot.send_message(row.chat_id, payload["text"], parse_mode=ParseMode.HTML,
                                           reply_markup=markup)

    def record_final(self, row: OutboxMessage, outcome: str, *, error: str = "", message: Message | None = None,
                     when: dt.datetime, attempted: bool = True) -> bool:
        """Write a row's end (sent / dead / dropped) with what depends on it, in one transaction."""
        meta = row.payload.get("meta") or {}
        with self.store.atomic():
            if outcome == "sent":
                assert message is not None
                kept = self.outbox.mark_sent(row.id, self.worker, telegram_message_id=message.message_id,
                                             sent_at=when)
                if row.kind == "unusual" and meta.get("transaction_id"):
                    self.fraud_checks.create(transaction_id=meta["transaction_id"], customer_id=meta["customer_id"],
                                             chat_id=row.chat_id, message_id=message.message_id, created_at=when)
            elif outcome == "dead":
                kept = self.outbox.mark_dead(row.id, self.worker, error=error, attempted=attempted)
            else:
                kept = self.outbox.mark_dropped(row.id, self.worker, error=error, attempted=attempted)
            broadcast_id = meta.get("broadcast_id")
            finished = False
            if broadcast_id is not None:
                self.broadcasts.record_delivery(int(broadcast_id), row.chat_id,
                                                "sent" if outcome == "sent" else "failed", error or None, when)
                finished = self.broadcasts.finish_if_complete(int(broadcast_id), when)
        if broadcast_id is not None and not finished:
            # Once more after the commit: two workers finishing a broadcast's last two rows at once each saw
            # the other's row still sending inside their transactions; whichever commits last sees both here.
            self.broadcasts.finish_if_complete(int(broadcast_id), when)
        if not kept:
            log.warning("outbox row %d was already finished, or reclaimed by another worker, before this "
                        "outcome was recorded", row.id)
        return kept

    async def pace(self, chat_id: int) -> None:
        """Sleep until both the overall rate and this chat's 1 message/s allow another send."""
        start = max(self._next_global, self._next_for_chat.get(chat_id, 0.0))
        delay = start - self.clock.monotonic()
        if delay > 0:
            await self.clock.sleep(delay)
        sent = self.clock.monotonic()
        self._next_global = sent + 1.0 / self.policy.per_second
        self._next_for_chat[chat_id] = sent + self.policy.per_chat_interval_s


class _Pass:
    """One drain: claims a due row, delivers it, records the outcome, until nothing is due or it must stop."""

    def __init__(self, sender: OutboxSender, now: dt.datetime | None, limit: int | None) -> None:
        self.s = sender
        self.limit = limit
        self.fixed_start = now
        self.start_mono = sender.clock.monotonic()
        self.totals = {f.name: 0 for f in fields(DrainCounts)}
        self.blocked: set[int] = set()          # chats that answered 403 in this pass
        self.failure_streak = 0
        self.rate_limited_chats: list[int] = []  # distinct chats that got a 429 since the last success
        self.touched: set[int] = set()          # broadcasts with a recipient finished in this pass
        self.last_progress = self.start_mono

    async def _store(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One storage call in a worker thread. A lost database connection (a PostgreSQL restart or failover)
        is tried again on a fresh one for up to `store_outage_s` before the pass gives up: every call here is
        one statement or one transaction the server rolled back, and `record_final` is safe to repeat (a
        row already finished is left alone), so a message Telegram accepted is still recorded as sent
        instead of being resent when its lease ends."""
        deadline = time.monotonic() + self.s.policy.store_outage_s
        delay = 0.25
        while True:
            try:
                return await asyncio.to_thread(call, *args, **kwargs)
            except StoreUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("%s; trying again in %.2g s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 4.0)

    def now(self) -> dt.datetime:
        """The pass's time: `now` as given, moved on by the clock's elapsed time (or the clock itself)."""
        if self.fixed_start is None:
            return self.s.clock.now()
        return self.fixed_start + dt.timedelta(seconds=self.s.clock.monotonic() - self.start_mono)

    async def run(self) -> DrainCounts:
        processed = 0
        try:
            while self.limit is None or processed < self.limit:
                now = self.now()
                rows = await self._store(self.s.outbox.claim, now, self.s.worker,
                                               now + dt.timedelta(seconds=self.s.policy.lease_s), 1)
                if not rows:
                    if await self._linger(now):
                        continue
                    break
                processed += 1
                try:
                    await self._one(rows[0], now)
                except _Stop:
                    self.totals["left_pending"] = await self._store(self.s.outbox.count_due, self.now())
                    break
                await self._progress()
        finally:
            await self._progress(final=True)
        return DrainCounts(**self.totals)

    async def _linger(self, now: dt.datetime) -> bool:
        """Wait for a row that falls due within `linger_s` (a short flood wait) instead of ending the pass."""
        due = await self._store(self.s.outbox.next_due_at)
        if due is None:
            return False
        wait = (due - now).total_seconds()
        if wait > self.s.policy.linger_s:
            return False
        await self.s.clock.sleep(max(wait, 0.0) + 0.001)
        return True

    async def _progress(self, final: bool = False) -> None:
        hook = self.s.on_progress
        if hook is None or not self.touched:
            return
        if not final and self.s.clock.monotonic() - self.last_progress < self.s.policy.progress_every_s:
            return
        self.last_progress = self.s.clock.monotonic()
        touched, self.touched = frozenset(self.touched), set()
        try:
            await hook(touched)
        except Exception:  # progress is cosmetic: never let it stop delivery
            log.warning("broadcast progress update failed", exc_info=True)

    async def _final(self, row: OutboxMessage, outcome: str, **kwargs: Any) -> None:
        await self._store(self.s.record_final, row, outcome, when=self.now(), **kwargs)
        self.totals[{"sent": "sent", "dead": "failed", "dropped": "dropped"}[outcome]] += 1
        if (row.payload.get("meta") or {}).get("broadcast_id") is not None:
            self.touched.add(int(row.payload["meta"]["broadcast_id"]))

    async def _one(self, row: OutboxMessage, now: dt.datetime) -> None:
        s = self.s
        if row.reclaimed:
            self.totals["unknown"] += 1
            log.warning("outbox row %d: a worker's lease ran out mid-send; sending again", row.id)
        if not await self._store(s.still_linked, row):
            await self._final(row, "dropped", error="the chat is no longer linked to this customer", attempted=False)
            return
        if row.chat_id in self.blocked:
            await self._final(row, "dropped", error="Forbidden earlier in this pass", attempted=False)
            return
        if await self._store(s.opted_out, row):
            await self._final(row, "dropped", error=f"the chat switched {TOGGLE_OF_KIND[row.kind]} off",
                              attempted=False)
            return
        quiet_end = await self._store(s.quiet_until, row, now)
        if quiet_end is not None:
            await self._store(s.outbox.release, row.id, s.worker, due_at=quiet_end)
            self.totals["quiet"] += 1
            return
        await s.pace(row.chat_id)
        try:
            message = await s.send(row)
        except RetryAfter as exc:
            await self._rate_limited(row, _seconds(exc.retry_after))
            return
        except Forbidden as exc:
            self.blocked.add(row.chat_id)
            await self._final(row, "dropped", error=str(exc))
            return
        except InvalidToken:
            await self._store(s.outbox.release, row.id, s.worker)
            raise  # a configuration error: the caller reports it, the row waits untouched
        except BadRequest as exc:
            reason = str(exc)
            await self._final(row, "dropped" if "chat not found" in reason.lower() else "dead",
                              error=f"BadRequest: {reason}")
            return
        except TimedOut as exc:
            # A pool timeout never left the process; any other timeout may have been delivered.
            unknown = "pool timeout" not in str(exc).lower()
            await self._transient(row, exc, outcome_unknown=unknown)
            return
        except (NetworkError, OSError) as exc:  # every 5xx and connection error
            await self._transient(row, exc)
            return
        except TelegramError as exc:
            await self._final(row, "dead", error=f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # e.g. a malformed payload: dead-letter this row, keep going with the others
            log.exception("outbox row %d could not be sent", row.id)
            await self._final(row, "dead", error=f"{type(exc).__name__}: {exc}", attempted=False)
            return
        self.failure_streak = 0
        self.rate_limited_chats = []
        await self._final(row, "sent", message=message)

    async def _rate_limited(self, row: OutboxMessage, wait: float) -> None:
        s = self.s
        until = self.now() + dt.timedelta(seconds=wait)
        await self._store(s.outbox.release, row.id, s.worker, due_at=until, error=f"RetryAfter {wait:g}s",
                                attempted=True)
        await self._store(s.outbox.defer_chat, row.chat_id, until)
        s._next_for_chat[row.chat_id] = s.clock.monotonic() + wait
        self.totals["rate_limited"] += 1
        self.totals["retried"] += 1
        if row.chat_id not in self.rate_limited_chats:
            self.rate_limited_chats.append(row.chat_id)
        log.info("flood control for one chat: its messages wait %.0fs, the pass goes on", wait)
        if len(self.rate_limited_chats) >= s.policy.global_rate_limit_chats:
            log.warning("429 on %d chats in a row: a global limit; stopping this pass", len(self.rate_limited_chats))
            raise _Stop

    async def _transient(self, row: OutboxMessage, exc: Exception, outcome_unknown: bool = False) -> None:
        s = self.s
        failures = row.failures + 1
        error = f"{type(exc).__name__}: {exc}" + (" (outcome unknown)" if outcome_unknown else "")
        if outcome_unknown:
            self.totals["unknown"] += 1
        if s.policy.retry.gives_up(failures):
            await self._final(row, "dead", error=f"gave up after {failures} failures; last: {error}")
        else:
            await self._store(s.outbox.retry_later, row.id, s.worker,
                                    due_at=s.policy.retry.next_due(failures, self.now()), error=error,
                                    outcome_unknown=outcome_unknown)
            self.totals["retried"] += 1
        if outcome_unknown:
            return  # a slow reply is not evidence of an outage
        self.failure_streak += 1
        if self.failure_streak >= s.policy.max_consecutive_failures:
            log.warning("stopping the send pass after %d failures in a row", self.failure_streak)
            raise _Stop
