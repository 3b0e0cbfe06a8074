"""One notification pass: run the checks (in a worker thread), then send what is due."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot

from bot.notify.checks import CheckCounts, ProactiveChecks
from bot.notify.clock import Clock, SystemClock
from bot.notify.intake import TransactionIntake
from bot.notify.outbox import Outbox
from bot.notify.sender import DrainCounts, OutboxSender, ProgressHook, SendPolicy
from bot.services.linking import LinkingService
from bot.services.preferences import PreferencesService
from bot.storage.database import StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassReport:
    queued: int
    deferred: int             # queued now, due after quiet hours
    sent: int
    failed: int               # dead-lettered in this pass
    dropped: int
    retried: int              # given a later due time (429, network error / 5xx, unknown outcome)
    left_pending: int         # due, not attempted (outage / global flood wait): the next pass sends them
    errors: int               # customers or messages the checks skipped (no data, or a bad row)
    unknown: int = 0          # sends whose outcome was unknown (timeout after sending, crashed worker)
    rate_limited: int = 0
    quiet: int = 0            # fell due inside quiet hours: moved to their end

    @classmethod
    def of(cls, checks: CheckCounts, drain: DrainCounts) -> PassReport:
        return cls(checks.queued, checks.deferred, drain.sent, drain.failed, drain.dropped, drain.retried,
                   drain.left_pending, checks.errors, drain.unknown, drain.rate_limited, drain.quiet)


def linking_and_preferences(services: Any, linking: Any = None, preferences: Any = None) -> tuple[Any, Any]:
    """The Telegram side's LinkingService and PreferencesService (built here when the caller has none)."""
    if linking is None:
        linking = LinkingService(services.store)
    if preferences is None:
        preferences = PreferencesService(services.store, services.config)
    return linking, preferences


class Notifier:
    """Checks plus sender; `run_once` is what the scheduler jobs and `finassist notify --once` call."""

    def __init__(self, checks: ProactiveChecks, sender: OutboxSender, clock: Clock | None = None,
                 intake: TransactionIntake | None = None) -> None:
        self.checks = checks
        self.sender = sender
        self.clock: Clock = clock or sender.clock
        self.intake = intake

    @classmethod
    def from_services(cls, services: Any, bot: Bot, policy: SendPolicy | None = None, *,
                      linking: Any = None, preferences: Any = None, clock: Clock | None = None,
                      on_progress: ProgressHook | None = None) -> Notifier:
        linking, preferences = linking_and_preferences(services, linking, preferences)
        outbox = Outbox(services.store, services.config)
        checks = ProactiveChecks(services.insights, linking, preferences, outbox, services.config)
        clock = clock or SystemClock()
        sender = OutboxSender(bot, services.store, policy or SendPolicy.from_config(services.config.scheduler),
                              config=services.config, clock=clock, on_progress=on_progress)
        return cls(checks, sender, clock, TransactionIntake(services.store, checks))

    async def run_once(self, now: dt.datetime | None = None, *, monthly_now: bool = False) -> PassReport:
        """All checks, then a drain. `monthly_now` sends the monthly summary whatever the day."""
        now = now or self.clock.now()

        def check() -> CheckCounts:
            counts = CheckCounts()
            if self.intake is not None:  # rows stored by anything since the last pass are scored first
                outcome = self.intake.process(now)
                counts = CheckCounts(outcome.alerts_queued, outcome.alerts_deferred)
            return counts + self.checks.run_all(now, monthly_now=monthly_now)

        try:
            counts = await asyncio.to_thread(check)
        except StoreUnavailable as exc:
            # The database went away mid-check (a restart, a failover): what is queued already still goes
            # out (the drain waits for the connection to come back); the next pass runs the checks again.
            log.warning("notification checks stopped: %s; sending what is queued", exc)
            counts = CheckCounts(errors=1)
        drained = await self.sender.drain(now)
        return PassReport.of(counts, drained)
