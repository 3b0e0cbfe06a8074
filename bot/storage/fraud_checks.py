"""SQL for "Was this you?" checks: one row per questioned transaction, answered at most once (detector labels)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Store


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("fraud check times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FraudCheck:
    transaction_id: str
    customer_id: str
    chat_id: int
    message_id: int | None
    status: str                        # "pending", "confirmed" or "disputed"
    created_at: dt.datetime
    answered_at: dt.datetime | None
    answered_chat: int | None


@dataclass(frozen=True)
class TransactionFacts:
    """The few stored facts a fraud answer needs (no profile fields)."""

    transaction_id: str
    customer_id: str
    ts: dt.datetime
    amount: float
    merchant: str | None
    location: str | None


def _check(row: Mapping[str, Any]) -> FraudCheck:
    return FraudCheck(
        transaction_id=row["transaction_id"],
        customer_id=row["customer_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        status=row["status"],
        created_at=dt.datetime.fromisoformat(row["created_at"]),
        answered_at=dt.datetime.fromisoformat(row["answered_at"]) if row["answered_at"] else None,
        answered_chat=row["answered_chat"],
    )


class FraudCheckRepository:
    """Reads and writes `fraud_checks`; `answer` only moves a pending row, so a second press changes nothing."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, *, transaction_id: str, customer_id: str, chat_id: int, message_id: int | None,
               created_at: dt.datetime) -> bool:
        """Record that the question was asked; False when this transaction was already asked about."""
        with self.store.locked() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO fraud_checks (transaction_id, customer_id, chat_id, message_id, status,"
                " created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                [transaction_id, customer_id, int(chat_id), message_id, _iso(created_at)],
            )
            return cursor.rowcount == 1

    def get(self, transaction_id: str) -> FraudCheck | None:
        with self.store.locked() as db:
            cursor = db.execute("SELECT * FROM fraud_checks WHERE transaction_id = ?", [transaction_id])
            row = cursor.fetchone()
            if row is None:
                return None
            return _check(dict(zip([c[0] for c in cursor.description], row, strict=True)))

    def answer(self, transaction_id: str, *, status: str, chat_id: int, answered_at: dt.datetime) -> bool:
        """Store the customer's answer if none was stored yet; True when this call stored it."""
        if status not in ("confirmed", "disputed"):
            raise ValueError(f"answer must be 'confirmed' or 'disputed', got {status!r}")
        with self.store.locked() as db:
            cursor = db.execute(
                "UPDATE fraud_checks SET status = ?, answered_at = ?, answered_chat = ?"
                " WHERE transaction_id = ? AND status = 'pending'",
                [status, _iso(answered_at), int(chat_id), transaction_id],
            )
            return cursor.rowcount == 1

    def status_by_transaction(self, customer_id: str) -> dict[str, str]:
        """{transaction_id: "pending" | "confirmed" | "disputed"} for one customer (the facade shows these)."""
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT transaction_id, status FROM fraud_checks WHERE customer_id = ?", [customer_id]
            ).fetchall()
        return {txn: status for txn, status in rows}

    def counts_by_status(self) -> dict[str, int]:
        with self.store.locked() as db:
            rows = db.execute("SELECT status, COUNT(*) FROM fraud_checks GROUP BY status").fetchall()
        return {status: int(n) for status, n in rows}

    def labels(self) -> list[tuple[str, int]]:
        """(transaction_id, 1 for disputed / 0 for confirmed): customers' answers as detector labels."""
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT transaction_id, status FROM fraud_checks WHERE status IN ('confirmed', 'disputed')"
                " ORDER BY transaction_id"
            ).fetchall()
        return [(txn, 1 if status == "disputed" else 0) for txn, status in rows]

    def confirmed_transactions(self) -> list[dict[str, Any]]:
        """The transactions customers confirmed ("Yes, it was me"): what the detector must now expect."""
        with self.store.locked() as db:
            cursor = db.execute(
                "SELECT t.transaction_id, t.customer_id, t.ts, t.amount, t.txn_type, t.merchant, t.category,"
                " t.location FROM fraud_checks f JOIN transactions t ON t.transaction_id = f.transaction_id"
                " WHERE f.status = 'confirmed' ORDER BY t.customer_id, t.ts"
            )
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def transaction_facts(self, transaction_id: str) -> TransactionFacts | None:
        with self.store.locked() as db:
            row = db.execute(
                "SELECT transaction_id, customer_id, ts, amount, merchant, location FROM transactions"
                " WHERE transaction_id = ?",
                [transaction_id],
            ).fetchone()
        if row is None:
            return None
        return TransactionFacts(
            transaction_id=row[0], customer_id=row[1], ts=dt.datetime.fromisoformat(row[2]),
            amount=float(row[3]), merchant=row[4], location=row[5],
        )

    def anomaly_check(self, transaction_id: str) -> dict[str, Any] | None:
        """A transaction's stored anomaly score and reasons with its fraud-check answer (None: unknown id)."""
        with self.store.locked() as db:
            cursor = db.execute(
                "SELECT t.transaction_id, t.customer_id, t.ts, t.amount, s.anomaly_score, s.flagged, s.reasons,"
                " s.category, s.scored_at, f.status AS fraud_check, f.answered_at"
                " FROM transactions t"
                " LEFT JOIN transaction_scores s ON s.transaction_id = t.transaction_id"
                " LEFT JOIN fraud_checks f ON f.transaction_id = t.transaction_id"
                " WHERE t.transaction_id = ?",
                [transaction_id],
            )
            row = cursor.fetchone()
            names = [c[0] for c in cursor.description]
        return dict(zip(names, row, strict=True)) if row is not None else None
