"""The columnar snapshot of `transactions`: whole-table reads equal SQL, and a part that no longer matches is never used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics.ingest import read_transactions, to_canonical
from analytics.schema import TXN_COLUMNS
from bot.services.ingestion import ingest_files
from bot.storage.database import Store
from bot.storage.snapshot import TransactionSnapshot
from bot.storage.transactions import TransactionRepository

FIXTURES = Path(__file__).parent / "fixtures"
QUIRKS = FIXTURES / "ingest_quirks.csv"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "transactions.csv.gz"


@pytest.fixture
def small_parts(monkeypatch):
    """Let the seven quirky rows make a part of their own."""
    monkeypatch.setattr(TransactionSnapshot, "min_rows", 1)


def sql_frame(store: Store) -> pd.DataFrame:
    """The whole table read straight from SQL, in rowid order, with no snapshot and no repository code involved.

    Plain SQL and plain pandas: the canonical dtypes are spelled out here (datetimes at ns, NULL amounts as
    NaN, text as object holding str or None), so a part or a repository read that drifts from the table fails.
    """
    with store.locked():
        rows = store.conn.execute(f"SELECT {', '.join(TXN_COLUMNS)} FROM transactions ORDER BY rowid").fetchall()
    frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=list(TXN_COLUMNS)).astype(object)
    for name in TXN_COLUMNS:
        column = frame[name]
        if name in ("ts", "dob"):
            frame[name] = pd.to_datetime(column.where(column.notna(), None), format="ISO8601").astype("datetime64[ns]")
        elif name in ("amount", "balance"):
            frame[name] = pd.to_numeric(column).astype("float64")
        else:
            frame[name] = pd.Series([None if pd.isna(v) else str(v) for v in column], dtype=object)
    return frame


def parts(store: Store) -> list[Path]:
    folder = store.snapshot_folder
    assert folder is not None and folder.is_relative_to(store.files_folder)  # beside the data, never elsewhere
    return sorted(folder.glob("txns-*.arrow"))


def test_an_ingest_writes_a_part_holding_exactly_its_rows(backend_store, small_parts, tmp_path):
    ingest_files(backend_store, [QUIRKS], tmp_path / "rejects.csv")
    assert [p.name for p in parts(backend_store)] == ["txns-000000000001-000000000007.arrow"]
    part = TransactionSnapshot(backend_store).read_part(TransactionSnapshot(backend_store).valid_parts()[0])
    pd.testing.assert_frame_equal(part, sql_frame(backend_store))


def test_whole_table_read_equals_sql_with_missing_values_and_later_rows(backend_store, small_parts, tmp_path):
    ingest_files(backend_store, [QUIRKS], tmp_path / "rejects.csv")
    api_row = to_canonical(pd.DataFrame([{"transaction_id": "TAPI1", "customer_id": "C1", "ts": "2016-10-22 10:00:00",
                                          "amount": 99.5, "txn_type": "DEBIT", "merchant": "SWIGGY"}]))
    with backend_store.atomic():
        TransactionRepository(backend_store).insert_frame(api_row, source="api")
    got = TransactionRepository(backend_store).all_frame()
    pd.testing.assert_frame_equal(got, sql_frame(backend_store))
    assert got["transaction_id"].iloc[-1] == "TAPI1" and got["dob"].isna().any() and got["balance"].isna().any()


def test_a_read_of_some_columns_is_those_columns_of_sql_from_parts_and_later_rows(backend_store, small_parts,
                                                                                   tmp_path):
    ingest_files(backend_store, [QUIRKS], tmp_path / "rejects.csv")
    api_row = to_canonical(pd.DataFrame([{"transaction_id": "TAPI1", "customer_id": "C1", "ts": "2016-10-22 10:00:00",
                                          "amount": 99.5, "txn_type": "DEBIT", "merchant": "SWIGGY"}]))
    with backend_store.atomic():
        TransactionRepository(backend_store).insert_frame(api_row, source="api")
    # asked out of order: they come back in the canonical order, from the part and from the row after it alike
    got, last_rowid = TransactionRepository(backend_store).all_frame_and_last_rowid(("ts", "transaction_id", "amount"))
    expected = sql_frame(backend_store)[["transaction_id", "ts", "amount"]]
    pd.testing.assert_frame_equal(got, expected)
    assert len(parts(backend_store)) == 2 and got["transaction_id"].iloc[-1] == "TAPI1"
    with backend_store.locked():
        assert last_rowid == backend_store.conn.execute("SELECT max(rowid) FROM transactions").fetchone()[0]
    # the second read comes from the two parts alone
    again, _ = TransactionRepository(backend_store).all_frame_and_last_rowid(("ts", "transaction_id", "amount"))
    pd.testing.assert_frame_equal(again, expected)


def test_the_bundled_sample_reads_back_equal_from_its_part(backend_store, tmp_path):
    report = ingest_files(backend_store, [SAMPLE], tmp_path / "rejects.csv")
    assert report.inserted >= TransactionSnapshot.min_rows and len(parts(backend_store)) == 1
    pd.testing.assert_frame_equal(TransactionRepository(backend_store).all_frame(), sql_frame(backend_store))


def test_a_part_of_another_store_is_removed_and_sql_used(small_parts, store_factory, tmp_path):
    first, second = store_factory("a"), store_factory("b")
    ingest_files(first, [QUIRKS], tmp_path / "r1.csv")
    reversed_rows = read_transactions([QUIRKS]).frame.iloc[::-1]
    with second.atomic():  # same rows, but no part of its own: a transaction was open
        TransactionRepository(second).insert_frame(reversed_rows, source="other")
    second.snapshot_folder.mkdir(parents=True)
    shutil.copy(parts(first)[0], second.snapshot_folder)
    got = TransactionRepository(second).all_frame()
    pd.testing.assert_frame_equal(got, sql_frame(second))
    assert got["transaction_id"].tolist() == reversed_rows["transaction_id"].tolist()  # not the copied part's order
    assert [p.name for p in parts(second)] == ["txns-000000000001-000000000007.arrow"]  # rewritten from SQL


def test_a_part_whose_rows_changed_in_sql_is_not_used(backend_store, small_parts, tmp_path):
    ingest_files(backend_store, [QUIRKS], tmp_path / "rejects.csv")
    with backend_store.atomic():
        backend_store.conn.execute("DELETE FROM transactions WHERE rowid = 3")
    got = TransactionRepository(backend_store).all_frame()
    assert len(got) == 6
    pd.testing.assert_frame_equal(got, sql_frame(backend_store))


def test_no_part_is_written_inside_an_open_transaction(backend_store, small_parts, tmp_path):
    with pytest.raises(RuntimeError), backend_store.atomic():
        ingest_files(backend_store, [QUIRKS], tmp_path / "rejects.csv")
        raise RuntimeError("roll the ingest back")
    assert parts(backend_store) == []
    assert TransactionRepository(backend_store).count() == 0


def test_an_in_memory_store_reads_from_sql_only(small_parts, tmp_path):
    store = Store(":memory:")
    ingest_files(store, [QUIRKS], tmp_path / "rejects.csv")
    assert TransactionSnapshot(store).valid_parts() == []
    assert len(TransactionRepository(store).all_frame()) == 7
