"""analytics.ingest on hand-written raw CSV fixtures: every quirk of the public file and every kind of bad row."""

from __future__ import annotations

import gzip
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analytics.ingest import IngestFormatError, read_transactions, write_rejects
from analytics.schema import TXN_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
QUIRKS = FIXTURES / "ingest_quirks.csv"
PLAIN = FIXTURES / "ingest_plain.csv"


@pytest.fixture(scope="module")
def quirks():
    return read_transactions([QUIRKS])


def row(batch, transaction_id: str) -> dict:
    frame = batch.frame
    matches = frame[frame["transaction_id"] == transaction_id]
    assert len(matches) == 1
    return matches.iloc[0].to_dict()


def test_every_reject_has_its_line_and_reason(quirks):
    got = [(r.line, r.transaction_id, r.reason) for r in quirks.rejects]
    assert got == [
        (7, None, "TransactionID is empty"),
        (8, "T7", "TransactionAmount (INR) 'abc' is not a number"),
        (9, "T8", "TransactionAmount (INR) '-50' is negative"),
        (10, "T9", "TransactionDate '31/2/16' is not a date (d/m/yy)"),
        (11, "T10", "TransactionTime '256099' is not an HHMMSS time"),
        (12, "T1", "duplicate TransactionID T1, first seen on line 2"),
        (13, "T11", "TransactionAmount (INR) is empty"),
        (14, "T12", "CustomerID is empty"),
        (15, "T13", "TransactionType 'REFUND' is not DEBIT or CREDIT"),
    ]
    assert all(r.file == str(QUIRKS) for r in quirks.rejects)


def test_rows_read_counts_accepted_plus_rejected(quirks):
    assert quirks.rows_read == 16  # 17 lines minus the header
    assert quirks.accepted == 7
    assert sorted(quirks.frame["transaction_id"]) == ["T1", "T14", "T15", "T2", "T3", "T4", "T5"]


def test_frame_has_canonical_columns_and_dtypes(quirks):
    frame = quirks.frame
    assert tuple(frame.columns) == TXN_COLUMNS
    assert frame["ts"].dtype == np.dtype("datetime64[ns]")
    assert frame["dob"].dtype == np.dtype("datetime64[ns]")
    assert frame["amount"].dtype == np.float64 and frame["balance"].dtype == np.float64
    for column in ("transaction_id", "customer_id", "txn_type", "merchant", "category", "channel", "location", "gender"):
        assert frame[column].dtype == object


def test_day_first_short_date_and_six_digit_time(quirks):
    assert row(quirks, "T1")["ts"] == pd.Timestamp(2016, 8, 2, 14, 32, 7)


def test_time_without_leading_zeros_of_every_width(quirks):
    assert row(quirks, "T2")["ts"] == pd.Timestamp(2016, 8, 2, 8, 31, 55)   # 83155
    assert row(quirks, "T3")["ts"] == pd.Timestamp(2016, 8, 26, 0, 15, 32)  # 1532, dd-mm-yyyy date
    assert row(quirks, "T15")["ts"] == pd.Timestamp(2016, 9, 1, 0, 1, 30)   # 130
    assert row(quirks, "T14")["ts"] == pd.Timestamp(2016, 9, 5, 0, 0, 59)   # 59
    assert row(quirks, "T4")["ts"] == pd.Timestamp(2016, 9, 3, 0, 0, 5)     # 5, ISO date


def test_unknown_dob_markers_become_nat(quirks):
    assert pd.isna(row(quirks, "T2")["dob"])  # 1/1/1800
    assert pd.isna(row(quirks, "T3")["dob"])  # nan


def test_two_digit_dob_years(quirks):
    assert row(quirks, "T1")["dob"] == pd.Timestamp(1994, 1, 10)
    assert row(quirks, "T4")["dob"] == pd.Timestamp(1945, 1, 1)   # 2045 would be in the future
    assert row(quirks, "T14")["dob"] == pd.Timestamp(1920, 3, 5)  # 2020 would follow the 2016 transaction
    assert row(quirks, "T5")["dob"] == pd.Timestamp(2012, 6, 3)   # 2012 precedes it: stays


