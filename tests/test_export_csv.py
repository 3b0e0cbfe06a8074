"""`finassist export` writes every trained transaction and customer, exactly as the store holds them, quoted
so any CSV reader gets the cells back, with spreadsheet formulas neutralised (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest

from analytics.csv_lines import csv_chunk
from analytics.csv_safety import neutralize, neutralize_column
from analytics.ingest import Reject, write_rejects
from analytics.schema import CATEGORIES
from bot.cli import main
from bot.storage.database import Store

pytestmark = pytest.mark.slow

HOSTILE_TXN = '=HYPERLINK("http://evil.example/?q=1,2","click")'
HOSTILE_CUSTOMER = "@SUM(1+1)"
PLUS_TXN = "+91-98765"                  # starts with +: neutralised although it looks like a phone number
MINUS_TXN = "-2+3"                     # a formula, although it starts like a negative number
HEADER = "TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate," \
         "TransactionTime,TransactionAmount (INR),TransactionType,Merchant"


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """A small synthetic bank plus hostile rows (formula IDs, a negative balance, commas and quotes in text),
    ingested, trained and exported through the CLI. Returns (database, export folder)."""
    from analytics.synth import generate_bank, write_bank

    root = tmp_path_factory.mktemp("export")
    paths = write_bank(generate_bank(customers=40, months=4, seed=5), root / "bank")
    hostile = root / "hostile.csv"
    hostile.write_text("\n".join([
        HEADER,
        f'{_quote(HOSTILE_TXN)},{_quote(HOSTILE_CUSTOMER)},1/1/90,F,"KOLKATA, ""WB""",-1250.5,1/9/16,101500,'
        '250,DEBIT,"=cmd|\' /C calc\'!A0"',
        f'{PLUS_TXN},{_quote(HOSTILE_CUSTOMER)},1/1/90,F,PUNE,-1500.5,2/9/16,101500,250,DEBIT,SWIGGY',
        f'{MINUS_TXN},{_quote(HOSTILE_CUSTOMER)},1/1/90,F,PUNE,-1600.5,3/9/16,101500,100,DEBIT,ZOMATO',
    ]) + "\n")
    db = root / "store.db"
    config = root / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{db}"\n')
    assert main(["ingest", str(paths["transactions"]), str(hostile), "--config", str(config)]) == 0
    assert main(["train", "--config", str(config)]) == 0
    out = root / "out"
    assert main(["export", "--out", str(out), "--config", str(config)]) == 0
    return db, out


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def test_transactions_file_holds_every_trained_transaction_once_with_the_stores_scores(exported):
    db, out = exported
    header, rows = _read(out / "transactions_scored.csv")
    assert header == ["TransactionID", "CustomerID", "category", "anomaly_score", "flagged", "reasons"]
    store = Store(db)
    try:
        owners = dict(store.db.execute("SELECT transaction_id, customer_id FROM transactions").fetchall())
        stored = {tid: (cat, score, flagged, json.loads(reasons)) for tid, cat, score, flagged, reasons in
                  store.db.execute("SELECT transaction_id, category, anomaly_score, flagged, reasons "
                                   "FROM transaction_scores").fetchall()}
    finally:
        store.close()
    ids = [neutralize(tid) for tid in owners]
    assert sorted(r[0] for r in rows) == sorted(ids), "every stored transaction, once"
    by_id = {r[0]: r for r in rows}
    for tid, customer in owners.items():
        row = by_id[neutralize(tid)]
        assert row[1] == neutralize(customer)
        score, flagged = float(row[3]), row[4]
        assert 0.0 <= score <= 1.0 and flagged in ("0", "1") and row[2] in CATEGORIES
        if tid in stored:
            category, stored_score, stored_flag, reasons = stored[tid]
            assert (row[2], flagged, row[5]) == (category, str(stored_flag), "; ".join(reasons))
            assert score == pytest.approx(stored_score, abs=1e-6)
        else:
            assert flagged == "0", "a flagged transaction always has a stored score row"
    assert sum(r[4] == "1" for r in rows) == sum(1 for v in stored.values() if v[2])


