"""The transaction store: idempotent bulk inserts, the customers summary, and canonical frames read back.

All SQL for the `transactions`, `customers` and `ingest_runs` tables lives here. The caller owns the transaction
(`with store.atomic():`); nothing here commits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.schema import TXN_COLUMNS
from bot.storage.bulk import insert_columns
from bot.storage.database import Store
from bot.storage.snapshot import TransactionSnapshot, as_table

log = logging.getLogger(__name__)

_SELECT_COLUMNS = ", ".join(TXN_COLUMNS)
_CHUNK_ROWS = 100_000
_REBUILD_MIN_ROWS = 50_000

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class InsertResult:
    """Rows newly stored and rows skipped because their TransactionID was already in the store."""

    inserted: int
    duplicates: int
    first_rowid: int = 0   # rowid of the first new row; the new rows are those in first_rowid .. last_rowid
    part_table: pa.Table | None = None   # the new rows as a snapshot part, when asked for and all rows were new
    last_rowid: int = 0    # rowid of the last new row (SQLite: first_rowid + inserted - 1)


class TransactionRepository:
    """Reads and writes transactions and the per-customer summary through one Store connection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------------------------------ writes

    def insert_frame(
        self, frame: pd.DataFrame, source: str, progress: ProgressCallback | None = None, snapshot_part: bool = False
    ) -> InsertResult:
        """Insert a canonical frame (INSERT OR IGNORE by transaction_id) and refresh the touched customers.

        `snapshot_part=True` also returns the rows as a snapshot part's Arrow table when every row was new
        (the caller writes it once committed): built while the database rebuilds the indexes, it costs no time.
        On PostgreSQL the block holds the table against other writers until commit (`store.appending`), so
        two ingests at once neither lose nor duplicate a row and rowids still follow commit order.
        """
        total = len(frame)
        if total == 0:
            return InsertResult(0, 0)
        started = time.perf_counter()
        with self.store.appending("transactions") as db:
            conn = db.conn
            # New rows get rowids above the current maximum: that is how they are found again below.
            old_max_rowid = conn.execute("SELECT coalesce(max(rowid), 0) FROM transactions").fetchone()[0]
            # A batch larger than the stored table loads faster with the secondary indexes dropped and rebuilt
            # by one sort afterwards than with a random B-tree insert per row (22 s -> 10 s for 1M rows).
            # DDL is transactional (SQLite and PostgreSQL), so the caller's rollback restores the indexes too.
            copy_straight = (self.store.backend == "postgresql" and old_max_rowid == 0
                             and frame["transaction_id"].is_unique)
            rebuilt = (self.store.drop_indexes("transactions", primary_key=copy_straight)
                       if total > old_max_rowid and total >= _REBUILD_MIN_ROWS else [])
            values = _without_empty_columns(_insert_values(frame))
            if copy_straight:
                # Into an empty table (the block keeps it so) distinct rows go straight in with COPY, the
                # derived columns computed here: no staging table, no conflict to look for.
                values["txn_date"] = values["ts"].astype("U10").astype(object)
                values["source"] = np.full(total, source, dtype=object)
                inserted = insert_columns(conn, "INSERT", "transactions", values, chunk_rows=_CHUNK_ROWS,
                                          progress=progress)
            else:
                inserted = insert_columns(conn, "INSERT OR IGNORE", "transactions", values,
                                          constants={"source": source}, derived={"txn_date": "substr({ts}, 1, 10)"},
                                          chunk_rows=_CHUNK_ROWS, progress=progress)
            summary, part_table = None, None
            if rebuilt and inserted == total:
                # Building an index is one long C sort that releases the GIL (a server-side one on PostgreSQL):
                # the Python work on the new rows runs meanwhile (on the same thread as the inserts it would
                # slow them down by fighting for it).
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index") as pool:
                    indexing = pool.submit(_create_indexes, conn, rebuilt)
                    summary = _summarise(frame)
                    part_table = _part_table(frame) if snapshot_part else None
                    indexing.result()
            else:
                _create_indexes(conn, rebuilt)
                part_table = _part_table(frame) if snapshot_part and inserted == total else None
            stored_at = time.perf_counter()
            first_rowid, last_rowid = old_max_rowid + 1, old_max_rowid   # nothing new: an empty range
            if inserted:
                # SQLite hands out max + 1 onwards; PostgreSQL's identity may have skipped values a rolled-back
                # load drew. Either way the new rows are the ones above the old maximum.
                first_rowid, last_rowid = conn.execute(
                    "SELECT (SELECT rowid FROM transactions WHERE rowid > ? ORDER BY rowid LIMIT 1),"
                    " (SELECT max(rowid) FROM transactions)", (old_max_rowid,)).fetchone()
                new_rows = frame if inserted == total else self._rows_after(old_max_rowid)
                self._refresh_customers(new_rows, summary)
                if self.store.backend == "postgresql" and (rebuilt or inserted >= _REBUILD_MIN_ROWS):
                    # Plans for the next queries need the new sizes (the columns they filter and join on).
                    conn.execute("ANALYZE transactions (transaction_id, customer_id, ts, txn_date, rowid)")
                    conn.execute("ANALYZE customers (customer_id)")
        log.info(
            "stored %d of %d rows in %.2f s; customers refreshed in %.2f s",
            inserted, total, stored_at - started, time.perf_counter() - stored_at,
        )
        return InsertResult(inserted=inserted, duplicates=total - inserted, first_rowid=first_rowid,
                            part_table=part_table, last_rowid=last_rowid)

    def _rows_after(self, rowid: int) -> pd.DataFrame:
        cursor = self.store.conn.execute(
            "SELECT customer_id, ts, dob, gender, location FROM transactions WHERE rowid > ? ORDER BY rowid", (rowid,)
        )
        frame = pd.DataFrame(cursor.fetchall(), columns=["customer_id", "ts", "dob", "gender", "location"], dtype=object)
        frame["ts"] = pd.to_datetime(frame["ts"], format="%Y-%m-%d %H:%M:%S")
        frame["dob"] = pd.to_datetime(frame["dob"], format="%Y-%m-%d")
        return frame

    def _refresh_customers(self, new_rows: pd.DataFrame, summary: pd.DataFrame | None = None) -> None:
        """Update the customers summary for the customers of `new_rows` (rows just stored).

        The profile (dob, gender, location) comes from each customer's latest row, ties going to the row stored
        last, because an ID is not one person: its rows carry different DOBs, cities and genders. Customers seen
        for the first time are summarised from the new rows in memory; customers already known are recomputed
        from all their stored rows with one set-based statement over the (customer_id, ts) index.
        """
        with self.store.locked() as db:  # joins insert_frame's block: its connection holds the temporary table
            self._refresh_customers_on(db.conn, new_rows, summary)

    def _refresh_customers_on(self, conn: Any, new_rows: pd.DataFrame, summary: pd.DataFrame | None) -> None:
        summary = _summarise(new_rows) if summary is None else summary
        known: set[str] = set()
        if conn.execute("SELECT 1 FROM customers LIMIT 1").fetchone() is not None:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS touched_customers (customer_id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM touched_customers")
            insert_columns(conn, "INSERT", "touched_customers",
                           {"customer_id": summary["customer_id"].to_numpy(dtype=object)}, chunk_rows=_CHUNK_ROWS)
            known = {
                row[0]
                for row in conn.execute(
                    "SELECT customer_id FROM customers WHERE customer_id IN (SELECT customer_id FROM touched_customers)"
                ).fetchall()
            }
        if known:  # keep only the known customers for the recomputation below
            conn.execute("DELETE FROM touched_customers WHERE customer_id NOT IN (SELECT customer_id FROM customers)")
        fresh = summary[~summary["customer_id"].isin(known)] if known else summary
        # Many rows a statement (COPY on PostgreSQL): 884k new customers go in in about half the time of a
        # one-row executemany, whose per-row statement step is most of the cost.
        insert_columns(conn, "INSERT", "customers", {c: fresh[c].to_numpy() for c in fresh.columns},
                       chunk_rows=_CHUNK_ROWS)
        if known:
            conn.execute(
                """
                INSERT INTO customers (customer_id, dob, gender, location, first_txn, last_txn, n_txn)
                SELECT customer_id, dob, gender, location, first_txn, last_txn, n_txn FROM (
                    SELECT t.customer_id, t.dob, t.gender, t.location,
                           substr(min(t.ts) OVER w, 1, 10) AS first_txn,
                           substr(t.ts, 1, 10) AS last_txn,
                           count(*) OVER w AS n_txn,
                           row_number() OVER (PARTITION BY t.customer_id ORDER BY t.ts DESC, t.rowid DESC) AS latest
                    FROM touched_customers k JOIN transactions t ON t.customer_id = k.customer_id
                    WINDOW w AS (PARTITION BY t.customer_id)
                ) AS ranked WHERE latest = 1
                ON CONFLICT (customer_id) DO UPDATE SET
                    dob = excluded.dob, gender = excluded.gender, location = excluded.location,
                    first_txn = excluded.first_txn, last_txn = excluded.last_txn, n_txn = excluded.n_txn
                """
            )

    def record_run(
        self,
        run_id: str,
        *,
        started_at: dt.datetime,
        files: Sequence[str],
        rows_read: int,
        accepted: int,
        inserted: int,
        duplicates: int,
        rejected: int,
        rejects_path: str | None,
    ) -> None:
        """Remember one ingest run (what was read, stored, skipped and rejected)."""
        with self.store.locked():
            self.store.conn.execute(
                "INSERT INTO ingest_runs (run_id, started_at, files, rows_read, accepted, inserted, duplicates,"
                " rejected, rejects_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    started_at.isoformat(timespec="seconds"),
                    json.dumps(list(files)),
                    rows_read,
                    accepted,
                    inserted,
                    duplicates,
                    rejected,
                    rejects_path,
                ),
            )

    # ------------------------------------------------------------------------------------------- reads

    def for_customer(
        self, customer_id: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """One customer's transactions (canonical frame, sorted by ts), optionally from `start` to `end` inclusive."""
        sql = f"SELECT {_SELECT_COLUMNS} FROM transactions WHERE customer_id = ?"
        params: list[Any] = [customer_id]
        if start is not None:
            sql += " AND ts >= ?"
            params.append(start.isoformat())
        if end is not None:
            sql += " AND ts < ?"
            params.append((end + dt.timedelta(days=1)).isoformat())
        sql += " ORDER BY ts, rowid"
        with self.store.locked():
            rows = self.store.conn.execute(sql, params).fetchall()
        return _frame_from_rows(rows)

    def all_frame(self) -> pd.DataFrame:
        """Every stored transaction as one canonical frame, in stored (rowid) order."""
        return self.all_frame_and_last_rowid()[0]

    def all_frame_and_last_rowid(self, columns: Sequence[str] | None = None) -> tuple[pd.DataFrame, int]:
        """Every stored transaction in stored (rowid) order, and the rowid of the last one (0 when empty).

        Rows covered by the columnar snapshot (bot/storage/snapshot.py) are loaded from it, the rest from SQL;
        a large SQL remainder is added to the snapshot for next time, but only outside a transaction, where
        every row read is committed. The rowid says later which rows this read saw (the table is append-only).
        `columns` (canonical names) reads only those, in TXN_COLUMNS order: `export` needs 3 of the 14.
        """
        snapshot = TransactionSnapshot(self.store)
        parts = snapshot.valid_parts()
        covered = parts[-1].last_rowid if parts else 0
        frames = [snapshot.read_part(info, columns) for info in parts]
        rest, rowids = self._frame_after(covered)
        if len(rest):  # every stored row after the parts: a part of its own (rowids may have gaps on PostgreSQL)
            snapshot.add_part(rest, first_rowid=int(rowids[0]), last_rowid=int(rowids[-1]))
        last_rowid = int(rowids[-1]) if len(rest) else covered
        if columns is not None:
            rest = rest[[c for c in TXN_COLUMNS if c in set(columns)]]
        if not frames:
            return rest, last_rowid
        if len(rest):
            frames.append(rest)
        return (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)), last_rowid

    def rowid_and_customer(self, transaction_id: str) -> tuple[int, str] | None:
        with self.store.locked():
            row = self.store.conn.execute(
                "SELECT rowid, customer_id FROM transactions WHERE transaction_id = ?", (transaction_id,)
            ).fetchone()
        return (int(row[0]), row[1]) if row is not None else None

    def count_up_to_rowid(self, last_rowid: int) -> int:
        with self.store.locked():
            return int(self.store.conn.execute(
                "SELECT count(*) FROM transactions WHERE rowid <= ?", (last_rowid,)).fetchone()[0])

    def for_customer_up_to_rowid(self, customer_id: str, last_rowid: int) -> pd.DataFrame:
        """One customer's rows stored up to `last_rowid`, in stored order: what a training run saw of them."""
        with self.store.locked():
            rows = self.store.conn.execute(
                f"SELECT {_SELECT_COLUMNS} FROM transactions WHERE customer_id = ? AND rowid <= ? ORDER BY rowid",
                (customer_id, last_rowid),
            ).fetchall()
        return _frame_from_rows(rows)

    def _frame_after(self, rowid: int) -> tuple[pd.DataFrame, np.ndarray]:
        """The canonical frame of the rows after `rowid`, and their rowids."""
        # A million row tuples (and the column tuples built from them) are all live until the frame exists:
        # the cyclic GC would scan them again and again for nothing, so it is paused while they are built.
        with _gc_paused():
            with self.store.locked():
                cursor = self.store.conn.execute(
                    f"SELECT {_SELECT_COLUMNS}, rowid FROM transactions WHERE rowid > ? ORDER BY rowid", (rowid,)
                )
                rows = cursor.fetchall()
            rowids = np.fromiter((row[-1] for row in rows), dtype=np.int64, count=len(rows))
            return _frame_from_rows(rows), rowids

    def max_rowid(self) -> int:
        """The rowid of the newest stored row (0 when empty): rows after a remembered rowid are new since then."""
        with self.store.locked():
            return int(self.store.conn.execute("SELECT coalesce(max(rowid), 0) FROM transactions").fetchone()[0])

    def frame_after(self, rowid: int, limit: int) -> tuple[pd.DataFrame, np.ndarray]:
        """Up to `limit` rows stored after `rowid` (canonical frame, stored order) and their rowids."""
        with self.store.locked():
            rows = self.store.conn.execute(
                f"SELECT {_SELECT_COLUMNS}, rowid FROM transactions WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (rowid, int(limit)),
            ).fetchall()
        rowids = np.fromiter((row[-1] for row in rows), dtype=np.int64, count=len(rows))
        return _frame_from_rows(rows), rowids

    def context_for(self, customer_ids: Sequence[str], after_rowid: int, up_to_rowid: int,
                    since: dt.datetime) -> pd.DataFrame:
        """The given customers' rows stored in (after_rowid, up_to_rowid] with ts >= since, in stored order:
        what arrived between the last training run and a batch, for the velocity of the batch's first rows."""
        if not customer_ids or up_to_rowid <= after_rowid:
            return _frame_from_rows([])
        with self.store.locked() as db:  # one connection: the temporary table is the connection's own
            conn = db.conn
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS context_customers (customer_id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM context_customers")
            conn.executemany("INSERT OR IGNORE INTO context_customers VALUES (?)",
                             ((c,) for c in customer_ids))
            rows = conn.execute(
                f"SELECT {', '.join('t.' + c for c in TXN_COLUMNS)} FROM context_customers k"
                " JOIN transactions t ON t.customer_id = k.customer_id"
                " WHERE t.ts >= ? AND t.rowid > ? AND t.rowid <= ? ORDER BY t.rowid",
                (since.strftime("%Y-%m-%d %H:%M:%S"), after_rowid, up_to_rowid),
            ).fetchall()
            conn.execute("DELETE FROM context_customers")
        return _frame_from_rows(rows)

    def get(self, transaction_id: str) -> dict[str, Any] | None:
        """One transaction as a dict of canonical values (ts/dob as datetime/date), or None."""
        with self.store.locked():
            row = self.store.conn.execute(
                f"SELECT {_SELECT_COLUMNS}, source FROM transactions WHERE transaction_id = ?", (transaction_id,)
            ).fetchone()
        if row is None:
            return None
        record = dict(zip((*TXN_COLUMNS, "source"), row, strict=True))
        record["ts"] = dt.datetime.fromisoformat(record["ts"])
        record["dob"] = dt.date.fromisoformat(record["dob"]) if record["dob"] else None
        return record

    def latest_date(self) -> dt.date | None:
        """The date of the newest stored transaction (the analytics clock's "auto"), or None when empty."""
        with self.store.locked():
            value = self.store.conn.execute("SELECT max(txn_date) FROM transactions").fetchone()[0]
        return dt.date.fromisoformat(value) if value else None

    def count(self) -> int:
        with self.store.locked():
            return int(self.store.conn.execute("SELECT count(*) FROM transactions").fetchone()[0])

    def customer_exists(self, customer_id: str) -> bool:
        with self.store.locked():
            row = self.store.conn.execute(
                "SELECT 1 FROM customers WHERE customer_id = ?", (customer_id,)
            ).fetchone()
        return row is not None

    def customer_count(self) -> int:
        """How many customers the store holds (the customers summary, one row each)."""
        with self.store.locked():
            return int(self.store.conn.execute("SELECT count(*) FROM customers").fetchone()[0])

    def customer_ids(self) -> list[str]:
        with self.store.locked():
            return [r[0] for r in self.store.conn.execute("SELECT customer_id FROM customers ORDER BY customer_id")]

    def customer_row(self, customer_id: str) -> dict[str, Any] | None:
        """The customers-table row: dob, gender, location of the latest transaction; first/last date; count."""
        with self.store.locked():
            cursor = self.store.conn.execute(
                "SELECT customer_id, dob, gender, location, first_txn, last_txn, n_txn FROM customers"
                " WHERE customer_id = ?",
                (customer_id,),
            )
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return dict(zip(names, row, strict=True)) if row is not None else None


def _part_table(frame: pd.DataFrame) -> pa.Table | None:
    """The snapshot part of `frame`, or None if Arrow refuses it: the part is a cache, never worth an ingest."""
    try:
        return as_table(frame)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        log.warning("no snapshot part for these rows (%s): training will read them from SQL", exc)
        return None


def _create_indexes(conn: Any, create_statements: Sequence[str]) -> None:
    """Run CREATE INDEX statements on the block's connection (the caller holds it and does not touch it meanwhile)."""
    for create_sql in create_statements:
        conn.execute(create_sql)


def _summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per customer: latest row's dob/gender/location (ties: the later row), first and last date, row count."""
    codes, uniques = pd.factorize(rows["customer_id"].to_numpy(dtype=object))
    # Renumber codes in customer_id order (a numpy sort of fixed-width text: ~10x faster than factorize(sort=True)
    # on objects) so the summary comes out in key order and inserting it appends to the primary-key B-tree.
    by_id = np.argsort(uniques.astype(str), kind="stable")
    rank = np.empty(len(by_id), dtype=np.intp)
    rank[by_id] = np.arange(len(by_id))
    codes, uniques = rank[codes], uniques[by_id]
    order = _order_by_customer_time_arrival(codes, rows["ts"].to_numpy(dtype="datetime64[s]").astype(np.int64))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    first_rows, last_rows = order[starts], order[ends]
    day = rows["ts"].to_numpy(dtype="datetime64[D]")
    # Dates as text once per distinct day (a few hundred), not once per customer; text columns taken as they
    # are (a canonical frame holds str or None; a stray NaN binds as NULL on both backends).
    return pd.DataFrame(
        {
            "customer_id": pd.Series(uniques[sorted_codes[starts]], dtype=object),
            "dob": pd.Series(_iso_days_or_none(rows["dob"].to_numpy(dtype="datetime64[D]")[last_rows]), dtype=object),
            "gender": pd.Series(rows["gender"].to_numpy(dtype=object)[last_rows], dtype=object),
            "location": pd.Series(rows["location"].to_numpy(dtype=object)[last_rows], dtype=object),
            "first_txn": pd.Series(_iso_days_or_none(day[first_rows]), dtype=object),
            "last_txn": pd.Series(_iso_days_or_none(day[last_rows]), dtype=object),
            "n_txn": (ends - starts + 1).astype(np.int64),
        }
    )


def _order_by_customer_time_arrival(codes: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Row order by customer code, then time, then position; one int64 sort key when the sizes fit in 63 bits."""
    n = len(codes)
    position = np.arange(n, dtype=np.int64)
    bits = max(1, n.bit_length())
    if 3 * bits > 63:
        return np.lexsort((position, ts, codes))
    _, ts_rank = np.unique(ts, return_inverse=True)
    key = (codes.astype(np.int64) << (2 * bits)) | (ts_rank.astype(np.int64).ravel() << bits) | position
    return np.argsort(key)


def _insert_values(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Column arrays of the values to store (TXN_COLUMNS; txn_date is derived in SQL), built column-wise in numpy
    (ts/dob as ISO text, NaT as None) so neither Python nor SQLite does per-row function calls.

    Text columns are passed through as they are: a canonical frame holds str or None, and a stray NaN
    would bind as NULL just the same, so no million-cell missing-value scan is needed.
    """
    columns: dict[str, np.ndarray] = {}
    ts_text = _iso_seconds_text(frame["ts"].to_numpy(dtype="datetime64[s]"))
    for name in TXN_COLUMNS:
        if name == "ts":
            columns[name] = ts_text
        elif name == "dob":
            columns[name] = _iso_days_or_none(frame[name].to_numpy(dtype="datetime64[D]"))
        elif name in ("amount", "balance"):
            columns[name] = frame[name].to_numpy(dtype=np.float64).astype(object)  # NaN binds as NULL
        else:
            columns[name] = frame[name].to_numpy(dtype=object)
    return columns


_OPTIONAL_COLUMNS = ("balance", "merchant", "category", "channel", "location", "dob", "gender")


def _without_empty_columns(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns minus optional ones that are None in every row: left out of the INSERT they are NULL all the
    same, and a file without merchant, category and channel (the public data set) binds a quarter fewer values."""
    return {name: values for name, values in columns.items()
            if name not in _OPTIONAL_COLUMNS or not len(values) or not np.equal(values, None).all()}


_SECONDS_A_DAY = 86_400


def _times_of_day() -> np.ndarray:
    """'HH:MM:SS' for every second of a day, built per call (~6 ms), never kept: 86,400 strings cached after an
    ingest stay scattered among the freed blocks of its million-row columns and pin ~12 MB of them for the
    `train` after it in the same process."""
    hours_minutes = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
    seconds = [f"{s:02d}" for s in range(60)]
    times = np.empty(_SECONDS_A_DAY, dtype=object)
    times[:] = [hm + s for hm in hours_minutes for s in seconds]
    return times


def _iso_seconds_text(ts: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' per value as Python str (an object array, what sqlite3 binds): each distinct day
    formatted once and joined to one of the 86,400 times of day, one C-level concatenation a row (about half
    the time of numpy's per-value datetime formatting followed by a conversion to objects)."""
    if not len(ts) or np.isnat(ts).any():
        return _iso_seconds(ts).astype(object)
    days, second_of_day = np.divmod(ts.astype(np.int64), _SECONDS_A_DAY)
    first_day = int(days.min())
    span = int(days.max()) - first_day + 1
    if span <= len(ts):  # a table of every day in range: no sort needed
        day_index = days - first_day
        distinct = np.arange(first_day, first_day + span, dtype=np.int64)
    else:
        distinct, day_index = np.unique(days, return_inverse=True)
    day_text = np.datetime_as_string(distinct.astype("datetime64[D]"), unit="D").astype(object) + " "
    return day_text[day_index.ravel()] + _times_of_day()[second_of_day]


def _iso_seconds(ts: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' as a fixed-width numpy text array."""
    text = np.datetime_as_string(ts, unit="s").astype("U19")  # 'YYYY-MM-DDTHH:MM:SS'
    text.view(np.uint32).reshape(len(text), 19)[:, 10] = ord(" ")  # fixed-width UCS-4 code points
    return text


def _iso_days_or_none(days: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' per value (None for NaT), formatted once per distinct date: birth dates repeat a lot."""
    distinct, inverse = np.unique(days, return_inverse=True)
    text = np.datetime_as_string(distinct, unit="D").astype(object)
    text[np.isnat(distinct)] = None
    return text[inverse.ravel()]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _frame_from_rows(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Canonical frame (TXN_COLUMNS, canonical dtypes) from SELECT rows starting with TXN_COLUMNS in order."""
    if rows:
        columns = list(zip(*rows, strict=True))
    else:
        columns = [() for _ in TXN_COLUMNS]
    data: dict[str, Any] = {}
    for name, values in zip(TXN_COLUMNS, columns[: len(TXN_COLUMNS)], strict=True):
        if name == "ts":
            data[name] = np.array(values, dtype="datetime64[s]").astype("datetime64[ns]")
        elif name == "dob":
            data[name] = np.array([v or "NaT" for v in values], dtype="datetime64[D]").astype("datetime64[ns]")
        elif name in ("amount", "balance"):
            data[name] = np.array(values, dtype=np.float64)  # None becomes NaN
        else:
            array = np.empty(len(values), dtype=object)
            array[:] = values
            data[name] = pd.Series(array, dtype=object)
    return pd.DataFrame(data, columns=list(TXN_COLUMNS))
