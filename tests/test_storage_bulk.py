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
