"""SQL for admin broadcasts: audiences (linked chats by segment or churn level), recipients and segment sizes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.storage.database import Store


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


CHURN_TARGET_LEVELS = ("high", "medium", "low", "lapsed")


def churn_levels_of(target_value: str | None) -> tuple[str, ...]:
    """The churn levels a broadcast target names: one level or several joined by commas ("high,medium")."""
    levels = tuple(dict.fromkeys(v.strip() for v in (target_value or "").split(",") if v.strip()))
    unknown = [v for v in levels if v not in CHURN_TARGET_LEVELS]
    if not levels or unknown:
        raise ValueError(f"churn target must name levels among {', '.join(CHURN_TARGET_LEVELS)}: {target_value!r}")
    return levels


class BroadcastStore:
    """Repository for broadcasts and broadcast_recipients; the caller decides transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # audiences ---------------------------------------------------------------
    def linked_audience(self, target_kind: str, target_value: str | None = None) -> list[tuple[int, str]]:
        """(chat_id, customer_id) of linked chats matching the target, ordered for reproducible sampling."""
        if target_kind == "all":
            sql, args = "SELECT l.chat_id, l.customer_id FROM chat_links l", ()
        elif target_kind == "segment":
            sql = ("SELECT l.chat_id, l.customer_id FROM chat_links l "
                   "JOIN customer_scores c ON c.customer_id = l.customer_id WHERE c.segment = ?")
            args = (int(target_value or 0),)
        elif target_kind == "churn":
            levels = churn_levels_of(target_value)
            sql = ("SELECT l.chat_id, l.customer_id FROM chat_links l "
                   "JOIN customer_scores c ON c.customer_id = l.customer_id "
                   f"WHERE c.churn_level IN ({', '.join('?' * len(levels))})")
            args = levels
        else:
            raise ValueError(f"unknown broadcast target {target_kind!r}")
        with self.store.locked() as db:
            rows = db.execute(sql + " ORDER BY l.chat_id", args).fetchall()
        return [(r[0], r[1]) for r in rows]

    def segment_overview(self) -> list[dict[str, Any]]:
        """Each segment with its persona, size, mean churn risk and how many customers `train` put at each churn
        level (customer_scores.churn_level: the same levels a churn broadcast targets)."""
        if not self.store.table_exists("segments"):
            return []
        with self.store.locked() as db:
            if db.execute("SELECT 1 FROM customer_scores LIMIT 1").fetchone() is None:
                return []
            rows = db.execute(
                """SELECT s.segment, s.persona, s.description, COUNT(c.customer_id), AVG(c.churn_risk),
                          SUM(CASE WHEN c.churn_level = 'high' THEN 1 ELSE 0 END),
                          SUM(CASE WHEN c.churn_level = 'medium' THEN 1 ELSE 0 END),
                          SUM(CASE WHEN c.churn_level = 'lapsed' THEN 1 ELSE 0 END)
                   FROM segments s LEFT JOIN customer_scores c ON c.segment = s.segment
                   GROUP BY s.segment, s.persona, s.description ORDER BY s.segment"""
            ).fetchall()
        return [{"segment": r[0], "persona": r[1], "description": r[2], "size": int(r[3] or 0),
                 "mean_churn": float(r[4] or 0.0), "high_risk": int(r[5] or 0), "medium_risk": int(r[6] or 0),
                 "lapsed": int(r[7] or 0)}
                for r in rows]

    # broadcasts --------------------------------------------------------------
    def create(self, *, admin_user_id: int, target_kind: str, target_value: str | None, message: str,
               control_share: float, seed: int, treatment: list[tuple[int, str]],
               control: list[tuple[int, str]], when: dt.datetime, as_of: dt.date | None = None) -> int:
        """Store the broadcast and both groups; the caller queues the treatment's outbox rows (`attach_outbox`)."""
        with self.store.locked() as db:
            cursor = db.execute(
                "INSERT INTO broadcasts (created_at, admin_user_id, target_kind, target_value, message, "
                "audience_size, control_share, control_size, seed, status, as_of) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_iso(when), admin_user_id, target_kind, target_value, message, len(treatment) + len(control),
                 control_share, len(control), seed, "sending", as_of.isoformat() if as_of else None),
            )
            broadcast_id = int(cursor.lastrowid or 0)
            db.conn.executemany(
                "INSERT INTO broadcast_recipients (broadcast_id, chat_id, customer_id, grp, status) "
                "VALUES (?, ?, ?, ?, ?)",
                [(broadcast_id, chat, cust, "treatment", "pending") for chat, cust in treatment]
                + [(broadcast_id, chat, cust, "control", "held_out") for chat, cust in control],
            )
        return broadcast_id

    def attach_outbox(self, broadcast_id: int, rows: list[tuple[int, int]]) -> None:
        """Record the outbox row of each treatment recipient: (chat_id, outbox_id)."""
        with self.store.locked() as db:
            db.conn.executemany(
                "UPDATE broadcast_recipients SET outbox_id = ? WHERE broadcast_id = ? AND chat_id = ?",
                [(outbox_id, broadcast_id, chat) for chat, outbox_id in rows])

    def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        with self.store.locked() as db:
            db.execute("UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ? WHERE broadcast_id = ?",
                       (chat_id, message_id, broadcast_id))

    def record_delivery(self, broadcast_id: int, chat_id: int, status: str, error: str | None,
                        when: dt.datetime) -> None:
        """A recipient's outbox row reached its end: 'sent' or 'failed' (dead-lettered or dropped)."""
        with self.store.locked() as db:
            db.execute(
                "UPDATE broadcast_recipients SET status = ?, sent_at = ?, error = ? "
                "WHERE broadcast_id = ? AND chat_id = ? AND grp = 'treatment'",
                (status, _iso(when), (error or None) and error[:200], broadcast_id, chat_id))

    def finish_if_complete(self, broadcast_id: int, when: dt.datetime) -> bool:
        """Mark the broadcast 'done' once none of its outbox rows is left to send; True when this call did."""
        with self.store.locked() as db:
            cursor = db.execute(
                "UPDATE broadcasts SET status = 'done',"
                " sent = (SELECT COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ? AND status = 'sent'),"
                " failed = (SELECT COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ? AND status = 'failed'),"
                " finished_at = ?"
                " WHERE broadcast_id = ? AND status = 'sending' AND NOT EXISTS ("
                "   SELECT 1 FROM broadcast_recipients r JOIN outbox o ON o.id = r.outbox_id"
                "   WHERE r.broadcast_id = ? AND o.status IN ('pending', 'sending'))",
                (broadcast_id, broadcast_id, _iso(when), broadcast_id, broadcast_id))
            return cursor.rowcount == 1

    def progress(self, broadcast_id: int, now: dt.datetime) -> dict[str, int]:
        """Treatment recipients by the state of their outbox rows: sent, waiting (due later), due, failed."""
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT CASE WHEN o.status = 'sent' THEN 'sent'"
                "            WHEN o.status IN ('dead', 'failed', 'dropped') THEN 'failed'"
                "            WHEN o.status = 'pending' AND o.due_at > ? THEN 'waiting'"
                "            WHEN o.status IS NULL THEN r.status"
                "            ELSE 'due' END, COUNT(*)"
                " FROM broadcast_recipients r LEFT JOIN outbox o ON o.id = r.outbox_id"
                " WHERE r.broadcast_id = ? AND r.grp = 'treatment' GROUP BY 1",
                (_iso(now), broadcast_id)).fetchall()
        counts = {"sent": 0, "failed": 0, "waiting": 0, "due": 0}
        for state, n in rows:
            key = state if state in counts else ("due" if state == "pending" else "failed")
            counts[key] += int(n)
        return counts

    def activity(self, broadcast_id: int, start: dt.date, end: dt.date) -> list[tuple[str, str, int]]:
        """(group, customer_id, transactions with start < txn_date <= end) for the delivered treatment
        recipients and the control group (one row per customer and group)."""
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT g.grp, g.customer_id, COUNT(t.transaction_id) FROM"
                " (SELECT DISTINCT grp, customer_id FROM broadcast_recipients"
                "   WHERE broadcast_id = ? AND (grp = 'control' OR status = 'sent')) g"
                " LEFT JOIN transactions t ON t.customer_id = g.customer_id AND t.txn_date > ? AND t.txn_date <= ?"
                " GROUP BY g.grp, g.customer_id ORDER BY g.grp, g.customer_id",
                (broadcast_id, start.isoformat(), end.isoformat())).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    def latest_transaction_date(self) -> dt.date | None:
        with self.store.locked() as db:
            value = db.execute("SELECT MAX(txn_date) FROM transactions").fetchone()[0]
        return dt.date.fromisoformat(value) if value else None

    def _dicts(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows as dicts through the interface both backends offer (sqlite-utils' `query` is SQLite's only)."""
        with self.store.locked() as db:
            cursor = db.execute(sql, args)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def recent(self, limit: int = 3) -> list[dict[str, Any]]:
        return self._dicts("SELECT * FROM broadcasts ORDER BY broadcast_id DESC LIMIT ?", (int(limit),))

    def unfinished_with_progress(self) -> list[dict[str, Any]]:
        """Broadcasts still sending whose admin has a progress message to update."""
        return self._dicts("SELECT * FROM broadcasts WHERE status = 'sending' AND progress_message_id IS NOT NULL")

    def recipients(self, broadcast_id: int) -> list[dict[str, Any]]:
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT chat_id, customer_id, grp, status, error, outbox_id FROM broadcast_recipients"
                " WHERE broadcast_id = ? ORDER BY chat_id", (broadcast_id,),
            ).fetchall()
        return [{"chat_id": r[0], "customer_id": r[1], "group": r[2], "status": r[3], "error": r[4],
                 "outbox_id": r[5]} for r in rows]

    def get(self, broadcast_id: int) -> dict[str, Any] | None:
        with self.store.locked() as db:
            cursor = db.execute("SELECT * FROM broadcasts WHERE broadcast_id = ?", (broadcast_id,))
            row = cursor.fetchone()
            names = [c[0] for c in cursor.description]
        return dict(zip(names, row, strict=True)) if row is not None else None
