"""SQL for the admin audit trail and the operational counts admins see in /stats."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.storage.database import Store


class AuditStore:
    """Append-only admin_audit rows, plus read-only counts across the bot's tables."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, admin_user_id: int, chat_id: int | None, action: str, details: dict[str, Any],
               when: dt.datetime) -> None:
        with self.store.locked() as db:
            db.execute(
                "INSERT INTO admin_audit (ts, admin_user_id, chat_id, action, details) VALUES (?, ?, ?, ?, ?)",
                (when.astimezone(dt.UTC).isoformat(timespec="seconds"), admin_user_id, chat_id, action,
                 json.dumps(details, sort_keys=True, default=str)),
            )

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT id, ts, admin_user_id, chat_id, action, details FROM admin_audit ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [{"id": r[0], "ts": r[1], "admin_user_id": r[2], "chat_id": r[3], "action": r[4],
                 "details": json.loads(r[5])} for r in rows]

    def _count(self, sql: str, table: str) -> int:
        if not self.store.table_exists(table):  # tables of other areas may be absent in a partial install
            return 0
        with self.store.locked() as db:
            return int(db.execute(sql).fetchone()[0] or 0)

    def counts(self) -> dict[str, int]:
        """The figures behind /stats, each one SQL count."""
        return {
            "customers": self._count("SELECT COUNT(*) FROM customers", "customers"),
            "linked_chats": self._count("SELECT COUNT(*) FROM chat_links", "chat_links"),
            "linked_customers": self._count("SELECT COUNT(DISTINCT customer_id) FROM chat_links", "chat_links"),
            "outbox_sent": self._count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", "outbox"),
            # Broadcasts go through the outbox since migration 0006; older ones were sent directly.
            "broadcast_sent": self._count(
                "SELECT COUNT(*) FROM broadcast_recipients WHERE status = 'sent' AND outbox_id IS NULL",
                "broadcast_recipients"),
            "outbox_pending": self._count(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')", "outbox"),
            "outbox_dead": self._count("SELECT COUNT(*) FROM outbox WHERE status IN ('dead', 'failed')", "outbox"),
            "outbox_dropped": self._count("SELECT COUNT(*) FROM outbox WHERE status = 'dropped'", "outbox"),
            "outbox_unknown": self._count("SELECT COALESCE(SUM(unknown_outcomes), 0) FROM outbox", "outbox"),
            "alerts_flagged": self._count(
                "SELECT COUNT(*) FROM transaction_scores WHERE flagged = 1", "transaction_scores"),
            "alerts_open": self._count(
                "SELECT COUNT(*) FROM fraud_checks WHERE status = 'pending'", "fraud_checks"),
            "disputes": self._count("SELECT COUNT(*) FROM fraud_checks WHERE status = 'disputed'", "fraud_checks"),
            "confirmed": self._count(
                "SELECT COUNT(*) FROM fraud_checks WHERE status = 'confirmed'", "fraud_checks"),
        }
