"""The columnar snapshot of `transactions`: whole-table reads equal SQL, and a part that no longer matches is never used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics.ingest import read_transactions, to_canonical
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
    """The whole table read straight from SQL, in rowid order, with no snapshot involved."""
    frame, _ = TransactionRepository(store)._frame_after(0)
    return frame


def parts(store: Store) -> list[Path]:
    return sorted(Path(store.path + ".parts").glob("txns-*.arrow"))


def test_an_ingest_writes_a_part_holding_exactly_its_rows(fresh_store, small_parts, tmp_path):
    ingest_files(fresh_store, [QUIRKS], tmp_path / "rejects.csv")
    assert [p.name for p in parts(fresh_store)] == ["txns-000000000001-000000000007.arrow"]
    part = TransactionSnapshot(fresh_store).read_part(TransactionSnapshot(fresh_store).valid_parts()[0])
    pd.testing.assert_frame_equal(part, sql_frame(fresh_store))


def test_whole_table_read_equals_sql_with_missing_values_and_later_rows(fresh_store, small_parts, tmp_path):
    ingest_files(fresh_store, [QUIRKS], tmp_path / "rejects.csv")
    api_row = to_canonical(pd.DataFrame([{"transaction_id": "TAPI1", "customer_id": "C1", "ts": "2016-10-22 10:00:00",
                                          "amount": 99.5, "txn_type": "DEBIT", "merchant": "SWIGGY"}]))
    with fresh_store.atomic():
        TransactionRepository(fresh_store).insert_frame(api_row, source="api")
    got = TransactionRepository(fresh_store).all_frame()
    pd.testing.assert_frame_equal(got, sql_frame(fresh_store))
    assert got["transaction_id"].iloc[-1] == "TAPI1" and got["dob"].isna().any() and got["balance"].isna().any()


def test_the_bundled_sample_reads_back_equal_from_its_part(fresh_store, tmp_path):
    report = ingest_files(fresh_store, [SAMPLE], tmp_path / "rejects.csv")
    assert report.inserted >= TransactionSnapshot.min_rows and len(parts(fresh_store)) == 1
    pd.testing.assert_frame_equal(TransactionRepository(fresh_store).all_frame(), sql_frame(fresh_store))


def test_a_part_of_another_store_is_removed_and_sql_used(small_parts, tmp_path):
    first, second = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    ingest_files(first, [QUIRKS], tmp_path / "r1.csv")
    reversed_rows = read_transactions([QUIRKS]).frame.iloc[::-1]
    with second.atomic():  # same rows, but no part of its own: a transaction was open
        TransactionRepository(second).insert_frame(reversed_rows, source="other")
    Path(second.path + ".parts").mkdir()
    shutil.copy(parts(first)[0], Path(second.path + ".parts"))
    got = TransactionRepository(second).all_frame()
    pd.testing.assert_frame_equal(got, sql_frame(second))
    assert got["transaction_id"].tolist() == reversed_rows["transaction_id"].tolist()  # not the copied part's order
    assert [p.name for p in parts(second)] == ["txns-000000000001-000000000007.arrow"]  # rewritten from SQL


def test_a_part_whose_rows_changed_in_sql_is_not_used(fresh_store, small_parts, tmp_path):
    ingest_files(fresh_store, [QUIRKS], tmp_path / "rejects.csv")
    with fresh_store.atomic():
        fresh_store.conn.execute("DELETE FROM transactions WHERE rowid = 3")
    got = TransactionRepository(fresh_store).all_frame()
    assert len(got) == 6
    pd.testing.assert_frame_equal(got, sql_frame(fresh_store))


def test_no_part_is_written_inside_an_open_transaction(fresh_store, small_parts, tmp_path):
    with pytest.raises(RuntimeError), fresh_store.atomic():
        ingest_files(fresh_store, [QUIRKS], tmp_path / "rejects.csv")
        raise RuntimeError("roll the ingest back")
    assert parts(fresh_store) == []
    assert TransactionRepository(fresh_store).count() == 0


def test_an_in_memory_store_reads_from_sql_only(small_parts, tmp_path):
    store = Store(":memory:")
    ingest_files(store, [QUIRKS], tmp_path / "rejects.csv")
    assert TransactionSnapshot(store).valid_parts() == []
    assert len(TransactionRepository(store).all_frame()) == 7
