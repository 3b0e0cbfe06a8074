"""The persisted outbox of proactive Telegram messages: queued once per dedupe key, drained by the sender."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Store

KINDS = ("low_balance", "unusual", "monthly_summary", "retention_offer")
STATUSES = ("pending", "sent", "failed", "dropped")


def _iso(moment: dt.datetime) -> str:
    """UTC ISO text so rows sort and compare as strings."""
    if moment.tzinfo is None:
        raise ValueError("outbox times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class OutboxMessage:
    """One queued message as the sender sees it."""

    id: int
    chat_id: int
    kind: str
    dedupe_key: str
    payload: Mapping[str, Any]
    created_at: dt.datetime
    due_at: dt.datetime
    status: str
    attempts: int
    last_error: str | None
    sent_at: dt.datetime | None
    message_id: int | None


def _row_to_message(row: Mapping[str, Any]) -> OutboxMessage:
    def parse(value: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(value) if value else None

    return OutboxMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        dedupe_key=row["dedupe_key"],
        payload=json.loads(row["payload"]),
        created_at=parse(row["created_at"]),  # type: ignore[arg-type]
        due_at=parse(row["due_at"]),  # type: ignore[arg-type]
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=parse(row["sent_at"]),
        message_id=row["message_id"],
    )


class OutboxRepository:
    """SQL for the `outbox` table. Each call is one statement; callers group them with `store.atomic()`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def enqueue(self, *, chat_id: int, kind: str, dedupe_key: str, payload: Mapping[str, Any],
                created_at: dt.datetime, due_at: dt.datetime) -> bool:
        """Queue a message; False (and nothing changes) when its dedupe key was queued before."""
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        with self.store.locked() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (chat_id, kind, dedupe_key, payload, created_at, due_at, status)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending')",
                [int(chat_id), kind, dedupe_key, json.dumps(dict(payload), ensure_ascii=False),
                 _iso(created_at), _iso(due_at)],
            )
            return cursor.rowcount == 1

    def has_key(self, dedupe_key: str) -> bool:
        with self.store.locked() as db:
            return db.execute("SELECT 1 FROM outbox WHERE dedupe_key = ?", [dedupe_key]).fetchone() is not None

    def due(self, now: dt.datetime, limit: int = 500) -> list[OutboxMessage]:
        """Pending messages whose time has come, oldest first."""
        with self.store.locked() as db:
            cursor = db.execute(
                "SELECT * FROM outbox WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
                [_iso(now), int(limit)],
            )
            columns = [c[0] for c in cursor.description]
            return [_row_to_message(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()]

    def get(self, message_id: int) -> OutboxMessage | None:
        with self.store.locked() as db:
            cursor = db.execute("SELECT * FROM outbox WHERE id = ?", [int(message_id)])
            row = cursor.fetchone()
            if row is None:
                return None
            return _row_to_message(dict(zip([c[0] for c in cursor.description], row, strict=True)))

    def mark_sent(self, outbox_id: int, *, telegram_message_id: int | None, attempts: int,
                  sent_at: dt.datetime) -> None:
        self._update(outbox_id, status="sent", attempts=attempts, sent_at=_iso(sent_at),
                     message_id=telegram_message_id, last_error=None)

    def mark_failed(self, outbox_id: int, *, attempts: int, error: str) -> None:
        self._update(outbox_id, status="failed", attempts=attempts, last_error=error[:500])

    def mark_dropped(self, outbox_id: int, *, attempts: int, error: str) -> None:
        self._update(outbox_id, status="dropped", attempts=attempts, last_error=error[:500])

    def defer(self, outbox_id: int, *, attempts: int, error: str, due_at: dt.datetime) -> None:
        """Leave a message pending for a later pass (an outage), remembering why."""
        self._update(outbox_id, status="pending", attempts=attempts, last_error=error[:500], due_at=_iso(due_at))

    def counts_by_status(self) -> dict[str, int]:
        with self.store.locked() as db:
            rows = db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        return {status: int(n) for status, n in rows}

    def _update(self, outbox_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self.store.locked() as db:
            db.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", [*values.values(), int(outbox_id)])
