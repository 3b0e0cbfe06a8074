"""Export's columnar copy of customer_scores (bot/storage/score_snapshot.py): the very bytes SQL gives, and never
read once the table holds other rows than it (a later write, a rolled-back one, another store's copy)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analytics.csv_lines import csv_chunk
from analytics.csv_safety import neutralize
from bot.commands.export import write_csv
from bot.storage.score_snapshot import CustomerScoresSnapshot, orders_text_by_code_point
from bot.storage.scores import CUSTOMER_EXPORT_COLUMNS, ScoreRepository

AS_OF = dt.date(2016, 10, 31)
STAMP = "2016-11-01T00:00:00+00:00"
_SELECT = ("SELECT customer_id, segment, persona, churn_risk, churn_level, churn_reasons, rfm_recency, rfm_frequency,"
           " rfm_monetary, balance_now, monthly_spend, frequency_per_month, recency_days, n_txn, age_band"
           " FROM customer_scores ORDER BY customer_id")
_AWKWARD = [0.0, -0.0, 1.0, 1e-5, 1.5e-4, 1e16, 0.1 + 0.2, 1 / 3, -1250.5, 123456789.125, np.nan, 2.0 ** 53]


def _customers(n: int = 120, seed: int = 4) -> pd.DataFrame:
    """Customers out of key order with awkward values: floats Arrow and Python write differently, NaN, -0.0,
    whole floats in an integer column, integers in a real one, formula-like and quoted text, missing text."""
    rng = np.random.default_rng(seed)
    ids = [f"C{i}" for i in rng.permutation(n)] + ["=HYPERLINK(1)", 'C "q", 1', "é-7"]
    m = len(ids)
    reasons = [("no salary for 2 months",), (), ('said "stop", twice',), ("=cmd|calc",), None]
    return pd.DataFrame({
        "segment": rng.integers(0, 3, m),
        "persona": rng.choice(["saver", "spender", "-saver, big"], m).astype(object),
        "churn_risk": np.resize(np.array([v for v in _AWKWARD if v == v]) % 1, m),   # NOT NULL: no NaN
        "churn_level": [None if i % 7 == 0 else ("high", "low")[i % 2] for i in range(m)],
        "churn_reasons": [reasons[i % len(reasons)] for i in range(m)],
        "rfm_recency": rng.integers(1, 6, m), "rfm_frequency": rng.integers(1, 6, m),
        "rfm_monetary": rng.integers(1, 6, m),
        "balance_now": np.resize(np.array(_AWKWARD), m),
        "monthly_spend": rng.integers(0, 5, m),                         # integers into a REAL column
        "frequency_per_month": np.resize(np.array([2.5, 30.0, -0.0, 1e-7]), m),
        "recency_days": np.where(np.arange(m) % 5 == 0, np.nan, np.arange(m) % 9).astype(float),  # whole floats
        "n_txn": rng.integers(1, 400, m),
        "age_band": [None if i % 3 == 0 else "25-34" for i in range(m)],
    }, index=pd.Index(ids, name="customer_id"))


def _write(store, frame: pd.DataFrame, *, replace_all: bool = True) -> None:
    with store.atomic():
        ScoreRepository(store).write_customer_scores(frame, as_of=AS_OF, replace_all=replace_all, scored_at=STAMP)


def _export(store, path, batch: int = 16) -> bytes:
    write_csv(path, CUSTOMER_EXPORT_COLUMNS, ScoreRepository(store).customer_export_columns(batch=batch))
    return path.read_bytes()


def _expected(store) -> bytes:
    """The file from a plain SQL read, cell by cell through csv.writer (reasons '; '-joined)."""
    import json

    with store.locked() as db:
        rows = db.execute(_SELECT).fetchall()
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CUSTOMER_EXPORT_COLUMNS)
    for row in rows:
        row = list(row)
        row[5] = "; ".join(json.loads(row[5]))
        writer.writerow([neutralize(v) for v in row])
    return out.getvalue().encode("utf-8")


def _copied(store) -> bool:
    return CustomerScoresSnapshot(store).current() is not None


def test_export_from_the_copy_is_the_bytes_of_the_sql_read(backend_store, tmp_path):
    _write(backend_store, _customers())
    assert _copied(backend_store) == orders_text_by_code_point(backend_store)
    if backend_store.backend == "sqlite":
        assert _copied(backend_store)   # SQLite orders text by code point: its copy is always made
    from_copy = _export(backend_store, tmp_path / "a.csv")
    CustomerScoresSnapshot(backend_store).path.unlink(missing_ok=True)   # a cache: gone, SQL is read
    assert not _copied(backend_store)
    from_sql = _export(backend_store, tmp_path / "b.csv")
    assert from_copy == from_sql == _expected(backend_store)
    assert len(from_sql.splitlines()) == len(_customers()) + 1


@pytest.mark.parametrize("change", [
    "UPDATE customer_scores SET churn_risk = 0.5 WHERE customer_id = 'C3'",
    "DELETE FROM customer_scores WHERE customer_id = 'C3'",
    "INSERT INTO customer_scores (customer_id, segment, persona, churn_risk, churn_reasons, rfm_recency,"
    " rfm_frequency, rfm_monetary, scored_at) VALUES ('C999', 1, 'saver', 0.25, '[]', 1, 1, 1, 'now')",
])
def test_a_copy_made_stale_by_any_later_write_is_not_read(backend_store, tmp_path, change):
    _write(backend_store, _customers())
    with backend_store.atomic() as db:
        db.execute(change)
    assert not _copied(backend_store)
    assert _export(backend_store, tmp_path / "a.csv") == _expected(backend_store)


def test_a_copy_made_stale_by_intake_scores_is_not_read(backend_store, tmp_path):
    _write(backend_store, _customers())
    one = _customers().loc[["C3"]].assign(churn_risk=0.75)
    _write(backend_store, one, replace_all=False)   # what scoring a customer's new rows does
    assert not _copied(backend_store)
    written = _export(backend_store, tmp_path / "a.csv")
    assert written == _expected(backend_store)
    with backend_store.locked() as db:
        assert db.execute("SELECT churn_risk FROM customer_scores WHERE customer_id = 'C3'").fetchone() == (0.75,)
    assert b"\r\nC3,0,saver,0.75," in written or b"\r\nC3," in written


def test_a_rolled_back_replace_leaves_no_copy_of_its_rows(backend_store, tmp_path):
    _write(backend_store, _customers())
    before = _expected(backend_store)
    with pytest.raises(RuntimeError), backend_store.atomic():
        ScoreRepository(backend_store).write_customer_scores(_customers(seed=9).iloc[:30], as_of=AS_OF,
                                                             scored_at=STAMP)
        raise RuntimeError("training failed after writing")
    assert not _copied(backend_store)   # its copy was written, but its token never committed
    assert _export(backend_store, tmp_path / "a.csv") == before == _expected(backend_store)


def test_a_later_full_replace_makes_a_new_copy(backend_store, tmp_path):
    _write(backend_store, _customers())
    _write(backend_store, _customers(n=40, seed=2))
    assert _copied(backend_store) == orders_text_by_code_point(backend_store)
    assert _export(backend_store, tmp_path / "a.csv") == _expected(backend_store)
    assert len(_expected(backend_store).splitlines()) == 44


def test_another_stores_copy_is_not_read(store_factory, tmp_path):
    first, second = store_factory("first"), store_factory("second")
    _write(first, _customers())
    _write(second, _customers(n=50, seed=1))
    if not _copied(first):
        pytest.skip("this server's collation does not order text by code point: no copy is made")
    shutil.copyfile(CustomerScoresSnapshot(first).path, CustomerScoresSnapshot(second).path)
    assert not _copied(second)
    assert _export(second, tmp_path / "a.csv") == _expected(second)


def test_every_write_to_customer_scores_renews_the_version_token(backend_store):
    def token() -> str:
        with backend_store.locked() as db:
            return db.execute("SELECT value FROM store_meta WHERE key = 'customer_scores_version'").fetchone()[0]

    seen = [token()]
    _write(backend_store, _customers())
    seen.append(token())
    _write(backend_store, _customers().iloc[:2], replace_all=False)
    seen.append(token())
    for change in ("UPDATE customer_scores SET n_txn = 2", "DELETE FROM customer_scores WHERE customer_id = 'C1'"):
        with backend_store.atomic() as db:
            db.execute(change)
        seen.append(token())
    assert len(set(seen)) == len(seen)
    if backend_store.backend == "sqlite":   # the full replace put the row triggers back
        with backend_store.locked() as db:
            assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                              " AND tbl_name = 'customer_scores'").fetchone() == (3,)


def test_an_in_memory_store_exports_from_sql(tmp_path):
    from bot.storage.database import Store

    store = Store(":memory:")
    try:
        _write(store, _customers())
        assert CustomerScoresSnapshot(store).path is None and not _copied(store)
        assert _export(store, tmp_path / "a.csv") == _expected(store)
    finally:
        store.close()


@pytest.mark.parametrize("values", [
    [0.0, -0.0, 1.0, 1e-5, 1e16, 0.1 + 0.2, 5e-324, float("inf"), None, 2.0 ** 53],
    [-3, 0, 7, None, 2 ** 62],
    ["=1+1", "a,b", 'q"q', "l\nn", "", None, "é=", "\tx", "-12.50", "plain"],
    [None, None],
])
def test_an_arrow_column_is_written_as_its_python_values(values):
    """csv_chunk of Arrow arrays (plain and dictionary-encoded) is the bytes of their Python values."""
    repeated = values * 3
    array = pa.array(repeated, type=pa.null() if all(v is None for v in repeated) else None)
    as_lists = csv_chunk([repeated, list(reversed(repeated))])
    assert csv_chunk([array, pa.array(list(reversed(repeated)), type=array.type)]) == as_lists
    if not pa.types.is_null(array.type):
        assert csv_chunk([array.dictionary_encode(), pa.array(list(reversed(repeated)), type=array.type)]) == as_lists
        assert csv_chunk([pa.chunked_array([array.slice(0, 4), array.slice(4)]),
                          pa.array(list(reversed(repeated)), type=array.type)]) == as_lists


def test_export_rounds_scores_exactly_as_python_round():
    """Export rounds every quiet row's score in numpy: the very doubles `round(v, 6)` gives, halves included."""
    from bot.services.trained_scores import python_round

    rng = np.random.default_rng(0)
    halves = (np.arange(-50_000, 50_000) + 0.5) / 1e6
    values = np.concatenate([
        rng.random(100_000), rng.uniform(-1e6, 1e6, 20_000), rng.random(20_000) * 10.0 ** rng.integers(-12, 17, 20_000),
        halves, np.nextafter(halves, 1), np.nextafter(halves, -1),
        [0.0, -0.0, -4e-7, 5e-324, 2.0 ** 53, 1e16, 1.7976931348623157e308, np.nan, np.inf, -np.inf]])
    expected = np.array([round(v, 6) for v in values.tolist()])
    got = python_round(values, 6)
    same = (got.view(np.int64) == expected.view(np.int64)) | (np.isnan(got) & np.isnan(expected))
    assert same.all(), values[~same][:5]
