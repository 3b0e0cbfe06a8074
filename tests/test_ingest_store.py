"""Ingesting into the store (SQLite and PostgreSQL): exact stored values, idempotence, the customers summary and
canonical read-back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.ingest import read_transactions
from analytics.schema import TXN_COLUMNS
from bot.services.ingestion import ingest_files
from bot.storage.transactions import TransactionRepository

FIXTURES = Path(__file__).parent / "fixtures"
QUIRKS = FIXTURES / "ingest_quirks.csv"

# Every accepted row of ingest_quirks.csv, written out by hand from the raw lines.
EXPECTED_ROWS = [
    ("T1", "C5841053", "2016-08-02 14:32:07", "2016-08-02", 25.0, 17819.05, "DEBIT", "SWIGGY BANGALORE", "dining", "UPI", "JAMSHEDPUR", "1994-01-10", "F"),
    ("T14", "C5841053", "2016-09-05 00:00:59", "2016-09-05", 120.0, 5000.0, "DEBIT", None, None, None, "DELHI", "1920-03-05", "M"),
    ("T15", "C5841053", "2016-09-01 00:01:30", "2016-09-01", 30.0, 4000.0, "DEBIT", None, None, None, "KOLKATA", "1980-01-01", "F"),
    ("T2", "C2142763", "2016-08-02 08:31:55", "2016-08-02", 27999.0, 2270.69, "DEBIT", None, None, "POS", "JHAJJAR", None, "M"),
    ("T3", "C4417068", "2016-08-26 00:15:32", "2016-08-26", 459.5, None, "DEBIT", None, "groceries", None, "MUMBAI", None, None),
    ("T4", "C5342380", "2016-09-03 00:00:05", "2016-09-03", 2060.0, 866503.21, "CREDIT", None, None, "ONLINE", "DOMBIVALI -WEST,THANE", "1945-01-01", None),
    ("T5", "C9031234", "2016-10-21 23:59:59", "2016-10-21", 0.0, 0.5, "CREDIT", "ACME SALARY", "income", None, "WHITEFIELD BANGALORE", "2012-06-03", "M"),
]
STORED_COLUMNS = ("transaction_id, customer_id, ts, txn_date, amount, balance, txn_type, merchant, category, channel,"
                  " location, dob, gender")


def stored_rows(store):
    return store.conn.execute(f"SELECT {STORED_COLUMNS} FROM transactions ORDER BY transaction_id").fetchall()


def checksum(store):
    """Row count plus a digest of every stored value, in key order."""
    rows = store.conn.execute(f"SELECT {STORED_COLUMNS}, source FROM transactions ORDER BY transaction_id").fetchall()
    return len(rows), hash(tuple(rows))


def test_every_accepted_row_is_stored_with_exact_values(backend_store, tmp_path):
    report = ingest_files(backend_store, [QUIRKS], tmp_path / "rejects.csv")
    assert stored_rows(backend_store) == EXPECTED_ROWS
    assert (report.rows_read, report.accepted, report.inserted, report.duplicates, report.rejected) == (16, 7, 7, 0, 9)


def test_rejects_report_is_written_where_asked(backend_store, tmp_path):
    report = ingest_files(backend_store, [QUIRKS], tmp_path / "rejects.csv")
    assert report.rejects_path == tmp_path / "rejects.csv"
    lines = (tmp_path / "rejects.csv").read_text().splitlines()
    assert len(lines) == 1 + 9
    assert lines[1].endswith(",7,,TransactionID is empty")


def test_rejects_report_defaults_beside_the_database(backend_store, tmp_path):
    report = ingest_files(backend_store, [QUIRKS], None)
    # Beside the SQLite file; in the local data folder the PostgreSQL store was opened with.
    folder = tmp_path if backend_store.backend == "sqlite" else tmp_path / "store"
    assert report.rejects_path == folder / f"rejects_{report.run_id}.csv"
    assert report.rejects_path.exists()


def test_reingest_changes_nothing(backend_store, tmp_path):
    ingest_files(backend_store, [QUIRKS], tmp_path / "r1.csv")
    before = checksum(backend_store)
    customers_before = backend_store.conn.execute("SELECT * FROM customers ORDER BY customer_id").fetchall()
    report = ingest_files(backend_store, [QUIRKS], tmp_path / "r2.csv")
    assert (report.inserted, report.duplicates) == (0, 7)
    assert checksum(backend_store) == before
    assert before[0] == 7
    assert backend_store.conn.execute("SELECT * FROM customers ORDER BY customer_id").fetchall() == customers_before


def test_each_run_is_recorded(backend_store, tmp_path):
    first = ingest_files(backend_store, [QUIRKS], tmp_path / "r1.csv")
    second = ingest_files(backend_store, [QUIRKS], tmp_path / "r2.csv")
    runs = backend_store.conn.execute(
        "SELECT run_id, rows_read, accepted, inserted, duplicates, rejected FROM ingest_runs ORDER BY started_at, run_id"
    ).fetchall()
    assert sorted(runs) == sorted([(first.run_id, 16, 7, 7, 0, 9), (second.run_id, 16, 7, 0, 7, 9)])


def test_customers_hold_the_latest_rows_profile(backend_store, tmp_path):
    ingest_files(backend_store, [QUIRKS], tmp_path / "r.csv")
    repo = TransactionRepository(backend_store)
    # C5841053: T1 (2 Aug, F, JAMSHEDPUR), T15 (1 Sep, F, KOLKATA), T14 (5 Sep, M, DELHI, born 1920): T14 is latest.
    assert repo.customer_row("C5841053") == {
        "customer_id": "C5841053", "dob": "1920-03-05", "gender": "M", "location": "DELHI",
        "first_txn": "2016-08-02", "last_txn": "2016-09-05", "n_txn": 3,
    }
    assert repo.customer_ids() == ["C2142763", "C4417068", "C5342380", "C5841053", "C9031234"]


def test_customers_update_when_a_later_file_adds_rows(backend_store, tmp_path):
    ingest_files(backend_store, [QUIRKS], tmp_path / "r.csv")
    later = tmp_path / "later.csv"
    later.write_text(
        "TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
        "TransactionTime,TransactionAmount (INR)\n"
        "T90,C5841053,2/2/02,F,PUNE,10,20/10/16,101010,5\n"      # new latest row for a known customer
        "T91,C5841053,3/3/03,M,GOA,10,1/8/16,101010,5\n"         # new earliest row, not the latest
        "T92,C7777777,4/4/04,F,NOIDA,10,2/8/16,101010,5\n"       # a new customer
    )
    ingest_files(backend_store, [later], tmp_path / "r2.csv")
    repo = TransactionRepository(backend_store)
    assert repo.customer_row("C5841053") == {
        "customer_id": "C5841053", "dob": "2002-02-02", "gender": "F", "location": "PUNE",
        "first_txn": "2016-08-01", "last_txn": "2016-10-20", "n_txn": 5,
    }
    assert repo.customer_row("C7777777")["n_txn"] == 1
    assert repo.customer_row("C4417068")["n_txn"] == 1  # untouched


def test_failed_insert_rolls_back_everything(backend_store, monkeypatch):
    repo = TransactionRepository(backend_store)
    frame = read_transactions([QUIRKS]).frame

    def boom(self, rows, summary=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(TransactionRepository, "_refresh_customers", boom)
    with pytest.raises(RuntimeError), backend_store.atomic():
        repo.insert_frame(frame, source="test")
    assert repo.count() == 0


def test_repository_never_commits(backend_store):
    frame = read_transactions([QUIRKS]).frame

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), backend_store.atomic():
        TransactionRepository(backend_store).insert_frame(frame, source="test")
        assert TransactionRepository(backend_store).count() == 7  # stored, but not committed
        raise RolledBack
    assert TransactionRepository(backend_store).count() == 0


def test_for_customer_round_trips_dtypes_and_values(backend_store):
    frame = read_transactions([QUIRKS]).frame
    repo = TransactionRepository(backend_store)
    with backend_store.atomic():
        repo.insert_frame(frame, source="test")
    got = repo.for_customer("C5841053")
    expected = frame[frame["customer_id"] == "C5841053"].sort_values("ts").reset_index(drop=True)
    assert tuple(got.columns) == TXN_COLUMNS
    assert list(got["transaction_id"]) == ["T1", "T15", "T14"]
    pd.testing.assert_frame_equal(got, expected)


def test_for_customer_filters_inclusive_dates(backend_store):
    repo = TransactionRepository(backend_store)
    with backend_store.atomic():
        repo.insert_frame(read_transactions([QUIRKS]).frame, source="test")
    got = repo.for_customer("C5841053", start=dt.date(2016, 9, 1), end=dt.date(2016, 9, 5))
    assert list(got["transaction_id"]) == ["T15", "T14"]
    assert list(repo.for_customer("C5841053", end=dt.date(2016, 8, 31))["transaction_id"]) == ["T1"]
    assert repo.for_customer("NOBODY").empty and tuple(repo.for_customer("NOBODY").columns) == TXN_COLUMNS


def test_all_frame_round_trips_the_whole_table(backend_store):
    frame = read_transactions([QUIRKS]).frame
    repo = TransactionRepository(backend_store)
    with backend_store.atomic():
        repo.insert_frame(frame, source="test")
    got = repo.all_frame().sort_values("transaction_id").reset_index(drop=True)
    expected = frame.sort_values("transaction_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert got["balance"].isna().sum() == 1 and got["dob"].isna().sum() == 2
    assert got["ts"].dtype == np.dtype("datetime64[ns]")


def test_small_queries(backend_store):
    repo = TransactionRepository(backend_store)
    assert repo.latest_date() is None and repo.count() == 0 and repo.get("T1") is None
    with backend_store.atomic():
        repo.insert_frame(read_transactions([QUIRKS]).frame, source="run-1")
    assert repo.latest_date() == dt.date(2016, 10, 21)
    assert repo.count() == 7
    assert repo.customer_exists("C5841053") and not repo.customer_exists("C0")
    t4 = repo.get("T4")
    assert t4["ts"] == dt.datetime(2016, 9, 3, 0, 0, 5) and t4["dob"] == dt.date(1945, 1, 1)
    assert (t4["amount"], t4["txn_type"], t4["gender"], t4["source"]) == (2060.0, "CREDIT", None, "run-1")


@pytest.mark.realdata
def test_real_sample_is_stored_whole(backend_store, real_sample_csv, tmp_path):
    report = ingest_files(backend_store, [real_sample_csv], None)
    assert (report.rows_read, report.inserted, report.rejected) == (49_993, 49_993, 0)
    assert report.rejects_path is None  # no rejects, no path asked: no report file
    conn = backend_store.conn
    assert conn.execute("SELECT ts, dob FROM transactions WHERE transaction_id = 'T1'").fetchone() == (
        "2016-08-02 14:32:07", "1994-01-10")
    n_customers = conn.execute("SELECT count(DISTINCT customer_id) FROM transactions").fetchone()[0]
    assert conn.execute("SELECT count(*), sum(n_txn) FROM customers").fetchone() == (n_customers, 49_993)


def test_partly_stored_batch_counts_only_new_rows_for_customers(backend_store, tmp_path):
    plain = FIXTURES / "ingest_plain.csv"
    ingest_files(backend_store, [plain], None)
    mixed = tmp_path / "mixed.csv"
    header, first_row = plain.read_text().splitlines()[:2]
    mixed.write_text(header + "\n" + first_row + "\nT77,C5841053,1/1/70,M,AGRA,5,3/8/16,120000,7\n")
    report = ingest_files(backend_store, [mixed], None)
    assert (report.inserted, report.duplicates) == (1, 1)
    # C5841053: T1 on 2 Aug (already stored) and T77 on 3 Aug (new, so it is now the latest row).
    assert TransactionRepository(backend_store).customer_row("C5841053") == {
        "customer_id": "C5841053", "dob": "1970-01-01", "gender": "M", "location": "AGRA",
        "first_txn": "2016-08-02", "last_txn": "2016-08-03", "n_txn": 2,
    }


def test_progress_reports_stored_rows_up_to_the_total(backend_store):
    calls = []
    ingest_files(backend_store, [FIXTURES / "ingest_plain.csv"], None, progress=lambda *a: calls.append(a))
    assert calls[-1] == ("storing", 3, 3)


def _transaction_indexes(store) -> set[str]:
    """Every index on `transactions`, read from the engine's own catalog (the primary key's too on PostgreSQL)."""
    if store.backend == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transactions' AND sql IS NOT NULL"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'transactions'"
    return {r[0] for r in store.db.execute(sql).fetchall()}


def test_bulk_load_rebuilds_the_secondary_indexes(backend_store, tmp_path, monkeypatch):
    from bot.storage import transactions

    monkeypatch.setattr(transactions, "_REBUILD_MIN_ROWS", 1)
    before = _transaction_indexes(backend_store)
    assert {"idx_transactions_customer_ts", "idx_transactions_date"} <= before
    report = ingest_files(backend_store, [FIXTURES / "ingest_plain.csv"], rejects_path=tmp_path / "r.csv")
    assert report.inserted > 0
    assert _transaction_indexes(backend_store) == before
    if backend_store.backend == "sqlite":
        plan = backend_store.db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM transactions WHERE customer_id = 'C1' ORDER BY ts").fetchall()
    else:
        with backend_store.atomic() as db:
            db.execute("SET LOCAL enable_seqscan = off")  # a three-row table: make the planner show its index
            plan = db.execute("EXPLAIN SELECT * FROM transactions WHERE customer_id = 'C1' ORDER BY ts").fetchall()
    assert any("idx_transactions_customer_ts" in str(row) for row in plan)


def test_rolled_back_bulk_load_keeps_indexes_and_stores_nothing(backend_store, monkeypatch):
    from bot.storage import transactions

    monkeypatch.setattr(transactions, "_REBUILD_MIN_ROWS", 1)
    before = _transaction_indexes(backend_store)
    frame = read_transactions([FIXTURES / "ingest_plain.csv"]).frame
    with pytest.raises(RuntimeError), backend_store.atomic():
        TransactionRepository(backend_store).insert_frame(frame, source="t")
        raise RuntimeError("caller fails after the insert")
    assert _transaction_indexes(backend_store) == before
    assert backend_store.db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == 0


def test_first_load_customers_equal_a_plain_sql_group_by(backend_store, real_sample_csv):
    """A first bulk load (49,993 rows: indexes dropped and rebuilt, the summary built in numpy) leaves the customers
    table exactly as one grouped SQL pass over the stored rows gives it: latest row (ties: stored last) for the
    profile, first and last date, count. The file has no Merchant, Category or Channel: those are NULL."""
    ingest_files(backend_store, [real_sample_csv], None)
    conn = backend_store.conn
    expected = conn.execute(
        "SELECT g.customer_id, t.dob, t.gender, t.location, g.first_txn, g.last_txn, g.n_txn FROM"
        " (SELECT customer_id, min(txn_date) AS first_txn, max(txn_date) AS last_txn, count(*) AS n_txn"
        "  FROM transactions GROUP BY customer_id) g"
        " JOIN (SELECT customer_id, dob, gender, location, row_number() OVER"
        "  (PARTITION BY customer_id ORDER BY ts DESC, rowid DESC) AS latest FROM transactions) t"
        " ON t.customer_id = g.customer_id AND t.latest = 1 ORDER BY g.customer_id").fetchall()
    stored = conn.execute("SELECT customer_id, dob, gender, location, first_txn, last_txn, n_txn FROM customers"
                          " ORDER BY customer_id").fetchall()
    assert len(stored) == len(expected) > 40_000
    assert stored == expected
    assert conn.execute("SELECT count(*) FROM transactions WHERE merchant IS NOT NULL OR category IS NOT NULL"
                        " OR channel IS NOT NULL").fetchone()[0] == 0


@pytest.mark.realdata
def test_stored_times_are_the_files_date_and_time_of_day(fresh_store, real_sample_csv):
    """Every stored ts / txn_date is the row's d/m/yy TransactionDate plus its HHMMSS TransactionTime (no leading
    zeros), worked out here with the standard library, row by row, from the raw file."""
    import csv

    with real_sample_csv.open(newline="") as handle:
        expected = {}
        for row in csv.DictReader(handle):
            day = dt.datetime.strptime(row["TransactionDate"], "%d/%m/%y").date()
            hhmmss = int(row["TransactionTime"])
            when = dt.datetime.combine(day, dt.time(hhmmss // 10_000, hhmmss // 100 % 100, hhmmss % 100))
            expected[row["TransactionID"]] = (when.strftime("%Y-%m-%d %H:%M:%S"), day.isoformat())
    ingest_files(fresh_store, [real_sample_csv], None)
    stored = {tid: (ts, day) for tid, ts, day in
              fresh_store.conn.execute("SELECT transaction_id, ts, txn_date FROM transactions").fetchall()}
    assert len(stored) == 49_993
    assert stored == expected


_KILLED_INGEST = """
import os, signal, sys
from pathlib import Path
from bot.services import ingestion
from bot.storage import transactions
from bot.storage.database import Store

