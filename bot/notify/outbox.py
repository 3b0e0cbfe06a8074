"""Queues proactive messages once each, due after the chat's quiet hours (the API every producer calls)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.notify.messages import OUTBOX_ID  # in callback data: replaced by the row's own id when queued
from bot.notify.quiet_hours import QuietHours
from bot.storage.database import Store
from bot.storage.outbox import OutboxRepository

log = logging.getLogger(__name__)

# The /alerts toggle (alert_preferences column) that stops each kind once it is queued: a message waiting out
# quiet hours or a retry is dropped if the chat switches its kind off meanwhile. The older kinds low_balance,
# unusual and monthly_summary are decided when queued only.
TOGGLE_OF_KIND = {"retention_offer": "offers", "spending_trend": "trend", "low_balance_forecast": "forecast",
                  "recurring_change": "recurring"}


@dataclass(frozen=True)
class QueueResult:
    queued: bool            # False: the dedupe key was queued before, nothing changed
    deferred: bool          # due later than now because of quiet hours
    due_at: dt.datetime | None
    outbox_id: int | None = None


class Outbox:
    """`enqueue` is safe to call again and again: a dedupe key is queued at most once, ever."""

    def __init__(self, store: Store, config: Config) -> None:
        self.repo = OutboxRepository(store)
        self.config = config

    def quiet_hours(self, text: str | None = None) -> QuietHours:
        """A chat's own quiet hours (from its preferences) or the bank's default, in the bank's time zone."""
        chosen = self.config.scheduler.quiet_hours if text is None else text
        return QuietHours.parse(chosen, self.config.scheduler.timezone)

    def enqueue(self, *, chat_id: int, kind: str, dedupe_key: str, text: str,
                photo_path: str | None = None, buttons: Sequence[Sequence[tuple[str, str]]] | None = None,
                meta: Mapping[str, Any] | None = None, quiet_hours: str | None = None,
                now: dt.datetime | None = None, bypass_quiet_hours: bool = False) -> QueueResult:
        """Queue `text` (a photo caption when `photo_path` is given) for `chat_id`.

        `buttons` are rows of (label, callback_data); `OUTBOX_ID` in callback data becomes this row's id, so
        a button names a small integer, never an unbounded transaction id. `meta` is kept for the sender (e.g.
        transaction_id and customer_id of an unusual-transaction question). `quiet_hours` is the chat's
        setting ("22:00-08:00"); the sender checks the chat's quiet hours again when the row falls due (a
        retry must not land at night) unless `bypass_quiet_hours` (e.g. a fraud alert, by the bank's choice).
        """
        now = now or dt.datetime.now(dt.UTC)
        due_at = now if bypass_quiet_hours else self.quiet_hours(quiet_hours).next_allowed(now)
        payload: dict[str, Any] = {"text": text, "photo": photo_path,
                                   "buttons": [list(map(list, row)) for row in buttons] if buttons else None,
                                   "meta": dict(meta or {})}
        if bypass_quiet_hours:
            payload["bypass_quiet_hours"] = True
        with self.repo.store.atomic():
            outbox_id = self.repo.enqueue(chat_id=chat_id, kind=kind, dedupe_key=dedupe_key, payload=payload,
                                          created_at=now, due_at=due_at)
            if outbox_id is not None and payload["buttons"] and any(
                    OUTBOX_ID in data for row in payload["buttons"] for _, data in row):
                payload["buttons"] = [[[label, data.replace(OUTBOX_ID, str(outbox_id))] for label, data in row]
                                      for row in payload["buttons"]]
                self.repo.set_payload(outbox_id, payload)
        queued = outbox_id is not None
        if queued:
            log.debug("queued %s for a chat, due %s", kind, due_at.isoformat())
        return QueueResult(queued=queued, deferred=queued and due_at > now, due_at=due_at if queued else None,
                           outbox_id=outbox_id)
