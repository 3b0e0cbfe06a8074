"""Delivery under faults (issue 9), counted: messages queued, delivered once, duplicated, lost — across passes
and restarts, through the fake Bot API. Run alone with `pytest -m faults`.

Time is a ManualClock wherever the code under test lets it be injected; the kill -9 test runs a real
`finassist notify --once` process and restarts in-process on a clock past the dead worker's lease.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
from dataclasses import replace
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from analytics.ingest import to_canonical
from bot.container import Services
from bot.notify.outbox import Outbox
from bot.notify.runner import Notifier
from bot.notify.sender import OutboxSender, SendPolicy, sender_bot
from bot.services.admin import AdminService
from bot.services.fraud_checks import DISPUTED, FraudCheckService
from bot.services.insights import InsightsService
from bot.storage.links import LinkStore
from bot.storage.outbox import OutboxRepository
from bot.storage.transactions import TransactionRepository
from tests.fakes.clock import ManualClock
from tests.fakes.delivery import expected_from_store, tally
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = pytest.mark.faults

IST = ZoneInfo("Asia/Kolkata")
NOON = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)      # 12:00 in Kolkata
QUICK = SendPolicy(per_chat_interval_s=0.0, per_second=1000.0)
LONG_ID = "T" + "7" * 199                                   # ingest accepts it; callback data could not


def _link(store, chats):
    links = LinkStore(store)
    for chat in chats:
        links.link(chat, f"C{chat}", chat, NOON)


def _queue(store, config, chats, label="Alert", kind="low_balance"):
    outbox = Outbox(store, config)
    for chat in chats:
        outbox.enqueue(chat_id=chat, kind=kind, dedupe_key=f"{label}:{chat}", text=f"{label} for {chat}",
                       meta={"customer_id": f"C{chat}"}, now=NOON)


def _sender(bot, store, config, clock, policy=QUICK):
    return OutboxSender(bot, store, policy, config=config, clock=clock)


async def _passes_until_empty(sender, clock, every_s=15 * 60, most=50):
    """Scan passes every `every_s` seconds of clock time until nothing is pending; returns the pass count."""
    repo = OutboxRepository(sender.store)
    for n in range(1, most + 1):
        await sender.drain()
        if repo.delivery_counts().pending == 0:
            return n
        clock.advance(every_s)
    raise AssertionError("messages still pending after many passes")


def _bank(store, customers):
    """Each customer: twelve small grocery debits Jul-Sep 2016, then a flagged ₹48,000 purchase leaving ₹1,500."""
    rows, scores = [], []
    for chat, txn in customers:
        cid = f"C{chat}"
        rows += [dict(transaction_id=f"{cid}-{m}-{d}", customer_id=cid, ts=f"2016-{m:02d}-{d:02d} 12:00:00",
                      amount=300.0 + d, balance=5000.0, txn_type="DEBIT", merchant="BIG BAZAAR",
                      category="groceries", channel="POS", location="PUNE", dob="1990-01-01", gender="F")
                 for m in (7, 8, 9) for d in (3, 10, 17, 24)]
        rows.append(dict(transaction_id=txn, customer_id=cid, ts="2016-09-28 23:10:00", amount=48000.0,
                         balance=1500.0, txn_type="DEBIT", merchant="CROMA", category="shopping", channel="ONLINE",
                         location="PUNE", dob="1990-01-01", gender="F"))
        scores.append((txn, cid, "shopping", 0.93, 1, json.dumps(["150× your usual amount"]), "2016-10-01"))
    with store.atomic():
        TransactionRepository(store).insert_frame(to_canonical(pd.DataFrame(rows)), source="test")
        store.db.conn.executemany("INSERT INTO transaction_scores VALUES (?, ?, ?, ?, ?, ?, ?)", scores)
    _link(store, [chat for chat, _ in customers])


# ---------------------------------------------------------------------------------------------------------------
async def test_a_long_transaction_id_stops_nothing_every_alert_arrives_once(fresh_store, test_config, fake, bot):
    customers = [(100 + n, LONG_ID if n == 3 else f"TBIG{n}") for n in range(8)]
    _bank(fresh_store, customers)
    services = Services(config=test_config, store=fresh_store, insights=InsightsService(fresh_store, test_config))
    clock = ManualClock(NOON)
    notifier = Notifier.from_services(services, bot, QUICK, clock=clock)
    report = await notifier.run_once()
    counts = tally(expected_from_store(fresh_store), fake.delivered())
    questions = [c for c in fake.delivered() if "Was this you?" in c.text]
    assert (report.queued, report.errors) == (16, 0)               # a low balance and a question per chat
    assert (counts.queued, counts.once, counts.duplicated, counts.lost) == (16, 16, 0, 0)
    assert len(questions) == 8 and all(len(d.encode()) <= 64 for c in questions for d in c.button_data())


async def test_forty_consecutive_server_errors_lose_nothing(fresh_store, test_config, fake, bot):
    chats = list(range(200, 230))
    _link(fresh_store, chats)
    _queue(fresh_store, test_config, chats)
    fake.fail_next("sendMessage", 500, "Internal Server Error", times=40)
    clock = ManualClock(NOON)
    passes = await _passes_until_empty(_sender(bot, fresh_store, test_config, clock), clock)
    counts = tally(expected_from_store(fresh_store), fake.delivered())
    assert (counts.queued, counts.once, counts.duplicated, counts.lost) == (30, 30, 0, 0)
    assert len([c for c in fake.calls_of("sendMessage") if c.failed]) == 40
    assert OutboxRepository(fresh_store).delivery_counts().dead == 0
    assert passes >= 8          # each pass stops after 5 failures in a row (an outage) instead of burning retries


async def test_a_broadcast_survives_server_errors_each_recipient_once(fresh_store, test_config, fake, bot):
    chats = list(range(300, 340))
    _link(fresh_store, chats)
    admin = AdminService(fresh_store, test_config, control_share=0.0, clock=lambda: NOON)
    started = admin.start_broadcast(1, admin.plan_broadcast("all"), "Cashback offer", seed=1)
    fake.fail_next("sendMessage", 502, "Bad Gateway", times=12)
    clock = ManualClock(NOON)
    await _passes_until_empty(_sender(bot, fresh_store, test_config, clock), clock)
    counts = tally([(c, "Cashback offer") for c in chats], fake.delivered())
    assert (counts.once, counts.duplicated, counts.lost) == (40, 0, 0)
    assert admin.broadcast_progress(started.broadcast_id).finished


async def test_timeout_after_acceptance_is_counted_and_retried_later_not_at_once(fresh_store, test_config, fake):
    chats = list(range(400, 410))
    _link(fresh_store, chats)
    _queue(fresh_store, test_config, chats)
    question = Outbox(fresh_store, test_config).enqueue(
        chat_id=400, kind="unusual", dedupe_key="unusual:T1:400", text="Was this you? T1",
        buttons=[[("Yes", "fraud:y:{outbox_id}"), ("No", "fraud:n:{outbox_id}")]],
        meta={"transaction_id": "T1", "customer_id": "C400"}, now=NOON).outbox_id
    fake.hang_next("sendMessage", 30.0, times=2, chat_id=400)    # Telegram delivers, the answer never comes
    clock = ManualClock(NOON)
    config = replace(test_config, telegram=replace(test_config.telegram, token=fake.token, base_url=fake.base_url))
    async with sender_bot(config, read_timeout=0.3) as bot:
        sender = _sender(bot, fresh_store, test_config, clock)
        first = await sender.drain()
        assert (first.sent, first.unknown) == (9, 2)
        assert len(fake.delivered(400)) == 2 and OutboxRepository(fresh_store).delivery_counts().pending == 2
        second = await sender.drain()                       # at once: not resent
        assert (second.sent, len(fake.delivered(400))) == (0, 2)
        clock.advance(30)
        third = await sender.drain()                        # after the retry delay: resent
    counts = tally(expected_from_store(fresh_store), fake.delivered())
    assert third.sent == 2
    assert (counts.queued, counts.once, counts.duplicated, counts.lost) == (11, 9, 2, 0)
    assert OutboxRepository(fresh_store).delivery_counts().unknown_outcomes == 2 == counts.extra_copies
    # The customer may press the copy that arrived during the timeout: it still counts.
    answer = FraudCheckService(fresh_store, LinkStore(fresh_store)).answer_question(400, question, False, NOON)
    assert answer.outcome == DISPUTED


async def test_a_long_flood_wait_defers_one_chat_and_the_others_go_in_the_same_pass(fresh_store, test_config,
                                                                                   fake, bot):
    chats = list(range(500, 506))
    _link(fresh_store, chats)
    _queue(fresh_store, test_config, chats)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 120", retry_after=120, chat_id=502)
    clock = ManualClock(NOON)
    sender = _sender(bot, fresh_store, test_config, clock)
    first = await sender.drain()
    due = fresh_store.db.execute("SELECT due_at FROM outbox WHERE chat_id = 502").fetchone()[0]
    assert (first.sent, first.rate_limited) == (5, 1) and clock.elapsed < 1
    assert sorted(c.chat_id for c in fake.delivered()) == [c for c in chats if c != 502]
    assert dt.datetime.fromisoformat(due) == NOON + dt.timedelta(seconds=120)
    clock.advance(120)
    assert (await sender.drain()).sent == 1
    counts = tally(expected_from_store(fresh_store), fake.delivered())
    assert (counts.once, counts.duplicated, counts.lost) == (6, 0, 0)


async def test_429s_on_several_chats_stop_the_pass_and_leave_the_rest_pending(fresh_store, test_config, fake, bot):
    chats = list(range(600, 610))
    _link(fresh_store, chats)
    _queue(fresh_store, test_config, chats)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30, times=3)
    clock = ManualClock(NOON)
    sender = _sender(bot, fresh_store, test_config, clock)
    first = await sender.drain()
    assert (first.sent, first.rate_limited, first.left_pending) == (0, 3, 7)
    await _passes_until_empty(sender, clock, every_s=31)
    counts = tally(expected_from_store(fresh_store), fake.delivered())
    assert (counts.once, counts.duplicated, counts.lost) == (10, 0, 0)


async def test_the_running_bots_notifier_is_not_blocked_by_a_long_flood_wait(trained_services):
    """The app's own Bot retries 429s inside the call (AIORateLimiter); the notifier must not use it."""
    chats = list(range(700, 705))
    _link(trained_services.store, chats)
    _queue(trained_services.store, trained_services.config, chats)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, clock=ManualClock(NOON)) as app:
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 120", retry_after=120, chat_id=701)
        report = await asyncio.wait_for(data_of(app).notifier.sender.drain(), timeout=20)
    assert (report.sent, report.rate_limited) == (4, 1)
    assert sorted(c.chat_id for c in fake.delivered() if c.text.startswith("Alert")) == [700, 702, 703, 704]