def test_customers_file_equals_the_customer_scores_table(exported):
    db, out = exported
    header, rows = _read(out / "customers_scored.csv")
    assert header[:5] == ["CustomerID", "segment", "persona", "churn_risk", "churn_level"]
    store = Store(db)
    try:
        table = store.db.execute(
            "SELECT customer_id, segment, persona, churn_risk, churn_level, churn_reasons, balance_now "
            "FROM customer_scores ORDER BY customer_id").fetchall()
    finally:
        store.close()
    assert [r[0] for r in rows] == [neutralize(t[0]) for t in table]
    balance_column = header.index("balance_now")
    for row, (_, segment, persona, risk, level, reasons, balance) in zip(rows, table, strict=True):
        assert (int(row[1]), row[2], row[4]) == (segment, persona, level)
        assert float(row[3]) == pytest.approx(risk)
        assert row[5] == "; ".join(json.loads(reasons))
        assert float(row[balance_column]) == pytest.approx(balance)


def test_formula_cells_are_neutralised_and_numbers_stay_numbers(exported):
    _, out = exported
    _, transactions = _read(out / "transactions_scored.csv")
    _, customers = _read(out / "customers_scored.csv")
    ids = {r[0] for r in transactions}
    assert {"'" + HOSTILE_TXN, "'" + PLUS_TXN, "'" + MINUS_TXN} <= ids   # quotes and commas round-trip intact
    assert HOSTILE_TXN not in ids
    assert {r[1] for r in transactions if r[0] == "'" + HOSTILE_TXN} == {"'" + HOSTILE_CUSTOMER}
    hostile = next(r for r in customers if r[0] == "'" + HOSTILE_CUSTOMER)
    header = _read(out / "customers_scored.csv")[0]
    assert hostile[header.index("balance_now")] == "-1600.5", "a negative number is written as a number"
    for row in transactions + customers:
        for cell in row:
            assert cell[:1] not in ("=", "+", "@", "\t", "\r") and not (
                cell.startswith("-") and not _is_number(cell)), row


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_the_raw_file_is_quoted_so_commas_and_quotes_survive(exported):
    _, out = exported
    raw = (out / "transactions_scored.csv").read_text(encoding="utf-8")
    assert "\"'=HYPERLINK(\"\"http://evil.example/?q=1,2\"\",\"\"click\"\")\"" in raw


