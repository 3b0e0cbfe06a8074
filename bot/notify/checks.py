"""The proactive checks (low balance, unusual transactions, monthly summary): decide what to queue, no Telegram."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from analytics.periods import last_complete_month
from analytics.results import AnomalyFlag
from bot.config import Config
from bot.notify import messages
from bot.notify.outbox import Outbox, QueueResult
from bot.services.errors import FinAssistError
from bot.storage.fraud_checks import FraudCheckRepository

log = logging.getLogger(__name__)


class Linking(Protocol):
    def linked_chats(self) -> list[tuple[int, str]]: ...
    def chats_for_customer(self, customer_id: str) -> list[int]: ...


class Preferences(Protocol):
    def get(self, chat_id: int) -> Any: ...   # AlertPreferences


@dataclass(frozen=True)
class CheckCounts:
    queued: int = 0
    deferred: int = 0          # queued, but due after quiet hours
    errors: int = 0            # customers skipped because the facade could not answer, or messages that
                               # could not be queued (one bad row never stops the others)

    def __add__(self, other: CheckCounts) -> CheckCounts:
        return CheckCounts(self.queued + other.queued, self.deferred + other.deferred, self.errors + other.errors)

    def count(self, result: QueueResult) -> CheckCounts:
        return CheckCounts(self.queued + int(result.queued), self.deferred + int(result.deferred), self.errors)

    def error(self) -> CheckCounts:
        return CheckCounts(self.queued, self.deferred, self.errors + 1)


def _by_customer(pairs: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
    chats: dict[str, list[int]] = {}
    for chat_id, customer_id in pairs:
        chats.setdefault(customer_id, []).append(int(chat_id))
    return chats


class ProactiveChecks:
    """Each check walks the linked chats, respects each chat's AlertPreferences and queues via the Outbox.

    Re-running a check is harmless: every message has a dedupe key (see the methods) and the outbox keeps
    each key once, so a restart, an overlapping job or `notify --once` after the bot never double-sends.
    """

    def __init__(self, insights: Any, linking: Linking, preferences: Preferences, outbox: Outbox,
                 config: Config, *, chart_dir: str | Path | None = None, unusual_window_days: int = 7) -> None:
        self.insights = insights
        self.linking = linking
        self.preferences = preferences
        self.outbox = outbox
        self.config = config
        self.fraud_checks = FraudCheckRepository(outbox.repo.store)
        self.chart_dir = Path(chart_dir) if chart_dir else Path(config.storage.db_path).parent / "charts"
        self.unusual_window_days = unusual_window_days
        self.zone = ZoneInfo(config.scheduler.timezone)

    # ------------------------------------------------------------------ all
    def run_all(self, now: dt.datetime | None = None) -> CheckCounts:
        now = now or dt.datetime.now(dt.UTC)
        return self.low_balance(now) + self.unusual(now) + self.monthly_summary(now)

    # ------------------------------------------------------------------ low balance
    def low_balance(self, now: dt.datetime) -> CheckCounts:
        """Balance below the chat's threshold: once per balance observation day ("low_balance:cid:date:chat")."""
        counts = CheckCounts()
        for chat_id, customer_id in self.linking.linked_chats():
            prefs = self.preferences.get(chat_id)
            if not prefs.low_balance:
                continue
            try:
                balance = self.insights.balance(customer_id, low_balance_threshold=prefs.low_balance_threshold)
            except FinAssistError as exc:
                log.info("low-balance check skipped a customer: %s", type(exc).__name__)
                counts = counts.error()
                continue
            except Exception:
                log.exception("low-balance check failed for one customer; going on with the others")
                counts = counts.error()
                continue
            if not balance.is_low or balance.amount is None:
                continue
            observed = (balance.as_of or now.astimezone(self.zone)).date().isoformat()
            try:
                result = self.outbox.enqueue(
                    chat_id=chat_id, kind="low_balance",
                    dedupe_key=f"low_balance:{customer_id}:{observed}:{chat_id}",
                    text=messages.low_balance_text(balance), meta={"customer_id": customer_id},
                    quiet_hours=prefs.quiet_hours, now=now)
            except Exception:
                log.exception("a low-balance message could not be queued; going on with the others")
                counts = counts.error()
                continue
            counts = counts.count(result)
        return counts

    # ------------------------------------------------------------------ unusual transactions
    def unusual(self, now: dt.datetime) -> CheckCounts:
        """Open anomalies never asked about, within the recent window: one "Was this you?" per chat."""
        counts = CheckCounts()
        for customer_id, chat_ids in _by_customer(self.linking.linked_chats()).items():
            try:
                flags = self.insights.anomalies(customer_id, limit=5)
                as_of = self.insights.as_of()
            except FinAssistError as exc:
                log.info("unusual check skipped a customer: %s", type(exc).__name__)
                counts = counts.error()
                continue
            except Exception:
                log.exception("unusual check failed for one customer; going on with the others")
                counts = counts.error()
                continue
            since = as_of - dt.timedelta(days=self.unusual_window_days)
            recent = [f for f in flags if f.ts.date() >= since]
            counts = counts + self.queue_unusual(customer_id, recent, now, chat_ids=chat_ids)
        return counts

    def queue_unusual(self, customer_id: str, flags: Iterable[AnomalyFlag], now: dt.datetime,
                      chat_ids: Iterable[int] | None = None) -> CheckCounts:
        """Queue "Was this you?" for each open, never-asked flag ("unusual:txn:chat"); used by the API and intake.

        The buttons name the question's outbox row (`fraud:y:<id>`), so any transaction id fits Telegram's
        64-byte callback data; a flag that cannot be queued is counted in `errors` and the rest go on.
        """
        counts = CheckCounts()
        asked = self.fraud_checks.status_by_transaction(customer_id)
        chats = list(chat_ids) if chat_ids is not None else self.linking.chats_for_customer(customer_id)
        for flag in flags:
            if flag.status != "open" or flag.transaction_id in asked:
                continue
            for chat_id in chats:
                try:
                    prefs = self.preferences.get(chat_id)
                    if not prefs.unusual:
                        continue
                    result = self.outbox.enqueue(
                        chat_id=chat_id, kind="unusual", dedupe_key=f"unusual:{flag.transaction_id}:{chat_id}",
                        text=messages.unusual_text(flag), buttons=messages.fraud_buttons(),
                        meta={"transaction_id": flag.transaction_id, "customer_id": customer_id},
                        quiet_hours=prefs.quiet_hours, now=now,
                        bypass_quiet_hours=self.config.scheduler.fraud_alerts_bypass_quiet_hours)
                except Exception:
                    log.exception("a \"Was this you?\" could not be queued; going on with the others")
                    counts = counts.error()
                    continue
                counts = counts.count(result)
        return counts

    # ------------------------------------------------------------------ monthly summary
    def is_summary_time(self, now: dt.datetime) -> bool:
        """On `monthly_summary_day`, at or after `monthly_summary_time`, in the bank's time zone."""
        local = now.astimezone(self.zone)
        hour, minute = (int(p) for p in self.config.scheduler.monthly_summary_time.split(":"))
        day = self.config.scheduler.monthly_summary_day
        return local.day == day and local.time().replace(tzinfo=None) >= dt.time(hour, minute)

    def monthly_summary(self, now: dt.datetime, *, force: bool = False) -> CheckCounts:
        """The last complete month's report with its chart, once per month and chat ("monthly:cid:YYYY-MM:chat")."""
        counts = CheckCounts()
        if not force and not self.is_summary_time(now):
            return counts
        for customer_id, chat_ids in _by_customer(self.linking.linked_chats()).items():
            wanted = [c for c in chat_ids if self.preferences.get(c).monthly]
            if not wanted:
                continue
            try:
                month = last_complete_month(self.insights.as_of())
                pending = [c for c in wanted if not self.outbox.repo.has_key(f"monthly:{customer_id}:{month}:{c}")]
                if not pending:
                    continue
                self.chart_dir.mkdir(parents=True, exist_ok=True)
                safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", customer_id)
                chart = self.chart_dir / f"monthly_{safe_id}_{month}.png"
                report = self.insights.report(customer_id, month=month, chart_path=str(chart))
            except FinAssistError as exc:
                log.info("monthly summary skipped a customer: %s", type(exc).__name__)
                counts = counts.error()
                continue
            except Exception:
                log.exception("monthly summary failed for one customer; going on with the others")
                counts = counts.error()
                continue
            photo = report.chart_path or (str(chart) if chart.exists() else None)
            for chat_id in pending:
                try:
                    prefs = self.preferences.get(chat_id)
                    result = self.outbox.enqueue(
                        chat_id=chat_id, kind="monthly_summary",
                        dedupe_key=f"monthly:{customer_id}:{month}:{chat_id}",
                        text=messages.monthly_caption(report), photo_path=photo,
                        meta={"customer_id": customer_id, "month": month}, quiet_hours=prefs.quiet_hours, now=now)
                except Exception:
                    log.exception("a monthly summary could not be queued; going on with the others")
                    counts = counts.error()
                    continue
                counts = counts.count(result)
        return counts
