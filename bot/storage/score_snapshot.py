"""A columnar copy of what `export` reads from customer_scores, used only while the table still holds exactly it.

Reading 884k customer rows back through sqlite3 or psycopg builds 13 million Python objects (about 2 s) and
turning them into Arrow arrays for the CSV writer takes another second; the same columns in an Arrow IPC file
map in milliseconds. `train` writes the copy (bot/storage/scores.py builds its columns from the rows it
inserts, typed as SQL gives them back) and `export` reads it.

SQL stays the source of truth. The copy carries the store's id and the `customer_scores_version` token that
the transaction writing the rows set (migration 0010). Every later write to customer_scores, by any code,
process or worker, changes the token (triggers), and a rolled-back write never commits its token, so a copy
whose token is not the store's current one is never read: export reads the rows from SQL instead. The copy is
read first and the token checked after, so a file replaced meanwhile cannot pass for the rows. The file sits
in the transactions snapshot's folder (`Store.snapshot_folder`), 0600, and may be deleted at any time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather

from analytics.private_files import create_private_file, make_private_dir, tighten
from bot.storage.database import Store
from bot.storage.migrations import CUSTOMER_SCORES_VERSION as VERSION_KEY

# VERSION_KEY: the store_meta row whose token the triggers of migration 0010 renew on every write to the table

log = logging.getLogger(__name__)

FILE_NAME = "customer_scores.arrow"
FORMAT = "1"   # what a copy holds and how: a change makes older copies unreadable (SQL is read instead)


class CustomerScoresSnapshot:
    """Writes and reads the copy of one store; a store without a snapshot folder (in memory) has none."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.path = None if store.snapshot_folder is None else store.snapshot_folder / FILE_NAME

    def store_id(self) -> str:
        return self._meta().get("store_id", "")

    def save(self, table: pa.Table, version: str, *, store_id: str | None = None) -> Path | None:
        """Write `table` as the copy of the rows the store holds at `version` (the token their transaction
        set). Safe before that transaction commits: until it does, the store's token is another one (and a
        rolled-back one never becomes it). `store_id` saves a look-up (from a thread that must not wait for
        the store's lock)."""
        if self.path is None:
            return None
        metadata = {"store_id": self.store_id() if store_id is None else store_id, "version": version,
                    "format": FORMAT}
        temporary = self.path.with_suffix(".tmp")
        try:
            make_private_dir(self.path.parent)
            tighten(self.path.parent)
            create_private_file(temporary)  # every customer's scores: 0600 before a byte is written
            feather.write_feather(table.replace_schema_metadata(metadata), temporary, compression="uncompressed")
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("customer scores copy not written (%s): export will read them from SQL", exc)
            temporary.unlink(missing_ok=True)
            return None
        return self.path

    def current(self) -> pa.Table | None:
        """The copy, if it holds exactly the store's customer_scores rows now; else None (read SQL)."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            table = feather.read_table(self.path, memory_map=True)
        except (OSError, pa.ArrowException) as exc:
            log.warning("customer scores copy unreadable (%s): export reads SQL", exc)
            return None
        raw = table.schema.metadata or {}
        metadata = {k.decode(): v.decode() for k, v in raw.items()}
        meta = self._meta()   # checked after the read: the file we hold is the one compared
        if (metadata.get("format") != FORMAT or not meta.get(VERSION_KEY) or not meta.get("store_id")
                or metadata.get("store_id") != meta["store_id"] or metadata.get("version") != meta[VERSION_KEY]):
            return None
        return table.replace_schema_metadata(None)

    def _meta(self) -> dict[str, str]:
        with self.store.locked() as db:
            return dict(db.execute("SELECT key, value FROM store_meta WHERE key IN ('store_id', ?)",
                                   (VERSION_KEY,)).fetchall())


# Collations that order text by code point, as the copy is ordered (SQLite's BINARY; glibc's C.UTF-8 compares
# code points too). Under another one, PostgreSQL's ORDER BY customer_id is another order: no copy is made.
_CODE_POINT_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8"})


def orders_text_by_code_point(store: Store) -> bool:
    """Whether the store's `ORDER BY customer_id` is code-point order (the order of the copy's rows)."""
    if store.backend != "postgresql":
        return True   # SQLite compares text with memcmp (BINARY): UTF-8 bytes sort in code-point order
    with store.locked() as db:
        row = db.execute(
            "SELECT to_jsonb(d) ->> 'datlocprovider', d.datcollate, (SELECT c.collname FROM pg_attribute a"
            " JOIN pg_collation c ON c.oid = a.attcollation WHERE a.attrelid = to_regclass('customer_scores')"
            " AND a.attname = 'customer_id') FROM pg_database d WHERE d.datname = current_database()").fetchone()
    if row is None:
        return False
    provider, database_collation, column_collation = row
    if column_collation in ("C", "POSIX"):
        return True
    return column_collation == "default" and provider in (None, "c") and database_collation in _CODE_POINT_COLLATIONS
