"""Puts the notification passes on PTB's JobQueue: a repeating scan and a daily monthly-summary job."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from telegram.ext import Application, ContextTypes

from bot.notify.runner import Notifier
from bot.telegram.context import bot_data_of

log = logging.getLogger(__name__)

NOTIFIER_KEY = "notifier"
SCAN_JOB = "notify-scan"
MONTHLY_JOB = "notify-monthly-summary"


def summary_time(text: str, timezone: str) -> dt.time:
    """"09:00" in the bank's zone as an aware time (PTB's run_daily reads the tzinfo)."""
    hour, minute = (int(part) for part in text.split(":"))
    return dt.time(hour, minute, tzinfo=ZoneInfo(timezone))


async def _run_pass(context: ContextTypes.DEFAULT_TYPE) -> None:
    notifier: Notifier = bot_data_of(context.application).extras[NOTIFIER_KEY]
    try:
        report = await notifier.run_once()
    except Exception:  # a failed pass must not kill the job; the next one retries from the outbox
        log.exception("notification pass failed")
        return
    if report.queued or report.sent or report.failed or report.dropped:
        log.info("notification pass: %s", report)


def install_jobs(application: Application) -> Notifier:
    """Register the jobs (call from post_init, after the services are attached). Uses PTB's scheduler as
    configured: never `configure()` it (that wipes PTB's settings)."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    data = bot_data_of(application)
    services = data.require()
    scheduler = services.config.scheduler
    notifier = Notifier.from_services(services, application.bot, linking=data.linking,
                                      preferences=data.preferences)
    data.extras[NOTIFIER_KEY] = notifier
    queue = application.job_queue
    for name in (SCAN_JOB, MONTHLY_JOB):  # installing twice (a restart of post_init) must not double jobs
        for job in queue.get_jobs_by_name(name):
            job.schedule_removal()
    queue.run_repeating(_run_pass, interval=dt.timedelta(minutes=scheduler.scan_every_minutes),
                        first=dt.timedelta(seconds=10), name=SCAN_JOB,
                        job_kwargs={"max_instances": 1, "coalesce": True})
    # The scan would also catch the summary within scan_every_minutes; this job sends it on the minute.
    queue.run_daily(_run_pass, time=summary_time(scheduler.monthly_summary_time, scheduler.timezone),
                    name=MONTHLY_JOB, job_kwargs={"max_instances": 1, "coalesce": True})
    log.info("notification jobs installed: scan every %d min, summary check daily at %s %s",
             scheduler.scan_every_minutes, scheduler.monthly_summary_time, scheduler.timezone)
    return notifier
