"""The store on PostgreSQL: a psycopg connection pool behind the same interface as the SQLite Store.

Sessions: inside `locked()` or `atomic()` every call on that thread (or asyncio task: a context variable) uses
the one pooled connection the block took, so a transaction, a temporary table and a COPY all see each other;
outside a block each statement borrows a connection in autocommit and gives it back with its rows read.

Concurrency that one SQLite writer never needed:
- `atomic(immediate=True)` takes a transaction-scoped advisory lock, so read-then-write units (intake
  scoring, API submissions) run one at a time across processes, as SQLite's BEGIN IMMEDIATE makes them.
- `appending("transactions")` locks the table against other writers until commit (readers go on), so rowids
  are handed out in commit order: "every row after rowid N" stays a correct mark when two ingests race.
- `claim`-style statements can use `SELECT ... FOR UPDATE SKIP LOCKED` directly: it is PostgreSQL syntax and
  passes through the dialect layer unchanged.

Connection loss: the pool checks a connection before lending it, so a restarted server costs nothing but a
reconnect; a unit of work run through `transaction()` that loses its connection before COMMIT is rolled back
by the server and run once more on a fresh connection. A failure during COMMIT is reported, never retried.
While the server is down a block fails within about a second instead of waiting on the pool's reconnect
back-off, and once it is back a block gets a direct connection until the pool has reconnected.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.storage import dialect
from bot.storage.database import Store, StoreError, StoreUnavailable, split_sql
from bot.storage.migrations import MIGRATIONS

try:
    import psycopg
    from psycopg import pq
    from psycopg.adapt import Dumper, Loader
    from psycopg.conninfo import conninfo_to_dict
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - both are dependencies in pyproject.toml
    raise StoreError("a PostgreSQL store needs psycopg 3 and psycopg-pool: "
                     "pip install 'psycopg[binary]' psycopg-pool") from exc

log = logging.getLogger(__name__)
T = TypeVar("T")

POOL_SIZE = 10
CONNECT_TIMEOUT_S = 5
BORROW_TIMEOUT_S = 30
QUICK_BORROW_S = 1.0       # then the server is asked directly (see PostgresStore._borrow)
_IMMEDIATE_LOCK = zlib.crc32(b"finassist:immediate")      # advisory lock keys: any fixed 32-bit numbers
_MIGRATION_LOCK = zlib.crc32(b"finassist:migrations")


# ------------------------------------------------------------------------------------------ type adapters
class _BoolAsInteger(Dumper):
    """SQLite stores True as 1 and the schema's flags are INTEGER columns: bind booleans the same way."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _DateTimeAsText(Dumper):
    """Dates are ISO-8601 text in this schema: bind date/datetime as sqlite3's adapters do."""

    oid = 0  # unknown: PostgreSQL takes the type of the column it meets (TEXT)

    def dump(self, obj: dt.date) -> bytes:
        return (obj.isoformat(" ") if isinstance(obj, dt.datetime) else obj.isoformat()).encode()


class _NumericAsNumber(Loader):
    """SUM/AVG of integers is NUMERIC in PostgreSQL; SQLite returns int or float, and so do we."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if any(c in text for c in ".eEN") else int(text)


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInteger)
    conn.adapters.register_dumper(dt.date, _DateTimeAsText)
    conn.adapters.register_dumper(dt.datetime, _DateTimeAsText)
    conn.adapters.register_loader("numeric", _NumericAsNumber)


# ------------------------------------------------------------------------------------------------ cursors
class PgCursor:
    """A psycopg cursor with sqlite3's `lastrowid` (from the RETURNING the dialect layer added)."""

    def __init__(self, cursor: psycopg.Cursor, returns_id: bool) -> None:
        self._cursor = cursor
        self.lastrowid: int | None = None
        self._silent = returns_id
        if returns_id:
            row = cursor.fetchone()
            self.lastrowid = int(row[0]) if row else None

    @property
    def description(self) -> Any:
        return None if self._silent else self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        return None if self._silent or self._cursor.description is None else self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [] if self._silent or self._cursor.description is None else self._cursor.fetchall()

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        return [] if self._silent or self._cursor.description is None else self._cursor.fetchmany(size)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())

    def buffered(self) -> BufferedCursor:
        return BufferedCursor(self.fetchall(), self.description, self.rowcount, self.lastrowid)

    def close(self) -> None:
        self._cursor.close()


