"""SQL for handoffs to a person: one row per request for the bank's support team, its messages, its status.

Tables from migration 0009_handoffs. A chat has at most one `open` handoff (a partial unique index decides it,
so two requests racing from one chat cannot open two). Times are UTC ISO-8601 text, comparable as strings.
Transactions are the caller's (`with store.atomic(immediate=True):`); nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Store

OPEN, CLOSED, EXPIRED, UNDELIVERED = "open", "closed", "expired", "undelivered"
CUSTOMER, STAFF = "customer", "staff"

_COLUMNS = ("handoff_id, reference, chat_id, customer_id, status, source, support_chat_id, support_message_id,"
            " created_at, updated_at, closed_at, n_requests, n_staff_replies, context")


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("handoff times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Handoff:
    handoff_id: int
    reference: str                     # the short id the customer and the support team both see ("H-7K3QD9")
    chat_id: int                       # the customer's private chat
    customer_id: str
    status: str                        # "open", "closed" (by staff), "expired" (no activity), "undelivered"
    source: str                        # "command" (/human), "assistant" (asked in words), "offer" (the button)
    support_chat_id: int | None        # where it was sent
    support_message_id: int | None     # the message there: edited as requests are added, staff reply to it
    created_at: dt.datetime
    updated_at: dt.datetime            # the latest request or staff reply
    closed_at: dt.datetime | None
    n_requests: int                    # customer requests in it (the first and every one added)
    n_staff_replies: int
    context: str = ""                  # the conversation with the assistant before it, as forwarded


@dataclass(frozen=True)
class HandoffMessage:
    seq: int
    author: str                        # "customer" or "staff"
    text: str
    created_at: dt.datetime


def _handoff(row: Mapping[str, Any]) -> Handoff:
    return Handoff(
        handoff_id=int(row["handoff_id"]), reference=row["reference"], chat_id=int(row["chat_id"]),
        customer_id=row["customer_id"], status=row["status"], source=row["source"],
        support_chat_id=row["support_chat_id"], support_message_id=row["support_message_id"],
        created_at=_time(row["created_at"]),  # type: ignore[arg-type]
        updated_at=_time(row["updated_at"]),  # type: ignore[arg-type]
        closed_at=_time(row["closed_at"]), n_requests=int(row["n_requests"]),
        n_staff_replies=int(row["n_staff_replies"]), context=row["context"] or "",
    )


class HandoffRepository:
    """Reads and writes `handoffs` and `handoff_messages`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _one(self, where: str, params: list[Any]) -> Handoff | None:
        with self.store.locked() as db:
            cursor = db.execute(f"SELECT {_COLUMNS} FROM handoffs WHERE {where}", params)
            row = cursor.fetchone()
            if row is None:
                return None
            return _handoff(dict(zip([c[0] for c in cursor.description], row, strict=True)))

    def open_for_chat(self, chat_id: int) -> Handoff | None:
        return self._one("chat_id = ? AND status = ?", [int(chat_id), OPEN])

    def by_reference(self, reference: str) -> Handoff | None:
        return self._one("reference = ?", [reference])

    def by_support_message(self, support_chat_id: int, message_id: int) -> Handoff | None:
        return self._one("support_chat_id = ? AND support_message_id = ?", [int(support_chat_id), int(message_id)])

    def create(self, *, reference: str, chat_id: int, customer_id: str, source: str, support_chat_id: int,
               now: dt.datetime, context: str = "") -> Handoff | None:
        """A new open handoff; None when the chat already has one open or the reference is taken."""
        stamp = _iso(now)
        with self.store.locked() as db:
            cursor = db.execute(
                "INSERT INTO handoffs (reference, chat_id, customer_id, status, source, support_chat_id,"
                " created_at, updated_at, n_requests, n_staff_replies, context)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?) ON CONFLICT DO NOTHING",
                [reference, int(chat_id), customer_id, OPEN, source, int(support_chat_id), stamp, stamp, context])
            if cursor.rowcount != 1:
                return None
        return self.by_reference(reference)

    def add_message(self, handoff_id: int, author: str, text: str, now: dt.datetime) -> int:
        """Append a message; returns its sequence number (1 = the first request). Counts requests and replies."""
        stamp = _iso(now)
        counter = "n_requests" if author == CUSTOMER else "n_staff_replies"
        with self.store.locked() as db:
            row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM handoff_messages WHERE handoff_id = ?",
                             [handoff_id]).fetchone()
            seq = int(row[0]) + 1
            db.execute("INSERT INTO handoff_messages (handoff_id, seq, author, text, created_at)"
                       " VALUES (?, ?, ?, ?, ?)", [handoff_id, seq, author, text, stamp])
            db.execute(f"UPDATE handoffs SET {counter} = {counter} + 1, updated_at = ? WHERE handoff_id = ?",
                       [stamp, handoff_id])
        return seq

    def messages(self, handoff_id: int) -> list[HandoffMessage]:
        with self.store.locked() as db:
            rows = db.execute("SELECT seq, author, text, created_at FROM handoff_messages WHERE handoff_id = ?"
                              " ORDER BY seq", [handoff_id]).fetchall()
        return [HandoffMessage(int(r[0]), r[1], r[2], _time(r[3])) for r in rows]  # type: ignore[arg-type]

    def set_support_message(self, handoff_id: int, message_id: int) -> None:
        with self.store.locked() as db:
            db.execute("UPDATE handoffs SET support_message_id = ? WHERE handoff_id = ?", [int(message_id), handoff_id])

    def finish(self, handoff_id: int, status: str, now: dt.datetime) -> bool:
        """Move an open handoff to closed / expired / undelivered; False when it was not open any more."""
        if status not in (CLOSED, EXPIRED, UNDELIVERED):
            raise ValueError(f"not a final handoff status: {status!r}")
        stamp = _iso(now)
        with self.store.locked() as db:
            cursor = db.execute("UPDATE handoffs SET status = ?, closed_at = ?, updated_at = ?"
                                " WHERE handoff_id = ? AND status = ?", [status, stamp, stamp, handoff_id, OPEN])
            return cursor.rowcount == 1

    def counts(self, since: dt.datetime | None = None) -> dict[str, int]:
        """Handoffs by status (every status present, 0 when none), optionally only those created since a time."""
        where, params = ("WHERE created_at >= ?", [_iso(since)]) if since is not None else ("", [])
        with self.store.locked() as db:
            rows = db.execute(f"SELECT status, COUNT(*) FROM handoffs {where} GROUP BY status", params).fetchall()
        found = {OPEN: 0, CLOSED: 0, EXPIRED: 0, UNDELIVERED: 0}
        found.update({r[0]: int(r[1]) for r in rows})
        return found
