"""SQL for chat links, hashed one-time link codes and wrong-code lockouts (tables from migration 0002_bot)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from bot.storage.database import Store


def iso(moment: dt.datetime) -> str:
    """UTC ISO-8601 text, the one way link times are stored (comparable as strings)."""
    if moment.tzinfo is None:
        raise ValueError("link times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class StoredCode:
    code_hash: str
    customer_id: str
    expires_at: dt.datetime
    used_at: dt.datetime | None


@dataclass(frozen=True)
class FailureRecord:
    chat_id: int
    failures: int
    last_failure: dt.datetime
    locked_until: dt.datetime | None


class LinkStore:
    """Repository for chat_links, link_codes, link_failures and the linking secret. Never commits itself."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # secret ------------------------------------------------------------------
    def secret(self, name: str = "link_code_hmac") -> bytes:
        """A per-database random HMAC key, created on first use."""
        with self.store.locked() as db:
            row = db.execute("SELECT value FROM bot_secrets WHERE name = ?", (name,)).fetchone()
            if row:
                return bytes(row[0])
            value = secrets.token_bytes(32)
            db.execute("INSERT OR IGNORE INTO bot_secrets (name, value) VALUES (?, ?)", (name, value))
            row = db.execute("SELECT value FROM bot_secrets WHERE name = ?", (name,)).fetchone()
            return bytes(row[0])

    # codes -------------------------------------------------------------------
    def add_code(self, code_hash: str, customer_id: str, created_at: dt.datetime, expires_at: dt.datetime) -> None:
        with self.store.locked() as db:
            db.execute(
                "INSERT INTO link_codes (code_hash, customer_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (code_hash, customer_id, iso(created_at), iso(expires_at)),
            )

    def get_code(self, code_hash: str) -> StoredCode | None:
        with self.store.locked() as db:
            row = db.execute(
                "SELECT code_hash, customer_id, expires_at, used_at FROM link_codes WHERE code_hash = ?",
                (code_hash,),
            ).fetchone()
        if row is None:
            return None
        return StoredCode(row[0], row[1], parse_iso(row[2]), parse_iso(row[3]))  # type: ignore[arg-type]

    def mark_used(self, code_hash: str, chat_id: int, when: dt.datetime) -> bool:
        """Claim the code; False when another chat claimed it first (one-time even under races)."""
        with self.store.locked() as db:
            cursor = db.execute(
                "UPDATE link_codes SET used_at = ?, used_by_chat = ? WHERE code_hash = ? AND used_at IS NULL",
                (iso(when), chat_id, code_hash),
            )
            return cursor.rowcount == 1

    # failures ----------------------------------------------------------------
    def failures(self, chat_id: int) -> FailureRecord | None:
        with self.store.locked() as db:
            row = db.execute(
                "SELECT chat_id, failures, last_failure, locked_until FROM link_failures WHERE chat_id = ?",
                (chat_id,),
            ).fetchone()
        if row is None:
            return None
        return FailureRecord(row[0], row[1], parse_iso(row[2]), parse_iso(row[3]))  # type: ignore[arg-type]

    def save_failures(self, chat_id: int, failures: int, last_failure: dt.datetime,
                      locked_until: dt.datetime | None) -> None:
        with self.store.locked() as db:
            db.execute(
                "INSERT INTO link_failures (chat_id, failures, last_failure, locked_until) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(chat_id) DO UPDATE SET failures = excluded.failures, "
                "last_failure = excluded.last_failure, locked_until = excluded.locked_until",
                (chat_id, failures, iso(last_failure), iso(locked_until) if locked_until else None),
            )

    def clear_failures(self, chat_id: int) -> None:
        with self.store.locked() as db:
            db.execute("DELETE FROM link_failures WHERE chat_id = ?", (chat_id,))

    # links -------------------------------------------------------------------
    def link(self, chat_id: int, customer_id: str, user_id: int | None, when: dt.datetime) -> None:
        with self.store.locked() as db:
            db.execute(
                "INSERT INTO chat_links (chat_id, customer_id, user_id, linked_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(chat_id) DO UPDATE SET customer_id = excluded.customer_id, "
                "user_id = excluded.user_id, linked_at = excluded.linked_at",
                (chat_id, customer_id, user_id, iso(when)),
            )

    def unlink(self, chat_id: int) -> bool:
        with self.store.locked() as db:
            return db.execute("DELETE FROM chat_links WHERE chat_id = ?", (chat_id,)).rowcount == 1

    def customer_for_chat(self, chat_id: int) -> str | None:
        with self.store.locked() as db:
            row = db.execute("SELECT customer_id FROM chat_links WHERE chat_id = ?", (chat_id,)).fetchone()
        return row[0] if row else None

    def chats_for_customer(self, customer_id: str) -> list[int]:
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT chat_id FROM chat_links WHERE customer_id = ? ORDER BY linked_at, chat_id", (customer_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def linked_chats(self) -> list[tuple[int, str]]:
        with self.store.locked() as db:
            rows = db.execute("SELECT chat_id, customer_id FROM chat_links ORDER BY chat_id").fetchall()
        return [(r[0], r[1]) for r in rows]

    def count_links(self) -> tuple[int, int]:
        """(linked chats, distinct linked customers)."""
        with self.store.locked() as db:
            row = db.execute("SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM chat_links").fetchone()
        return int(row[0]), int(row[1])
