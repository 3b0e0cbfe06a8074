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
        with self.store.locked() as db:
            if not db["segments"].exists() or not db["customer_scores"].count:
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
               control: list[tuple[int, str]], when: dt.datetime) -> int:
        with self.store.locked() as db:
            cursor = db.execute(
                "INSERT INTO broadcasts (created_at, admin_user_id, target_kind, target_value, message, "
                "audience_size, control_share, control_size, seed, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_iso(when), admin_user_id, target_kind, target_value, message, len(treatment) + len(control),
                 control_share, len(control), seed, "sending"),
            )
            broadcast_id = int(cursor.lastrowid or 0)
            db.conn.executemany(
                "INSERT INTO broadcast_recipients (broadcast_id, chat_id, customer_id, grp, status) "
                "VALUES (?, ?, ?, ?, ?)",
                [(broadcast_id, chat, cust, "treatment", "pending") for chat, cust in treatment]
                + [(broadcast_id, chat, cust, "control", "held_out") for chat, cust in control],
            )
        return broadcast_id

    def mark_results(self, broadcast_id: int, results: list[tuple[int, str, str | None]], when: dt.datetime) -> None:
        """Record (chat_id, 'sent'|'failed', error) for a batch of recipients."""
        with self.store.locked() as db:
            db.conn.executemany(
                "UPDATE broadcast_recipients SET status = ?, sent_at = ?, error = ? "
                "WHERE broadcast_id = ? AND chat_id = ?",
                [(status, _iso(when), error, broadcast_id, chat) for chat, status, error in results],
            )

    def finish(self, broadcast_id: int, when: dt.datetime) -> dict[str, int]:
        with self.store.locked() as db:
            sent, failed = db.execute(
                "SELECT SUM(status = 'sent'), SUM(status = 'failed') FROM broadcast_recipients "
                "WHERE broadcast_id = ?", (broadcast_id,),
            ).fetchone()
            db.execute(
                "UPDATE broadcasts SET status = 'done', sent = ?, failed = ?, finished_at = ? WHERE broadcast_id = ?",
                (int(sent or 0), int(failed or 0), _iso(when), broadcast_id),
            )
        return {"sent": int(sent or 0), "failed": int(failed or 0)}

    def recipients(self, broadcast_id: int) -> list[dict[str, Any]]:
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT chat_id, customer_id, grp, status, error FROM broadcast_recipients WHERE broadcast_id = ? "
                "ORDER BY chat_id", (broadcast_id,),
            ).fetchall()
        return [{"chat_id": r[0], "customer_id": r[1], "group": r[2], "status": r[3], "error": r[4]} for r in rows]

    def get(self, broadcast_id: int) -> dict[str, Any] | None:
        with self.store.locked() as db:
            rows = list(db["broadcasts"].rows_where("broadcast_id = ?", [broadcast_id]))
        return rows[0] if rows else None