class BufferedCursor:
    """The rows of a statement that ran on a borrowed connection, already read (the connection went back)."""

    def __init__(self, rows: list[tuple[Any, ...]], description: Any, rowcount: int, lastrowid: int | None) -> None:
        self._rows, self._next = rows, 0
        self.description, self.rowcount, self.lastrowid = description, rowcount, lastrowid

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows = self._rows[self._next:self._next + size]
        self._next += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._next:]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())

    def close(self) -> None:
        self._rows = []


# ------------------------------------------------------------------------------------------- connections
class PgConnection:
    """One pooled connection taken by a `locked()`/`atomic()` block: the repositories' DB-API-like object."""

    backend = "postgresql"

    def __init__(self, store: PostgresStore, raw: psycopg.Connection) -> None:
        self.store = store
        self.raw = raw

    @property
    def conn(self) -> PgConnection:  # repositories written for sqlite-utils reach the connection as `db.conn`
        return self

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> PgCursor | BufferedCursor:
        statement = self.store.statement(sql, self)
        if statement.text is None:
            return BufferedCursor([], None, -1, None)
        with self.guarded():
            cursor = self.raw.execute(statement.text, _params(params))
            for extra in statement.after:
                self.raw.execute(extra)
            return PgCursor(cursor, statement.returns_id)

    def executemany(self, sql: str, rows: Any) -> BufferedCursor:
        statement = self.store.statement(sql, self, many=True)
        if statement.text is None:
            return BufferedCursor([], None, -1, None)
        with self.guarded(), self.raw.cursor() as cursor:
            cursor.executemany(statement.text, rows)
            return BufferedCursor([], None, cursor.rowcount, None)

    def table_names(self) -> list[str]:
        return [r[0] for r in self.raw.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").fetchall()]

    # catalog look-ups for the dialect layer and bulk.py, cached by the store (the schema is migrated once)
    def primary_key(self, table: str) -> tuple[str, ...]:
        return self.store.catalog_value("pk", table, self, lambda: tuple(r[0] for r in self.raw.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(%s) AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)", (table,)).fetchall()))

    def columns(self, table: str) -> tuple[str, ...]:
        return self.store.catalog_value("columns", table, self, lambda: tuple(r[0] for r in self.raw.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0"
            " AND NOT attisdropped AND attidentity <> 'a' ORDER BY attnum", (table,)).fetchall()))

    def column_types(self, table: str) -> dict[str, str]:
        return self.store.catalog_value("types", table, self, lambda: {r[0]: r[1] for r in self.raw.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass(%s)"
            " AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()})

    def identity_column(self, table: str) -> str | None:
        def look_up() -> str | None:
            row = self.raw.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s)"
                                   " AND attidentity <> '' AND NOT attisdropped", (table,)).fetchone()
            return row[0] if row else None

        return self.store.catalog_value("identity", table, self, look_up)

    @contextmanager
    def guarded(self) -> Iterator[None]:
        """Turn a lost connection into StoreUnavailable (other database errors pass unchanged)."""
        try:
            yield
        except psycopg.OperationalError as exc:
            if self.raw.broken or self.raw.closed or isinstance(exc, _SHUTDOWN_ERRORS):
                raise StoreUnavailable(f"lost the connection to PostgreSQL at {self.store.where}: "
                                       f"{_first_line(exc)}") from exc
            raise


_SHUTDOWN_ERRORS = (psycopg.errors.AdminShutdown, psycopg.errors.CrashShutdown, psycopg.errors.CannotConnectNow)


class PgDatabase:
    """`store.db` / `store.conn`: runs each statement on the current block's connection, or on a borrowed
    one (autocommit) when no block is open; a read that finds its connection dead is tried once more."""

    backend = "postgresql"

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    @property
    def conn(self) -> PgDatabase:
        return self

    @property
    def in_transaction(self) -> bool:
        return self.store.in_transaction()

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        current = self.store.current()
        if current is not None:
            return current.execute(sql, params)
        read_only = (sql.split(None, 1) or [""])[0].upper() == "SELECT"  # safe to run twice
        for attempt in (1, 2):
            try:
                with self.store.locked() as conn:
                    cursor = conn.execute(sql, params)
                    return cursor.buffered() if isinstance(cursor, PgCursor) else cursor
            except StoreUnavailable:
                if attempt == 2 or not read_only:
                    raise
                log.warning("a read lost its PostgreSQL connection: trying once more on a fresh one")
        raise AssertionError("unreachable")

    def executemany(self, sql: str, rows: Any) -> BufferedCursor:
        with self.store.locked() as conn:
            return conn.executemany(sql, rows)

    def table_names(self) -> list[str]:
        with self.store.locked() as conn:
            return conn.table_names()


@dataclass
class _Session:
    conn: PgConnection
    depth: int = 0          # open atomic() levels: 0 = autocommit


# ------------------------------------------------------------------------------------------------- store
class PostgresStore(Store):
    """The Store interface over a psycopg pool; see the module docstring for sessions and concurrency."""

    backend = "postgresql"

    def __init__(self, url: str, *, local_dir: str | Path | None = None, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        try:
            info = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"not a PostgreSQL URL: {_first_line(exc)}") from exc
        self.where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        self.path = f"postgresql://{info['user'] + '@' if info.get('user') else ''}{self.where}"  # no password
        self.local_dir = Path(local_dir) if local_dir is not None else None
        self._current: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
            f"finassist_pg_session_{id(self)}", default=None)
        self._statements: dict[tuple[str, bool], dialect.PgStatement] = {}
        self._catalog: dict[tuple[str, str], Any] = {}
        self._catalog_lock = threading.Lock()
        self._overflow = threading.BoundedSemaphore(pool_size)
        self._kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in info:
            self._kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
        first = self._connect()
        try:
            migrate(self, first)
        finally:
            first.close()
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs=self._kwargs, configure=_configure,
                                   check=ConnectionPool.check_connection, open=False, name=f"finassist {self.where}")
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
        except PoolTimeout as exc:
            self.pool.close()
            raise StoreUnavailable(f"cannot connect to PostgreSQL at {self.where}: no connection within "
                                   f"{CONNECT_TIMEOUT_S * 2} s") from exc
        self.db = PgDatabase(self)

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self.url, **self._kwargs)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL at {self.where}: {_reason(exc)}") from exc
        _configure(conn)
        return conn

    # ------------------------------------------------------------------------------------------ sessions
    @property
    def conn(self) -> PgDatabase:  # type: ignore[override]
        return self.db

    def current(self) -> PgConnection | None:
        session = self._current.get()
        return session.conn if session is not None else None

    @contextmanager
    def locked(self) -> Iterator[PgConnection]:  # type: ignore[override]
        """Pin one pooled connection to this block (joins the enclosing block's connection if there is one)."""
        session = self._current.get()
        if session is not None:
            yield session.conn
            return
        raw, pooled = self._borrow()
        session = _Session(PgConnection(self, raw))
        token = self._current.set(session)
        try:
            yield session.conn
        finally:
            self._current.reset(token)
            if pooled:
                if not raw.broken and raw.info.transaction_status != pq.TransactionStatus.IDLE:
                    try:
                        raw.rollback()
                    except psycopg.Error:
                        pass
                self.pool.putconn(raw)
            else:
                raw.close()
                self._overflow.release()

    def _borrow(self) -> tuple[psycopg.Connection, bool]:
        """A connection for one block, and whether it is the pool's.

        The pool lends one at once unless all are busy or the server went away; it then reconnects in the
        background with a back-off that grows through an outage (up to half a minute between tries), so
        waiting on it would hold a request for `BORROW_TIMEOUT_S` while the server is down, and for up to
        the back-off after it is back. After `QUICK_BORROW_S` the server is asked directly instead: a server
        that is down answers at once (StoreUnavailable, an API's 503), one that is back serves this block on
        an overflow connection (at most `pool_size` of them) until the pool has caught up.
        """
        try:
            return self.pool.getconn(timeout=QUICK_BORROW_S), True
        except PoolTimeout:
            pass
        if self._overflow.acquire(blocking=False):
            try:
                return self._connect(), False
            except BaseException:
                self._overflow.release()
                raise
        try:   # every pooled and overflow connection is busy and the server answers: wait for the pool
            return self.pool.getconn(timeout=BORROW_TIMEOUT_S), True
        except PoolTimeout as exc:
            raise StoreUnavailable(f"no PostgreSQL connection to {self.where} within {BORROW_TIMEOUT_S} s") from exc

    @contextmanager
    def atomic(self, *, bulk: bool = False, immediate: bool = False) -> Iterator[PgConnection]:  # type: ignore[override]
        """One transaction: commit on success, roll back on error (re-entrant via SAVEPOINT).

        `immediate=True` serialises this unit with every other immediate one (an advisory lock held to the
        end of the transaction). `bulk` changes nothing here: the server checkpoints on its own.
        """
        with self.locked() as conn:
            session = self._current.get()
            assert session is not None
            raw = conn.raw
            if session.depth:
                name = f"sp_{session.depth}"
                with conn.guarded():
                    raw.execute(f"SAVEPOINT {name}")
                session.depth += 1
                try:
                    yield conn
                except BaseException:
                    if not raw.broken:
                        with conn.guarded():
                            raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
                            raw.execute(f"RELEASE SAVEPOINT {name}")
                    raise
                else:
                    with conn.guarded():
                        raw.execute(f"RELEASE SAVEPOINT {name}")
                finally:
                    session.depth -= 1
                return
            with conn.guarded():
                raw.execute("BEGIN")
                if immediate:
                    raw.execute("SELECT pg_advisory_xact_lock(%s)", (_IMMEDIATE_LOCK,))
            session.depth = 1
            try:
                yield conn
            except BaseException:
                if not raw.broken:
                    try:
                        raw.execute("ROLLBACK")
                    except psycopg.Error:  # the original error says more
                        pass
                raise
            else:
                try:
                    raw.execute("COMMIT")
                except psycopg.OperationalError as exc:
                    raise StoreUnavailable(
                        f"lost the connection to PostgreSQL at {self.where} while committing: the last unit of "
                        f"work may or may not be stored ({_first_line(exc)})", in_doubt=True) from exc
            finally:
                session.depth = 0

    def transaction(self, work: Callable[[], T], *, bulk: bool = False, immediate: bool = False) -> T:
        """`work()` in one transaction; run once more on a fresh connection if the connection was lost
        before COMMIT (the server rolled the first try back, so nothing is written twice)."""
        attempts = 1 if self._current.get() is not None else 2  # an inner unit is part of its caller's
        for attempt in range(1, attempts + 1):
            try:
                with self.atomic(bulk=bulk, immediate=immediate):
                    return work()
            except StoreUnavailable as exc:
                if exc.in_doubt or attempt == attempts:
                    raise
                log.warning("%s: running the unit of work once more on a fresh connection", exc)
        raise AssertionError("unreachable")

    @contextmanager
    def appending(self, table: str) -> Iterator[PgConnection]:  # type: ignore[override]
        """A transaction that holds `table` against other writers until it ends (readers are not blocked):
        rowids are drawn in commit order, so rows stored after a remembered rowid are exactly the new ones."""
        with self.atomic() as conn, conn.guarded():
            conn.raw.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            yield conn

    def in_transaction(self) -> bool:
        session = self._current.get()
        return session is not None and session.depth > 0

    # ------------------------------------------------------------------------------------- backend methods
    def table_exists(self, name: str) -> bool:
        with self.locked() as conn, conn.guarded():
            return bool(conn.raw.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0])

    def secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) from pg_indexes of the indexes no constraint owns (the primary key stays)."""
        with self.locked() as conn, conn.guarded():
            return [(r[0], r[1]) for r in conn.raw.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
                " AND i.tablename = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                " WHERE c.conrelid = to_regclass(i.tablename) AND c.conname = i.indexname) ORDER BY i.indexname",
                (table,)).fetchall()]

    def drop_indexes(self, table: str, *, primary_key: bool = False) -> list[str]:
        """Drop the table's secondary indexes, and its primary key when asked (the caller has made sure the
        rows it loads are new and distinct); return the statements that rebuild them, the key first."""
        indexes = self.secondary_indexes(table)
        with self.locked() as conn, conn.guarded():
            raw = conn.raw
            for name, _ in indexes:
                raw.execute(f'DROP INDEX "{name}"')
            rebuild = [sql for _, sql in indexes]
            if primary_key:
                row = raw.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                                  " WHERE conrelid = to_regclass(%s) AND contype = 'p'", (table,)).fetchone()
                if row is not None:
                    raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{row[0]}"')
                    rebuild.insert(0, f'ALTER TABLE {table} ADD CONSTRAINT "{row[0]}" {row[1]}')
            if rebuild and self.in_transaction():
                raw.execute("SET LOCAL maintenance_work_mem = '256MB'")  # one in-memory sort per index
        return rebuild

    def drop_row_triggers(self, table: str) -> list[str]:
        """Nothing to drop: the store's triggers here are statement triggers (once per statement, not per row)."""
        return []

    def stream(self, sql: str, params: Sequence[Any] = (), batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
        """Rows of a long read through a server-side cursor on a connection of its own."""
        for rows in self.stream_batches(sql, params, batch):
            yield from rows

    def stream_batches(self, sql: str, params: Sequence[Any] = (), batch: int = 50_000) -> Iterator[list[Any]]:
        """`stream` as lists of up to `batch` rows."""
        with self.pool.connection(timeout=BORROW_TIMEOUT_S) as raw:
            conn = PgConnection(self, raw)
            text = self.statement(sql, conn).text
            with conn.guarded(), raw.transaction(), raw.cursor(name="finassist_stream") as cursor:
                cursor.itersize = batch
                cursor.execute(text, _params(params))
                while True:
                    rows = cursor.fetchmany(batch)
                    if not rows:
                        break
                    yield rows

    @property
    def files_folder(self) -> Path:
        return self.local_dir if self.local_dir is not None else Path(".")

    @property
    def snapshot_folder(self) -> Path | None:
        """A per-server folder in `local_dir` (a cache: its parts are checked against the store before use)."""
        if self.local_dir is None:
            return None
        name = self.where.replace(":", "-").replace("/", "-")
        return self.local_dir / f"pg-{name}.parts"

    def close(self) -> None:
        self.pool.close()

    # ------------------------------------------------------------------------------ translation (cached)
    def statement(self, sql: str, conn: PgConnection, *, many: bool = False) -> dialect.PgStatement:
        key = (sql, many)
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = dialect.translate(sql, conn, many=many)
        return found

    def catalog_value(self, kind: str, table: str, conn: PgConnection, look_up: Callable[[], Any]) -> Any:
        key = (kind, table.lower())
        if key not in self._catalog:
            with conn.guarded():
                value = look_up()
            with self._catalog_lock:
                self._catalog[key] = value
        return self._catalog[key]

    def forget_catalog(self) -> None:
        """Drop cached translations and catalog facts (after DDL that changes a table's keys)."""
        self._statements.clear()
        self._catalog.clear()


def migrate(store: PostgresStore, raw: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet recorded in `_migrations`, translated, in one transaction that holds an
    advisory lock: processes starting together on an empty database migrate it once."""
    conn = PgConnection(store, raw)
    applied: list[str] = []
    with conn.guarded(), raw.transaction():
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        raw.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in raw.execute("SELECT name FROM _migrations").fetchall()}
        for name, step in MIGRATIONS:
            if name in done:
                continue
            if callable(step):
                step(conn)  # type: ignore[arg-type]
            else:
                for sql in split_sql(step):
                    conn.execute(sql)
            raw.execute("INSERT INTO _migrations (name, applied_at) VALUES (%s, %s)",
                        (name, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")))
            applied.append(name)
            store.forget_catalog()
    return applied


def _params(params: Sequence[Any] | Mapping[str, Any] | None) -> Sequence[Any] | Mapping[str, Any]:
    # Always a sequence or mapping (never None): psycopg then reads `%%` in the text as one `%`.
    return () if params is None else params


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _reason(exc: BaseException) -> str:
    """The part of libpq's message that says why ("Connection refused", 'database "x" does not exist')."""
    text = _first_line(exc)
    if "failed: " in text:
        text = text.rsplit("failed: ", 1)[1]
    return text.removeprefix("FATAL:").strip()
