"""Drains due outbox rows through a telegram.Bot, one at a time, paced and with bounded retries."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.storage.database import Store
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.links import LinkStore
from bot.storage.outbox import OutboxMessage, OutboxRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendPolicy:
    """Telegram allows ~30 messages/s overall and ~1/s per chat; stay under both, sequentially."""

    per_second: float = 25.0
    per_chat_interval_s: float = 1.0
    max_attempts: int = 4                 # network errors / 5xx, then the row is marked failed
    backoff_s: float = 1.0                # doubled after each failed attempt
    max_retry_afters: int = 3             # 429s tolerated for one message before deferring it
    max_retry_after_s: float = 60.0       # a longer flood wait defers the rest to the next pass
    max_consecutive_failures: int = 5     # an outage: stop and leave the rest pending
    batch_size: int = 200


@dataclass(frozen=True)
class DrainCounts:
    sent: int = 0
    failed: int = 0
    dropped: int = 0          # the user blocked the bot (403) or the chat is gone
    retried: int = 0          # extra attempts made (429 and network errors)
    left_pending: int = 0     # due but not attempted: the pass stopped on an outage or a long flood wait


class _StopDrain(Exception):
    """Stop this pass; the remaining rows stay pending for the next one."""


def _seconds(retry_after: Any) -> float:
    """`RetryAfter.retry_after` is an int today and a timedelta with PTB_TIMEDELTA (FACTS)."""
    return retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else float(retry_after)


def _markup(buttons: Any) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in buttons]
    )


class OutboxSender:
    """Sends what is due; never gathers many requests at once (that floods PTB's connection pool)."""

    def __init__(self, bot: Bot, store: Store, policy: SendPolicy | None = None) -> None:
        self.bot = bot
        self.store = store
        self.outbox = OutboxRepository(store)
        self.fraud_checks = FraudCheckRepository(store)
        self.links = LinkStore(store)
        self.policy = policy or SendPolicy()
        self._next_global = 0.0
        self._next_for_chat: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def drain(self, now: dt.datetime | None = None, limit: int | None = None) -> DrainCounts:
        """Send every row due at `now` (default: the current time), up to `limit`."""
        async with self._lock:  # the repeating scan and the daily job must not send the same row twice
            return await self._drain(now, limit)

    async def _drain(self, now: dt.datetime | None, limit: int | None) -> DrainCounts:
        totals = {"sent": 0, "failed": 0, "dropped": 0, "retried": 0, "left_pending": 0}
        consecutive_failures = 0
        blocked: set[int] = set()
        done = 0
        while limit is None or done < limit:
            cutoff = now or dt.datetime.now(dt.UTC)
            size = self.policy.batch_size if limit is None else min(self.policy.batch_size, limit - done)
            rows = await asyncio.to_thread(self.outbox.due, cutoff, size)
            if not rows:
                break
            for index, row in enumerate(rows):
                if not await asyncio.to_thread(self._still_linked, row):
                    await asyncio.to_thread(self.outbox.mark_dropped, row.id, attempts=row.attempts,
                                            error="the chat is no longer linked to this customer")
                    totals["dropped"] += 1
                    continue
                if row.chat_id in blocked:
                    await asyncio.to_thread(self.outbox.mark_dropped, row.id, attempts=row.attempts,
                                            error="Forbidden earlier in this pass")
                    totals["dropped"] += 1
                    continue
                try:
                    outcome, extra_tries = await self._deliver(row)
                except _StopDrain:
                    totals["left_pending"] += len(rows) - index
                    return DrainCounts(**totals)
                totals[outcome] += 1
                totals["retried"] += extra_tries
                if outcome == "dropped":
                    blocked.add(row.chat_id)
                consecutive_failures = consecutive_failures + 1 if outcome == "failed" else 0
                if consecutive_failures >= self.policy.max_consecutive_failures:
                    log.warning("stopping the send pass after %d failures in a row", consecutive_failures)
                    remaining = await asyncio.to_thread(self.outbox.due, cutoff, 1_000_000)
                    totals["left_pending"] += len(remaining)
                    return DrainCounts(**totals)
            done += len(rows)
        return DrainCounts(**totals)

    def _still_linked(self, row: OutboxMessage) -> bool:
        """A message about a customer goes out only while its chat is still linked to that customer.

        Rows wait (quiet hours, retries); a chat that unlinked or relinked meanwhile must not get the old data.
        """
        owner = (row.payload.get("meta") or {}).get("customer_id")
        return owner is None or self.links.customer_for_chat(row.chat_id) == owner

    async def _deliver(self, row: OutboxMessage) -> tuple[str, int]:
        """Send one row, retrying per policy; returns ("sent" | "failed" | "dropped", extra attempts)."""
        policy = self.policy
        attempts = row.attempts
        network_failures = 0
        flood_waits = 0
        while True:
            await self._pace(row.chat_id)
            attempts += 1
            try:
                message = await self._send(row)
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                flood_waits += 1
                if flood_waits > policy.max_retry_afters or wait > policy.max_retry_after_s:
                    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
                    await asyncio.to_thread(self.outbox.defer, row.id, attempts=attempts,
                                            error=f"RetryAfter {wait:g}s", due_at=later)
                    raise _StopDrain from exc
                log.info("flood control: waiting %.1fs", wait)
                self._next_global = max(self._next_global, time.monotonic() + wait)
                continue
            except Forbidden as exc:
                await asyncio.to_thread(self.outbox.mark_dropped, row.id, attempts=attempts, error=str(exc))
                return "dropped", attempts - row.attempts - 1
            except InvalidToken:
                raise  # a configuration error: the caller reports it, nothing is marked
            except BadRequest as exc:
                reason = str(exc)
                if "chat not found" in reason.lower():
                    await asyncio.to_thread(self.outbox.mark_dropped, row.id, attempts=attempts, error=reason)
                    return "dropped", attempts - row.attempts - 1
                await asyncio.to_thread(self.outbox.mark_failed, row.id, attempts=attempts,
                                        error=f"BadRequest: {reason}")
                return "failed", attempts - row.attempts - 1
            except (NetworkError, OSError) as exc:  # includes TimedOut and every 5xx
                network_failures += 1
                if network_failures >= policy.max_attempts:
                    await asyncio.to_thread(self.outbox.mark_failed, row.id, attempts=attempts,
                                            error=f"{type(exc).__name__}: {exc}")
                    return "failed", attempts - row.attempts - 1
                await asyncio.sleep(policy.backoff_s * 2 ** (network_failures - 1))
                continue
            except TelegramError as exc:
                await asyncio.to_thread(self.outbox.mark_failed, row.id, attempts=attempts,
                                        error=f"{type(exc).__name__}: {exc}")
                return "failed", attempts - row.attempts - 1
            await asyncio.to_thread(self._record_sent, row, message, attempts)
            return "sent", attempts - row.attempts - 1

    async def _send(self, row: OutboxMessage) -> Message:
        payload = row.payload
        markup = _markup(payload.get("buttons"))
        photo = payload.get("photo")
        if photo and Path(photo).is_file():
            with open(photo, "rb") as handle:
                return await self.bot.send_photo(row.chat_id, photo=handle, caption=payload["text"],
                                                 parse_mode=ParseMode.HTML, reply_markup=markup)
        if photo:
            log.warning("chart %s is gone; sending the summary as text", photo)
        return await self.bot.send_message(row.chat_id, payload["text"], parse_mode=ParseMode.HTML,
                                           reply_markup=markup)

    def _record_sent(self, row: OutboxMessage, message: Message, attempts: int) -> None:
        sent_at = dt.datetime.now(dt.UTC)
        with self.store.atomic():
            self.outbox.mark_sent(row.id, telegram_message_id=message.message_id, attempts=attempts,
                                  sent_at=sent_at)
            meta = row.payload.get("meta") or {}
            if row.kind == "unusual" and meta.get("transaction_id"):
                self.fraud_checks.create(transaction_id=meta["transaction_id"], customer_id=meta["customer_id"],
                                         chat_id=row.chat_id, message_id=message.message_id, created_at=sent_at)

    async def _pace(self, chat_id: int) -> None:
        """Sleep until both the overall rate and this chat's 1 message/s allow another send."""
        start = max(self._next_global, self._next_for_chat.get(chat_id, 0.0))
        delay = start - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = time.monotonic()
        self._next_global = sent + 1.0 / self.policy.per_second
        self._next_for_chat[chat_id] = sent + self.policy.per_chat_interval_s
