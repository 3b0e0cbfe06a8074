"""`finassist synth` and the bundled sample it made."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from analytics.schema import RAW_OPTIONAL_COLUMNS, RAW_REQUIRED_COLUMNS
from bot.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
SAMPLE_FILES = ("transactions.csv.gz", "labels/transactions.csv.gz", "labels/customers.csv.gz")


def test_synth_writes_three_files_and_says_how_many_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["synth", "--customers", "30", "--months", "2", "--seed", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    written = pd.read_csv(tmp_path / "transactions.csv")
    assert status == 0
    assert f"wrote {len(written):,} transactions of 30 customers" in out
    for name in ("transactions.csv", "labels/transactions.csv", "labels/customers.csv"):
        assert (tmp_path / name).is_file() and str(tmp_path / name) in out
    assert "\r" not in out  # no progress line when not on a terminal


def test_synth_gzip_flag_writes_csv_gz(tmp_path: Path) -> None:
    assert main(["synth", "--customers", "20", "--months", "1", "--out", str(tmp_path), "--gzip"]) == 0
    with gzip.open(tmp_path / "labels" / "customers.csv.gz", "rt") as handle:
        assert handle.readline().strip() == "CustomerID,persona,churned,churn_date"


@pytest.mark.parametrize("flag", ["--customers", "--months"])
def test_synth_refuses_non_positive_sizes_with_exit_2(flag: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["synth", flag, "0", "--out", str(tmp_path)])
    assert status == 2
    assert f"{flag} must be a positive whole number" in capsys.readouterr().err
    assert not (tmp_path / "transactions.csv").exists()


def test_bundled_sample_is_small_enough_to_ship() -> None:
    sizes = [(SAMPLE / name).stat().st_size for name in SAMPLE_FILES]
    assert sum(sizes) <= 2_500_000


def test_bundled_sample_has_a_year_of_a_few_thousand_customers_in_the_raw_format() -> None:
    rows = pd.read_csv(SAMPLE / "transactions.csv.gz", dtype=str, keep_default_na=False)
    customers = pd.read_csv(SAMPLE / "labels" / "customers.csv.gz")
    labels = pd.read_csv(SAMPLE / "labels" / "transactions.csv.gz")
    dates = pd.to_datetime(rows["TransactionDate"], format="%d/%m/%y")
    assert list(rows.columns) == list(RAW_REQUIRED_COLUMNS + RAW_OPTIONAL_COLUMNS)
    assert 2_000 <= rows["CustomerID"].nunique() <= 3_000
    assert (dates.max() - dates.min()).days >= 360
    assert set(rows["CustomerID"]) == set(customers["CustomerID"])
    assert labels["TransactionID"].tolist() == rows["TransactionID"].tolist()
    assert labels["is_fraud"].sum() > 100
