"""One intake path: every row stored after training is scored at intake and a flagged debit asks once.

The bank is the hand-made one of tests/intake_history.py (12 customers with ordinary daily groceries), ingested
and trained through the real CLI; the files that follow are ingested the way a bank's daily feed arrives.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analytics.ingest import to_canonical
from bot.cli import main
from bot.config import load_config
from bot.container import build_services
from bot.notify.intake import TransactionIntake
from bot.storage.database import Store
from bot.storage.links import LinkStore
from bot.storage.transactions import TransactionRepository
from tests.fakes.telegram_server import FakeTelegramServer
from tests.intake_history import HEADER, LAST_DAY, raw_line, write_history

CHAT = 4242
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bank(handmade_bank):
    return handmade_bank


def _feed(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _night_abroad(tid: str, customer: str, balance: float, day: dt.date | None = None) -> str:
    when = dt.datetime.combine(day or LAST_DAY + dt.timedelta(days=1), dt.time(3, 12))
    return raw_line(tid, customer, "REYKJAVIK", when, 95_000.0, balance - 95_000.0, "DEBIT",
                    "NORDIC ELECTRONICS REYKJAVIK", "shopping", "ONLINE")


def _ordinary(tid: str, customer: str, city: str, balance: float, hour: int = 12) -> str:
    when = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(hour, 30))
    return raw_line(tid, customer, city, when, 420.0, balance - 420.0, "DEBIT", "BIG BAZAAR", "groceries", "POS")


def _scores(db: Path, ids: list[str]) -> dict[str, tuple[float, int, list[str]]]:
    store = Store(db)
    try:
        marks = ",".join("?" * len(ids))
        rows = store.db.execute(f"SELECT transaction_id, anomaly_score, flagged, reasons FROM transaction_scores "
                                f"WHERE transaction_id IN ({marks})", ids).fetchall()
    finally:
        store.close()
    return {tid: (score, flagged, json.loads(reasons)) for tid, score, flagged, reasons in rows}


def _link(db: Path, customer: str, chat: int = CHAT) -> None:
    store = Store(db)
    try:
        LinkStore(store).link(chat, customer, chat, dt.datetime.now(dt.UTC))
    finally:
        store.close()


def test_a_file_ingested_after_training_is_scored_and_queues_one_question(bank, tmp_path, capsys):
    config, facts, db = bank
    _link(db, "C100")
    c100, c101 = facts["C100"], facts["C101"]
    feed = _feed(tmp_path / "day.csv", [_night_abroad("N1", "C100", c100["balance"]),
                                         _ordinary("N2", "C101", c101["city"], c101["balance"]),
                                         _ordinary("N3", "C100", c100["city"], c100["balance"] - 95_000.0, 13)])
    capsys.readouterr()
    assert main(["ingest", "--config", str(config), str(feed)]) == 0
    out = capsys.readouterr().out.splitlines()
    scores = _scores(db, ["N1", "N2", "N3"])
    assert set(scores) == {"N1", "N2", "N3"}              # every new row has its score row
    assert scores["N1"][1] == 1 and scores["N2"][1] == 0 and scores["N3"][1] == 0
    assert any("95,000.00" in reason or "REYKJAVIK" in reason for reason in scores["N1"][2])
    assert out[-1] == 'scored 3 new transactions: 1 flagged, 1 "Was this you?" queued'
    store = Store(db)
    try:
        outbox = store.db.execute("SELECT chat_id, kind, payload FROM outbox").fetchall()
    finally:
        store.close()
    assert [(chat, kind) for chat, kind, _ in outbox] == [(CHAT, "unusual")]
    assert "₹95,000.00" in json.loads(outbox[0][2])["text"]
    # Ingesting the same file again stores nothing, scores nothing and asks nothing again.
    assert main(["ingest", "--config", str(config), str(feed)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "scored 0 new transactions: 0 flagged"


async def test_notify_sends_the_question_over_the_wire_exactly_once(bank, tmp_path):
    config, facts, db = bank
    _link(db, "C100")
    feed = _feed(tmp_path / "day.csv", [_night_abroad("N1", "C100", facts["C100"]["balance"])])
    assert main(["ingest", "--config", str(config), str(feed)]) == 0
    async with FakeTelegramServer() as fake:
        wired = tmp_path / "wired.toml"
        wired.write_text(config.read_text() + f'[telegram]\nbase_url = "{fake.base_url}"\n')
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token}
        for _ in range(2):   # a second pass must not send it again
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "notify", "--once", "--config", str(wired), env=env, cwd=REPO_ROOT,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await process.communicate()
            assert process.returncode == 0, err.decode()
        questions = [c for c in fake.sent_to(CHAT) if "Was this you?" in c.text]
    assert len(questions) == 1
    assert "₹95,000.00" in questions[0].text
    assert [text.split(",")[0] for text in questions[0].button_texts()][0].startswith("Yes")


def test_a_file_ingested_before_any_training_waits_and_training_covers_it(tmp_path, capsys):
    write_history(tmp_path / "history.csv")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{tmp_path / "store.db"}"\n')
    assert main(["ingest", "--config", str(config), str(tmp_path / "history.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("not scored yet: no model is trained")
    assert main(["train", "--config", str(config)]) == 0
    feed = _feed(tmp_path / "day.csv", [_ordinary("N9", "C102", "DELHI", 50_000.0)])
    capsys.readouterr()
    assert main(["ingest", "--config", str(config), str(feed)]) == 0
    # Only the one new row is scored at intake: training already judged the history.
    assert capsys.readouterr().out.splitlines()[-1] == "scored 1 new transactions: 0 flagged"


def test_rows_stored_by_another_path_are_scored_by_the_next_intake_pass(bank):
    """A crash between storing a file and scoring it (or a row written by another tool) loses nothing."""
    config_path, facts, db = bank
    frame = to_canonical(pd.DataFrame([{
        "transaction_id": "X1", "customer_id": "C103", "ts": pd.Timestamp(LAST_DAY) + pd.Timedelta(hours=27),
        "amount": 95_000.0, "txn_type": "DEBIT", "merchant": "NORDIC ELECTRONICS", "category": "shopping",
        "location": "REYKJAVIK"}]))
    services = build_services(load_config(str(config_path)))
    try:
        with services.store.atomic():
            TransactionRepository(services.store).insert_frame(frame, source="other-tool")
        first = TransactionIntake.from_services(services).process()
        again = TransactionIntake.from_services(services).process()
    finally:
        services.close()
    assert (first.scored, first.flagged) == (1, 1)
    assert again.scored == 0
    assert _scores(db, ["X1"])["X1"][1] == 1


def test_back_filled_history_is_scored_but_not_asked_about(bank, tmp_path, capsys):
    config, facts, db = bank
    _link(db, "C100")
    long_ago = LAST_DAY - dt.timedelta(days=60)
    feed = _feed(tmp_path / "old.csv", [_night_abroad("OLD1", "C100", facts["C100"]["balance"], day=long_ago)])
    capsys.readouterr()
    assert main(["ingest", "--config", str(config), str(feed)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == ('scored 1 new transactions: 1 flagged, 0 "Was this you?" '
                                                        'queued; 1 too old to ask about')
    assert _scores(db, ["OLD1"])["OLD1"][1] == 1


def test_the_second_file_of_a_split_burst_scores_as_if_it_came_in_one(bank, tmp_path):
    """Rows that arrived since training are context for the next file: the rows of a night burst that come
    in the second file are judged exactly as if the whole burst had come in one (the first file's rows were
    judged on what was known when they arrived, and are flagged either way)."""
    config, facts, db = bank
    night = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(2, 0))
    burst = [raw_line(f"B{i}", "C104", "REYKJAVIK", night + dt.timedelta(minutes=4 * i), 9_000.0 + i, None,
                      "DEBIT", "NORDIC ELECTRONICS", "shopping", "ONLINE") for i in range(4)]
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "store.db").write_bytes(db.read_bytes())
    twin_config = twin / "config.toml"
    twin_config.write_text(config.read_text().replace(str(db), str(twin / "store.db")))
    assert main(["ingest", "--config", str(config), str(_feed(tmp_path / "a.csv", burst[:2]))]) == 0
    assert main(["ingest", "--config", str(config), str(_feed(tmp_path / "b.csv", burst[2:]))]) == 0
    assert main(["ingest", "--config", str(twin_config), str(_feed(tmp_path / "all.csv", burst))]) == 0
    later = ["B2", "B3"]
    assert _scores(db, later) == _scores(twin / "store.db", later)
    assert all(flagged for _, flagged, _ in _scores(db, ["B0", "B1"]).values())


def _on_amount(reasons: list[str]) -> bool:
    """Whether a sentence says the amount is unusual ("N× your usual amount", "more than you ever paid")."""
    return any("×" in r or "ever paid" in r for r in reasons)


def test_a_loan_in_one_days_file_explains_the_purchase_in_a_later_one(bank, tmp_path):
    """Rows stored since training are context for a week: a ₹1,00,000 loan (C105's pay is ₹60,000, so a
    one-off) credited in one file explains a ₹90,000 purchase at home three days later in the next. The
    twin store, which never got the loan, asks about the same purchase because of its amount."""
    config, facts, db = bank
    c = facts["C105"]
    day = LAST_DAY + dt.timedelta(days=1)
    loan = raw_line("L1", "C105", c["city"], dt.datetime.combine(day, dt.time(11, 0)), 100_000.0,
                    c["balance"] + 100_000.0, "CREDIT", "BAJAJ FINSERV LOAN DISB", "income", "NEFT")
    tv = raw_line("TV1", "C105", c["city"], dt.datetime.combine(day + dt.timedelta(days=3), dt.time(14, 30)),
                  90_000.0, c["balance"] + 10_000.0, "DEBIT", "CROMA", "shopping", "POS")
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "store.db").write_bytes(db.read_bytes())
    twin_config = twin / "config.toml"
    twin_config.write_text(config.read_text().replace(str(db), str(twin / "store.db")))
    assert main(["ingest", "--config", str(config), str(_feed(tmp_path / "loan.csv", [loan]))]) == 0
    assert main(["ingest", "--config", str(config), str(_feed(tmp_path / "tv.csv", [tv]))]) == 0
    assert main(["ingest", "--config", str(twin_config), str(_feed(tmp_path / "tv_only.csv", [tv]))]) == 0
    funded, alone = _scores(db, ["TV1"])["TV1"], _scores(twin / "store.db", ["TV1"])["TV1"]
    assert alone[1] == 1 and _on_amount(alone[2])
    assert not _on_amount(funded[2]) and funded[0] < alone[0]


def test_fraud_alerts_wait_for_quiet_hours_unless_configured_to_bypass(bank):
    config_path, facts, db = bank
    _link(db, "C100")
    night = dt.datetime(2026, 12, 2, 18, 0, tzinfo=dt.UTC)     # 23:30 in Asia/Kolkata: quiet
    frame = to_canonical(pd.DataFrame([{
        "transaction_id": "Q1", "customer_id": "C100", "ts": pd.Timestamp(LAST_DAY) + pd.Timedelta(hours=27),
        "amount": 95_000.0, "txn_type": "DEBIT", "merchant": "NORDIC ELECTRONICS", "category": "shopping",
        "location": "REYKJAVIK"}]))
    due = {}
    for bypass in (False, True):
        base = load_config(str(config_path))
        config = replace(base, scheduler=replace(base.scheduler, quiet_hours="22:00-08:00",
                                                 fraud_alerts_bypass_quiet_hours=bypass))
        twin = db.with_name(f"twin_{bypass}.db")
        twin.write_bytes(db.read_bytes())
        services = build_services(config.with_db(twin))
        try:
            with services.store.atomic():
                TransactionRepository(services.store).insert_frame(frame, source="api")
            outcome = TransactionIntake.from_services(services).process(night)
            due[bypass] = services.store.db.execute("SELECT due_at FROM outbox").fetchone()[0]
        finally:
            services.close()
        assert outcome.alerts_queued == 1
    assert dt.datetime.fromisoformat(due[True]) == night
    assert dt.datetime.fromisoformat(due[False]) == dt.datetime(2026, 12, 3, 2, 30, tzinfo=dt.UTC)  # 08:00 IST
