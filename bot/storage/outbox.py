"""The persisted outbox of proactive Telegram messages: queued once per dedupe key, claimed, sent, retried.

A row's life: `pending` (due at `due_at`) → `sending` (claimed by one worker until `lease_until`) → `sent`, or
back to `pending` with a later `due_at` (a retry, a flood wait, quiet hours), or finally `dead` (given up:
dead-lettered) or `dropped` (the chat blocked the bot or is no longer linked). `failed` is the dead letter of
stores written before migration 0006 and is counted with `dead`.

Claiming is one UPDATE … WHERE id IN (SELECT … LIMIT n) … RETURNING. SQLite has one writer at a time, so that is
atomic as it stands. On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`: without it two workers'
subqueries can pick the same pending row and the second UPDATE, after waiting for the first, re-checks only
`id IN (…)` and claims it again; with it a worker passes over rows another is claiming and re-checks the
status of a row it locks, so several processes share the table without sending a row twice. A row still
`sending` when its lease ends belongs to a worker that died mid-send: the next claim takes it again and
counts an unknown outcome (Telegram may or may not have delivered it). A finished row (sent, dead, dropped)
keeps `claimed_by`: the worker that finished it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Store

# CONTRACT §5's proactive kinds. Added with issue 10: spending_trend (a month's trend or a budget pace),
# low_balance_forecast (low balance before it happens), recurring_change (a price rise or a duplicate charge).
KINDS = ("low_balance", "unusual", "monthly_summary", "retention_offer", "spending_trend", "low_balance_forecast",
         "recurring_change")
LIVE_STATUSES = ("pending", "sending", "sent")   # on its way or delivered: what a customer has been or will be told
STATUSES = ("pending", "sending", "sent", "dead", "dropped", "failed")
RECLAIMED = "lease expired mid-send: outcome unknown"


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
    failures: int = 0             # transient failures so far (drives the backoff)
    unknown_outcomes: int = 0     # sends whose result never came back (timeout, crash)
    claimed_by: str | None = None

    @property
    def reclaimed(self) -> bool:
        """Claimed again after a worker's lease ran out mid-send."""
        return self.status == "sending" and self.last_error == RECLAIMED


@dataclass(frozen=True)
class DeliveryCounts:
    """The outbox's state for /stats: what went out, what waits, what was given up."""

    sent: int
    pending: int                  # pending or being sent now
    dead: int                     # dead-lettered (given up after retries, or a permanent error)
    dropped: int                  # chat blocked the bot, or unlinked before delivery
    unknown_outcomes: int         # sends whose result was unknown (each retried later)


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
        failures=row.get("failures") or 0,
        unknown_outcomes=row.get("unknown_outcomes") or 0,
        claimed_by=row.get("claimed_by"),
    )