def test_empty_balance_is_nan_and_zero_amount_is_kept(quirks):
    assert math.isnan(row(quirks, "T3")["balance"])
    assert row(quirks, "T5")["amount"] == 0.0
    assert row(quirks, "T5")["balance"] == 0.5


def test_odd_genders_become_none(quirks):
    assert row(quirks, "T3")["gender"] is None  # T
    assert row(quirks, "T4")["gender"] is None  # empty
    assert row(quirks, "T1")["gender"] == "F"


def test_locations_keep_commas_and_are_stripped_upper_case(quirks):
    assert row(quirks, "T4")["location"] == "DOMBIVALI -WEST,THANE"
    assert row(quirks, "T5")["location"] == "WHITEFIELD BANGALORE"
    assert row(quirks, "T14")["location"] == "DELHI"


def test_optional_columns_in_any_order(quirks):
    t1, t2, t5 = row(quirks, "T1"), row(quirks, "T2"), row(quirks, "T5")
    assert (t1["merchant"], t1["category"], t1["channel"], t1["txn_type"]) == ("SWIGGY BANGALORE", "dining", "UPI", "DEBIT")
    assert (t2["merchant"], t2["category"], t2["channel"], t2["txn_type"]) == (None, None, "POS", "DEBIT")
    assert (t5["category"], t5["txn_type"]) == ("income", "CREDIT")  # lower-case credit
    assert row(quirks, "T4")["txn_type"] == "CREDIT"  # Credit


def test_absent_optional_columns_mean_debit_and_unknown():
    batch = read_transactions([PLAIN])
    assert batch.rejects == ()
    assert list(batch.frame["txn_type"]) == ["DEBIT"] * 3
    assert batch.frame[["merchant", "category", "channel"]].isna().all().all()
    assert list(batch.frame["location"]) == ["JAMSHEDPUR", "JORHAT, ASSAM", "DIMAPUR, NAGALAND"]
    assert list(batch.frame["amount"]) == [25.0, 50.0, 1400.12]


