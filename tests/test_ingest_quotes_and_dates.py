"""Ingest rules for broken quoting and future dates, on hand-made files: a bad line is rejected with its line
number and reason, and every row around it is kept."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import pytest

from analytics.ingest import UNTERMINATED_QUOTE, latest_accepted_time, read_transactions
from bot.services.ingestion import ingest_files
from tests.conftest import SHARED_DATA

HEADER = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
          "TransactionTime,TransactionAmount (INR),Merchant")
NOW = dt.datetime(2016, 10, 31, 12, 0)          # injected clock (bank-local): the data lies in 2016
LIMIT = NOW + dt.timedelta(days=1)


def row(tid: str, amount: int, merchant: str = "SWIGGY", location: str = "PUNE", date: str = "2/8/16",
        time: str = "143207") -> str:
    return f"{tid},C{tid[1:]},10/1/94,F,{location},100,{date},{time},{amount},{merchant}"


def write(tmp_path: Path, lines: list[str], name: str = "t.csv", end: str = "\n") -> Path:
    path = tmp_path / name
    text = "\n".join([HEADER, *lines]) + end
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def read(path: Path):
    return read_transactions([path], not_after=LIMIT)


# ------------------------------------------------------------------------------------------ quoting
def test_an_open_quote_in_the_last_field_no_longer_swallows_the_next_rows(tmp_path):
    # Before: T2 and T3 became T1's merchant text and the run reported 0 rejected.
    path = write(tmp_path, [row("T1", 25, '"SWIGGY'), row("T2", 30), row("T3", 35)])
    batch = read(path)
    assert [(r.line, r.transaction_id, r.reason) for r in batch.rejects] == [(2, "T1", UNTERMINATED_QUOTE)]
    assert list(batch.frame["transaction_id"]) == ["T2", "T3"]
    assert list(batch.frame["amount"]) == [30.0, 35.0]
    assert list(batch.frame["merchant"]) == ["SWIGGY", "SWIGGY"]


def test_an_open_quote_that_pairs_with_a_later_quote_loses_nothing_between(tmp_path):
    # The stray quote on line 3 would close at the first quote of line 5, taking line 4 with it.
    lines = [row("T1", 10), row("T2", 20, '"ZOMATO'), row("T3", 30), row("T4", 40, '"OLA, CAB"'), row("T5", 50)]
    batch = read(write(tmp_path, lines))
    assert [(r.line, r.transaction_id) for r in batch.rejects] == [(3, "T2")]
    assert list(batch.frame["transaction_id"]) == ["T1", "T3", "T4", "T5"]
    assert batch.frame.set_index("transaction_id").loc["T4", "merchant"] == "OLA, CAB"


def test_an_open_quote_in_a_middle_field_is_rejected_with_its_line(tmp_path):
    lines = [row("T1", 10), row("T2", 20, location='"PUNE'), row("T3", 30)]
    batch = read(write(tmp_path, lines, name="t.csv.gz"))
    assert [(r.line, r.transaction_id, r.reason) for r in batch.rejects] == [(3, "T2", UNTERMINATED_QUOTE)]
    assert list(batch.frame["transaction_id"]) == ["T1", "T3"]
    assert batch.rows_read == 3


def test_well_formed_quotes_are_read_as_before(tmp_path):
    lines = [row("T1", 10, location='"JORHAT, ASSAM"'), row("T2", 20, '"SAY ""HI"" CAFE"'),
             row("T3", 30, 'SWI"GGY'), row("T4", 40)]
    batch = read(write(tmp_path, lines))
    assert batch.rejects == ()
    assert list(batch.frame["location"]) == ["JORHAT, ASSAM", "PUNE", "PUNE", "PUNE"]
    assert list(batch.frame["merchant"]) == ["SWIGGY", 'SAY "HI" CAFE', 'SWI"GGY', "SWIGGY"]


def test_an_open_quote_on_the_last_line_of_a_file_without_a_final_line_break_is_closed_by_the_end(tmp_path):
    # Documented rule: nothing follows it that could be swallowed, and pyarrow reads it that way.
    batch = read(write(tmp_path, [row("T1", 10), row("T2", 20, '"SWIGGY')], end=""))
    assert batch.rejects == ()
    assert list(batch.frame["merchant"]) == ["SWIGGY", "SWIGGY"]


def test_a_ragged_row_and_an_open_quote_in_one_file_are_both_found(tmp_path):
    lines = [row("T1", 10) + ",EXTRA", row("T2", 20, '"X'), row("T3", 30)]
    batch = read(write(tmp_path, lines))
    assert [(r.line, r.reason) for r in batch.rejects] == [(2, "has 11 fields, expected 10"),
                                                            (3, UNTERMINATED_QUOTE)]
    assert list(batch.frame["transaction_id"]) == ["T3"]


# ------------------------------------------------------------------------------------------ future dates
def test_a_row_dated_after_now_plus_a_day_is_rejected_with_its_line(tmp_path):
    lines = [row("T1", 10, date="1/11/16", time="115959"),       # now + 23:59:59: accepted
             row("T2", 20, date="1/11/16", time="120000"),       # exactly now + 1 day: accepted
             row("T3", 30, date="1/11/16", time="120001"),       # one second later: rejected
             row("T4", 40, date="1/1/31"),                       # the 2031 row of the report
             row("T5", 50, date="31/10/16")]
    batch = read(write(tmp_path, lines))
    assert [(r.line, r.transaction_id) for r in batch.rejects] == [(4, "T3"), (5, "T4")]
    assert batch.rejects[1].reason == ("TransactionDate '1/1/31' is in the future "
                                       "(after 2016-11-01 12:00, now plus 1 day)")
    assert list(batch.frame["transaction_id"]) == ["T1", "T2", "T5"]


def test_the_limit_is_bank_local_time_when_the_clock_gives_utc():
    utc = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)        # 01:30 on 2 Dec in Kolkata
    assert latest_accepted_time(utc) == dt.datetime(2026, 12, 3, 1, 30)
    assert latest_accepted_time(utc, "Europe/London") == dt.datetime(2026, 12, 2, 20, 0)
    assert latest_accepted_time(dt.datetime(2026, 12, 1, 9, 0)) == dt.datetime(2026, 12, 2, 9, 0)  # naive = local


def test_ingest_writes_the_future_row_to_the_rejects_report_and_keeps_the_clock(fresh_store, tmp_path):
    path = write(tmp_path, [row("T1", 10, date="30/10/16"), row("T2", 20, date="1/1/31")])
    report = ingest_files(fresh_store, [path], rejects_path=tmp_path / "rejects.csv",
                          clock=lambda: dt.datetime(2016, 10, 31, 6, 30, tzinfo=dt.UTC))
    assert (report.inserted, report.rejected) == (1, 1)
    with (tmp_path / "rejects.csv").open(newline="") as handle:
        rejects = list(csv.reader(handle))
    assert rejects[1] == [str(path), "3", "T2", "TransactionDate '1/1/31' is in the future "
                          "(after 2016-11-01 12:00, now plus 1 day)"]
    latest = fresh_store.db.execute("SELECT MAX(txn_date) FROM transactions").fetchone()[0]
    assert latest == "2016-10-30"


# ------------------------------------------------------------------------------------------ the real file
@pytest.mark.realdata
@pytest.mark.slow
def test_the_real_public_file_still_has_no_rejects():
    path = SHARED_DATA / "bank_transactions_full.csv.gz"
    if not path.exists():
        pytest.skip("public data set not present")
    batch = read_transactions([path])
    assert batch.rejects == ()
    assert batch.rows_read == batch.accepted == 1_048_491
