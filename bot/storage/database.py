"""Opens the store and applies named, recorded migrations: SQLite (WAL, sqlite-utils) here, PostgreSQL in
bot/storage/postgres.py behind the same interface.

Tables use portable types (TEXT, INTEGER, REAL, BLOB) and ISO-8601 text for dates, so the same migrations
create the same tables on PostgreSQL (translated by bot/storage/dialect.py).

The interface repositories use, on either backend: `locked()` / `atomic()` yield a DB-API-like connection
(`execute(sql, params)` returning a cursor with fetchone/fetchall/fetchmany/description/rowcount/lastrowid,
`executemany`, `.conn`); `store.db` / `store.conn` run one statement; plus the backend methods below
(`transaction`, `appending`, `in_transaction`, `table_exists`, `secondary_indexes`, `drop_indexes`, `stream`,
`files_folder`, `snapshot_folder`) for what differs between the engines, so no repository reads a catalog.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from analytics.private_files import create_private_file, make_private_dir, tighten
from bot.storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoreError(RuntimeError):
    """The database could not be opened or migrated."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached or the connection was lost; `in_doubt` when it was lost while
    committing (the unit of work may or may not have been stored)."""

    def __init__(self, message: str, *, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.in_doubt = in_doubt


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class Store:
    """One sqlite-utils Database shared across threads, guarded by a lock.

    sqlite-utils is synchronous; async callers use `asyncio.to_thread` and every access goes through
    `locked()` so the single connection (opened with check_same_thread=False) is never used concurrently.
    Transactions are the caller's decision (`with store.atomic():`), never hidden inside a repository.

    `Store("postgresql://...")` gives a PostgresStore (bot/storage/postgres.py), a subclass with the same
    interface, so code that opens a store by its configured target needs no change.
    """

    backend = "sqlite"

    def __new__(cls, target: str | Path = ":memory:", *args: Any, **kwargs: Any) -> Store:
        if cls is Store and is_postgres_url(target):
            from bot.storage.postgres import PostgresStore

            return super().__new__(PostgresStore)
        return super().__new__(cls)

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            _private_database_file(Path(self.path))
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:  # pragma: no cover - depends on the filesystem
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._checkpointer: threading.Thread | None = None
        if self.path != ":memory:":
            self.db.enable_wal()
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-65536")
        migrate(self.db)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def release_memory(self) -> None:
        """Hand back this connection's page cache (up to 64 MB; it refills from the file as pages are read
        again): for a long computation between reads, such as `train` after an `ingest` filled it."""
        if self.backend == "sqlite":
            with self._lock:
                self.conn.execute("PRAGMA shrink_memory")

    @contextmanager
    def locked(self) -> Iterator[sqlite_utils.Database]:
        with self._lock:
            yield self.db

    @contextmanager
    def atomic(self, *, bulk: bool = False, immediate: bool = False) -> Iterator[sqlite_utils.Database]:
        """One transaction: commit on success, roll back on error (re-entrant via SAVEPOINT).

        `immediate=True` takes the write lock at BEGIN, for a read-then-write that another process may race
        (in WAL mode a deferred transaction that read first cannot upgrade once another writer committed).

        `bulk=True` is for a load of hundreds of MB: its commit leaves the WAL un-checkpointed and a
        background connection copies it into the database file (0.5-1 s per million rows that nothing has to
        wait for: readers and writers go on meanwhile). `close()` waits for that copy. Such a load replaces
        whole tables (`train`: DELETE, then the new rows): the pages the DELETE frees are filled again by the
        rows written next in the same transaction, so they are not first overwritten with zeros
        (secure_delete, on in this SQLite build, wrote ~100 MB of zero pages to the WAL for 884k customers;
        FAST still clears deleted cells on the pages that stay in use).
        """
        if bulk:
            with self._lock:
                secure = self.conn.execute("PRAGMA secure_delete").fetchone()[0]
                self.conn.execute("PRAGMA wal_autocheckpoint=0")
                self.conn.execute("PRAGMA secure_delete=FAST")
                try:
                    with self.atomic() as db:
                        yield db
                finally:
                    self.conn.execute(f"PRAGMA secure_delete={'FAST' if secure == 2 else int(secure)}")
                    self.conn.execute("PRAGMA wal_autocheckpoint=1000")
                    self._checkpoint_in_background()
            return
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                name = f"sp_{threading.get_ident()}_{id(object())}"
                conn.execute(f"SAVEPOINT {name}")
                try:
                    yield self.db
                except BaseException:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                    raise
                conn.execute(f"RELEASE {name}")
                return
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield self.db
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # ---------------------------------------------------------------- the interface both backends offer
    def transaction(self, work: Callable[[], T], *, bulk: bool = False, immediate: bool = False) -> T:
        """Run `work()` as one unit of work inside `atomic()`. On PostgreSQL a unit that lost its connection
        before committing is run once more on a fresh one; SQLite has no connection to lose."""
        with self.atomic(bulk=bulk, immediate=immediate):
            return work()

    @contextmanager
    def appending(self, table: str) -> Iterator[sqlite_utils.Database]:
        """A block that appends rows to an append-only table found by rowid (`transactions`). SQLite has one
        writer at a time, so rowid order is commit order already: this is `locked()`."""
        with self.locked() as db:
            yield db

    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def table_exists(self, name: str) -> bool:
        with self.locked() as db:
            return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (name,)).fetchone() is not None

    def secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) of the table's explicit indexes, to drop and rebuild around a bulk load."""
        with self.locked() as db:
            return [(name, sql) for name, sql in db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                (table,)).fetchall()]

    def drop_indexes(self, table: str, *, primary_key: bool = False) -> list[str]:
        """Drop the table's explicit indexes for a bulk load (inside the caller's block); return the
        statements that rebuild them. SQLite's primary key cannot be dropped: `primary_key` is for
        PostgreSQL, where rebuilding it by one sort beats a million random inserts."""
        indexes = self.secondary_indexes(table)
        with self.locked() as db:
            for name, _ in indexes:
                db.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in indexes]

    def drop_row_triggers(self, table: str) -> list[str]:
        """Drop the table's row triggers for a bulk load (inside the caller's block; the loader then does once
        what they do per row); return the statements that recreate them."""
        with self.locked() as db:
            triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                                  (table,)).fetchall()
            for name, _ in triggers:
                db.execute(f'DROP TRIGGER "{name}"')
        return [sql for _, sql in triggers]

    def stream(self, sql: str, params: Sequence[Any] = (), batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
        """Rows of a long read, `batch` at a time, without holding the store's lock meanwhile: a second
        connection reads a consistent snapshot (WAL) while the bot and the API go on writing."""
        for rows in self.stream_batches(sql, params, batch):
            yield from rows

    def stream_batches(self, sql: str, params: Sequence[Any] = (), batch: int = 50_000) -> Iterator[list[Any]]:
        """`stream` as lists of up to `batch` rows (no Python step per row)."""
        conn = sqlite3.connect(self.path) if self.path != ":memory:" else self.conn
        try:
            cursor = conn.execute(sql, params)
            while True:
                rows = cursor.fetchmany(batch)
                if not rows:
                    break
                yield rows
        finally:
            if conn is not self.conn:
                conn.close()

    @property
    def files_folder(self) -> Path:
        """Where files that belong beside the data go (rejects reports): the database's folder."""
        return Path(".") if self.path == ":memory:" else Path(self.path).parent

    @property
    def snapshot_folder(self) -> Path | None:
        """The columnar snapshot's folder (bot/storage/snapshot.py), None for an in-memory store."""
        return None if self.path == ":memory:" else Path(self.path + ".parts")

    def _checkpoint_in_background(self) -> None:
        if self.path == ":memory:" or self.conn.in_transaction:
            return
        if self._checkpointer is not None:
            self._checkpointer.join()

        def checkpoint() -> None:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:  # the next commit's automatic checkpoint will do it instead
                log.warning("background checkpoint failed: %s", exc)
            finally:
                conn.close()

        self._checkpointer = threading.Thread(target=checkpoint, name="wal-checkpoint", daemon=True)
        self._checkpointer.start()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.join()
        with self._lock:
            self.db.conn.close()


def _private_database_file(path: Path) -> None:
    """The database holds customer data and the link-code secret: owner-only (0600, new folders 0700).

    SQLite gives its -wal and -shm files the database file's mode, so creating the file first (empty: SQLite
    makes a new database of it) decides all three. A database made before this rule is tightened.
    """
    if path.exists():
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if name.exists() and not tighten(name):
                log.warning("could not make %s owner-only; it may be readable by other accounts", name)
        return
    make_private_dir(path.parent)
    create_private_file(path)


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every migration not yet recorded in `_migrations`; return the names applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        _apply(db, name, step)
        applied.append(name)
    return applied


def _apply(db: sqlite_utils.Database, name: str, step: str | Callable[[sqlite_utils.Database], None]) -> None:
    conn = db.conn
    conn.execute("BEGIN")
    try:
        if callable(step):
            step(db)
        else:
            for statement in split_sql(step):
                conn.execute(statement)
        conn.execute(
            "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
            (name, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def split_sql(script: str) -> list[str]:
    """Split a migration script into statements (comments dropped) without executescript's implicit COMMIT."""
    statements, buffer = [], ""
    for line in script.splitlines():
        line = line.split("--", 1)[0].rstrip()
        if not line:
            continue
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def open_store(target: str | Path, *, local_dir: str | Path | None = None) -> Store:
    """The store at `target`: a `postgresql://` URL, a `sqlite:///path`, or a SQLite file path.

    `local_dir` is this machine's folder for a PostgreSQL store's local files (rejects reports, the columnar
    snapshot cache); a SQLite store keeps them beside its file.
    """
    if is_postgres_url(target):
        from bot.storage.postgres import PostgresStore

        return PostgresStore(str(target), local_dir=local_dir)
    text = str(target)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):] or ":memory:"
    return Store(text)
