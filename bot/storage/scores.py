"""What `train` learns, stored: transaction and customer scores, segments and pickled model artifacts.

All SQL for `transaction_scores`, `customer_scores`, `segments` and `model_artifacts` lives here. The caller
owns the transaction (`with store.atomic():`); nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import pickle
import secrets
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from bot.storage.bulk import insert_columns
from bot.storage.database import Store
from bot.storage.score_snapshot import VERSION_KEY, CustomerScoresSnapshot, orders_text_by_code_point

log = logging.getLogger(__name__)

_CUSTOMER_COLUMNS = (
    "customer_id", "segment", "persona", "churn_risk", "churn_level", "churn_reasons", "rfm_recency",
    "rfm_frequency", "rfm_monetary", "balance_now", "monthly_spend", "frequency_per_month", "recency_days",
    "n_txn", "age_band", "as_of", "scored_at",
)
_EMPTY_JSON = "[]"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _json_lists(values: Sequence[Any]) -> list[str]:
    """JSON text per list or tuple of sentences (None: no sentences). Rows repeat a few hundred distinct tuples:
    they are hashed in C (pandas.factorize) and each distinct one is encoded once."""
    column = pd.Series(values, dtype=object) if len(values) else pd.Series([], dtype=object)
    try:
        codes, distinct = pd.factorize(column)
    except TypeError:  # lists are not hashable: the general path below
        return _json_lists_one_by_one(values)
    lookup = np.empty(len(distinct) + 1, dtype=object)
    lookup[:-1] = [json.dumps(list(v), ensure_ascii=False) for v in distinct]
    lookup[-1] = _EMPTY_JSON  # code -1: None (or NaN), no sentences
    return lookup[codes].tolist()


def _json_lists_one_by_one(values: Sequence[Any]) -> list[str]:
    memo: dict[tuple[str, ...], str] = {(): _EMPTY_JSON}
    out = []
    for v in values:
        key = tuple(v) if v is not None else ()
        text = memo.get(key)
        if text is None:
            text = memo[key] = json.dumps(list(key), ensure_ascii=False)
        out.append(text)
    return out


@functools.lru_cache(maxsize=4096)
def _joined(reasons_json: str) -> str:
    """A stored JSON list of sentences as '; '-joined text (a few hundred distinct lists repeat a million times)."""
    return "; ".join(json.loads(reasons_json))


def _text_or_none(values: np.ndarray | pd.Series) -> np.ndarray:
    """str(value) per cell, None for None/NaN, computed once per distinct value (Arrow-backed text is hashed
    in Arrow, never made into a million Python strings first)."""
    codes, distinct = pd.factorize(values)
    lookup = np.empty(len(distinct) + 1, dtype=object)
    lookup[:-1] = [str(v) for v in distinct]
    lookup[-1] = None
    return lookup[codes]


@contextmanager
def _indexes_rebuilt_after(store: Store, db: Any, table: str) -> Iterator[None]:
    """Drop the table's secondary indexes for a bulk load and recreate them from their own stored SQL.

    Building an index once over sorted data is about twice as fast as updating it a million times; the
    definitions come from the catalog (sqlite_master, pg_indexes), so they stay whatever the migrations made
    them. Runs inside the caller's transaction: a failure rolls the indexes back with the rows.
    """
    rebuild = store.drop_indexes(table)
    yield
    for sql in rebuild:
        db.execute(sql)


class ScoreRepository:
    """Reads and writes model outputs through one Store connection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------------------------------ writes
    def write_transaction_scores(self, frame: pd.DataFrame, *, replace_all: bool = True,
                                 scored_at: str | None = None) -> int:
        """Store transaction_id, customer_id, category, anomaly_score, flagged, reasons (list) per row.

        `replace_all` drops every earlier score first (a retrain); otherwise rows are upserted (new API
        transactions).
        """
        ids = frame["transaction_id"].to_numpy(dtype=object)
        # Inserting in key order appends to the primary-key B-tree instead of splitting pages all over it:
        # about a third faster for a million rows, far more than the sort costs (numpy sorts fixed-width text).
        order = np.argsort(ids.astype(str), kind="stable")
        columns = {
            "transaction_id": ids[order],
            "customer_id": frame["customer_id"].to_numpy(dtype=object)[order],
            "category": frame["category"].to_numpy(dtype=object)[order],
            "anomaly_score": frame["anomaly_score"].to_numpy(float)[order].round(6),
            "flagged": frame["flagged"].to_numpy(bool)[order].astype(np.int64),
            "reasons": np.asarray(_json_lists(frame["reasons"].to_numpy(object)[order].tolist()), dtype=object),
        }
        with self.store.locked() as db:
            if replace_all:
                db.execute("DELETE FROM transaction_scores")
            # Both secondary indexes are partial (flagged rows only): kept up to date while inserting.
            # On PostgreSQL a full replace is a straight COPY into the emptied table.
            verb = "INSERT" if replace_all and self.store.backend == "postgresql" else "INSERT OR REPLACE"
            insert_columns(db.conn, verb, "transaction_scores", columns,
                           constants={"scored_at": scored_at or _now()})
        return len(frame)

    def write_customer_scores(self, frame: pd.DataFrame, *, as_of: dt.date, replace_all: bool = True,
                              scored_at: str | None = None) -> int:
        """Store one row per customer; `frame` is indexed by customer_id with the _CUSTOMER_COLUMNS fields
        (`churn_reasons` a list per row).

        A full replace (`replace_all`, what `train` does) also writes export's columnar copy of the rows
        (bot/storage/score_snapshot.py) under the new version token it sets: the copy is read only once this
        transaction has committed that token, and only until the next write to the table changes it."""
        n = len(frame)
        ids = frame.index.to_numpy(dtype=object).astype(str)
        order = np.argsort(ids, kind="stable")  # key order: appends to the primary-key B-tree (see above)
        # Column by column, each taken in key order: no reordered copy of the whole frame, and text columns
        # (a handful of distinct personas, levels, bands) converted once per distinct value.
        columns: dict[str, np.ndarray] = {
            "customer_id": ids[order].astype(object),
            "churn_reasons": np.asarray(_json_lists(frame["churn_reasons"].tolist()), dtype=object)[order],
        }
        for column in _CUSTOMER_COLUMNS:
            if column in columns or column in ("as_of", "scored_at"):
                continue
            series = frame[column]
            if series.dtype.kind == "b":
                columns[column] = series.to_numpy()[order].astype(np.int64)
            elif series.dtype.kind in "iuf":
                columns[column] = series.to_numpy()[order]  # NaN binds as NULL
            else:
                columns[column] = _text_or_none(series)[order]
        constants = {"as_of": as_of.isoformat(), "scored_at": scored_at or _now()}
        if not replace_all:
            # Many rows per INSERT statement (bot/storage/bulk.py): a third of executemany's time for 884k rows.
            with self.store.locked() as db:
                insert_columns(db.conn, "INSERT OR REPLACE", "customer_scores", columns, constants=constants)
            return n   # the table's triggers renew the version token: any copy of the rows is stale now
        version = secrets.token_hex(16)
        snapshot = CustomerScoresSnapshot(self.store)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="customer-scores-copy") as pool:
            # The copy is built and written beside the load (sqlite3 and Arrow release the GIL for most of
            # their work); it is not read before this transaction commits `version`.
            copying = (pool.submit(_save_copy, snapshot, columns, self.store.backend, version, snapshot.store_id())
                       if snapshot.path is not None and orders_text_by_code_point(self.store) else None)
            with self.store.locked() as db:
                # The row triggers (SQLite) would renew the token once per row (and turn the DELETE into a row
                # by row one): dropped for the load, which sets a token of its own once.
                triggers = self.store.drop_row_triggers("customer_scores")
                db.execute("DELETE FROM customer_scores")
                with _indexes_rebuilt_after(self.store, db, "customer_scores"):
                    verb = "INSERT" if self.store.backend == "postgresql" else "INSERT OR REPLACE"
                    insert_columns(db.conn, verb, "customer_scores", columns, constants=constants)
                for sql in triggers:
                    db.execute(sql)
                db.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)"
                           " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (VERSION_KEY, version))
        if copying is not None:
            copying.result()
        return n

    def write_segments(self, segments: Sequence[dict[str, Any]]) -> None:
        """Replace the segment table: dicts of segment, persona, description, size, centroid (dict)."""
        with self.store.locked() as db:
            db.execute("DELETE FROM segments")
            db.conn.executemany(
                "INSERT INTO segments (segment, persona, description, size, centroid) VALUES (?, ?, ?, ?, ?)",
                [(int(s["segment"]), s["persona"], s["description"], int(s["size"]),
                  json.dumps({k: round(float(v), 4) for k, v in s["centroid"].items()})) for s in segments],
            )

    def save_artifact(self, name: str, obj: Any, metrics: dict[str, Any], as_of: dt.date | None) -> None:
        """Pickle a fitted estimator with its evaluation figures (replaces the previous one of that name)."""
        blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        with self.store.locked() as db:
            db.execute(
                "INSERT OR REPLACE INTO model_artifacts (name, created_at, as_of, metrics, blob) VALUES (?, ?, ?, ?, ?)",
                (name, _now(), as_of.isoformat() if as_of else None, json.dumps(metrics, default=float), blob),
            )

    # ------------------------------------------------------------------------------------------- reads
    def load_artifact(self, name: str) -> Any | None:
        """The unpickled artifact, or None when `train` has not stored it. Only load stores you trust."""
        with self.store.locked() as db:
            row = db.execute("SELECT blob FROM model_artifacts WHERE name = ?", (name,)).fetchone()
        return None if row is None else pickle.loads(row[0])  # noqa: S301 - our own store

    def artifact_info(self, name: str) -> dict[str, Any] | None:
        """created_at, as_of and metrics of an artifact, without unpickling it."""
        with self.store.locked() as db:
            row = db.execute("SELECT created_at, as_of, metrics FROM model_artifacts WHERE name = ?",
                             (name,)).fetchone()
        if row is None:
            return None
        return {"created_at": row[0], "as_of": row[1], "metrics": json.loads(row[2])}

    def customer_scores(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's stored scores with churn_reasons decoded, plus the segment description."""
        with self.store.locked() as db:
            cursor = db.execute(
                "SELECT c.*, g.description FROM customer_scores c "
                "LEFT JOIN segments g ON g.segment = c.segment WHERE c.customer_id = ?",
                (customer_id,),
            )
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        if row is None:
            return None
        record = dict(zip(names, row, strict=True))
        record["churn_reasons"] = json.loads(record["churn_reasons"])
        return record

    def flagged_for_customer(self, customer_id: str, limit: int = 5) -> list[dict[str, Any]]:
        """The customer's flagged transactions, newest first, with the transaction's own fields."""
        with self.store.locked() as db:
            cursor = db.execute(
                "SELECT s.transaction_id, t.ts, t.amount, t.merchant, t.location, s.category, s.anomaly_score, "
                "s.reasons FROM transaction_scores s JOIN transactions t ON t.transaction_id = s.transaction_id "
                "WHERE s.customer_id = ? AND s.flagged = 1 ORDER BY t.ts DESC LIMIT ?",
                (customer_id, int(limit)),
            )
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        out = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            record["reasons"] = json.loads(record["reasons"])
            out.append(record)
        return out

    def transaction_score(self, transaction_id: str) -> dict[str, Any] | None:
        with self.store.locked() as db:
            cursor = db.execute(
                "SELECT transaction_id, customer_id, category, anomaly_score, flagged, reasons, scored_at"
                " FROM transaction_scores WHERE transaction_id = ?", (transaction_id,))
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        if row is None:
            return None
        record = dict(zip(names, row, strict=True))
        record["flagged"] = bool(record["flagged"])
        record["reasons"] = json.loads(record["reasons"])
        return record

    def segment_summary(self) -> list[dict[str, Any]]:
        """Per segment: persona, description, size and how many customers are at each churn level."""
        with self.store.locked() as db:
            cursor = db.execute(
                "SELECT g.segment, g.persona, g.description, g.size, "
                "SUM(CASE WHEN c.churn_level = 'low' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN c.churn_level = 'medium' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN c.churn_level = 'high' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN c.churn_level = 'lapsed' THEN 1 ELSE 0 END), "
                "AVG(c.churn_risk) FROM segments g LEFT JOIN customer_scores c ON c.segment = g.segment "
                "GROUP BY g.segment, g.persona, g.description, g.size ORDER BY g.segment"
            )
            rows = cursor.fetchall()
        return [
            {"segment": r[0], "persona": r[1], "description": r[2], "size": r[3], "churn_low": int(r[4] or 0),
             "churn_medium": int(r[5] or 0), "churn_high": int(r[6] or 0), "churn_lapsed": int(r[7] or 0),
             "mean_churn_risk": r[8]}
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """Rows in each score table (for `train` output and health checks)."""
        with self.store.locked() as db:
            return {
                "transaction_scores": db.execute("SELECT COUNT(*) FROM transaction_scores").fetchone()[0],
                "flagged": db.execute("SELECT COUNT(*) FROM transaction_scores WHERE flagged = 1").fetchone()[0],
                "customer_scores": db.execute("SELECT COUNT(*) FROM customer_scores").fetchone()[0],
                "segments": db.execute("SELECT COUNT(*) FROM segments").fetchone()[0],
            }

    # ------------------------------------------------------------------------------------------ export
    def iter_transaction_export(self, batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
        """(TransactionID, CustomerID, category, anomaly_score, flagged, reasons as '; '-joined text) rows."""
        yield from self._iter(
            "SELECT transaction_id, customer_id, category, anomaly_score, flagged, reasons FROM transaction_scores "
            "ORDER BY rowid", batch, lambda r: (r[0], r[1], r[2], r[3], r[4], _joined(r[5])))

    def iter_customer_export(self, batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
        """Rows of customer_scores in export order (see CUSTOMER_EXPORT_COLUMNS)."""
        for columns in self.customer_export_columns(batch):
            yield from zip(*(c.to_pylist() if isinstance(c, pa.Array) else c for c in columns), strict=True)

    def customer_export_columns(self, batch: int = 100_000) -> Iterator[list[Sequence[Any] | pa.Array]]:
        """`iter_customer_export` in chunks of up to `batch` rows, column by column (for a CSV writer that
        checks whole columns), the reasons joined once per distinct list.

        From the columnar copy `train` wrote, as Arrow arrays holding what SQL would give, while the table
        still holds exactly those rows (bot/storage/score_snapshot.py); else from SQL, as Python values."""
        copy = CustomerScoresSnapshot(self.store).current()
        if copy is not None and copy.column_names == list(_CUSTOMER_EXPORT_FIELDS):
            arrays = [copy.column(name).combine_chunks() for name in _CUSTOMER_EXPORT_FIELDS]
            for start in range(0, copy.num_rows, batch):
                yield [array.slice(start, batch) for array in arrays]
            return
        for chunk in self.store.stream_batches(_CUSTOMER_EXPORT_SQL, batch=batch):
            columns: list[Sequence[Any] | pa.Array] = list(zip(*chunk, strict=True))
            columns[5] = [_joined(text) for text in columns[5]]
            yield columns

    def _iter(self, sql: str, batch: int, convert: Any) -> Iterator[tuple[Any, ...]]:
        # A connection of its own reads a consistent snapshot without holding the shared lock for minutes.
        for row in self.store.stream(sql, batch=batch):
            yield convert(row)


# What export reads of each row, and how SQL gives each column back (the declared types of migration 0004/0005):
# the columnar copy holds the same values, typed the same way (_export_table).
_CUSTOMER_EXPORT_FIELDS = {
    "customer_id": "TEXT", "segment": "INTEGER", "persona": "TEXT", "churn_risk": "REAL", "churn_level": "TEXT",
    "churn_reasons": "REASONS", "rfm_recency": "INTEGER", "rfm_frequency": "INTEGER", "rfm_monetary": "INTEGER",
    "balance_now": "REAL", "monthly_spend": "REAL", "frequency_per_month": "REAL", "recency_days": "INTEGER",
    "n_txn": "INTEGER", "age_band": "TEXT",
}
_CUSTOMER_EXPORT_SQL = f"SELECT {', '.join(_CUSTOMER_EXPORT_FIELDS)} FROM customer_scores ORDER BY customer_id"
_EXACT_INTEGERS = 2.0 ** 53
_DICTIONARY_AT_MOST = 4   # distinct values per row: a quarter of the rows at most


def _export_table(columns: dict[str, np.ndarray], backend: str) -> pa.Table | None:
    """The export's columns of the rows `write_customer_scores` stores (given in key order), as SQL will give
    them back: INTEGER columns int64 (a whole float is stored as an integer), REAL ones float64 (NaN is NULL;
    SQLite keeps -0.0 as 0.0), text as text, the reasons '; '-joined. None when some value would not come back
    exactly so (text in a number column, a fraction in an integer one, a repeated customer): SQL is read."""
    keys = columns["customer_id"]
    if len(keys) > 1 and not (keys[1:] != keys[:-1]).all():
        return None
    arrays: dict[str, pa.Array] = {}
    try:
        for name, kind in _CUSTOMER_EXPORT_FIELDS.items():
            values = columns[name]
            if kind == "REASONS":
                codes, distinct = pd.factorize(values)
                arrays[name] = pa.DictionaryArray.from_arrays(
                    pa.array(codes.astype(np.int32)), pa.array([_joined(text) for text in distinct], type=pa.string()))
            elif kind == "TEXT":
                if values.dtype != object:
                    return None
                if name == "customer_id":
                    arrays[name] = pa.array(values, type=pa.string())
                else:   # a few distinct texts: hashed as Python strings, each made Arrow text once
                    codes, distinct = pd.factorize(values)
                    arrays[name] = pa.DictionaryArray.from_arrays(
                        pa.array(codes.astype(np.int32), mask=codes < 0), pa.array(distinct, type=pa.string()))
            elif values.dtype.kind not in "iuf" or values.dtype.itemsize > 8:
                return None
            elif kind == "INTEGER":
                if values.dtype.kind == "f":
                    missing = np.isnan(values)
                    present = values[~missing]
                    if not (np.abs(present) < _EXACT_INTEGERS).all() or (present != np.round(present)).any():
                        return None
                    arrays[name] = pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing)
                elif values.dtype.kind == "u" and len(values) and values.max() > np.iinfo(np.int64).max:
                    return None
                else:
                    arrays[name] = pa.array(values.astype(np.int64))
            else:
                real = values.astype(np.float64)
                if backend == "sqlite":
                    real = real + 0.0   # -0.0 + 0.0 is 0.0: SQLite reads a stored -0.0 back as 0.0
                arrays[name] = pa.array(real, mask=np.isnan(real))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None
    # A column of few distinct values is kept dictionary-encoded: the CSV writer then formats each once.
    for name, array in arrays.items():
        if name != "customer_id" and not pa.types.is_dictionary(array.type):
            encoded = array.dictionary_encode()
            if len(encoded.dictionary) * _DICTIONARY_AT_MOST < len(array):
                arrays[name] = encoded
    return pa.table(arrays)


def _save_copy(snapshot: CustomerScoresSnapshot, columns: dict[str, np.ndarray], backend: str, version: str,
               store_id: str) -> None:
    """Build and write export's copy; a failure costs export its shortcut, never the scores being written."""
    try:
        table = _export_table(columns, backend)
        if table is not None:
            snapshot.save(table, version, store_id=store_id)
    except Exception:  # noqa: BLE001 - a cache: SQL is read instead, the training run goes on
        log.exception("customer scores copy not written: export will read them from SQL")


CUSTOMER_EXPORT_COLUMNS = (
    "CustomerID", "segment", "persona", "churn_risk", "churn_level", "churn_reasons", "rfm_recency",
    "rfm_frequency", "rfm_monetary", "balance_now", "monthly_spend", "frequency_per_month", "recency_days",
    "n_txn", "age_band",
)
TRANSACTION_EXPORT_COLUMNS = ("TransactionID", "CustomerID", "category", "anomaly_score", "flagged", "reasons")
