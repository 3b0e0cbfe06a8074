"""The one intake path on a PostgreSQL store: what arrives after training is scored once and asks once.

The hand-made bank of tests/intake_history.py is ingested and trained on PostgreSQL through the real CLI
(`handmade_bank_pg`); the same checks run on SQLite in tests/test_intake.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.database import Store
from bot.storage.links import LinkStore
from tests.fakes.telegram_server import FakeTelegramServer
from tests.intake_history import HEADER, LAST_DAY, raw_line

CHAT = 4242
REPO_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.postgres


def _feed(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _night_abroad(tid: str, customer: str, balance: float) -> str:
    when = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(3, 12))
    return raw_line(tid, customer, "REYKJAVIK", when, 95_000.0, balance - 95_000.0, "DEBIT",
                    "NORDIC ELECTRONICS REYKJAVIK", "shopping", "ONLINE")


def _ordinary(tid: str, customer: str, city: str, balance: float) -> str:
    when = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(12, 30))
    return raw_line(tid, customer, city, when, 420.0, balance - 420.0, "DEBIT", "BIG BAZAAR", "groceries", "POS")


def _query(url: str, sql: str, params=()) -> list[tuple]:
    store = Store(url)
    try:
        return store.db.execute(sql, params).fetchall()
    finally:
        store.close()


def _link(url: str, customer: str) -> None:
    store = Store(url)
    try:
        LinkStore(store).link(CHAT, customer, CHAT, dt.datetime.now(dt.UTC))
    finally:
        store.close()


def test_a_file_after_training_is_scored_and_queues_one_question(handmade_bank_pg, tmp_path, capsys):
    config, facts, url = handmade_bank_pg
    _link(url, "C100")
    feed = _feed(tmp_path / "day.csv", [_night_abroad("N1", "C100", facts["C100"]["balance"]),
                                         _ordinary("N2", "C101", facts["C101"]["city"], facts["C101"]["balance"])])
    capsys.readouterr()
    assert main(["ingest", "--config", str(config), str(feed)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == 'scored 2 new transactions: 1 flagged, 1 "Was this you?" queued'
    flagged = dict(_query(url, "SELECT transaction_id, flagged FROM transaction_scores WHERE transaction_id IN (?, ?)",
                          ("N1", "N2")))
    assert flagged == {"N1": 1, "N2": 0}
    outbox = _query(url, "SELECT chat_id, kind, payload FROM outbox")
    assert [(chat, kind) for chat, kind, _ in outbox] == [(CHAT, "unusual")]
    assert "₹95,000.00" in json.loads(outbox[0][2])["text"]
    assert main(["ingest", "--config", str(config), str(feed)]) == 0   # again: nothing new, nothing asked
    assert capsys.readouterr().out.splitlines()[-1] == "scored 0 new transactions: 0 flagged"
    assert len(_query(url, "SELECT 1 FROM outbox")) == 1


def test_the_second_file_of_a_split_burst_scores_as_if_it_came_in_one(handmade_bank_pg_master, pg_databases,
                                                                       tmp_path):
    """As on SQLite: the second file's rows see the first file's as context (the first file's rows were judged
    on what was known when they arrived)."""
    master, _ = handmade_bank_pg_master
    night = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(2, 0))
    burst = [raw_line(f"B{i}", "C104", "REYKJAVIK", night + dt.timedelta(minutes=4 * i), 9_000.0 + i, None,
                      "DEBIT", "NORDIC ELECTRONICS", "shopping", "ONLINE") for i in range(4)]
    scores = {}
    for name, files in (("split", [burst[:2], burst[2:]]), ("whole", [burst])):
        url = pg_databases.create(template=master.rsplit("/", 1)[1])
        config = tmp_path / f"{name}.toml"
        config.write_text(f'[storage]\nurl = "{url}"\ndb_path = "{tmp_path / name / "store.db"}"\n')
        for number, rows in enumerate(files):
            assert main(["ingest", "--config", str(config), str(_feed(tmp_path / f"{name}{number}.csv", rows))]) == 0
        scores[name] = _query(url, "SELECT transaction_id, anomaly_score, flagged, reasons FROM transaction_scores "
                                   "WHERE transaction_id LIKE 'B%' ORDER BY transaction_id")
        pg_databases.drop(url)
    assert len(scores["whole"]) == len(scores["split"]) == 4
    assert scores["split"][2:] == scores["whole"][2:]               # B2, B3
    assert all(row[2] for row in scores["split"][:2])             # B0, B1 flagged either way


async def test_notify_sends_the_question_over_the_wire_exactly_once(handmade_bank_pg, tmp_path):
    config, facts, url = handmade_bank_pg
    _link(url, "C100")
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
            _, err = await process.communicate()
            assert process.returncode == 0, err.decode()
        questions = [c for c in fake.sent_to(CHAT) if "Was this you?" in c.text]
    assert len(questions) == 1 and "₹95,000.00" in questions[0].text
    assert _query(url, "SELECT status FROM outbox WHERE kind = 'unusual'") == [("sent",)]   # (a low-balance note may follow the ₹95,000)
