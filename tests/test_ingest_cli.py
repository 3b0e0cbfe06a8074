"""`finassist ingest`: the printed summary, the first rejects, and exit 1 with one line for unusable input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\ndb_path = "{tmp_path / "data" / "store.db"}"\n')
    return path


def test_ingest_prints_counts_and_first_rejects(config_file, tmp_path, capsys):
    rejects = tmp_path / "rej.csv"
    code = main(["ingest", "--config", str(config_file), "--rejects", str(rejects), str(FIXTURES / "ingest_quirks.csv")])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"ingested 16 rows from 1 file: 7 new, 0 already stored, 9 rejected (see {rejects})"
    assert out[1] == "  ingest_quirks.csv line 7: TransactionID is empty"
    assert out[2] == "  ingest_quirks.csv line 8: TransactionAmount (INR) 'abc' is not a number"
    assert out[-2] == "  ... and 4 more in the rejects report"
    assert out[-1].startswith("not scored yet: no model is trained")


def test_second_ingest_reports_rows_already_stored(config_file, capsys):
    plain = str(FIXTURES / "ingest_plain.csv")
    assert main(["ingest", "--config", str(config_file), plain]) == 0
    assert main(["ingest", "--config", str(config_file), plain]) == 0
    last = capsys.readouterr().out.splitlines()[-2]
    assert last == "ingested 3 rows from 1 file: 0 new, 3 already stored, 0 rejected"


def test_missing_file_fails_with_one_line(config_file, tmp_path, capsys):
    code = main(["ingest", "--config", str(config_file), str(tmp_path / "nope.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [f"finassist ingest: no such file: {tmp_path / 'nope.csv'}"]


def test_bad_header_fails_naming_the_missing_columns(config_file, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("TransactionID,CustomerID\nT1,C1\n")
    code = main(["ingest", "--config", str(config_file), str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "missing required column(s): CustomerDOB" in err[0]
