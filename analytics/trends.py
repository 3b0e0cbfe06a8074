"""Spending trends worth a message: the category that rose most in the month just closed against its usual
month, and a category running ahead of its budget pace in the month in progress.

"Usual" is the median of up to three complete months before the closed one (zero for a month with nothing
in the category), so one unusually cheap or dear month does not make the next look like a change; with only
one such month on record it is that month, and the sentence then names it ("than in August"). A month counts
as history only when the customer's first transaction falls in its first week (a half-covered first month
would make everything after it look like a rise). A change is material at >= 20% AND >= ₹500; of the
material rises the largest in rupees is reported. Income, `other` and uncategorised debits are never a trend.

Budget pace compares, from the 8th of the month, what a category has taken so far with what its suggested
budget (`analytics.spending.suggest_budget`) allows by today: recurring charges (a subscription in
`entertainment`) as they were actually charged, the rest of the budget pro rata to the day. Essential
categories (rent, utilities, ...) are commitments paid in lumps, not a pace, and are left out.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import replace

import numpy as np
import pandas as pd

from analytics.money import format_date, format_inr, format_percent
from analytics.periods import (
    last_complete_month,
    month_bounds,
    month_label,
    previous_month,
    this_month,
)
from analytics.recurring import RecurringScan
from analytics.results import BudgetPace, BudgetPlan, SpendingTrend
from analytics.schema import CREDIT, UNCATEGORIZED
from analytics.spending import ESSENTIAL_CATEGORIES, monthly_breakdown

MIN_CHANGE = 0.20                  # a change is material from +20% ...
MIN_INCREASE = 500.0               # ... and +₹500 (both)
USUAL_MONTHS = 3                   # complete months the usual month is the median of
FIRST_WEEK_DAYS = 7                # a month is history only if the customer was there in its first week
PACE_FIRST_DAY = 8                 # budget pace is judged from the 8th (a week of the month)
NOT_A_TREND = frozenset({"income", "transfers", "other", UNCATEGORIZED})


def _money(amount: float) -> str:
    return format_inr(amount, paise=False)


def _history_months(frame: pd.DataFrame, before: str, months: int) -> list[str]:
    """Up to `months` complete months before `before`, oldest first, none the customer only half covers."""
    stamps = pd.to_datetime(frame["ts"]).dropna()
    if stamps.empty:
        return []
    first_seen = stamps.min().date()
    chosen: list[str] = []
    month = previous_month(before)
    while len(chosen) < months:
        start, _ = month_bounds(month)
        if first_seen > start + dt.timedelta(days=FIRST_WEEK_DAYS - 1):
            break
        chosen.append(month)
        month = previous_month(month)
    return sorted(chosen)


def _month_names(months: list[str], reference: str) -> str:
    """"August"; "June to August"; a month of another year than `reference` keeps its year."""
    def name(month: str) -> str:
        label = month_label(month)
        return label.split()[0] if month[:4] == reference[:4] else label

    if len(months) == 1:
        return name(months[0])
    joiner = " and " if len(months) == 2 else " to "
    return f"{name(months[0])}{joiner}{name(months[-1])}"


def monthly_trend(frame: pd.DataFrame, as_of: dt.date, usual_months: int = USUAL_MONTHS,
                  min_change: float = MIN_CHANGE, min_increase: float = MIN_INCREASE) -> SpendingTrend | None:
    """The category that rose most in the last complete month against its usual month, if materially."""
    month = last_complete_month(as_of)
    history = _history_months(frame, month, usual_months)
    if not history:
        return None
    table = monthly_breakdown(frame)
    if month not in table.index:
        return None
    best: SpendingTrend | None = None
    for category in table.columns:
        if category in NOT_A_TREND:
            continue
        amount = float(table.at[month, category])
        before = [float(table.at[m, category]) if m in table.index else 0.0 for m in history]
        usual = statistics.median(before)
        increase = amount - usual
        if usual <= 0 or increase < min_increase or increase / usual < min_change or amount <= max(before):
            continue
        if best is not None and (increase, category) <= (best.increase, best.category):
            continue   # largest rise in rupees first; ties go to the earlier category name
        best = SpendingTrend(
            key=f"trend:{month}:{category}", month=month, category=str(category), amount=round(amount, 2),
            usual=round(usual, 2), usual_months=tuple(history), change=increase / usual,
            increase=round(increase, 2), message="",
        )
    if best is None:
        return None
    return _with_trend_message(best)


def _with_trend_message(trend: SpendingTrend) -> SpendingTrend:
    closed = month_label(trend.month).split()[0]
    history = list(trend.usual_months)
    if len(history) == 1:
        against = f"than in {_month_names(history, trend.month)}: {_money(trend.amount)} against {_money(trend.usual)}"
    else:
        kind = "average" if len(history) == 2 else "median"
        against = (f"than in a usual month: {_money(trend.amount)} against {_money(trend.usual)} "
                   f"(your {kind} month of {_month_names(history, trend.month)})")
    message = f"You spent {format_percent(trend.change)} more on {trend.category} in {closed} {against}."
    return replace(trend, message=message)


def _spent_between(frame: pd.DataFrame, start: dt.date, end: dt.date,
                   marked: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    """Debits per category from `start` to `end` inclusive: all of them, and those among the `marked` rows."""
    stamps = pd.to_datetime(frame["ts"]).to_numpy()
    in_month = (stamps >= np.datetime64(start)) & (stamps < np.datetime64(end + dt.timedelta(days=1)))
    kinds = frame["txn_type"].to_numpy(dtype=object) if "txn_type" in frame.columns else np.full(len(frame), None)
    debit = np.array([not (isinstance(k, str) and k.upper() == CREDIT) for k in kinds.tolist()], dtype=bool)
    chosen = in_month & debit
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    cats = frame["category"].to_numpy(dtype=object) if "category" in frame.columns \
        else np.full(len(frame), UNCATEGORIZED, dtype=object)
    spent: dict[str, float] = {}
    regular: dict[str, float] = {}
    for i in np.flatnonzero(chosen & ~np.isnan(amounts)).tolist():
        category = str(cats[i]) if isinstance(cats[i], str) else UNCATEGORIZED
        spent[category] = spent.get(category, 0.0) + float(amounts[i])
        if marked[i]:
            regular[category] = regular.get(category, 0.0) + float(amounts[i])
    return spent, regular


def budget_pace(frame: pd.DataFrame, as_of: dt.date, plan: BudgetPlan, recurring: RecurringScan | None = None,
                first_day: int = PACE_FIRST_DAY, min_change: float = MIN_CHANGE,
                min_increase: float = MIN_INCREASE) -> BudgetPace | None:
    """The category furthest ahead of its budget pace this month (from `first_day`), if materially."""
    if as_of.day < first_day or not plan.lines:
        return None
    month = this_month(as_of)
    _, last = month_bounds(month)
    share_of_month = as_of.day / last.day
    marked = recurring.series_rows if recurring is not None else np.zeros(len(frame), dtype=bool)
    spent, regular_spent = _spent_between(frame, month_bounds(month)[0], as_of, marked)
    # What the budget's months had taken by the same day: a pace the customer often keeps is no news.
    earlier, history = [], previous_month(month)
    for _ in range(plan.months_used):
        first, end = month_bounds(history)
        earlier.append(_spent_between(frame, first, min(end, first + dt.timedelta(days=as_of.day - 1)), marked)[0])
        history = previous_month(history)
    regular_monthly: dict[str, float] = {}
    for payment in recurring.payments if recurring is not None else ():
        regular_monthly[payment.category] = regular_monthly.get(payment.category, 0.0) + payment.monthly_equivalent
    best: BudgetPace | None = None
    for line in plan.lines:
        category = line.category
        if category in ESSENTIAL_CATEGORIES or category in NOT_A_TREND or line.suggested <= 0:
            continue
        flexible = max(0.0, line.suggested - regular_monthly.get(category, 0.0))
        expected = regular_spent.get(category, 0.0) + flexible * share_of_month
        so_far = spent.get(category, 0.0)
        ahead = so_far - expected
        if ahead < min_increase or (expected > 0 and ahead / expected < min_change):
            continue
        if so_far <= max((e.get(category, 0.0) for e in earlier), default=0.0):
            continue
        if best is not None and (ahead, category) <= (best.ahead, best.category):
            continue
        best = BudgetPace(
            key=f"pace:{month}:{category}", month=month, category=category, spent=round(so_far, 2),
            budget=round(line.suggested, 2), expected_by_now=round(expected, 2), ahead=round(ahead, 2),
            as_of=as_of,
            message=(f"By {format_date(as_of)} you have spent {_money(so_far)} on {category} this month, "
                     f"{_money(ahead)} ahead of the pace of your suggested {_money(line.suggested)} monthly "
                     f"budget ({_money(expected)} by now)."),
        )
    return best

