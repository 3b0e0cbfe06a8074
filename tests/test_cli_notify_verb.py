"""`finassist notify --once` as a real process against the loopback fake Bot API: each line it prints is the count
of what really happened to the outbox rows (read back with plain SQL), and an unreachable Telegram is one line,
exit 1, with nothing marked.

Rows are queued beforehand through the Outbox with a `now` in the past, so they are due whenever the test runs;
the process reads the real clock, which no assertion here times.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from analytics.ingest import to_canonical
from bot.config import Config
from bot.notify.outbox import Outbox
from bot.services.preferences import PreferencesService
from bot.storage.database import Store
from bot.storage.links import LinkStore
from bot.storage.transactions import TransactionRepository
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = pytest.mark.slow

IST = ZoneInfo("Asia/Kolkata")
QUEUED_AT = dt.datetime(2026, 1, 5, 12, 0, tzinfo=IST)    # long past: every row queued then is due now
NEVER_QUIET = "00:00-00:00"


def _store(tmp_path: Path) -> tuple[Store, Path]:
    path = tmp_path / "store.db"
    return Store(path), path


def _queue(store: Store, chat_id: int, text: str) -> int:
    return Outbox(store, Config()).enqueue(chat_id=chat_id, kind="low_balance", dedupe_key=f"low:{chat_id}",
                                           text=text, quiet_hours=NEVER_QUIET, now=QUEUED_AT).outbox_id


def _rows(db: Path) -> list[tuple]:
    """(chat_id, status, attempts, failures, unknown_outcomes, due_at) of every outbox row, by id: plain SQL."""
    store = Store(db)
    try:
        return [tuple(r) for r in store.db.execute(
            "SELECT chat_id, status, attempts, failures, unknown_outcomes, due_at FROM outbox ORDER BY id")]
    finally:
        store.close()


def _config(tmp_path: Path, db: Path, base_url: str, token: str, scheduler: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\ndb_path = "{db}"\n[telegram]\ntoken = "{token}"\nbase_url = "{base_url}"\n'
                    f'[scheduler]\nquiet_hours = "{NEVER_QUIET}"\n{scheduler}')
    return path


async def _notify_once(config: Path, timeout: float = 120) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "notify", "--once", "--config", str(config), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, out.decode().splitlines(), err.decode()


def _due(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def test_unreachable_telegram_is_one_line_and_leaves_the_outbox_untouched(tmp_path):
    store, db = _store(tmp_path)
    _queue(store, 101, "your balance is low")
    store.close()
    before = _rows(db)
    with socket.socket() as sock:   # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/bot"
    status, out, err = await _notify_once(_config(tmp_path, db, closed, "123456:TEST-fake-token"))
    assert (status, out) == (1, [])
    [line] = err.splitlines()
    assert line.startswith(f"finassist notify: cannot reach Telegram at {closed}: "), err
    assert _rows(db) == before and before[0][1:5] == ("pending", 0, 0, 0)


async def test_a_flood_wait_and_a_quiet_chat_wait_while_the_others_are_sent(tmp_path):
    """Chat 201 is answered 429 (retry after 600 s), chat 202 is inside its own quiet hours, chat 203 is sent."""
    store, db = _store(tmp_path)
    for chat in (201, 202, 203):
        _queue(store, chat, f"message for {chat}")
    started = dt.datetime.now(dt.UTC)
    local = started.astimezone(IST)
    window_end = (local + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    PreferencesService(store, Config()).update(
        202, quiet_hours=f"{local - dt.timedelta(hours=2):%H:%M}-{window_end:%H:%M}")   # now is inside it
    store.close()
    async with FakeTelegramServer() as fake:
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 600", retry_after=600, chat_id=201)
        status, out, err = await _notify_once(_config(tmp_path, db, fake.base_url, fake.token))
        finished = dt.datetime.now(dt.UTC)
        delivered = [(c.chat_id, c.text) for c in fake.delivered()]
        attempts = [(c.chat_id, c.failed) for c in fake.calls_of("sendMessage")]
    assert status == 0, err
    assert out == ["queued: 0 (deferred by quiet hours: 0)",
                   "sent: 1  to retry later: 1  dead-lettered: 0  dropped (bot blocked or unlinked): 0",
                   "flood waits (those chats wait, the others went on): 1",
                   "moved to the end of quiet hours: 1"]
    assert delivered == [(203, "message for 203")]
    assert attempts == [(201, True), (203, False)]          # the quiet chat was not even tried
    flood, quiet, sent = _rows(db)
    assert flood[1] == "pending" and quiet[1] == "pending" and sent[1] == "sent"
    assert started + dt.timedelta(seconds=600) <= _due(flood[5]) <= finished + dt.timedelta(seconds=700)
    assert _due(quiet[5]) == window_end                     # moved to the end of that chat's quiet hours


async def test_an_outage_stops_the_pass_and_leaves_the_rest_for_the_next(tmp_path):
    """Five server errors in a row (the policy's limit) stop the pass: two rows are not even tried."""
    store, db = _store(tmp_path)
    for chat in range(301, 308):
        _queue(store, chat, f"message for {chat}")
    store.close()
    async with FakeTelegramServer() as fake:
        fake.fail_next("sendMessage", 500, "Internal Server Error", times=50)
        status, out, err = await _notify_once(_config(tmp_path, db, fake.base_url, fake.token))
        tried = [c.chat_id for c in fake.calls_of("sendMessage")]
    assert status == 0, err
    assert out == ["queued: 0 (deferred by quiet hours: 0)",
                   "sent: 0  to retry later: 5  dead-lettered: 0  dropped (bot blocked or unlinked): 0",
                   "left for the next pass: 2"]
    assert tried == [301, 302, 303, 304, 305]
    assert [(r[0], r[1], r[3]) for r in _rows(db)] == (
        [(chat, "pending", 1) for chat in range(301, 306)] + [(306, "pending", 0), (307, "pending", 0)])


async def test_a_send_that_times_out_is_counted_as_an_unknown_outcome(tmp_path):
    """Telegram accepts the message but holds its answer past the 1 s send timeout: delivered, outcome unknown."""
    store, db = _store(tmp_path)
    _queue(store, 401, "your balance is low")
    store.close()
    async with FakeTelegramServer() as fake:
        fake.hang_next("sendMessage", 60, chat_id=401)
        status, out, err = await _notify_once(
            _config(tmp_path, db, fake.base_url, fake.token, scheduler="send_timeout_seconds = 1\n"))
        delivered = [(c.chat_id, c.hung) for c in fake.delivered()]
    assert status == 0, err
    assert out == ["queued: 0 (deferred by quiet hours: 0)",
                   "sent: 0  to retry later: 1  dead-lettered: 0  dropped (bot blocked or unlinked): 0",
                   "outcome unknown (timeout or a crashed pass; retried later): 1"]
    assert delivered == [(401, True)]
    [(chat, state, attempts, _, unknown, _)] = _rows(db)
    assert (chat, state, attempts, unknown) == (401, "pending", 1, 1)


async def test_a_linked_customer_without_data_is_skipped_and_counted(tmp_path):
    """Chat 501 is linked to C1 (one transaction), chat 502 to C404, who has none: the checks skip C404 and
    the pass goes on (C1's ₹90,000 balance is not low: nothing is queued)."""
    store, db = _store(tmp_path)
    row = dict(transaction_id="T1", customer_id="C1", ts="2016-09-03 12:00:00", amount=300.0, balance=90000.0,
               txn_type="DEBIT", merchant="BIG BAZAAR", category="groceries", channel="POS", location="PUNE",
               dob="1990-01-01", gender="F")
    with store.atomic():
        TransactionRepository(store).insert_frame(to_canonical(pd.DataFrame([row])), source="test")
    LinkStore(store).link(501, "C1", 501, QUEUED_AT)
    LinkStore(store).link(502, "C404", 502, QUEUED_AT)
    for chat in (501, 502):   # the monthly summary runs only on its day: off, so the test's date never matters
        PreferencesService(store, Config()).update(chat, monthly=False)
    store.close()
    async with FakeTelegramServer() as fake:
        status, out, err = await _notify_once(_config(tmp_path, db, fake.base_url, fake.token))
        sent = fake.delivered()
    assert status == 0, err
    assert out == ["queued: 0 (deferred by quiet hours: 0)",
                   "sent: 0  to retry later: 0  dead-lettered: 0  dropped (bot blocked or unlinked): 0",
                   # C404 once by each check that reads the facade per customer: low balance, forecast,
                   # unusual, trend, recurring (the monthly summary is switched off)
                   "skipped by the checks (once per check: a customer without data, or a message that could "
                   "not be queued): 5"]
    assert sent == [] and _rows(db) == []
