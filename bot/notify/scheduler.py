"""Puts the notification passes on PTB's JobQueue: a repeating scan and a daily monthly-summary job.

The jobs get the Notifier as their `data` when installed, so this module needs nothing from the Telegram
layer above it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import CallbackContext, JobQueue

from bot.config import SchedulerConfig
from bot.notify.runner import Notifier

log = logging.getLogger(__name__)

SCAN_JOB = "notify-scan"
MONTHLY_JOB = "notify-monthly-summary"
DAILY_MISFIRE_GRACE_S = 6 * 3600   # a daily job delayed (busy loop, suspended host) still runs within 6 h


def summary_time(text: str, timezone: str) -> dt.time:
    """"09:00" in the bank's zone as an aware time (PTB's run_daily reads the tzinfo)."""
    hour, minute = (int(part) for part in text.split(":"))
    return dt.time(hour, minute, tzinfo=ZoneInfo(timezone))


async def run_pass(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """A job's callback: one notification pass with the Notifier the job was installed with."""
    assert context.job is not None
    notifier: Notifier = context.job.data
    try:
        report = await notifier.run_once()
    except Exception:  # a failed pass must not kill the job; the next one retries from the outbox
        log.exception("notification pass failed")
        return
    if report.queued or report.sent or report.failed or report.dropped or report.retried:
        log.info("notification pass: %s", report)


def install_jobs(job_queue: JobQueue[Any] | None, notifier: Notifier, scheduler: SchedulerConfig) -> None:
    """Register the jobs (from post_init). Uses PTB's scheduler as configured: never `configure()` it (that
    wipes PTB's settings). One instance of each at a time, missed runs coalesced into one."""
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    for name in (SCAN_JOB, MONTHLY_JOB):  # installing twice (a restart of post_init) must not double jobs
        for job in job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    interval = dt.timedelta(minutes=scheduler.scan_every_minutes)
    job_queue.run_repeating(run_pass, interval=interval, first=dt.timedelta(seconds=10), name=SCAN_JOB,
                            data=notifier,
                            job_kwargs={"max_instances": 1, "coalesce": True,
                                        "misfire_grace_time": int(interval.total_seconds())})
    # The scan would also catch the summary within scan_every_minutes; this job sends it on the minute.
    job_queue.run_daily(run_pass, time=summary_time(scheduler.monthly_summary_time, scheduler.timezone),
                        name=MONTHLY_JOB, data=notifier,
                        job_kwargs={"max_instances": 1, "coalesce": True,
                                    "misfire_grace_time": DAILY_MISFIRE_GRACE_S})
    log.info("notification jobs installed: scan every %d min, summary check daily at %s %s",
             scheduler.scan_every_minutes, scheduler.monthly_summary_time, scheduler.timezone)
