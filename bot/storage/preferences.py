"""SQL for each chat's proactive-message preferences (table alert_preferences, migrations 0002_bot, 0008_alert_kinds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.storage.database import Store

TOGGLES = ("low_balance", "unusual", "monthly", "offers", "trend", "forecast", "recurring")
COLUMNS = (*TOGGLES, "low_balance_threshold", "quiet_hours")


class PreferenceStore:
    """Rows of alert_preferences as plain dicts; a missing row means "defaults"."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, chat_id: int) -> dict[str, Any] | None:
        with self.store.locked() as db:
            cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM alert_preferences WHERE chat_id = ?", (chat_id,))
            row = cursor.fetchone()
        return dict(zip(COLUMNS, row, strict=True)) if row else None

    def put(self, chat_id: int, values: dict[str, Any], when: dt.datetime) -> None:
        row = [int(values[c]) if isinstance(values[c], bool) else values[c] for c in COLUMNS]
        with self.store.locked() as db:
            db.execute(
                f"INSERT INTO alert_preferences (chat_id, {', '.join(COLUMNS)}, updated_at) "
                f"VALUES (?, {', '.join('?' for _ in COLUMNS)}, ?) ON CONFLICT(chat_id) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS) + ", updated_at = excluded.updated_at",
                (chat_id, *row, when.astimezone(dt.UTC).isoformat(timespec="seconds")),
            )

    def opted_out(self, kind: str) -> set[int]:
        """Chats that switched `kind` off (for audience filters)."""
        if kind not in TOGGLES:
            raise ValueError(f"unknown alert kind {kind!r}")
        with self.store.locked() as db:
            rows = db.execute(f"SELECT chat_id FROM alert_preferences WHERE {kind} = 0").fetchall()
        return {r[0] for r in rows}
