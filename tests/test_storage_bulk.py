"""Bulk writes: multi-row INSERT batches store exactly the given rows; a bulk transaction checkpoints afterwards."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bot.storage.bulk import ROWS_PER_STATEMENT, insert_columns
from bot.storage.database import Store


@pytest.fixture
def conn():
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (k TEXT PRIMARY KEY, x REAL, n INTEGER, day TEXT, run TEXT, seen TEXT)")
    yield connection
    connection.close()


def test_every_row_is_stored_in_order_with_constants_and_derived_columns(conn):
    n = 3 * ROWS_PER_STATEMENT + 7          # full statements, a partial one, and a chunk boundary below
    keys = [f"K{i:04d}" for i in range(n)]
    xs = np.array([i / 4 if i % 5 else np.nan for i in range(n)])
    stamps = [f"2016-0{1 + i % 9}-1{i % 10} 10:00:00" for i in range(n)]
    changed = insert_columns(conn, "INSERT", "t", {"k": keys, "x": xs, "n": np.arange(n), "seen": stamps},
                             constants={"run": "run-1"}, derived={"day": "substr({seen}, 1, 10)"}, chunk_rows=64)
    assert changed == n
    rows = conn.execute("SELECT k, x, n, day, run, seen FROM t ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == keys
    assert all((r[1] is None) if math.isnan(x) else r[1] == x for r, x in zip(rows, xs, strict=True))
    assert [r[2] for r in rows] == list(range(n))
    assert [r[3] for r in rows] == [s[:10] for s in stamps]
    assert {r[4] for r in rows} == {"run-1"}


def test_ignored_duplicates_are_not_counted(conn):
    insert_columns(conn, "INSERT", "t", {"k": ["A", "B"]})
    assert insert_columns(conn, "INSERT OR IGNORE", "t", {"k": ["B", "C", "A", "D"]}) == 2
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY rowid")] == ["A", "B", "C", "D"]


def test_columns_of_different_lengths_are_refused(conn):
    with pytest.raises(ValueError, match="one value per row"):
        insert_columns(conn, "INSERT", "t", {"k": ["A", "B"], "n": [1]})


def test_a_bulk_transaction_is_checkpointed_in_the_background(tmp_path: Path):
    store = Store(tmp_path / "bulk.db")
    with store.atomic(bulk=True):
        insert_columns(store.conn, "INSERT", "customers", {"customer_id": [f"C{i}" for i in range(5000)]})
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    store._checkpointer.join()
    # `immutable=1` reads the database file alone, ignoring the WAL: the rows are there, so they were copied.
    in_file = sqlite3.connect(f"file:{tmp_path / 'bulk.db'}?immutable=1", uri=True)
    assert in_file.execute("SELECT count(*) FROM customers").fetchone()[0] == 5000
    in_file.close()
    store.close()


def test_a_failed_bulk_transaction_rolls_back_and_restores_checkpoints(tmp_path: Path):
    store = Store(tmp_path / "bulk.db")
    with pytest.raises(RuntimeError), store.atomic(bulk=True):
        insert_columns(store.conn, "INSERT", "customers", {"customer_id": ["C1", "C2"]})
        raise RuntimeError("disk full")
    assert store.conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 0
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    store.close()


# ---- the same calls on either backend (a COPY on PostgreSQL) ---------------------------------------------
AWKWARD_TEXT = ['plain', '', 'comma, "quote"', 'new\nline', 'back\\slash', 'percent % and ? mark', 'ग्रॉसरी ₹', None]


def _make_t(store: Store) -> None:
    with store.atomic() as db:
        db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, x REAL, n INTEGER, day TEXT, run TEXT, seen TEXT)")


def _rows(store: Store) -> list[tuple]:
    return store.db.execute("SELECT k, x, n, day, run, seen FROM t ORDER BY k").fetchall()


def test_every_value_round_trips_exactly_on_both_backends(backend_store):
    _make_t(backend_store)
    n = len(AWKWARD_TEXT) * 3
    keys = [f"K{i:03d}" for i in range(n)]
    xs = np.array([np.nan if i % 4 == 0 else (i * 0.1 + 1 / 3) * 10 ** (i % 7 - 3) for i in range(n)])
    seen = [AWKWARD_TEXT[i % len(AWKWARD_TEXT)] for i in range(n)]
    with backend_store.atomic() as db:
        changed = insert_columns(db.conn, "INSERT", "t", {"k": keys, "x": xs, "n": np.arange(n) - 5, "seen": seen},
                                 constants={"run": "run-1"}, chunk_rows=7)
    assert changed == n
    expected = [(k, None if math.isnan(x) else float(x), i - 5, None, "run-1", s)
                for i, (k, x, s) in enumerate(zip(keys, xs, seen, strict=True))]
    assert _rows(backend_store) == expected  # floats compare bit for bit


def test_derived_columns_and_ignored_duplicates_on_both_backends(backend_store):
    _make_t(backend_store)
    with backend_store.atomic() as db:
        insert_columns(db.conn, "INSERT", "t", {"k": ["A", "B"], "seen": ["2016-01-01 10:00:00", None]})
        changed = insert_columns(db.conn, "INSERT OR IGNORE", "t",
                                 {"k": ["B", "C", "A", "D"], "seen": ["x", "2016-02-03 04:05:06", "y", "2016-12-31 23:59:59"]},
                                 constants={"run": "again"}, derived={"day": "substr({seen}, 1, 10)"})
    assert changed == 2
    assert _rows(backend_store) == [
        ("A", None, None, None, None, "2016-01-01 10:00:00"), ("B", None, None, None, None, None),
        ("C", None, None, "2016-02-03", "again", "2016-02-03 04:05:06"),
        ("D", None, None, "2016-12-31", "again", "2016-12-31 23:59:59")]


def test_replace_keeps_the_last_row_of_a_key_and_gives_it_a_new_rowid(backend_store):
    def score_rows(ids, score):
        return {"transaction_id": ids, "customer_id": ["C1"] * len(ids), "category": ["other"] * len(ids),
                "anomaly_score": [score] * len(ids), "flagged": [0] * len(ids), "reasons": ["[]"] * len(ids)}

    stamp = {"scored_at": "2016-10-01T00:00:00+00:00"}
    with backend_store.atomic() as db:
        insert_columns(db.conn, "INSERT OR REPLACE", "transaction_scores", score_rows(["T1", "T2"], 0.1), stamp)
        before = dict(db.execute("SELECT transaction_id, rowid FROM transaction_scores").fetchall())
        changes = score_rows(["T2", "T3", "T2"], 0.5)
        changes["anomaly_score"] = [0.5, 0.6, 0.7]   # T2 twice: the later row wins, as with SQLite's REPLACE
        insert_columns(db.conn, "INSERT OR REPLACE", "transaction_scores", changes, stamp)
    rows = {r[0]: (r[1], r[2]) for r in backend_store.db.execute(
        "SELECT transaction_id, anomaly_score, rowid FROM transaction_scores").fetchall()}
    assert {k: v[0] for k, v in rows.items()} == {"T1": 0.1, "T2": 0.7, "T3": 0.6}
    assert rows["T1"][1] == before["T1"] and rows["T2"][1] > before["T2"]