@pytest.mark.parametrize("cell, written", [
    ("=1+1", "'=1+1"), ("+1", "+1"), ("+91-98765", "'+91-98765"), ("-12.50", "-12.50"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tT1", "'\tT1"), ("\r=1", "'\r=1"), ("SWIGGY", "SWIGGY"), ("", ""),
    (-1250.5, -1250.5), (0, 0), (None, None),
])
def test_one_cell(cell, written):
    assert neutralize(cell) == written


@pytest.mark.parametrize("column", [
    ["=1+1", "+1", "+91-98765", "-12.50", "-2+3", "@SUM(A1)", "\tT1", "\r=1", "SWIGGY", "", None, "é=", "-"],
    [-1250.5, 0.25, None, float("nan")], [-3, 0, 7], [None, None], ["-1", 2.5, "=a", None], [],
])
def test_a_column_is_neutralised_exactly_as_cell_by_cell(column):
    """The export's column-wise check (text checked in Arrow, numbers left alone) gives what `neutralize` gives."""
    written = neutralize_column(column)
    assert [repr(v) for v in written] == [repr(neutralize(v)) for v in column]


_AWKWARD_FLOATS = [0.0, -0.0, 1.0, -3.0, 1e-5, 1.5e-4, 1e-4, 0.0001234, 1e15, 1e16, 9999999999999998.0, 1e22,
                   123.456, 0.1 + 0.2, -1250.5, 5e-324, 1.7976931348623157e308, 2.0 ** 53, float("nan"),
                   float("inf"), -float("inf"), None]


@pytest.mark.parametrize("column", [
    _AWKWARD_FLOATS,
    [-3, 0, 7, None, 2 ** 62],
    ["=1+1", "a,b", 'q"q', "l\nn", "r\rr", "", None, "é=", "\tx", " sp", "=a,b", "-12.50"],
    ["-1", 2.5, "=a", None, True, 7], [None, None], [True, False],
])
def test_a_chunk_is_the_bytes_csv_writer_writes(column):
    """The export builds its lines in Arrow; they are byte for byte csv.writer's of the neutralised cells."""
    rng = random.Random(3)
    noise = [rng.uniform(-1e6, 1e6) for _ in range(500)] + [rng.random() * 10 ** rng.randint(-8, 18) for _ in range(500)]
    columns = [column, list(reversed(column)), [noise[i % len(noise)] for i in range(len(column))]]
    expected = io.StringIO(newline="")
    csv.writer(expected).writerows(zip(*[[neutralize(v) for v in c] for c in columns], strict=True))
    assert csv_chunk(columns) == expected.getvalue().encode("utf-8")
    assert csv_chunk([noise]) == "".join(f"{v!r}\r\n" for v in noise).encode()


def test_rejects_report_neutralises_formulas(tmp_path):
    path = write_rejects([Reject("in.csv", 7, "=1+1", "amount '-5' is negative"),
                          Reject("in.csv", 9, "@cmd", "TransactionAmount (INR) '=2*3' is not a number"),
                          Reject("in.csv", 11, "-42", "duplicate TransactionID -42, first seen on in.csv:3")],
                         tmp_path / "rejects.csv")
    _, rows = _read(path)
    assert rows == [["in.csv", "7", "'=1+1", "amount '-5' is negative"],
                    ["in.csv", "9", "'@cmd", "TransactionAmount (INR) '=2*3' is not a number"],
                    ["in.csv", "11", "-42", "duplicate TransactionID -42, first seen on in.csv:3"]]


def test_rejects_report_of_a_real_ingest_holds_the_neutralised_id(tmp_path):
    from bot.services.ingestion import ingest_files

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n" + f'{_quote(HOSTILE_TXN)},C1,1/1/90,F,PUNE,100,1/9/16,101500,abc,DEBIT,X\n')
    store = Store(tmp_path / "s.db")
    try:
        report = ingest_files(store, [bad], tmp_path / "rejects.csv")
    finally:
        store.close()
    _, rows = _read(report.rejects_path)
    assert [r[1:3] for r in rows] == [["2", "'" + HOSTILE_TXN]]


def test_a_store_trained_before_rows_were_kept_exports_the_same_by_rescoring(exported, tmp_path):
    """`train` keeps every row's score (artifact anomaly_rows) so export need not re-score; without it (a store
    trained by an older version) export re-scores with the detector and writes the very same files."""
    import shutil

    db, out = exported
    copy = tmp_path / "old.db"
    source = Store(db)
    try:
        source.conn.execute("VACUUM INTO ?", (str(copy),))
    finally:
        source.close()
    old = Store(copy)
    try:
        with old.atomic():
            old.conn.execute("DELETE FROM model_artifacts WHERE name = 'anomaly_rows'")
    finally:
        old.close()
    shutil.rmtree(str(copy) + ".parts", ignore_errors=True)
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{copy}"\n')
    again = tmp_path / "again"
    assert main(["export", "--out", str(again), "--config", str(config)]) == 0
    for name in ("transactions_scored.csv", "customers_scored.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_customers_file_written_by_a_second_process_is_the_same(exported, tmp_path):
    """A big store's customers file is written by a spawned process that opens the store itself: the very
    same bytes as the one written in-process, and the same owner-only permissions."""
    from bot.commands.export import write_customers_beside
    from bot.config import Config

    db, out = exported
    target = tmp_path / "customers_scored.csv"
    rows = write_customers_beside(Config().with_db(db), target).result(timeout=300)
    assert target.read_bytes() == (out / "customers_scored.csv").read_bytes()
    assert rows == len(target.read_text(encoding="utf-8").splitlines()) - 1 > 0
    assert target.stat().st_mode & 0o777 == 0o600


def test_customers_file_of_a_second_process_that_cannot_write_fails_in_one_line(exported, tmp_path):
    from bot.cli import CommandFailed
    from bot.commands.export import write_customers_beside
    from bot.config import Config

    db, _ = exported
    taken = tmp_path / "customers_scored.csv"
    taken.mkdir()  # a folder where the file should go
    with pytest.raises(CommandFailed, match="cannot write"):
        write_customers_beside(Config().with_db(db), taken).result(timeout=300)


def test_customers_file_from_trains_copy_is_the_file_sql_gives(exported, tmp_path):
    """`train` leaves export a columnar copy of customer_scores; a copy of the store without it (its folder
    is a cache) exports the customers from SQL: the very same bytes."""
    from bot.storage.score_snapshot import CustomerScoresSnapshot

    db, out = exported
    source = Store(db)
    try:
        assert CustomerScoresSnapshot(source).current() is not None
        copy = tmp_path / "no-copy.db"
        source.conn.execute("VACUUM INTO ?", (str(copy),))
    finally:
        source.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{copy}"\n')
    again = tmp_path / "again"
    assert main(["export", "--out", str(again), "--config", str(config)]) == 0
    store = Store(copy)
    try:
        assert CustomerScoresSnapshot(store).current() is None
    finally:
        store.close()
    assert (again / "customers_scored.csv").read_bytes() == (out / "customers_scored.csv").read_bytes()
