"""install_jobs puts the scan and the daily summary job on PTB's JobQueue with the notifier they run, in the
configured time zone, one instance at a time, missed runs coalesced, late runs still made within their grace."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.ext import ApplicationBuilder

from bot.container import Services
from bot.notify.runner import Notifier
from bot.notify.scheduler import DAILY_MISFIRE_GRACE_S, MONTHLY_JOB, SCAN_JOB, install_jobs
from bot.services.insights import InsightsService
from tests.fakes.clock import ManualClock
from tests.fakes.telegram_server import FakeTelegramServer, UploadedFile
from tests.test_notify_checks import CHAT, _bank

IST = ZoneInfo("Asia/Kolkata")
MIDDAY = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)
SUMMARY_DAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=IST)   # monthly_summary_day = 1 at 09:00


def _notifier(store, config, bot, clock):
    services = Services(config=config, store=store, insights=InsightsService(store, config))
    return Notifier.from_services(services, bot, clock=clock)


def _jobs(store, config, bot=None, clock=None, fake=None):
    builder = ApplicationBuilder().token(fake.token if fake else "123:abc")
    app = (builder.base_url(fake.base_url) if fake else builder).build()
    notifier = _notifier(store, config, bot or Bot("123:abc"), clock or ManualClock(MIDDAY))
    install_jobs(app.job_queue, notifier, config.scheduler)
    return app, notifier


def test_scan_job_repeats_every_configured_minutes_one_at_a_time(fresh_store, test_config):
    config = replace(test_config, scheduler=replace(test_config.scheduler, scan_every_minutes=7))
    app, notifier = _jobs(fresh_store, config)
    [scan] = app.job_queue.get_jobs_by_name(SCAN_JOB)
    assert scan.job.trigger.interval == dt.timedelta(minutes=7)
    assert (scan.job.max_instances, scan.job.coalesce, scan.job.misfire_grace_time) == (1, True, 7 * 60)
    assert scan.data is notifier


def test_daily_job_runs_at_summary_time_in_the_bank_zone(fresh_store, test_config):
    config = replace(test_config, scheduler=replace(test_config.scheduler, monthly_summary_time="09:15",
                                                    timezone="Asia/Kolkata"))
    app, _ = _jobs(fresh_store, config)
    [daily] = app.job_queue.get_jobs_by_name(MONTHLY_JOB)
    fields = {f.name: str(f) for f in daily.job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("9", "15")
    assert str(daily.job.trigger.timezone) == "Asia/Kolkata"
    assert (daily.job.max_instances, daily.job.coalesce) == (1, True)
    assert daily.job.misfire_grace_time == DAILY_MISFIRE_GRACE_S == 6 * 3600


def test_installing_twice_keeps_one_job_of_each_kind(fresh_store, test_config):
    app, notifier = _jobs(fresh_store, test_config)
    install_jobs(app.job_queue, notifier, test_config.scheduler)
    names = sorted(j.name for j in app.job_queue.jobs() if not j.removed)
    assert names == sorted([MONTHLY_JOB, SCAN_JOB])


async def test_scan_job_runs_a_pass_that_sends_what_is_due(fresh_store, test_config):
    _bank(fresh_store)
    async with FakeTelegramServer() as fake, Bot(fake.token, base_url=fake.base_url) as bot:
        app, _ = _jobs(fresh_store, test_config, bot, ManualClock(MIDDAY), fake)
        [scan] = app.job_queue.get_jobs_by_name(SCAN_JOB)
        async with app:
            await scan.run(app)
        texts = [c.text for c in fake.sent_to(CHAT)]
    assert len(texts) == 2
    assert any("Low balance" in t for t in texts) and any("Was this you?" in t for t in texts)


async def test_daily_job_sends_the_monthly_summary_on_its_day(fresh_store, test_config):
    _bank(fresh_store)
    async with FakeTelegramServer() as fake, Bot(fake.token, base_url=fake.base_url) as bot:
        app, _ = _jobs(fresh_store, test_config, bot, ManualClock(SUMMARY_DAY), fake)
        [daily] = app.job_queue.get_jobs_by_name(MONTHLY_JOB)
        async with app:
            await daily.run(app)
        [photo] = fake.calls_of("sendPhoto")
    assert photo.chat_id == CHAT and isinstance(photo.params["photo"], UploadedFile)
    assert "August 2016" in photo.params["caption"]      # as_of 28 Sep 2016: August is the last complete month


async def test_daily_job_on_another_day_sends_no_summary(fresh_store, test_config):
    _bank(fresh_store)
    async with FakeTelegramServer() as fake, Bot(fake.token, base_url=fake.base_url) as bot:
        app, _ = _jobs(fresh_store, test_config, bot, ManualClock(SUMMARY_DAY + dt.timedelta(days=1)), fake)
        [daily] = app.job_queue.get_jobs_by_name(MONTHLY_JOB)
        async with app:
            await daily.run(app)
    assert fake.calls_of("sendPhoto") == [] and len(fake.sent_to(CHAT)) == 2   # the day's other alerts only


async def test_a_failing_pass_is_logged_and_the_job_survives(fresh_store, test_config, caplog, fake):
    app, notifier = _jobs(fresh_store, test_config, fake=fake)

    async def broken(*args, **kwargs):
        raise RuntimeError("store unavailable")

    notifier.run_once = broken   # a plain object of ours, not PTB's: the pass itself fails
    [scan] = app.job_queue.get_jobs_by_name(SCAN_JOB)
    with caplog.at_level(logging.ERROR, logger="bot.notify.scheduler"):
        async with app:
            await scan.run(app)
    assert "notification pass failed" in caplog.text
    assert not scan.removed
