"""The proactive checks over a real facade and store: what is queued, once, respecting each chat's choices."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from telegram import Bot

from analytics.ingest import to_canonical
from bot.notify.checks import ProactiveChecks
from bot.notify.outbox import Outbox
from bot.notify.runner import Notifier
from bot.notify.sender import OutboxSender, SendPolicy
from bot.services.insights import InsightsService
from bot.services.linking import LinkingService
from bot.services.preferences import PreferencesService
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.links import LinkStore
from bot.storage.transactions import TransactionRepository
from tests.conftest import storage_toml
from tests.fakes.telegram_server import FakeTelegramServer, UploadedFile

IST = ZoneInfo("Asia/Kolkata")
CHAT = 4242
MIDDAY = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)          # not the summary day
SUMMARY_DAY = dt.datetime(2026, 4, 1, 9, 30, tzinfo=IST)      # monthly_summary_day=1, after 09:00


def _bank(store):
    """C1: twelve small grocery debits Jul–Sep 2016, then a ₹48,000 flagged purchase leaving ₹1,500."""
    rows = [dict(transaction_id=f"T{m}{d}", customer_id="C1", ts=f"2016-{m:02d}-{d:02d} 12:00:00",
                 amount=300.0 + d, balance=5000.0 - d * 10 - m * 100, txn_type="DEBIT", merchant="BIG BAZAAR",
                 category="groceries", channel="POS", location="PUNE", dob="1990-01-01", gender="F")
            for m in (7, 8, 9) for d in (3, 10, 17, 24)]
    rows.append(dict(transaction_id="TBIG", customer_id="C1", ts="2016-09-28 23:10:00", amount=48000.0,
                     balance=1500.0, txn_type="DEBIT", merchant="CROMA", category="shopping", channel="ONLINE",
                     location="PUNE", dob="1990-01-01", gender="F"))
    with store.atomic():
        TransactionRepository(store).insert_frame(to_canonical(pd.DataFrame(rows)), source="test")
    store.db.execute("INSERT INTO transaction_scores VALUES ('TBIG', 'C1', 'shopping', 0.93, 1, ?, '2016-10-01')",
                     [json.dumps(["₹48,000.00 is 150× your usual amount"])])
    LinkStore(store).link(CHAT, "C1", CHAT, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


@pytest.fixture
def bank(fresh_store, test_config, tmp_path):
    _bank(fresh_store)
    preferences = PreferencesService(fresh_store, test_config)
    checks = ProactiveChecks(InsightsService(fresh_store, test_config), LinkingService(fresh_store), preferences,
                             Outbox(fresh_store, test_config), test_config, chart_dir=tmp_path / "charts")
    return checks, preferences, fresh_store


def _keys(store):
    return sorted(r[0] for r in store.db.execute("SELECT dedupe_key FROM outbox").fetchall())


def test_a_pass_queues_low_balance_and_was_this_you(bank):
    checks, _, store = bank
    counts = checks.run_all(MIDDAY)
    assert counts.queued == 2
    assert _keys(store) == [f"low_balance:C1:2016-09-28:{CHAT}", f"unusual:TBIG:{CHAT}"]


def test_two_passes_queue_each_message_once(bank):
    checks, _, store = bank
    first = checks.run_all(MIDDAY)
    second = checks.run_all(MIDDAY + dt.timedelta(minutes=15))
    assert (first.queued, second.queued) == (2, 0)
    assert store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2


def test_unusual_alert_switched_off_queues_no_question(bank):
    checks, preferences, store = bank
    preferences.update(CHAT, unusual=False)
    checks.run_all(MIDDAY)
    assert _keys(store) == [f"low_balance:C1:2016-09-28:{CHAT}"]


def test_balance_above_the_chats_own_threshold_is_not_low(bank):
    checks, preferences, store = bank
    preferences.update(CHAT, low_balance_threshold=1000.0)   # the balance is ₹1,500
    assert checks.low_balance(MIDDAY).queued == 0


def test_transaction_already_asked_about_is_not_asked_again(bank):
    checks, _, store = bank
    FraudCheckRepository(store).create(transaction_id="TBIG", customer_id="C1", chat_id=999, message_id=1,
                                       created_at=MIDDAY)
    assert checks.unusual(MIDDAY).queued == 0


def test_was_this_you_text_carries_amount_merchant_time_and_reason(bank):
    checks, _, store = bank
    checks.unusual(MIDDAY)
    payload = json.loads(store.db.execute("SELECT payload FROM outbox").fetchone()[0])
    assert "₹48,000.00" in payload["text"] and "CROMA, PUNE" in payload["text"]
    assert "28 Sep 2016 at 23:10" in payload["text"] and "150× your usual amount" in payload["text"]


def test_night_check_is_deferred_until_quiet_hours_end(bank):
    checks, _, store = bank
    counts = checks.run_all(dt.datetime(2026, 3, 10, 23, 0, tzinfo=IST))
    due = {r[0] for r in store.db.execute("SELECT due_at FROM outbox").fetchall()}
    assert counts.deferred == 2
    assert due == {dt.datetime(2026, 3, 11, 8, 0, tzinfo=IST).astimezone(dt.UTC).isoformat()}


def test_monthly_summary_waits_for_its_day_and_time(bank):
    checks, _, _ = bank
    assert checks.monthly_summary(MIDDAY).queued == 0
    assert checks.monthly_summary(SUMMARY_DAY.replace(hour=8, minute=59)).queued == 0


def test_monthly_summary_queues_last_complete_month_with_its_chart(bank):
    checks, _, store = bank
    assert checks.monthly_summary(SUMMARY_DAY).queued == 1
    key, payload = store.db.execute("SELECT dedupe_key, payload FROM outbox").fetchone()
    payload = json.loads(payload)
    assert key == f"monthly:C1:2016-08:{CHAT}"            # as_of 28 Sep 2016 -> August is the last complete
    assert "August 2016" in payload["text"] and "₹1,254.00" in payload["text"]   # 303+310+317+324
    assert payload["photo"].endswith(".png")
    assert open(payload["photo"], "rb").read(4) == b"\x89PNG"


async def test_monthly_summary_is_sent_as_a_photo(bank, test_config):
    checks, _, store = bank
    async with FakeTelegramServer() as fake, Bot(fake.token, base_url=fake.base_url) as bot:
        notifier = Notifier(checks, OutboxSender(bot, store, SendPolicy(per_chat_interval_s=0)))
        report = await notifier.run_once(SUMMARY_DAY)
        [photo] = fake.calls_of("sendPhoto")
    assert (report.queued, report.sent) == (3, 3)
    assert photo.chat_id == CHAT and isinstance(photo.params["photo"], UploadedFile)
    assert photo.params["photo"].size > 1000 and "August 2016" in photo.params["caption"]


@pytest.mark.slow  # a real `python -m bot` process: mostly import time
async def test_notify_once_command_sends_due_messages_and_prints_counts(fresh_store, test_config, tmp_path):
    _bank(fresh_store)
    async with FakeTelegramServer() as fake:
        config = tmp_path / "config.toml"
        config.write_text(
            storage_toml(test_config) +
            f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n'
            '[scheduler]\nquiet_hours = "00:00-00:00"\nmonthly_summary_day = 31\nmonthly_summary_time = "23:59"\n')
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "notify", "--once", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        sent = fake.sent_to(CHAT)
    assert process.returncode == 0, err.decode()
    assert "queued: 2" in out.decode() and "sent: 2" in out.decode()
    assert sorted(c.method for c in sent) == ["sendMessage", "sendMessage"]
    assert any(c.button_texts() == ["Yes, it was me", "No, block my card"] for c in sent)


def test_notify_once_without_token_fails_with_a_clear_reason(tmp_path, capsys, monkeypatch):
    from bot.cli import main
    from bot.storage.database import Store

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    Store(tmp_path / "x.db").close()   # an existing (empty) store: the token is what is missing
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{tmp_path / "x.db"}"\n')
    status = main(["notify", "--once", "--config", str(config)])
    assert status == 1 and "no Telegram bot token" in capsys.readouterr().err


def test_low_balance_switched_off_queues_no_warning(bank):
    checks, preferences, store = bank
    preferences.update(CHAT, low_balance=False)
    checks.run_all(MIDDAY)
    assert _keys(store) == [f"unusual:TBIG:{CHAT}"]


def test_monthly_summary_switched_off_is_not_queued(bank):
    checks, preferences, store = bank
    preferences.update(CHAT, monthly=False)
    assert checks.monthly_summary(SUMMARY_DAY).queued == 0 and _keys(store) == []


def test_every_alert_switched_off_queues_nothing(bank):
    checks, preferences, store = bank
    preferences.update(CHAT, low_balance=False, unusual=False, monthly=False)
    counts = checks.run_all(SUMMARY_DAY)
    assert (counts.queued, _keys(store)) == (0, [])


class _BrokenFor:
    """The facade, except that it fails with an unexpected error for one customer."""

    def __init__(self, inner, customer_id):
        self.inner, self.customer_id = inner, customer_id

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            if args and args[0] == self.customer_id:
                raise RuntimeError("corrupt row")
            return method(*args, **kwargs)
        return call


def test_an_unexpected_error_for_one_customer_stops_no_one_else(bank, test_config, tmp_path):
    _, preferences, store = bank
    LinkStore(store).link(777, "C-BROKEN", 777, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    broken = _BrokenFor(InsightsService(store, test_config), "C-BROKEN")
    checks = ProactiveChecks(broken, LinkingService(store), preferences, Outbox(store, test_config), test_config,
                             chart_dir=tmp_path / "charts")
    counts = checks.run_all(MIDDAY)
    # C1's two messages; C-BROKEN counted once by each check that reads the facade per customer: low balance,
    # forecast, unusual, trend, recurring (not the monthly summary: not its day)
    assert (counts.queued, counts.errors) == (2, 5)
    assert _keys(store) == [f"low_balance:C1:2016-09-28:{CHAT}", f"unusual:TBIG:{CHAT}"]
