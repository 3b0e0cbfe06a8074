"""`finassist chat CUSTOMER_ID` with piped stdin: one answer per question on stdout, exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.money import format_inr
from bot.cli import main
from bot.services.ingestion import ingest_files
from bot.storage.database import Store

REPO = Path(__file__).resolve().parents[1]
ROWS = """TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,TransactionTime,TransactionAmount (INR),TransactionType,Merchant,Category
T1,C77,10/1/94,F,PUNE,50000,2/8/16,101500,1200,DEBIT,SWIGGY PUNE,dining
T2,C77,10/1/94,F,PUNE,48800,9/8/16,111500,2500,DEBIT,BIG BAZAAR,groceries
T3,C77,10/1/94,F,PUNE,46300,3/9/16,121500,1800,DEBIT,ZOMATO,dining
T4,C77,10/1/94,F,PUNE,44500,15/9/16,131500,700,DEBIT,HP PETROL,fuel
T5,C77,10/1/94,F,PUNE,43800,5/10/16,141500,300,DEBIT,CAFE,dining
"""


@pytest.fixture
def chat_config(tmp_path: Path) -> Path:
    csv_path = tmp_path / "tx.csv"
    csv_path.write_text(ROWS, encoding="utf-8")
    db = tmp_path / "chat.db"
    store = Store(db)
    try:
        ingest_files(store, [csv_path], rejects_path=tmp_path / "rejects.csv")
    finally:
        store.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{db}"\n', encoding="utf-8")
    return config


def _chat(config: Path, customer: str, stdin: str, monkeypatch, capsys) -> tuple[int, str, str]:
    """The real CLI entry point in-process, with stdin replaced by a pipe-like (non-TTY) stream."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["chat", customer, "--config", str(config)])
    out, err = capsys.readouterr()
    return code, out, err


def test_piped_questions_get_one_answer_each(chat_config: Path, monkeypatch, capsys) -> None:
    code, out, err = _chat(chat_config, "C77", "what's my balance?\nhow much did I spend on dining last month?\n",
                           monkeypatch, capsys)
    assert code == 0, err
    answers = out.strip().split("\n\n")
    assert len(answers) == 2
    assert format_inr(43800) in answers[0]          # the balance carried by the latest row
    assert format_inr(1800) in answers[1]           # September's only dining payment


def test_unknown_customer_exits_1_with_one_line_reason(chat_config: Path, monkeypatch, capsys) -> None:
    code, out, err = _chat(chat_config, "C404", "balance?\n", monkeypatch, capsys)
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "C404" in err


@pytest.mark.slow
def test_piped_stdin_works_as_a_real_process(chat_config: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "chat", "C77", "--config", str(chat_config)],
                            input="balance?\nthanks\n", capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().split("\n\n")) == 2 and format_inr(43800) in result.stdout
