"""Where intake scoring has got to: the rowid up to which every stored transaction has been scored.

`transactions` is append-only, so "scored through rowid N" says exactly which rows still wait. Training scores
everything it read (it moves the mark to its last rowid); intake scores the rest. A crash between storing rows
and scoring them loses nothing: the next intake pass (an ingest, an API call, a notification pass) finds them.
"""

from __future__ import annotations

from bot.storage.database import Store

_KEY = "intake_scored_through_rowid"


class IntakeMark:
    """Reads and moves the mark in `store_meta`; the caller owns the transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self) -> int | None:
        with self.store.locked() as db:
            row = db.execute("SELECT value FROM store_meta WHERE key = ?", (_KEY,)).fetchone()
        return int(row[0]) if row is not None else None

    def set(self, rowid: int) -> None:
        with self.store.locked() as db:
            db.execute(
                "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_KEY, str(int(rowid))),
            )
