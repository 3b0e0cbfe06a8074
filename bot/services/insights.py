"""THE facade: everything about customer X. Every channel (CLI, Telegram, LLM tools, notifications, REST)
reads figures only through `InsightsService`, so every channel shows the same numbers.

    svc = InsightsService(store, config)
    svc.as_of() -> date                                   # contract §2 analytics clock
    svc.customer_exists(cid) -> bool
    svc.profile(cid) -> CustomerProfile
    svc.balance(cid, low_balance_threshold=None) -> BalanceInfo
    svc.spending(cid, month=None) -> SpendingSummary      # month "YYYY-MM"; None = last complete month
    svc.this_month(cid) -> SpendingSummary                # from the 1st of as_of's month to as_of
    svc.budget(cid) -> BudgetPlan
    svc.anomalies(cid, limit=5, include_answered=False) -> tuple[AnomalyFlag, ...]
    svc.anomaly_count(cid, include_answered=False) -> int      # all of them; anomalies() lists at most `limit`
    svc.segment(cid) -> SegmentInfo | None
    svc.churn(cid) -> ChurnRisk | None
    svc.recommendations(cid, kind=None, limit=3) -> tuple[Recommendation, ...]
    svc.report(cid, month=None, chart_path=None) -> MonthlyReport   # writes the PNG when chart_path is given
    svc.report_month(month=None) -> str                   # the month report() covers ("YYYY-MM")
    svc.affordability(cid, price) -> Affordability
    svc.transactions(cid, month=None, limit=None) -> tuple[TransactionBrief, ...]
    svc.months_available(cid) -> tuple[str, ...]
    svc.personal_details(cid) -> PersonalDetails          # what the LLM path must not send
    svc.insights(cid) -> CustomerInsights
    svc.recurring_payments(cid) -> tuple[RecurringPayment, ...]   # active subscriptions, bills, rent, EMIs
    svc.regular_income(cid) -> RecurringPayment | None             # salary / pension / allowance, if regular
    svc.recurring_alerts(cid) -> tuple[RecurringAlert, ...]        # price rises, duplicate charges
    svc.spending_trend(cid) -> SpendingTrend | None                # last closed month vs its usual month
    svc.mid_month_pace(cid) -> BudgetPace | None                   # a category ahead of its budget pace
    svc.balance_forecast(cid, low_balance_threshold=None) -> BalanceForecast
Raises bot.services.errors.CustomerNotFound for an unknown ID, InvalidMonth for a bad month.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analytics import forecast, periods, recommend, recurring, report, spending, trends
from analytics.ages import age_band_for, age_on
from analytics.balances import BalanceHistory
from analytics.categorize import assign_categories, train_default_categorizer
from analytics.charts import render_spending_chart
from analytics.money import format_date
from analytics.personas import persona_fits
from analytics.results import (
    AnomalyFlag,
    BalanceForecast,
    BalanceInfo,
    BudgetPace,
    BudgetPlan,
    ChurnRisk,
    CustomerInsights,
    CustomerProfile,
    MonthlyReport,
    PersonalDetails,
    Recommendation,
    RecurringAlert,
    RecurringPayment,
    SegmentInfo,
    SpendingSummary,
    SpendingTrend,
    TransactionBrief,
)
from analytics.schema import CREDIT, DEBIT, normalize_category
from bot.config import Config
from bot.services.errors import CustomerNotFound, InvalidMonth, NoData
from bot.storage.database import Store
from bot.storage.insight_reads import InsightReads

if TYPE_CHECKING:
    from analytics.merchant_model import MerchantCategorizer

log = logging.getLogger(__name__)

PRODUCTS_PATH = Path(__file__).resolve().parents[2] / "data" / "products.toml"
FRAME_CACHE_SIZE = 512  # customers whose transactions stay in memory (a few hundred rows each)
RELIABLE_CHURN_AUC = 0.6  # below this the churn model's held-out AUC is too close to chance to act on
MIN_DEBITS_FOR_BUDGET = 3  # fewer payments than this make an average, and so a budget, meaningless
TREND_TOLERANCE = 0.02  # a balance within ±2% of its value 30 days earlier is "flat"
BALANCE_CHANGE_DAYS = 30


class InsightsService:
    """Reads one customer's transactions and stored scores, and asks the pure analytics for every figure."""

    def __init__(self, store: Store, config: Config, products_path: Path = PRODUCTS_PATH) -> None:
        self.store = store
        self.config = config
        self.reads = InsightReads(store)
        self._catalog = recommend.load_catalog(products_path)
        self._categorizer: MerchantCategorizer | None = None
        self._categorizer_lock = threading.Lock()
        # Several questions about one customer arrive together (a bot session); their transactions are read
        # once per data version. Keyed by data_version(), so new rows or a retrain are seen at once.
        self._frames: OrderedDict[str, tuple[tuple[object, ...], pd.DataFrame]] = OrderedDict()
        self._frames_lock = threading.Lock()

    # ---- clock and lookup -------------------------------------------------------------------------------
    def as_of(self) -> dt.date:
        pinned = self.config.analytics.pinned_as_of()
        if pinned is not None:
            return pinned
        latest = self.reads.latest_date()
        if latest is None:
            raise NoData("the store holds no transactions yet: run `finassist ingest FILE` first")
        return latest

    def customer_exists(self, customer_id: str) -> bool:
        return self.reads.customer_exists(customer_id)

    def _frame(self, customer_id: str) -> pd.DataFrame:
        """The customer's transactions up to as_of with one resolved `category` column (cached per data version)."""
        version = (*self.reads.data_version(), self.as_of())
        with self._frames_lock:
            hit = self._frames.get(customer_id)
            if hit is not None and hit[0] == version:
                self._frames.move_to_end(customer_id)
                return hit[1].copy(deep=False)  # copy-on-write: a caller's change never reaches the cache
        frame = self.reads.transactions_with_scores(customer_id, version[-1])
        if frame.empty:
            if not self.customer_exists(customer_id):
                raise CustomerNotFound(customer_id)
            raise NoData(f"customer {customer_id} has no transactions on or before {format_date(version[-1])} "
                         "(the analytics date, [analytics] as_of)")
        frame = self._with_categories(frame)
        with self._frames_lock:
            self._frames[customer_id] = (version, frame)
            self._frames.move_to_end(customer_id)
            while len(self._frames) > FRAME_CACHE_SIZE:
                self._frames.popitem(last=False)
        return frame.copy(deep=False)

    def _with_categories(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        given = frame["given_category"].map(normalize_category) if len(frame) else frame["given_category"]
        frame["category"] = given
        unscored = frame["scored_category"].isna()
        if unscored.any():
            # Rows with no stored score (quiet ones, which train does not store, and rows stored after it) are
            # categorised live by the same rules; the merchant model is only built if one of them needs it.
            frame.loc[unscored, "category"] = assign_categories(frame.loc[unscored], self._live_categorizer)
        frame.loc[~unscored, "category"] = frame.loc[~unscored, "scored_category"]
        return frame

    def _live_categorizer(self) -> MerchantCategorizer:
        with self._categorizer_lock:
            if self._categorizer is None:
                self._categorizer = train_default_categorizer()
            return self._categorizer

    def _month(self, month: str | None, default: str) -> str:
        if month is None:
            return default
        try:
            chosen = periods.parse_month(month)
        except ValueError as exc:
            raise InvalidMonth(str(exc)) from exc
        as_of = self.as_of()
        if chosen > periods.this_month(as_of):
            raise InvalidMonth(f"{periods.month_label(chosen)} is after the latest data ({format_date(as_of)})")
        return chosen

    # ---- figures ---------------------------------------------------------------------------------------
    def profile(self, customer_id: str) -> CustomerProfile:
        return self._profile(customer_id, self._frame(customer_id))

    def _profile(self, customer_id: str, frame: pd.DataFrame) -> CustomerProfile:
        as_of = self.as_of()
        latest = frame.iloc[-1]
        debits = frame[frame["txn_type"] == DEBIT]
        credits = frame[frame["txn_type"] == CREDIT]
        first, last = frame["ts"].min().date(), frame["ts"].max().date()
        months_span = max(1.0, ((last - first).days + 1) / 30.4375)
        dob = latest["dob"]
        age = None if pd.isna(dob) else age_on(dob.date(), as_of)
        score = self.reads.customer_score(customer_id) or {}
        return CustomerProfile(
            customer_id=customer_id,
            age=age,
            age_band=age_band_for(age),
            gender=latest["gender"] if isinstance(latest["gender"], str) else None,
            location=latest["location"] if isinstance(latest["location"], str) else None,
            first_seen=first,
            last_seen=last,
            n_transactions=len(frame),
            n_debits=len(debits),
            n_credits=len(credits),
            total_spend=round(float(debits["amount"].sum()), 2),
            total_income=round(float(credits["amount"].sum()), 2),
            avg_debit=round(float(debits["amount"].mean()), 2) if len(debits) else 0.0,
            monthly_spend=round(float(debits["amount"].sum()) / months_span, 2),
            frequency_per_month=round(len(frame) / months_span, 2),
            recency_days=(as_of - last).days,
            rfm_recency=int(score.get("rfm_recency", 0)),
            rfm_frequency=int(score.get("rfm_frequency", 0)),
            rfm_monetary=int(score.get("rfm_monetary", 0)),
        )

    def balance(self, customer_id: str, low_balance_threshold: float | None = None) -> BalanceInfo:
        return self._balance(customer_id, self._frame(customer_id), low_balance_threshold)

    def _balance(self, customer_id: str, frame: pd.DataFrame, threshold: float | None) -> BalanceInfo:
        """The balance after the latest transaction and its change over 30 days, by analytics.balances' one
        rule (the monthly report uses the same): a debit without a balance moves it, marked derived."""
        threshold = self.config.analytics.low_balance_threshold if threshold is None else float(threshold)
        history = BalanceHistory.of(frame)
        latest = history.latest()
        if latest is None:
            return BalanceInfo(customer_id, None, None, None, "unknown", threshold, False)
        amount = latest.amount
        earlier = history.at(pd.Timestamp(latest.ts) - pd.Timedelta(days=BALANCE_CHANGE_DAYS))
        change = None if earlier is None else round(amount - earlier.amount, 2)
        if change is None:
            trend = "unknown"
        elif abs(change) <= TREND_TOLERANCE * max(abs(amount - change), 1.0):
            trend = "flat"
        else:
            trend = "rising" if change > 0 else "falling"
        return BalanceInfo(
            customer_id=customer_id,
            amount=amount,
            as_of=pd.Timestamp(latest.ts).to_pydatetime(),
            change_30d=change,
            trend=trend,
            low_balance_threshold=threshold,
            is_low=amount < threshold,
            derived=latest.derived,
        )

    def spending(self, customer_id: str, month: str | None = None) -> SpendingSummary:
        as_of = self.as_of()
        chosen = self._month(month, periods.last_complete_month(as_of))
        return spending.monthly_summary(self._frame(customer_id), customer_id, chosen, as_of)

    def this_month(self, customer_id: str) -> SpendingSummary:
        as_of = self.as_of()
        return spending.monthly_summary(self._frame(customer_id), customer_id, periods.this_month(as_of), as_of)

    def budget(self, customer_id: str) -> BudgetPlan:
        return self._budget(customer_id, self._frame(customer_id))

    def _budget(self, customer_id: str, frame: pd.DataFrame) -> BudgetPlan:
        """A budget needs a few payments to average; with fewer it says so instead of a meaningless figure."""
        if int((frame["txn_type"] == DEBIT).sum()) < MIN_DEBITS_FOR_BUDGET:
            return BudgetPlan(customer_id, 0, (), 0.0, 0.0)
        return spending.suggest_budget(frame, customer_id, self.as_of())

    def anomalies(self, customer_id: str, limit: int = 5, include_answered: bool = False) -> tuple[AnomalyFlag, ...]:
        return self._anomalies(customer_id, self._frame(customer_id), limit, include_answered)

    def anomaly_count(self, customer_id: str, include_answered: bool = False) -> int:
        """How many transactions `anomalies` would list without a limit (same rule: confirmed ones left out)."""
        frame = self._frame(customer_id)
        return len(self._anomalies(customer_id, frame, len(frame), include_answered))

    def _anomalies(self, customer_id: str, frame: pd.DataFrame, limit: int,
                   include_answered: bool) -> tuple[AnomalyFlag, ...]:
        flagged = frame[frame["flagged"]].sort_values(["ts", "anomaly_score"], ascending=[False, False])
        status = self.reads.fraud_check_status(customer_id)
        flags = []
        for row in flagged.itertuples(index=False):
            state = status.get(row.transaction_id, "open")
            if state == "pending":
                state = "open"
            if not include_answered and state == "confirmed":
                continue
            flags.append(AnomalyFlag(
                transaction_id=row.transaction_id,
                ts=row.ts.to_pydatetime(),
                amount=round(float(row.amount), 2),
                merchant=row.merchant if isinstance(row.merchant, str) else None,
                location=row.location if isinstance(row.location, str) else None,
                score=round(float(row.anomaly_score), 3),
                reasons=tuple(row.reasons),
                status=state,
            ))
            if len(flags) >= limit:
                break
        return tuple(flags)

    def segment(self, customer_id: str) -> SegmentInfo | None:
        if not self.customer_exists(customer_id):
            raise CustomerNotFound(customer_id)
        score = self.reads.customer_score(customer_id)
        if score is None:
            return None
        return self._segment(customer_id, score, None, None)

    def _segment(self, customer_id: str, score: dict, profile: CustomerProfile | None,
                 balance: BalanceInfo | None) -> SegmentInfo:
        """The stored segment, and whether its persona's rule holds for this customer's own figures (the
        same balance the customer is shown): a name that does not fit is presented as the group's."""
        try:
            frame = self._frame(customer_id) if profile is None or balance is None else None
        except NoData:
            frame = None
        if frame is not None:
            profile = self._profile(customer_id, frame)
            balance = self._balance(customer_id, frame, None)
        fits = None
        if profile is not None and balance is not None:
            moved = profile.total_income + profile.total_spend
            own = {"balance": balance.amount, "frequency_per_month": profile.frequency_per_month,
                   "recency_days": profile.recency_days, "age": profile.age,
                   "income_ratio": profile.total_income / moved if moved > 0 else 0.0}
            median_balance = self.reads.model_metrics("segments").get("median_balance")
            fits = persona_fits(score["persona"], own, median_balance)
        return SegmentInfo(int(score["segment"]), score["persona"], score.get("description") or "", fits)

    def churn(self, customer_id: str) -> ChurnRisk | None:
        if not self.customer_exists(customer_id):
            raise CustomerNotFound(customer_id)
        score = self.reads.customer_score(customer_id)
        if score is None:
            return None
        # The level `train` stored is the one definition (analytics.churn's level rule); a store trained
        # before levels were stored has none, and says so rather than inventing cut-offs here.
        risk = round(float(score["churn_risk"]), 3)
        level = score.get("churn_level") or "unknown"
        return ChurnRisk(risk, level, tuple(json.loads(score["churn_reasons"] or "[]")))

    def recommendations(self, customer_id: str, kind: str | None = None, limit: int = 3) -> tuple[Recommendation, ...]:
        frame = self._frame(customer_id)
        return self._recommendations(customer_id, frame, kind, limit)

    def _recommendations(self, customer_id: str, frame: pd.DataFrame, kind: str | None, limit: int,
                         profile: CustomerProfile | None = None, balance: BalanceInfo | None = None,
                         last_month: SpendingSummary | None = None,
                         anomalies: tuple[AnomalyFlag, ...] | None = None) -> tuple[Recommendation, ...]:
        """`insights()` passes the figures it already has (same frame, same as_of) so none is computed twice."""
        as_of = self.as_of()
        profile = self._profile(customer_id, frame) if profile is None else profile
        balance = self._balance(customer_id, frame, None) if balance is None else balance
        score = self.reads.customer_score(customer_id)
        if last_month is None:
            last_month = spending.monthly_summary(frame, customer_id, periods.last_complete_month(as_of), as_of)
        has_open = bool(anomalies) if anomalies is not None else bool(self._anomalies(customer_id, frame, 1, False))
        ctx = recommend.RecommendationContext(
            age=profile.age,
            balance=balance.amount,
            monthly_income=_monthly_income(profile),
            monthly_spend=profile.monthly_spend,
            persona=score["persona"] if score else None,
            churn_risk=float(score["churn_risk"]) if score else None,
            has_anomalies_open=has_open,
            spend_by_category={c.category: c.amount for c in last_month.by_category},
        )
        return recommend.recommend(ctx, self._catalog, kind=kind, limit=limit)

    def affordability(self, customer_id: str, price: float) -> spending.Affordability:
        """Can the customer pay `price` now, keeping a month of spending aside; else how long saving takes."""
        frame = self._frame(customer_id)
        profile = self._profile(customer_id, frame)
        balance = self._balance(customer_id, frame, None)
        return spending.affordability(balance.amount, _monthly_income(profile), profile.monthly_spend, price)

    def report_month(self, month: str | None = None) -> str:
        """The month `report(cid, month)` covers: `month` checked, or the last complete month before as_of."""
        return self._month(month, periods.last_complete_month(self.as_of()))

    def report(self, customer_id: str, month: str | None = None, chart_path: str | Path | None = None) -> MonthlyReport:
        as_of = self.as_of()
        chosen = self.report_month(month)
        result = report.monthly_report(self._frame(customer_id), customer_id, chosen, as_of)
        if chart_path is not None:
            path = render_spending_chart(result, Path(chart_path))
            from dataclasses import replace

            result = replace(result, chart_path=str(path))
        return result

    def transactions(self, customer_id: str, month: str | None = None, limit: int | None = None) -> tuple[TransactionBrief, ...]:
        frame = self._frame(customer_id)
        if month is not None:
            start, end = periods.month_bounds(self._month(month, month))
            frame = frame[(frame["ts"].dt.date >= start) & (frame["ts"].dt.date <= end)]
        frame = frame.sort_values("ts", ascending=False)
        if limit is not None:
            frame = frame.head(limit)
        return tuple(
            TransactionBrief(
                transaction_id=r.transaction_id, ts=r.ts.to_pydatetime(), amount=round(float(r.amount), 2),
                txn_type=r.txn_type, category=r.category,
                merchant=r.merchant if isinstance(r.merchant, str) else None,
                location=r.location if isinstance(r.location, str) else None,
            )
            for r in frame.itertuples(index=False)
        )

    def months_available(self, customer_id: str) -> tuple[str, ...]:
        frame = self._frame(customer_id)
        return tuple(sorted(frame["ts"].dt.strftime("%Y-%m").unique()))

    def personal_details(self, customer_id: str) -> PersonalDetails:
        """Every location, date of birth and merchant text on the customer's rows (for the LLM redactor)."""
        frame = self._frame(customer_id)

        def distinct(values: pd.Series) -> tuple[str, ...]:
            return tuple(sorted({v.strip() for v in values if isinstance(v, str) and v.strip()}))

        dobs = tuple(sorted({d.date() for d in frame["dob"] if not pd.isna(d)}))
        transfers = frame.loc[frame["category"] == "transfers", "merchant"]
        return PersonalDetails(customer_id, distinct(frame["location"]), dobs, distinct(frame["merchant"]),
                               distinct(transfers))

    def insights(self, customer_id: str) -> CustomerInsights:
        """All of it in one read of the customer's transactions."""
        frame = self._frame(customer_id)
        as_of = self.as_of()
        profile = self._profile(customer_id, frame)
        notes = []
        if profile.n_transactions == 1:
            notes.append("Only one transaction is on record, so trends and budgets are not meaningful yet.")
        notes.append("Age, gender and location come from the latest transaction (an ID can be shared).")
        churn_metrics = self.reads.model_metrics("churn")
        churn_auc = churn_metrics.get("auc")
        method = str(churn_metrics.get("method_sentence") or "")
        if method:  # how churn risk was made and what its levels mean, as `train` printed it
            notes.append(method)
        if churn_auc is not None and churn_auc < RELIABLE_CHURN_AUC and "better than chance" not in method:
            notes.append(f"The churn model scored AUC {churn_auc:.2f} on held-out customers of this data, "
                         "little better than chance: treat the churn risk as unreliable.")
        balance = self._balance(customer_id, frame, None)
        last_month = spending.monthly_summary(frame, customer_id, periods.last_complete_month(as_of), as_of)
        anomalies = self._anomalies(customer_id, frame, 5, False)
        return CustomerInsights(
            customer_id=customer_id,
            as_of=as_of,
            profile=profile,
            balance=balance,
            this_month=spending.monthly_summary(frame, customer_id, periods.this_month(as_of), as_of),
            last_month=last_month,
            budget=self._budget(customer_id, frame),
            anomalies=anomalies,
            segment=(None if (score := self.reads.customer_score(customer_id)) is None
                     else self._segment(customer_id, score, profile, balance)),
            churn=self.churn(customer_id),
            recommendations=self._recommendations(customer_id, frame, None, 3, profile=profile, balance=balance,
                                                  last_month=last_month, anomalies=anomalies),
            notes=tuple(notes),
        )

    # ---- proactive analyses: recurring payments, spending trends, balance forecast ---------------------
    def _recurring(self, customer_id: str) -> recurring.RecurringScan:
        return recurring.scan_recurring(self._frame(customer_id), self.as_of())

    def recurring_payments(self, customer_id: str) -> tuple[RecurringPayment, ...]:
        """Active subscriptions, bills, rent, EMIs: merchant, amount, interval, next expected date, category."""
        return self._recurring(customer_id).payments

    def regular_income(self, customer_id: str) -> RecurringPayment | None:
        """The customer's regular credit (salary, pension, allowance) on its usual day; None when there is none."""
        return self._recurring(customer_id).regular_income

    def recurring_alerts(self, customer_id: str) -> tuple[RecurringAlert, ...]:
        """Price rises and duplicate charges of the last few weeks, newest first (each with a stable `key`)."""
        return self._recurring(customer_id).alerts

    def spending_trend(self, customer_id: str) -> SpendingTrend | None:
        """The category that rose most in the last complete month against its usual month, if materially."""
        return trends.monthly_trend(self._frame(customer_id), self.as_of(), **self._materiality())

    def mid_month_pace(self, customer_id: str) -> BudgetPace | None:
        """The category furthest ahead of its suggested budget's pace this month, if materially."""
        frame = self._frame(customer_id)
        as_of = self.as_of()
        return trends.budget_pace(frame, as_of, self.budget(customer_id), recurring.scan_recurring(frame, as_of),
                                  **self._materiality())

    def _materiality(self) -> dict[str, float]:
        """When a trend or pace is worth telling ([analytics] trend_min_change, trend_min_increase)."""
        return {"min_change": self.config.analytics.trend_min_change,
                "min_increase": self.config.analytics.trend_min_increase}

    def balance_forecast(self, customer_id: str, low_balance_threshold: float | None = None) -> BalanceForecast:
        """Will the balance robustly fall below the threshold before the next income? With one tip that fits.

        Warns (`status` "will_cross") only on a robust crossing; otherwise it abstains and `message` says why:
        "not_enough_history" (under eight weeks), "no_income", "income_missed" (the income is overdue),
        "uncertain" (the usual path crosses, the conservative checks do not), or "no_balance"."""
        frame = self._frame(customer_id)
        as_of = self.as_of()
        info = self.balance(customer_id, low_balance_threshold)
        overdraft = None
        if info.amount is not None:
            # Only a product the recommender would offer (its eligibility rules) is ever suggested.
            offered = self.recommendations(customer_id, kind="overdraft", limit=1)
            overdraft = (offered[0].name, offered[0].pitch) if offered else None
        return forecast.forecast_balance(
            frame, as_of, info.amount, info.as_of.date() if info.as_of is not None else None,
            info.low_balance_threshold, recurring.scan_recurring(frame, as_of), overdraft)


def _monthly_income(profile: CustomerProfile) -> float:
    """Credits per month over the same span `monthly_spend` uses, so the two compare like with like."""
    months_span = max(1.0, ((profile.last_seen - profile.first_seen).days + 1) / 30.4375)
    return round(profile.total_income / months_span, 2)