def test_missing_required_columns_raise_naming_them(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("TransactionID,CustomerID,TransactionDate\nT1,C1,2/8/16\n")
    with pytest.raises(IngestFormatError) as info:
        read_transactions([bad])
    message = str(info.value)
    for name in ("CustomerDOB", "TransactionTime", "TransactionAmount (INR)"):
        assert name in message
    assert "TransactionDate," not in message.split("column(s):")[1]


def test_gzip_file_reads_like_plain(tmp_path):
    packed = tmp_path / "quirks.csv.gz"
    with QUIRKS.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    batch = read_transactions([packed])
    plain = read_transactions([QUIRKS])
    pd.testing.assert_frame_equal(batch.frame, plain.frame)
    assert [r.line for r in batch.rejects] == [r.line for r in plain.rejects]


def test_duplicate_in_a_later_file_names_the_first_file(tmp_path):
    second = tmp_path / "second.csv"
    second.write_text(PLAIN.read_text().splitlines()[0] + "\nT5323,C1,1/1/90,M,PUNE,10,3/8/16,100000,5\n")
    batch = read_transactions([PLAIN, second])
    assert [(r.file, r.line, r.reason) for r in batch.rejects] == [
        (str(second), 2, "duplicate TransactionID T5323, first seen on line 3 of ingest_plain.csv")
    ]
    assert batch.rows_read == 4 and batch.accepted == 3


def test_row_with_too_many_fields_is_rejected_and_others_kept(tmp_path):
    lines = PLAIN.read_text().splitlines()
    lines.insert(2, "T9,C9,1/1/90,M,PUNE,10,3/8/16,100000,5,EXTRA")
    path = tmp_path / "extra.csv"
    path.write_text("\n".join(lines) + "\n")
    batch = read_transactions([path])
    assert [(r.line, r.transaction_id, r.reason) for r in batch.rejects] == [(3, "T9", "has 10 fields, expected 9")]
    assert list(batch.frame["transaction_id"]) == ["T1", "T5323", "T6022"]


def test_line_numbers_count_blank_lines_and_a_quoted_field_never_spans_lines(tmp_path):
    header = PLAIN.read_text().splitlines()[0]
    path = tmp_path / "odd.csv"
    path.write_text(
        header + "\n"
        "T1,C1,1/1/90,M,\"TWO\nLINES\",10,3/8/16,100000,5\n"  # line 2: the quote does not close on its line
        "\n"                                                   # line 4, blank: skipped
        "T2,C2,1/1/90,M,PUNE,10,3/8/16,100000,oops\n"         # line 5
        "T3,C3,1/1/90,M,PUNE,10,3/8/16,100000,7\n"            # line 6
    )
    batch = read_transactions([path])
    # Line 3 is read on its own: 'LINES"' is not a transaction (no date), so it is rejected too, with its line.
    assert [(r.line, r.transaction_id) for r in batch.rejects] == [(2, "T1"), (3, 'LINES"'), (5, "T2")]
    assert batch.rejects[0].reason.startswith("has an unterminated quote")
    assert list(batch.frame["transaction_id"]) == ["T3"]
    assert batch.rows_read == 4


def test_write_rejects_writes_one_csv_row_per_reject(quirks, tmp_path):
    path = write_rejects(quirks.rejects, tmp_path / "rejects.csv")
    report = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(report.columns) == ["file", "line", "transaction_id", "reason"]
    assert len(report) == 9
    assert report.iloc[1].to_dict() == {
        "file": str(QUIRKS), "line": "8", "transaction_id": "T7",
        "reason": "TransactionAmount (INR) 'abc' is not a number",
    }


@pytest.mark.realdata
def test_real_sample_parses_without_rejects(real_sample_csv):
    batch = read_transactions([real_sample_csv])
    assert batch.rows_read == 49_993
    assert batch.rejects == ()
    assert batch.accepted == 49_993
    first = batch.frame.iloc[0]
    assert first["transaction_id"] == "T1"
    assert first["ts"] == pd.Timestamp(2016, 8, 2, 14, 32, 7)  # 2/8/16 is 2 August
    assert first["dob"] == pd.Timestamp(1994, 1, 10)
    assert batch.frame["ts"].min() >= pd.Timestamp(2016, 8, 1)
    assert batch.frame["ts"].max() < pd.Timestamp(2016, 10, 22)


def write_plain_rows(tmp_path, name: str, body: str, *, newline: str = "\n") -> Path:
    """A file with the plain header and `body` (rows separated by \\n, written with `newline`)."""
    header = PLAIN.read_text().splitlines()[0]
    path = tmp_path / name
    path.write_bytes((header + "\n" + body).replace("\n", newline).encode())
    return path


def test_row_of_empty_cells_is_skipped_like_a_blank_line_but_counted(tmp_path):
    path = write_plain_rows(tmp_path, "commas.csv", ",,,,,,,,\nT2,C2,1/1/90,M,PUNE,10,3/8/16,100000,oops\n")
    batch = read_transactions([path])
    assert [(r.line, r.transaction_id) for r in batch.rejects] == [(3, "T2")]
    assert batch.rows_read == 1


def test_crlf_file_counts_lines_across_blank_lines_and_an_open_quote(tmp_path):
    body = ('T1,C1,1/1/90,M,"TWO\nLINES",10,3/8/16,100000,5\n\nT2,C2,1/1/90,M,PUNE,10,3/8/16,100000,oops\n'
            'T3,C3,1/1/90,M,"PUNE, MH",10,3/8/16,100000,7\n')
    batch = read_transactions([write_plain_rows(tmp_path, "crlf.csv", body, newline="\r\n")])
    assert [(r.line, r.transaction_id) for r in batch.rejects] == [(2, "T1"), (3, 'LINES"'), (5, "T2")]
    assert list(batch.frame["location"]) == ["PUNE, MH"]


def test_short_row_is_padded_with_empty_cells(tmp_path):
    path = write_plain_rows(tmp_path, "short.csv", "T1,C1,1/1/90,M,PUNE,10,3/8/16,100000\nT2,C2,1/1/90,M,PUNE,,3/8/16,5,7\n")
    batch = read_transactions([path])
    assert [(r.line, r.reason) for r in batch.rejects] == [(2, "TransactionAmount (INR) is empty")]
    assert list(batch.frame["transaction_id"]) == ["T2"] and math.isnan(batch.frame["balance"][0])


def test_bytes_that_are_not_utf8_are_replaced(tmp_path):
    path = write_plain_rows(tmp_path, "latin1.csv", "T1,C1,1/1/90,M,PUNE,10,3/8/16,100000,5\n")
    path.write_bytes(path.read_bytes().replace(b"PUNE", b"P\xe9UNE"))
    batch = read_transactions([path])
    assert batch.rejects == () and list(batch.frame["location"]) == ["P\ufffdUNE"]


def test_numbers_follow_python_float_and_nan_text_is_not_a_number(tmp_path):
    body = "T1,C1,1/1/90,M,PUNE, 1_000 ,3/8/16,100000, 7.5\nT2,C2,1/1/90,M,PUNE,1e3,3/8/16,100000,nan\nT3,C3,1/1/90,M,PUNE,,3/8/16,100000,inf\n"
    batch = read_transactions([write_plain_rows(tmp_path, "numbers.csv", body)])
    assert [r.reason for r in batch.rejects] == [
        "TransactionAmount (INR) 'nan' is not a number", "TransactionAmount (INR) 'inf' is not a number"]
    assert (batch.frame["amount"][0], batch.frame["balance"][0]) == (7.5, 1000.0)


def test_times_are_one_to_six_ascii_digits(tmp_path):
    times = [" 59 ", "+5", "1234567", "12.5", "", "235960", "0"]
    body = "".join(f"T{i},C{i},1/1/90,M,PUNE,10,3/8/16,{t},5\n" for i, t in enumerate(times))
    batch = read_transactions([write_plain_rows(tmp_path, "times.csv", body)])
    assert list(batch.frame["ts"]) == [pd.Timestamp(2016, 8, 3, 0, 0, 59), pd.Timestamp(2016, 8, 3)]
    assert [r.transaction_id for r in batch.rejects] == ["T1", "T2", "T3", "T4", "T5"]


def test_arrow_trims_exactly_what_str_strip_does():
    # `_stripped` relies on it for IDs and merchants: every code point is whitespace to both or to neither.
    code_points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    trimmed = pc.utf8_trim_whitespace(pa.array(code_points)).to_pylist()
    assert [c for c, t in zip(code_points, trimmed, strict=True) if (t == "") != c.isspace()] == []


def test_arrow_float_cast_reads_what_python_float_reads():
    # `_to_float` takes arrow's cast whenever it accepts every cell without a NaN: it must then agree with float().
    texts = ["1", "-2.50", "+3", ".5", "5.", "1e3", "1E-3", "inf", "-Infinity", "0001", "-0", "1e400", "4.9e-324",
             "9007199254740993", "0.1", "123456789.123456789", "1.7976931348623159e308"]
    assert pc.cast(pa.array(texts), pa.float64()).to_pylist() == [float(t) for t in texts]
    for refused in [" 1", "1_000", "0x10", "1,5", "\u0661", ""]:
        with pytest.raises(pa.ArrowInvalid):
            pc.cast(pa.array([refused]), pa.float64())
