"""The proactive checks (low balance now and forecast, unusual transactions, spending trend, recurring-payment
changes, monthly summary): decide what to queue, no Telegram."""

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
from analytics.results import AnomalyFlag, BudgetPace, SpendingTrend
from bot.config import Config
from bot.notify import messages
from bot.notify.outbox import Outbox, QueueResult
from bot.services.errors import FinAssistError
from bot.storage.database import StoreUnavailable
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.insight_reads import InsightReads

log = logging.getLogger(__name__)

# At most one spending-trend or budget-pace message per chat in any 7 days of WALL time (the pass's `now`):
# what a customer experiences is messages per week on their phone. Data time would not do: a catch-up ingest
# of a backlog moves it weeks in minutes, and a pinned or stale store never moves it at all.
TREND_CAP = dt.timedelta(days=7)
# How far back a forecast warning still counts as "already warned about this crossing" (wall time): longer
# than any pay cycle, so a warning is never forgotten while its crossing lies ahead.
FORECAST_MEMORY = dt.timedelta(days=62)


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


class AnswerMemo:
    """The facade's trend, forecast and recurring answers per customer, kept while the store's data version
    (new transactions, scores or models) is unchanged: a pass every 15 minutes over a store that only changes
    at the daily ingest redoes none of that analysis (about 45 ms a customer). Errors are never kept."""

    def __init__(self, insights: Any, reads: InsightReads) -> None:
        self.insights = insights
        self.reads = reads
        self.version: tuple[object, ...] | None = None
        self.values: dict[tuple[object, ...], Any] = {}

    def refresh(self) -> None:
        """Forget every answer once the data changed (one cheap query; each check calls it first)."""
        version = self.reads.data_version()
        if version != self.version:
            self.values = {}
            self.version = version

    def ask(self, method: str, customer_id: str, **options: Any) -> Any:
        """`insights.<method>(customer_id, **options)`, remembered."""
        key = (method, customer_id, *sorted(options.items()))
        values = self.values   # a concurrent pass may swap in a fresh dict meanwhile: keep using this one
        if key not in values:
            values[key] = getattr(self.insights, method)(customer_id, **options)
        return values[key]


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
        self.memo = AnswerMemo(insights, InsightReads(outbox.repo.store))

    # ------------------------------------------------------------------ all
    def run_all(self, now: dt.datetime | None = None, *, monthly_now: bool = False) -> CheckCounts:
        """Every check, in this order (the after-the-fact low balance before its forecast); what the scheduler's
        passes and `finassist notify --once` run. `monthly_now` sends the monthly summary whatever the day."""
        now = now or dt.datetime.now(dt.UTC)
        return (self.low_balance(now) + self.balance_forecast(now) + self.unusual(now) + self.spending_trend(now)
                + self.recurring_changes(now) + self.monthly_summary(now, force=monthly_now))

    def _enqueue(self, counts: CheckCounts, what: str, **message: Any) -> CheckCounts:
        """Queue one message; a failure is counted and logged, and the caller goes on with the others."""
        try:
            return counts.count(self.outbox.enqueue(**message))
        except StoreUnavailable:  # the database is gone, not one customer: stop
            raise
        except Exception:
            log.exception("a %s message could not be queued; going on with the others", what)
            return counts.error()

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
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
            except Exception:
                log.exception("low-balance check failed for one customer; going on with the others")
                counts = counts.error()
                continue
            if not balance.is_low or balance.amount is None:
                continue
            observed = (balance.as_of or now.astimezone(self.zone)).date().isoformat()
            try:
                if self._forecast_warned_on(chat_id, customer_id, observed, now):
                    continue   # this morning's forecast already told them: one warning a day for one fact
                result = self.outbox.enqueue(
                    chat_id=chat_id, kind="low_balance",
                    dedupe_key=f"low_balance:{customer_id}:{observed}:{chat_id}",
                    text=messages.low_balance_text(balance), meta={"customer_id": customer_id},
                    quiet_hours=prefs.quiet_hours, now=now)
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
            except Exception:
                log.exception("a low-balance message could not be queued; going on with the others")
                counts = counts.error()
                continue
            counts = counts.count(result)
        return counts

    def _forecast_warned_on(self, chat_id: int, customer_id: str, balance_day: str, now: dt.datetime) -> bool:
        """A forecast warning went to this chat from a balance observed on `balance_day` (data time)."""
        return any((row.payload.get("meta") or {}).get("customer_id") == customer_id
                   and row.payload["meta"].get("balance_date") == balance_day
                   for row in self.outbox.repo.recent_of_kind(chat_id, "low_balance_forecast", now - FORECAST_MEMORY))

    # ------------------------------------------------------------------ low balance before it happens
    def balance_forecast(self, now: dt.datetime) -> CheckCounts:
        """The balance will cross the chat's own threshold before the next income: one warning per crossing.

        Key "low_balance_forecast:cid:<next income date>:chat" (one per pay cycle: the forecast warns only
        before a regular income, and abstains without one). A crossing the projection moves by a day or two
        is the same fact: no new warning
        while a warned crossing date still lies ahead (data time). Not on a day whose after-the-fact
        low-balance warning already went to the chat, and never when the balance is already below (that
        warning's case: the forecast's status is then "below_now").
        """
        counts = CheckCounts()
        self.memo.refresh()
        for chat_id, customer_id in self.linking.linked_chats():
            prefs = self.preferences.get(chat_id)
            if not prefs.forecast:
                continue
            try:
                forecast = self.memo.ask("balance_forecast", customer_id,
                                         low_balance_threshold=prefs.low_balance_threshold)
                if not forecast.warn or forecast.crossing_date is None or forecast.balance_date is None:
                    continue
                if not self._forecast_is_news(chat_id, customer_id, forecast.balance_date, now):
                    continue
            except FinAssistError as exc:
                log.info("forecast check skipped a customer: %s", type(exc).__name__)
                counts = counts.error()
                continue
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
            except Exception:
                log.exception("forecast check failed for one customer; going on with the others")
                counts = counts.error()
                continue
            balance_day = forecast.balance_date.isoformat()
            # A warning always has a next income (analytics.forecast abstains without one); the crossing date
            # keys one that somehow had none.
            cycle = (forecast.income_date.isoformat() if forecast.income_date is not None
                     else f"crossing-{forecast.crossing_date.isoformat()}")
            counts = self._enqueue(
                counts, "forecast", chat_id=chat_id, kind="low_balance_forecast",
                dedupe_key=f"low_balance_forecast:{customer_id}:{cycle}:{chat_id}",
                text=messages.forecast_text(forecast),
                meta={"customer_id": customer_id, "balance_date": balance_day,
                      "crossing_date": forecast.crossing_date.isoformat(),
                      "income_date": forecast.income_date.isoformat() if forecast.income_date else None},
                quiet_hours=prefs.quiet_hours, now=now)
        return counts

    def _forecast_is_news(self, chat_id: int, customer_id: str, balance_date: dt.date, now: dt.datetime) -> bool:
        """Neither the after-the-fact warning of that balance's day, nor a warning whose crossing is still ahead."""
        if self.outbox.repo.has_key(f"low_balance:{customer_id}:{balance_date.isoformat()}:{chat_id}"):
            return False
        today = self.insights.as_of().isoformat()
        return not any((row.payload.get("meta") or {}).get("customer_id") == customer_id
                       and str(row.payload["meta"].get("crossing_date") or "") >= today
                       for row in self.outbox.repo.recent_of_kind(chat_id, "low_balance_forecast",
                                                                  now - FORECAST_MEMORY))

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
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
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
                except StoreUnavailable:  # the database is gone, not one customer: stop
                    raise
                except Exception:
                    log.exception("a \"Was this you?\" could not be queued; going on with the others")
                    counts = counts.error()
                    continue
                counts = counts.count(result)
        return counts

    # ------------------------------------------------------------------ spending trend and budget pace
    def spending_trend(self, now: dt.datetime) -> CheckCounts:
        """The closed month's material rise, else a category well ahead of its budget pace this month.

        Keys "spending_trend:cid:trend:YYYY-MM:category:chat" / "...:pace:YYYY-MM:category:chat" (the facade's
        `key`: one per month and category). At most ONE of either per chat in any 7 days of wall time
        (TREND_CAP), counting what was queued, sent or on its way; a trend held back by the cap is looked at
        again by later passes, the month-close trend first (two passes at once choose the same news, so its
        key keeps it to one row). Materiality is the facade's (`[analytics] trend_min_change` and
        `trend_min_increase`).
        """
        counts = CheckCounts()
        self.memo.refresh()
        for customer_id, chat_ids in _by_customer(self.linking.linked_chats()).items():
            wanted = [c for c in chat_ids if self.preferences.get(c).trend]
            if not wanted:
                continue
            try:
                open_chats = [c for c in wanted if not self.outbox.repo.recent_of_kind(c, "spending_trend",
                                                                                       now - TREND_CAP)]
                chosen = self._trend_news(customer_id, open_chats) if open_chats else []
            except FinAssistError as exc:
                log.info("trend check skipped a customer: %s", type(exc).__name__)
                counts = counts.error()
                continue
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
            except Exception:
                log.exception("trend check failed for one customer; going on with the others")
                counts = counts.error()
                continue
            for chat_id, news in chosen:
                counts = self._enqueue(
                    counts, "trend", chat_id=chat_id, kind="spending_trend",
                    dedupe_key=f"spending_trend:{customer_id}:{news.key}:{chat_id}",
                    text=messages.trend_text(news), meta={"customer_id": customer_id, "trend_key": news.key},
                    quiet_hours=self.preferences.get(chat_id).quiet_hours, now=now)
        return counts

    def _trend_news(self, customer_id: str,
                    chat_ids: list[int]) -> list[tuple[int, SpendingTrend | BudgetPace]]:
        """Per chat, the first of (month-close trend, budget pace) not queued to it before; the pace, which
        costs a budget and a recurring scan, is computed only when some chat still needs news."""
        def unsent(news: SpendingTrend | BudgetPace | None, chat_id: int) -> bool:
            return news is not None and not self.outbox.repo.has_key(
                f"spending_trend:{customer_id}:{news.key}:{chat_id}")

        trend = self.memo.ask("spending_trend", customer_id)
        chosen: list[tuple[int, SpendingTrend | BudgetPace]] = []
        waiting = []
        for chat_id in chat_ids:
            if trend is not None and unsent(trend, chat_id):
                chosen.append((chat_id, trend))
            else:
                waiting.append(chat_id)
        if waiting:
            pace = self.memo.ask("mid_month_pace", customer_id)
            chosen += [(chat_id, pace) for chat_id in waiting if pace is not None and unsent(pace, chat_id)]
        return chosen

    # ------------------------------------------------------------------ recurring-payment changes
    def recurring_changes(self, now: dt.datetime) -> CheckCounts:
        """A subscription's or bill's price rise, a charge taken twice: one message per alert and chat
        ("recurring_change:cid:<alert key>:chat", the facade's stable key)."""
        counts = CheckCounts()
        self.memo.refresh()
        for customer_id, chat_ids in _by_customer(self.linking.linked_chats()).items():
            wanted = [c for c in chat_ids if self.preferences.get(c).recurring]
            if not wanted:
                continue
            try:
                alerts = self.memo.ask("recurring_alerts", customer_id)
            except FinAssistError as exc:
                log.info("recurring check skipped a customer: %s", type(exc).__name__)
                counts = counts.error()
                continue
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
            except Exception:
                log.exception("recurring check failed for one customer; going on with the others")
                counts = counts.error()
                continue
            for alert in alerts:
                for chat_id in wanted:
                    counts = self._enqueue(
                        counts, "recurring-payment", chat_id=chat_id, kind="recurring_change",
                        dedupe_key=f"recurring_change:{customer_id}:{alert.key}:{chat_id}",
                        text=messages.recurring_text(alert),
                        meta={"customer_id": customer_id, "alert_key": alert.key},
                        quiet_hours=self.preferences.get(chat_id).quiet_hours, now=now)
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
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
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
                except StoreUnavailable:  # the database is gone, not one customer: stop
                    raise
                except Exception:
                    log.exception("a monthly summary could not be queued; going on with the others")
                    counts = counts.error()
                    continue
                counts = counts.count(result)
        return counts