class OutboxRepository:
    """SQL for the `outbox` table. Each call is one statement; callers group them with `store.atomic()`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _rows(self, sql: str, args: list[Any]) -> list[OutboxMessage]:
        with self.store.locked() as db:
            cursor = db.execute(sql, args)
            columns = [c[0] for c in cursor.description]
            return [_row_to_message(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()]

    # ---------------------------------------------------------------- queueing
    def enqueue(self, *, chat_id: int, kind: str, dedupe_key: str, payload: Mapping[str, Any],
                created_at: dt.datetime, due_at: dt.datetime) -> int | None:
        """Queue a message and return its id; None (and nothing changes) when its dedupe key was queued before."""
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        with self.store.locked() as db:
            cursor = db.execute(
                "INSERT INTO outbox (chat_id, kind, dedupe_key, payload, created_at, due_at, status)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (dedupe_key) DO NOTHING",
                [int(chat_id), kind, dedupe_key, json.dumps(dict(payload), ensure_ascii=False),
                 _iso(created_at), _iso(due_at)],
            )
            return int(cursor.lastrowid) if cursor.rowcount == 1 and cursor.lastrowid else None

    def set_payload(self, outbox_id: int, payload: Mapping[str, Any]) -> None:
        """Rewrite a row's payload (enqueue uses it to put the row's own id into its buttons)."""
        with self.store.locked() as db:
            db.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                       [json.dumps(dict(payload), ensure_ascii=False), int(outbox_id)])

    def has_key(self, dedupe_key: str) -> bool:
        with self.store.locked() as db:
            return db.execute("SELECT 1 FROM outbox WHERE dedupe_key = ?", [dedupe_key]).fetchone() is not None

    def by_key(self, dedupe_key: str) -> OutboxMessage | None:
        rows = self._rows("SELECT * FROM outbox WHERE dedupe_key = ?", [dedupe_key])
        return rows[0] if rows else None

    def get(self, message_id: int) -> OutboxMessage | None:
        rows = self._rows("SELECT * FROM outbox WHERE id = ?", [int(message_id)])
        return rows[0] if rows else None

    def recent_of_kind(self, chat_id: int, kind: str, since: dt.datetime) -> list[OutboxMessage]:
        """A chat's messages of `kind` queued after `since` that are sent or on their way (not dead or dropped),
        newest first: the weekly trend cap and the low-balance same-day rule read them."""
        marks = ", ".join("?" for _ in LIVE_STATUSES)
        return self._rows(f"SELECT * FROM outbox WHERE chat_id = ? AND kind = ? AND created_at > ?"
                          f" AND status IN ({marks}) ORDER BY created_at DESC, id DESC",
                          [int(chat_id), kind, _iso(since), *LIVE_STATUSES])

    def due(self, now: dt.datetime, limit: int = 500) -> list[OutboxMessage]:
        """Pending messages whose time has come, oldest first (read only: `claim` is what the sender uses)."""
        return self._rows("SELECT * FROM outbox WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
                          [_iso(now), int(limit)])

    # ---------------------------------------------------------------- claiming
    def claim(self, now: dt.datetime, worker: str, lease_until: dt.datetime, limit: int = 1) -> list[OutboxMessage]:
        """Claim up to `limit` due rows for `worker` in one statement: pending rows due by `now`, and rows
        whose lease ran out mid-send (counted as an unknown outcome). PostgreSQL: the inner SELECT gets
        `FOR UPDATE SKIP LOCKED` (see the module docstring), so concurrent claims never share a row."""
        at = _iso(now)
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.store.backend == "postgresql" else ""
        with self.store.locked() as db:
            cursor = db.execute(
                "UPDATE outbox SET"
                " unknown_outcomes = unknown_outcomes + CASE WHEN status = 'sending' THEN 1 ELSE 0 END,"
                " last_error = CASE WHEN status = 'sending' THEN ? ELSE last_error END,"
                " status = 'sending', claimed_by = ?, lease_until = ?"
                " WHERE id IN (SELECT id FROM outbox"
                "   WHERE (status = 'pending' AND due_at <= ?) OR (status = 'sending' AND lease_until <= ?)"
                f"   ORDER BY due_at, id LIMIT ?{skip_locked})"
                " RETURNING *",
                [RECLAIMED, worker, _iso(lease_until), at, at, int(limit)],
            )
            columns = [c[0] for c in cursor.description]
            rows = [_row_to_message(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()]
        return sorted(rows, key=lambda m: (m.due_at, m.id))

    def _finish(self, outbox_id: int, worker: str, sets: str, args: list[Any], *, final: bool = True) -> bool:
        """Move a claimed row on; False when the claim was lost (another worker reclaimed it). A final state
        keeps `claimed_by` (who finished it); a row given back to `pending` belongs to nobody."""
        owner = "" if final else ", claimed_by = NULL"
        with self.store.locked() as db:
            cursor = db.execute(
                f"UPDATE outbox SET {sets}{owner}, lease_until = NULL"
                " WHERE id = ? AND status = 'sending' AND claimed_by = ?",
                [*args, int(outbox_id), worker],
            )
            return cursor.rowcount == 1

    def mark_sent(self, outbox_id: int, worker: str, *, telegram_message_id: int | None,
                  sent_at: dt.datetime) -> bool:
        return self._finish(outbox_id, worker,
                            "status = 'sent', attempts = attempts + 1, sent_at = ?, message_id = ?, last_error = NULL",
                            [_iso(sent_at), telegram_message_id])

    def retry_later(self, outbox_id: int, worker: str, *, due_at: dt.datetime, error: str,
                    outcome_unknown: bool = False) -> bool:
        """A transient failure (network, 5xx, a timeout whose outcome is unknown): pending again at `due_at`."""
        return self._finish(outbox_id, worker,
                            "status = 'pending', attempts = attempts + 1, failures = failures + 1,"
                            " unknown_outcomes = unknown_outcomes + ?, due_at = ?, last_error = ?",
                            [1 if outcome_unknown else 0, _iso(due_at), error[:500]], final=False)

    def release(self, outbox_id: int, worker: str, *, due_at: dt.datetime | None = None,
                error: str | None = None, attempted: bool = False) -> bool:
        """Give a claimed row back without a failure (quiet hours, a flood wait, the pass stopping)."""
        sets = "status = 'pending', attempts = attempts + ?"
        args: list[Any] = [1 if attempted else 0]
        if due_at is not None:
            sets += ", due_at = ?"
            args.append(_iso(due_at))
        if error is not None:
            sets += ", last_error = ?"
            args.append(error[:500])
        return self._finish(outbox_id, worker, sets, args, final=False)

    def mark_dead(self, outbox_id: int, worker: str, *, error: str, attempted: bool = True) -> bool:
        """Dead-letter a row: retries exhausted or a permanent error. It stays visible in /stats."""
        return self._finish(outbox_id, worker, "status = 'dead', attempts = attempts + ?, last_error = ?",
                            [1 if attempted else 0, error[:500]])

    def mark_dropped(self, outbox_id: int, worker: str, *, error: str, attempted: bool = False) -> bool:
        return self._finish(outbox_id, worker, "status = 'dropped', attempts = attempts + ?, last_error = ?",
                            [1 if attempted else 0, error[:500]])

    def defer_chat(self, chat_id: int, until: dt.datetime) -> int:
        """Every pending row of one chat due before `until` waits until then (that chat's flood wait)."""
        with self.store.locked() as db:
            cursor = db.execute(
                "UPDATE outbox SET due_at = ? WHERE chat_id = ? AND status = 'pending' AND due_at < ?",
                [_iso(until), int(chat_id), _iso(until)])
            return int(cursor.rowcount)

    # ---------------------------------------------------------------- reading state
    def next_due_at(self) -> dt.datetime | None:
        """When the earliest pending row falls due (a pass may wait a few seconds for it)."""
        with self.store.locked() as db:
            value = db.execute("SELECT MIN(due_at) FROM outbox WHERE status = 'pending'").fetchone()[0]
        return dt.datetime.fromisoformat(value) if value else None

    def count_due(self, now: dt.datetime) -> int:
        with self.store.locked() as db:
            return int(db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND due_at <= ?",
                                  [_iso(now)]).fetchone()[0])

    def counts_by_status(self) -> dict[str, int]:
        with self.store.locked() as db:
            rows = db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        return {status: int(n) for status, n in rows}

    def delivery_counts(self) -> DeliveryCounts:
        with self.store.locked() as db:
            row = db.execute(
                "SELECT SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN status IN ('pending', 'sending') THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN status IN ('dead', 'failed') THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN status = 'dropped' THEN 1 ELSE 0 END),"
                " SUM(unknown_outcomes) FROM outbox").fetchone()
        return DeliveryCounts(*(int(v or 0) for v in row))