# The bulk path of a big first load (indexes dropped, WAL checkpoint deferred) for this small file.
transactions._REBUILD_MIN_ROWS = 1
ingestion.BULK_ROWS = 1
store = Store(sys.argv[1])

def die(stage, done, total):
    print("storing", done, total, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)   # every row inserted, indexes not yet rebuilt, nothing committed

ingestion.ingest_files(store, [Path(sys.argv[2])], None, progress=die)
"""


@pytest.mark.realdata
def test_a_first_load_killed_mid_way_leaves_an_empty_sound_store_that_loads_again(tmp_path, real_sample_csv):
    """A first load is one transaction (WAL journal, never switched off): `kill -9` while it stores leaves no row,
    the indexes and an intact file, and the same file then loads whole."""
    import signal
    import subprocess
    import sys

    from bot.storage.database import Store

    path = tmp_path / "store.db"
    Store(path).close()
    done = subprocess.run([sys.executable, "-c", _KILLED_INGEST, str(path), str(real_sample_csv)],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.startswith("storing ")
    store = Store(path)
    try:
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store.conn.execute("SELECT count(*) FROM transactions").fetchone() == (0,)
        assert store.conn.execute("SELECT count(*) FROM customers").fetchone() == (0,)
        assert store.conn.execute("SELECT count(*) FROM ingest_runs").fetchone() == (0,)
        assert _transaction_indexes(store) == {"idx_transactions_customer_ts", "idx_transactions_date"}
        report = ingest_files(store, [real_sample_csv], None)
        assert (report.inserted, report.duplicates) == (49_993, 0)
        assert store.conn.execute("SELECT count(*), sum(n_txn) FROM customers").fetchone()[1] == 49_993
    finally:
        store.close()
