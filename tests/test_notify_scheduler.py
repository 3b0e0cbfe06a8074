"""install_jobs puts the scan and the daily summary job on PTB's JobQueue, in the configured time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from telegram.ext import ApplicationBuilder, ContextTypes

from bot.container import Services
from bot.notify.scheduler import MONTHLY_JOB, SCAN_JOB, install_jobs
from bot.services.insights import InsightsService
from bot.telegram.context import BotContext, BotData


def _app(store, config):
    app = (ApplicationBuilder().token("123:abc").context_types(ContextTypes(context=BotContext, bot_data=BotData))
           .build())
    app.bot_data.attach(Services(config=config, store=store, insights=InsightsService(store, config)))
    return app


def test_scan_job_repeats_every_configured_minutes(fresh_store, test_config):
    config = replace(test_config, scheduler=replace(test_config.scheduler, scan_every_minutes=7))
    app = _app(fresh_store, config)
    install_jobs(app)
    [scan] = app.job_queue.get_jobs_by_name(SCAN_JOB)
    assert scan.job.trigger.interval == dt.timedelta(minutes=7)


def test_daily_job_runs_at_summary_time_in_the_bank_zone(fresh_store, test_config):
    config = replace(test_config, scheduler=replace(test_config.scheduler, monthly_summary_time="09:15",
                                                    timezone="Asia/Kolkata"))
    app = _app(fresh_store, config)
    install_jobs(app)
    [daily] = app.job_queue.get_jobs_by_name(MONTHLY_JOB)
    fields = {f.name: str(f) for f in daily.job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("9", "15")
    assert str(daily.job.trigger.timezone) == "Asia/Kolkata"


def test_installing_twice_keeps_one_job_of_each_kind(fresh_store, test_config):
    app = _app(fresh_store, test_config)
    install_jobs(app)
    install_jobs(app)
    names = sorted(j.name for j in app.job_queue.jobs() if not j.removed)
    assert names == sorted([MONTHLY_JOB, SCAN_JOB])


async def test_scan_job_runs_a_pass_that_sends_through_the_application_bot(fresh_store, test_config):
    from tests.fakes.telegram_server import FakeTelegramServer
    from tests.test_notify_checks import CHAT, _bank

    _bank(fresh_store)
    config = replace(test_config, scheduler=replace(test_config.scheduler, quiet_hours="00:00-00:00"))
    async with FakeTelegramServer() as fake:
        app = (ApplicationBuilder().token(fake.token).base_url(fake.base_url)
               .context_types(ContextTypes(context=BotContext, bot_data=BotData)).build())
        app.bot_data.attach(Services(config=config, store=fresh_store, insights=InsightsService(fresh_store, config)))
        install_jobs(app)
        [scan] = app.job_queue.get_jobs_by_name(SCAN_JOB)
        async with app:
            await scan.run(app)
        texts = [c.text for c in fake.sent_to(CHAT)]
    assert len(texts) == 2
    assert any("Low balance" in t for t in texts) and any("Was this you?" in t for t in texts)