@pytest.mark.slow
async def test_a_broadcast_killed_mid_way_reaches_each_recipient_once_after_restart(fresh_store, tmp_path):
    """A real `notify --once` process is killed (-9) at the 110th of 270 deliveries, then the outbox resumes."""
    chats = list(range(10_000, 10_270))
    config_path = tmp_path / "config.toml"
    async with FakeTelegramServer() as fake:
        config_path.write_text(
            f'[storage]\ndb_path = "{fresh_store.path}"\n'
            f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n'
            '[scheduler]\nquiet_hours = "00:00-00:00"\nmonthly_summary_day = 31\nmonthly_summary_time = "23:59"\n'
            'send_rate_per_second = 1000\n')
        from bot.config import load_config

        config = load_config(str(config_path))
        _link(fresh_store, chats)
        admin = AdminService(fresh_store, config, control_share=0.0)
        started = admin.start_broadcast(1, admin.plan_broadcast("all"), "Zero fees for 6 months", seed=5)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "notify", "--once", "--config", str(config_path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        seen = []

        def kill_at_110(call):
            if call.method == "sendMessage" and call.text == "Zero fees for 6 months":
                seen.append(call.chat_id)
                if len(seen) == 110:
                    os.kill(process.pid, signal.SIGKILL)   # after Telegram accepted it, before the answer

        fake.on_call = kill_at_110
        assert await asyncio.wait_for(process.wait(), 120) == -signal.SIGKILL
        fake.on_call = None
        at_kill = OutboxRepository(fresh_store).counts_by_status()
        assert at_kill.get("sending") == 1 and not admin.broadcast_progress(started.broadcast_id).finished

        # Restart: a new process's services over the same file, on a clock past the dead worker's lease.
        services = Services(config=config, store=fresh_store, insights=InsightsService(fresh_store, config))
        clock = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=config.scheduler.send_lease_seconds + 1))
        async with sender_bot(config) as bot:
            report = await Notifier.from_services(services, bot, clock=clock).run_once()
    counts = tally([(c, "Zero fees for 6 months") for c in chats], fake.delivered())
    assert (at_kill["sent"], report.sent, report.unknown) == (109, 161, 1)
    assert (counts.once, counts.duplicated, counts.lost) == (269, 1, 0)    # the one in flight at the kill
    assert admin.broadcast_progress(started.broadcast_id).finished
    assert fresh_store.db.execute("SELECT status, sent FROM broadcasts").fetchone() == ("done", 270)
