"""The proactive kinds of issue 10 over the fake Bot API: spending trend / budget pace, low balance before it
happens, recurring-payment changes. Every figure below is worked by hand from tests/kinds_history.py; every
message is counted as it arrives over HTTP; time is an injected clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
from telegram import Bot

from bot.config import Config, ConfigError, config_from_mapping
from bot.container import Services
from bot.notify.runner import Notifier
from bot.notify.scheduler import SCAN_JOB, install_jobs
from bot.services.insights import InsightsService
from bot.services.preferences import PreferencesService
from bot.storage.database import Store, _apply, migrate, open_store
from bot.storage.links import LinkStore
from bot.storage.migrations import MIGRATIONS
from tests.conftest import storage_toml
from tests.fakes.clock import ManualClock
from tests.fakes.telegram_server import FakeTelegramServer
from tests.kinds_history import (
    BILLS,
    END,
    FORECAST,
    STATEMENTS,
    TREND,
    Row,
    forecast_rows,
    ingest,
    trend_rows,
)

IST = ZoneInfo("Asia/Kolkata")
DAY = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)         # not the monthly summary's day, outside quiet hours
NIGHT = dt.datetime(2026, 3, 10, 23, 0, tzinfo=IST)       # inside the default quiet hours 22:00-08:00
MORNING = dt.datetime(2026, 3, 11, 8, 0, tzinfo=IST)
CHATS = {TREND: 101, FORECAST: 102, BILLS: 103}

# ---- the messages, worked by hand ----------------------------------------------------------------------
# September's dining 13 × ₹770 = ₹10,010 against August's 10 × ₹770 = ₹7,700: +₹2,310, +30% (>= 20%, >= ₹500).
TREND_SENTENCE = "You spent 30% more on dining in September than in August: ₹10,010 against ₹7,700."
# Groceries ₹3,100 in August and in September: a ₹3,100 budget, ₹1,000 of it by 10 Oct (10/31); ₹2,000 spent
# (₹1,550 by the 10th in each earlier month). Dining is behind its pace: ₹2,310 against 0.85 × ₹8,855 × 10/31
# = ₹2,428 (the 15% trim of a discretionary category's typical month).
PACE_SENTENCE = ("By 10 Oct 2016 you have spent ₹2,000 on groceries this month, ₹1,000 ahead of the pace of your "
                 "suggested ₹3,100 monthly budget (₹1,000 by now).")
# ₹20,000 on 10 Oct; 11 Oct ₹18,600; 12 Oct ₹2,200 after the rent; 13 Oct ₹800 < ₹2,000: 17 days before the
# salary on 30 Oct. Cutting half of dining and groceries (₹700 a day) cannot cover ₹1,242 a day, and no overdraft
# is offered without a churn score, so the tip is the gap: 2,000 - (20,000 - 19 × 1,400 - 15,000) = ₹23,600.
FORECAST_SENTENCE = ("At your usual ₹1,400 a day, with ₹15,000 to HOUSE RENT due around 12 Oct 2016, you will be "
                     "below ₹2,000 around 13 Oct 2016, 17 days before your salary.")
FORECAST_TIP = ("You would need about ₹23,600 more until your salary to stay above ₹2,000: more than cutting "
                "everyday spending can save.")
PRICE_RISE = "NETFLIX.COM went from ₹499 to ₹649 (first charged at the new price on 5 Oct 2016)."
DUPLICATE = ("CULT.FIT charged you ₹1,500 twice on 2 Oct 2016: if you did not mean to pay twice, ask for the "
             "second one back.")
PACE_TEXT = (f"📈 <b>Ahead of your budget</b>\n{PACE_SENTENCE}\n/budget shows your suggested budget. "
             "/alerts switches trend messages off.")
EXPECTED = {
    CHATS[TREND]: [f"📈 <b>Spending trend</b>\n{TREND_SENTENCE}\n/spending 2016-09 shows that month. "
                   "/alerts switches trend messages off."],
    CHATS[FORECAST]: [f"🔮 <b>Low balance ahead</b>\n{FORECAST_SENTENCE}\n💡 {FORECAST_TIP}\n"
                      "/balance shows your balance; /alerts switches balance forecasts off."],
    CHATS[BILLS]: [f"🔁 <b>Price rise</b>\n{PRICE_RISE}\n/alerts switches subscription and bill alerts off.",
                   f"🔁 <b>Charged twice?</b>\n{DUPLICATE}\n/alerts switches subscription and bill alerts off."],
}
TOGGLE_CHAT = {"trend": CHATS[TREND], "forecast": CHATS[FORECAST], "recurring": CHATS[BILLS]}


class Bank:
    """A store with some of the hand-made customers, each linked to its own chat, and a notifier over it."""

    def __init__(self, folder: Path, customers: tuple[str, ...], config: Config) -> None:
        self.folder = folder
        self.config = config    # the test's store (tests/conftest.py `test_config`: SQLite or PostgreSQL)
        self.store = open_store(config.storage.target, local_dir=config.storage.local_dir)
        self.preferences = PreferencesService(self.store, self.config)
        for customer in customers:
            LinkStore(self.store).link(CHATS[customer], customer, CHATS[customer], dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    def add(self, customer: str, rows: list[Row], after: dt.date | None = None, until: dt.date = END) -> None:
        assert ingest(self.store, self.folder, customer, rows, after, until) > 0

    def notifier(self, bot: Bot, insights: object | None = None) -> Notifier:
        services = Services(config=self.config, store=self.store,
                            insights=insights or InsightsService(self.store, self.config))  # type: ignore[arg-type]
        return Notifier.from_services(services, bot, clock=ManualClock(DAY))

    def rows(self, sql: str, *args: object) -> list[tuple]:
        return self.store.db.execute(sql, args).fetchall()


@pytest.fixture
def bank(tmp_path, test_config):
    bank = Bank(tmp_path, tuple(STATEMENTS), test_config)
    for customer, rows in STATEMENTS.items():
        bank.add(customer, rows())
    yield bank
    bank.store.close()


@pytest.fixture
async def wire():
    async with FakeTelegramServer() as fake, Bot(fake.token, base_url=fake.base_url) as bot:
        yield fake, bot


def sent(fake: FakeTelegramServer, since: int = 0) -> dict[int, list[str]]:
    """The texts that reached each chat over HTTP (sendMessage calls Telegram accepted)."""
    texts: dict[int, list[str]] = {}
    for call in fake.calls_of("sendMessage", since=since):
        if not call.failed:
            texts.setdefault(call.chat_id, []).append(call.text)
    return texts


# ---- each kind: sent once, with the facade's own sentences ---------------------------------------------
async def test_each_new_kind_is_sent_once_over_the_wire(bank, wire):
    fake, bot = wire
    notifier = bank.notifier(bot)
    first = await notifier.run_once(DAY)
    mark = fake.mark()
    second = await notifier.run_once(DAY + dt.timedelta(minutes=15))
    assert sent(fake) == EXPECTED
    assert (first.queued, first.sent, second.queued, second.sent, sent(fake, since=mark)) == (4, 4, 0, 0, {})
    assert all(call.params["parse_mode"] == "HTML" for call in fake.calls_of("sendMessage"))


async def test_the_outbox_holds_one_row_per_message_with_its_dedupe_key(bank, wire):
    fake, bot = wire
    await bank.notifier(bot).run_once(DAY)
    keys = [r[0] for r in bank.rows("SELECT dedupe_key FROM outbox WHERE status = 'sent' ORDER BY dedupe_key")]
    assert keys == [
        "low_balance_forecast:C-FORECAST:2016-10-30:102",          # one per pay cycle: the next salary's date
        "recurring_change:C-BILLS:duplicate_charge:C-BILLS-201610021800-1500:103",  # CULT.FIT's second, 2 Oct
        "recurring_change:C-BILLS:price_rise:NETFLIX:2016-10-05:103",
        "spending_trend:C-TREND:trend:2016-09:dining:101",
    ]


@pytest.mark.parametrize("toggle", ["trend", "forecast", "recurring"])
async def test_a_kind_switched_off_is_not_sent_and_the_others_still_are(bank, wire, toggle):
    fake, bot = wire
    bank.preferences.update(TOGGLE_CHAT[toggle], **{toggle: False})
    await bank.notifier(bot).run_once(DAY)
    expected = {chat: texts for chat, texts in EXPECTED.items() if chat != TOGGLE_CHAT[toggle]}
    assert sent(fake) == expected


async def test_every_new_kind_switched_off_in_every_chat_sends_nothing(bank, wire):
    fake, bot = wire
    for chat in CHATS.values():
        bank.preferences.update(chat, trend=False, forecast=False, recurring=False)
    report = await bank.notifier(bot).run_once(DAY)
    assert (report.queued, sent(fake)) == (0, {})


async def test_the_other_toggles_do_not_switch_the_new_kinds(bank, wire):
    fake, bot = wire
    for chat in CHATS.values():
        bank.preferences.update(chat, low_balance=False, unusual=False, monthly=False, offers=False)
    await bank.notifier(bot).run_once(DAY)
    assert sent(fake) == EXPECTED


# ---- quiet hours: deferred, never dropped --------------------------------------------------------------
async def test_quiet_hours_defer_each_new_kind_until_they_end(bank, wire):
    fake, bot = wire
    notifier = bank.notifier(bot)
    night = await notifier.run_once(NIGHT)
    due = {r[0] for r in bank.rows("SELECT due_at FROM outbox WHERE status = 'pending'")}
    assert (night.queued, night.deferred, night.sent, sent(fake)) == (4, 4, 0, {})
    assert due == {MORNING.astimezone(dt.UTC).isoformat()}
    morning = await notifier.run_once(MORNING)
    assert (morning.queued, morning.sent) == (0, 4)
    assert sent(fake) == EXPECTED


async def test_a_kind_switched_off_while_it_waits_out_the_night_is_dropped(bank, wire):
    fake, bot = wire
    notifier = bank.notifier(bot)
    await notifier.run_once(NIGHT)
    bank.preferences.update(CHATS[BILLS], recurring=False)          # at 23:30, before the messages are due
    report = await notifier.run_once(MORNING)
    dropped = bank.rows("SELECT kind, last_error FROM outbox WHERE status = 'dropped'")
    assert (report.sent, report.dropped) == (2, 2)
    assert dropped == [("recurring_change", "the chat switched recurring off")] * 2
    assert CHATS[BILLS] not in sent(fake)


# ---- spending trend: material only, at most one a week -------------------------------------------------
async def test_a_trend_then_a_pace_message_at_most_one_in_seven_days(tmp_path, test_config, wire):
    fake, bot = wire
    bank = Bank(tmp_path, (TREND,), test_config)
    bank.add(TREND, trend_rows(), until=dt.date(2016, 10, 3))          # September has closed; no pace before the 8th
    notifier = bank.notifier(bot)
    first = await notifier.run_once(DAY)
    bank.add(TREND, trend_rows(), after=dt.date(2016, 10, 3))          # the week's files: groceries run ahead
    three_days = await notifier.run_once(DAY + dt.timedelta(days=3))
    a_week = await notifier.run_once(DAY + dt.timedelta(days=7))
    again = await notifier.run_once(DAY + dt.timedelta(days=7, hours=1))
    texts = sent(fake)[CHATS[TREND]]
    bank.store.close()
    assert [r.sent for r in (first, three_days, a_week, again)] == [1, 0, 1, 0]
    assert texts == [*EXPECTED[CHATS[TREND]], PACE_TEXT]


async def test_a_trend_held_back_by_the_cap_is_not_lost(tmp_path, test_config, wire):
    # 10 Oct: both September's trend and October's pace are news; the trend goes first, the pace a week later.
    fake, bot = wire
    bank = Bank(tmp_path, (TREND,), test_config)
    bank.add(TREND, trend_rows())
    notifier = bank.notifier(bot)
    reports = [await notifier.run_once(DAY + dt.timedelta(days=n)) for n in (0, 6, 7)]
    texts = sent(fake)[CHATS[TREND]]
    bank.store.close()
    assert [r.sent for r in reports] == [1, 0, 1]
    assert texts == [*EXPECTED[CHATS[TREND]], PACE_TEXT]


async def test_a_dead_lettered_trend_does_not_hold_back_the_next(tmp_path, test_config, wire):
    # The cap counts what the customer was or will be told: a trend Telegram refused (400, dead) is not that.
    fake, bot = wire
    bank = Bank(tmp_path, (TREND,), test_config)
    bank.add(TREND, trend_rows())
    notifier = bank.notifier(bot)
    fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    first = await notifier.run_once(DAY)
    later = await notifier.run_once(DAY + dt.timedelta(hours=1))
    texts = sent(fake)[CHATS[TREND]]
    bank.store.close()
    assert (first.failed, later.sent) == (1, 1)
    assert texts == [PACE_TEXT]     # the refused trend's key is spent; the pace is the news left


async def test_materiality_is_a_config_key(tmp_path, test_config, wire):
    # At ₹3,000 neither September's dining (+₹2,310) nor October's groceries (+₹1,000 ahead) is worth telling.
    fake, bot = wire
    config = replace(test_config, analytics=replace(test_config.analytics, trend_min_increase=3_000.0))
    bank = Bank(tmp_path, (TREND,), config)
    bank.add(TREND, trend_rows())
    report = await bank.notifier(bot).run_once(DAY)
    bank.store.close()
    assert (report.queued, sent(fake)) == (0, {})


def test_materiality_keys_are_checked_when_the_config_is_read():
    assert config_from_mapping({"analytics": {"trend_min_change": 0.5, "trend_min_increase": 1000}},
                               env={}).analytics.trend_min_increase == 1000.0
    for bad in ({"trend_min_change": 0}, {"trend_min_increase": -1}, {"trend_min_change": "lots"}):
        with pytest.raises(ConfigError, match=r"\[analytics\] trend_min_"):
            config_from_mapping({"analytics": bad}, env={})


# ---- low balance before it happens ---------------------------------------------------------------------
def _forecast_bank(tmp_path: Path, config: Config, **statement: bool) -> Bank:
    bank = Bank(tmp_path, (FORECAST,), config)
    bank.add(FORECAST, forecast_rows(**statement))
    return bank


async def test_one_forecast_warning_per_pay_cycle_as_the_days_pass(tmp_path, test_config, wire):
    # 11 Oct: ₹1,400 spent, ₹18,600 left: still below ₹2,000 on 13 Oct before the 30 Oct salary; no new warning.
    fake, bot = wire
    bank = _forecast_bank(tmp_path, test_config)
    notifier = bank.notifier(bot)
    first = await notifier.run_once(DAY)
    bank.add(FORECAST, [Row(dt.datetime(2016, 10, 11, 20), 1_400.0, "dining", "ZOMATO", balance=18_600.0)],
             after=END, until=dt.date(2016, 10, 11))
    next_day = await notifier.run_once(DAY + dt.timedelta(days=1))
    texts = sent(fake)[CHATS[FORECAST]]
    bank.store.close()
    assert (first.sent, next_day.queued, next_day.sent) == (1, 0, 0)
    assert texts == EXPECTED[CHATS[FORECAST]]


async def test_forecast_follows_the_chats_own_threshold(tmp_path, test_config, wire):
    # At ₹500 the balance is first below on 14 Oct (₹800 on the 13th, -₹600 on the 14th), 16 days before salary.
    fake, bot = wire
    bank = _forecast_bank(tmp_path, test_config)
    bank.preferences.update(CHATS[FORECAST], low_balance_threshold=500.0)
    await bank.notifier(bot).run_once(DAY)
    [text] = sent(fake)[CHATS[FORECAST]]
    bank.store.close()
    assert "you will be below ₹500 around 14 Oct 2016, 16 days before your salary." in text


async def test_forecast_and_after_the_fact_warning_never_both_on_one_day(tmp_path, test_config, wire):
    # 10 Oct: the forecast warns. Later on 10 Oct a ₹19,000 purchase leaves ₹1,000: the same fact, the same day,
    # so no low-balance warning too. 11 Oct: ₹900 after another debit: a new day's low-balance warning.
    fake, bot = wire
    bank = _forecast_bank(tmp_path, test_config)
    notifier = bank.notifier(bot)
    await notifier.run_once(DAY)
    bank.add(FORECAST, [Row(dt.datetime(2016, 10, 10, 21), 19_000.0, "shopping", "CROMA", balance=1_000.0)],
             after=dt.date(2016, 10, 9))
    same_day = await notifier.run_once(DAY + dt.timedelta(hours=2))
    bank.add(FORECAST, [Row(dt.datetime(2016, 10, 11, 10), 100.0, "groceries", "DMART", balance=900.0)],
             after=END, until=dt.date(2016, 10, 11))
    next_day = await notifier.run_once(DAY + dt.timedelta(days=1))
    texts = sent(fake)[CHATS[FORECAST]]
    bank.store.close()
    assert (same_day.queued, next_day.sent) == (0, 1)
    assert [t.split("\n")[0] for t in texts] == ["🔮 <b>Low balance ahead</b>", "⚠️ <b>Low balance</b>"]
    assert "Your balance is ₹900.00 (as of 11 Oct 2016)" in texts[1]


async def test_after_the_fact_warning_first_means_no_forecast_that_day(tmp_path, test_config, wire):
    # 10 Oct: ₹1,500 — below ₹2,000 now: the after-the-fact warning. A ₹10,000 credit that evening leaves
    # ₹11,500, which the forecast says falls below again on 12 Oct (the rent): the same day, the same fact.
    fake, bot = wire
    bank = Bank(tmp_path, (FORECAST,), test_config)
    bank.add(FORECAST, [replace(r, balance=1_500.0) if r.balance else r for r in forecast_rows()])
    notifier = bank.notifier(bot)
    first = await notifier.run_once(DAY)
    bank.add(FORECAST, [Row(dt.datetime(2016, 10, 10, 22), 10_000.0, "transfers", "IMPS FROM MOTHER", "CREDIT",
                            "IMPS", balance=11_500.0)], after=dt.date(2016, 10, 9))
    insights = InsightsService(bank.store, bank.config)
    assert insights.balance_forecast(FORECAST).crossing_date == dt.date(2016, 10, 12)   # it would warn
    later = await notifier.run_once(DAY + dt.timedelta(hours=2))
    texts = sent(fake)[CHATS[FORECAST]]
    bank.store.close()
    assert (first.sent, later.queued) == (1, 0)
    assert [t.split("\n")[0] for t in texts] == ["⚠️ <b>Low balance</b>"]


async def test_without_a_regular_income_no_forecast_is_sent_and_the_facade_says_why(tmp_path, test_config, wire):
    # No salary: the usual ₹1,400 a day would take ₹20,000 below ₹2,000 by 13 Oct, but with no next pay day
    # there is no "before the next income": the forecast abstains, nothing goes out for several days.
    fake, bot = wire
    bank = _forecast_bank(tmp_path, test_config, salary=False)
    notifier = bank.notifier(bot)
    passes = [await notifier.run_once(DAY + dt.timedelta(days=n)) for n in range(3)]
    forecast = InsightsService(bank.store, bank.config).balance_forecast(FORECAST)
    texts = sent(fake).get(CHATS[FORECAST], [])
    keys = bank.rows("SELECT dedupe_key FROM outbox WHERE kind = 'low_balance_forecast'")
    bank.store.close()
    assert forecast.status == "no_income" and forecast.abstained and not forecast.warn
    assert forecast.message == ("No regular income (a salary or pension on its usual day) is credited to this "
                                "account, so there is no next pay day to forecast to.")
    assert [p.sent for p in passes] == [0, 0, 0] and keys == []
    assert not any("Low balance ahead" in t for t in texts)


# ---- one customer failing stops no one else ------------------------------------------------------------
class _BrokenFor:
    """The real facade, except that every call about one customer fails with an unexpected error."""

    def __init__(self, inner, customer_id):
        self.inner, self.customer_id = inner, customer_id

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            if args and args[0] == self.customer_id:
                raise RuntimeError("corrupt row")
            return method(*args, **kwargs)
        return call


async def test_a_customer_whose_analysis_fails_stops_no_other_message(bank, wire):
    fake, bot = wire
    LinkStore(bank.store).link(999, "C-BROKEN", 999, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    notifier = bank.notifier(bot, _BrokenFor(InsightsService(bank.store, bank.config), "C-BROKEN"))
    report = await notifier.run_once(DAY)
    # each of the five per-customer checks (low balance, forecast, unusual, trend, recurring) counts C-BROKEN once
    assert (report.sent, report.errors) == (4, 5)
    assert sent(fake) == EXPECTED


class _Counting:
    """The real facade, counting the analyses asked for."""

    ANALYSES = ("spending_trend", "mid_month_pace", "balance_forecast", "recurring_alerts")

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __getattr__(self, name):
        method = getattr(self.inner, name)
        if name not in self.ANALYSES:
            return method

        def call(*args, **kwargs):
            self.calls += 1
            return method(*args, **kwargs)
        return call


async def test_passes_over_unchanged_data_do_not_redo_the_analyses(bank, wire):
    fake, bot = wire
    counting = _Counting(InsightsService(bank.store, bank.config))
    notifier = bank.notifier(bot, counting)
    await notifier.run_once(DAY)
    first = counting.calls
    await notifier.run_once(DAY + dt.timedelta(minutes=15))
    unchanged = counting.calls - first
    bank.add(BILLS, [Row(dt.datetime(2016, 10, 10, 19), 100.0, "groceries")], after=dt.date(2016, 10, 9))
    await notifier.run_once(DAY + dt.timedelta(minutes=30))
    # First pass: per customer the trend, forecast and recurring alerts, and the pace where the trend is no
    # news (C-FORECAST, C-BILLS): 11. Unchanged data: none. New data: the same, except C-TREND's chat, held by
    # the weekly cap after its trend, asks for no trend or pace at all: 10.
    assert (first, unchanged, counting.calls - first - unchanged) == (11, 0, 10)
    assert sent(fake) == EXPECTED


# ---- the passes that run them: the scheduler's job and `finassist notify --once` ------------------------
async def test_the_scheduler_scan_job_sends_the_new_kinds(bank, wire):
    from telegram.ext import ApplicationBuilder

    fake, bot = wire
    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    install_jobs(app.job_queue, bank.notifier(bot), bank.config.scheduler)
    [scan] = app.job_queue.get_jobs_by_name(SCAN_JOB)
    async with app:
        await scan.run(app)
    assert sent(fake) == EXPECTED


async def test_notify_once_runs_the_new_checks(bank, wire, tmp_path):
    from bot.cli import main

    fake, _ = wire
    config = tmp_path / "config.toml"
    config.write_text(storage_toml(bank.config) +
                      f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n'
                      '[scheduler]\nquiet_hours = "00:00-00:00"\nmonthly_summary_day = 31\n'
                      'monthly_summary_time = "23:59"\n')
    status = await asyncio.to_thread(main, ["notify", "--once", "--config", str(config)])
    assert status == 0
    assert sent(fake) == EXPECTED


# ---- preferences: the migration and /alerts over the wire -----------------------------------------------
def test_migration_0008_switches_the_new_kinds_on_for_existing_chats(tmp_path):
    db = sqlite_utils.Database(sqlite3.connect(tmp_path / "old.db", isolation_level=None))
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    names = [name for name, _ in MIGRATIONS]
    ours = next(i for i, name in enumerate(names) if name.endswith("_alert_kinds"))   # whatever its number
    for name, step in MIGRATIONS[:ours]:
        _apply(db, name, step)
    db.execute("INSERT INTO alert_preferences VALUES (7, 1, 0, 1, 0, 5000, '23:00-07:00', '2026-01-01')")
    assert migrate(db) == names[ours:]
    row = db.execute("SELECT unusual, offers, trend, forecast, recurring FROM alert_preferences").fetchone()
    db.close()
    assert row == (0, 0, 1, 1, 1)
    store = Store(tmp_path / "old.db")
    prefs = PreferencesService(store, Config()).get(7)
    store.close()
    assert (prefs.unusual, prefs.trend, prefs.forecast, prefs.recurring, prefs.low_balance_threshold) == (
        False, True, True, True, 5000.0)


async def test_alerts_buttons_switch_the_new_kinds_and_keep_the_old_ones(test_config, tmp_path):
    from bot.container import build_services
    from tests.fakes.telegram_app import data_of, running_bot

    services = build_services(test_config)
    chat = CHATS[BILLS]
    try:
        ingest(services.store, tmp_path, BILLS, STATEMENTS[BILLS]())
        async with FakeTelegramServer() as fake, running_bot(services, fake) as app:
            await fake.ask(chat, chat, f"/start {data_of(app).linking.issue_code(BILLS).code}")
            menu = await fake.ask(chat, chat, "/alerts")
            message_id = fake.last_message_id(chat)
            for data in ("al:t:forecast", "al:t:recurring", "al:t:recurring", "al:t:trend"):
                since = fake.mark()
                fake.push_callback(chat, chat, message_id, data)
                await fake.wait_for("editMessageText", lambda c: c.chat_id == chat, since=since)
            edited = fake.message(chat, message_id)
        row = services.store.db.execute("SELECT low_balance, unusual, monthly, offers, trend, forecast, recurring "
                                        "FROM alert_preferences WHERE chat_id = ?", [chat]).fetchone()
    finally:
        services.close()
    data = menu.button_data()
    assert {"al:t:low_balance", "al:t:unusual", "al:t:monthly", "al:t:offers"} <= set(data)   # unchanged
    assert {"al:t:trend", "al:t:forecast", "al:t:recurring"} <= set(data)
    assert "✅ Spending trends and budget pace" in menu.text and "✅ Low balance ahead (forecast)" in menu.text
    assert row == (1, 1, 1, 1, 0, 0, 1)
    buttons = [b["text"] for line in edited["reply_markup"]["inline_keyboard"] for b in line]
    assert {"❌ Trends", "❌ Forecast", "✅ Bills", "✅ Low balance"} <= set(buttons)
    assert "❌ Low balance ahead (forecast)" in edited["text"]
