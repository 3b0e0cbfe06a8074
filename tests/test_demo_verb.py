"""`finassist demo`: builds the store from the bundled sample once, tours three customers with the store's
own figures, and reuses the store the next time."""

from __future__ import annotations

import csv
import gzip
import re
import sqlite3
from pathlib import Path

import pytest

from analytics.money import format_inr
from bot.cli import main
from bot.commands.demo import QUESTIONS, SAMPLE

pytestmark = pytest.mark.slow


def _sample_rows() -> int:
    with gzip.open(SAMPLE, "rt", newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def _latest_balance(db: Path, customer: str) -> float:
    balance = None
    with sqlite3.connect(db) as conn:
        for amount, kind, reported in conn.execute(
                "SELECT amount, txn_type, balance FROM transactions WHERE customer_id = ? ORDER BY ts, transaction_id",
                (customer,)):
            balance = reported if reported is not None else (
                None if balance is None else balance + (amount if kind == "CREDIT" else -amount))
    return round(balance, 2)


def test_demo_builds_tours_and_then_reuses_the_store(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "demo.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{db}"\n')

    assert main(["demo", "--config", str(config)]) == 0
    first = capsys.readouterr().out
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
        latest = conn.execute("SELECT MAX(txn_date) FROM transactions").fetchone()[0]
    assert stored == _sample_rows()
    assert f"ingested {stored:,} transactions (0 rejected)" in first
    picks = re.findall(r"^(\d)\. (\S+) — picked because: (.+)$", first, re.M)
    assert [p[0] for p in picks] == ["1", "2", "3"] and len({p[1] for p in picks}) == 3
    month = f"{latest[:4]}-{int(latest[5:7]) - 1:02d}" if latest[5:7] != "01" else f"{int(latest[:4]) - 1}-12"
    for _, customer, _ in picks:
        assert f"Customer {customer} — as of" in first
        assert f"Balance: {format_inr(_latest_balance(db, customer))}" in first
        chart = Path("out") / "demo" / f"report_{customer}_{month}.png"
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"Chart: {chart}" in first
    for question in QUESTIONS:
        assert f"  you> {question}" in first
    assert "went wrong" not in first.lower()
    assert f"chat {picks[0][1]}" in first

    assert main(["demo", "--config", str(config)]) == 0
    second = capsys.readouterr().out
    assert f"Using the store at {db}" in second and "Building the store" not in second
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == stored
