"""Low balance before it happens: the balance projected day by day until the next income.

The projection starts from the latest balance on record and takes off, each day, the customer's usual
everyday spending: the median week of the last eight full weeks (fewer for a newer customer, at least
three) divided by seven, leaving out the rows of recurring payments, which are instead taken off on the
days they are expected (`analytics.recurring`: rent, bills, subscriptions, EMIs on their usual day). The
median week keeps one big purchase from passing for a habit. It runs until the day before the next regular
income (salary, pension or allowance on its usual day) or, with none on record, for 30 days, and warns when
the balance would end a day below the threshold.

The tip, one, fits the facts: a cut in everyday categories (not essentials) that would keep the balance
above the threshold, if it is at most half of what those categories would take in the time (one category,
else two); else the overdraft protection the customer is eligible for (the caller checks eligibility with
`analytics.recommend`); else the size of the gap, honestly.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import pandas as pd

from analytics.money import format_date, format_inr
from analytics.recurring import RecurringScan, expected_dates
from analytics.results import BalanceForecast, RecurringPayment, ScheduledPayment
from analytics.schema import CREDIT, UNCATEGORIZED
from analytics.spending import ESSENTIAL_CATEGORIES

WINDOW_WEEKS = 8                    # everyday spending: the median of up to this many recent full weeks
MIN_WEEKS = 3                       # fewer weeks on record: no forecast
DAYS_WITHOUT_INCOME = 30            # how far to look when no regular income is credited
MAX_CUT_SHARE = 0.5                 # a tip never asks to cut more than half of a category's spending
NOT_CUTTABLE = ESSENTIAL_CATEGORIES | {"income", UNCATEGORIZED}


def _money(amount: float) -> str:
    return format_inr(amount, paise=False)


def _round_up(amount: float, step: float = 100.0) -> float:
    """Up to the next `step` (float noise below a paisa does not count: 8,600.000000001 is 8,600)."""
    return math.ceil(round(amount / step, 6)) * step


def everyday_spending(frame: pd.DataFrame, as_of: dt.date, recurring_rows: np.ndarray,
                      weeks: int = WINDOW_WEEKS) -> tuple[float, dict[str, float], int]:
    """(usual spending a day, share of it per category, full weeks used) from the recent full weeks.

    Weeks end on as_of (the last one is the seven days up to and including it); a week counts only if the
    customer's first transaction is on or before its first day. Recurring rows are left out.
    """
    stamps = pd.to_datetime(frame["ts"]).to_numpy()
    known = stamps[~np.isnat(stamps)]
    if len(known) == 0:
        return 0.0, {}, 0
    first_seen = pd.Timestamp(known.min()).date()
    full_weeks = min(weeks, max(0, ((as_of - first_seen).days + 1) // 7))
    if full_weeks == 0:
        return 0.0, {}, 0
    start = as_of - dt.timedelta(days=7 * full_weeks - 1)
    days = stamps.astype("datetime64[D]")
    in_window = (days >= np.datetime64(start)) & (days <= np.datetime64(as_of))
    kinds = frame["txn_type"].to_numpy(dtype=object) if "txn_type" in frame.columns else np.full(len(frame), None)
    debit = np.array([not (isinstance(k, str) and k.upper() == CREDIT) for k in kinds.tolist()], dtype=bool)
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    chosen = in_window & debit & ~recurring_rows & ~np.isnan(amounts)
    week = ((days[chosen] - np.datetime64(start)).astype(np.int64) // 7)
    totals = np.bincount(week, weights=amounts[chosen], minlength=full_weeks)
    daily = float(statistics.median(totals.tolist())) / 7
    cats = frame["category"].to_numpy(dtype=object) if "category" in frame.columns \
        else np.full(len(frame), UNCATEGORIZED, dtype=object)
    by_category: dict[str, float] = {}
    for category, amount in zip(cats[chosen].tolist(), amounts[chosen].tolist(), strict=True):
        name = category if isinstance(category, str) else UNCATEGORIZED
        by_category[name] = by_category.get(name, 0.0) + amount
    total = sum(by_category.values())
    shares = {c: a / total for c, a in by_category.items()} if total > 0 else {}
    return daily, shares, full_weeks


def _income_word(income: RecurringPayment) -> str:
    text = income.label.upper()
    if "SALARY" in text or "SAL CREDIT" in text:
        return "your salary"
    if "PENSION" in text:
        return "your pension"
    return f"your next regular credit ({income.label})"


def _cut_tip(shares: dict[str, float], daily: float, per_day: float, days: int, until: str,
             threshold: float) -> str | None:
    """A cut of `per_day` spread over the horizon, from one everyday category, else two; None if it would
    take more than MAX_CUT_SHARE of them."""
    cuttable = sorted(((s, c) for c, s in shares.items() if c not in NOT_CUTTABLE and s > 0),
                      key=lambda pair: (-pair[0], pair[1]))
    for size in (1, 2):
        chosen = cuttable[:size]
        if len(chosen) < size:
            break
        available = sum(s for s, _ in chosen) * daily
        if available > 0 and per_day <= MAX_CUT_SHARE * available:
            total = _round_up(per_day * days)
            parts = [(c, _round_up(total * s / sum(s for s, _ in chosen))) for s, c in chosen]
            what = " and ".join(f"{_money(amount)} less on {c}" for c, amount in parts)
            return (f"Spending {what} {until} (about {_money(_round_up(per_day, 10))} a day) would keep you "
                    f"above {_money(threshold)}.")
    return None


def forecast_balance(frame: pd.DataFrame, as_of: dt.date, balance: float | None, balance_date: dt.date | None,
                     threshold: float, recurring: RecurringScan,
                     overdraft: tuple[str, str] | None = None) -> BalanceForecast:
    """Project the balance until the next income and say whether it crosses `threshold` first.

    `overdraft` is (name, pitch) of an overdraft product the customer is eligible for, or None.
    """
    def result(status: str, message: str, **figures: object) -> BalanceForecast:
        base: dict[str, object] = dict(
            status=status, balance=balance, balance_date=balance_date, threshold=threshold, daily_spend=0.0,
            horizon_end=None, crossing_date=None, lowest_balance=None, income=recurring.regular_income,
            income_date=None, days_before_income=None, scheduled=(), shortfall=0.0, tip=None, message=message)
        base.update(figures)
        return BalanceForecast(**base)  # type: ignore[arg-type]

    if balance is None:
        return result("no_balance", "No balance is on record for this account, so it cannot be forecast.")
    daily, shares, weeks = everyday_spending(frame, as_of, recurring.series_rows)
    if weeks < MIN_WEEKS:
        return result("not_enough_history", "Fewer than three weeks of transactions are on record, too few "
                                            "to know your usual spending.")
    daily = round(daily, 2)
    if balance < threshold:
        return result("below_now", f"Your balance of {format_inr(balance)} is already below "
                                   f"{_money(threshold)}.", daily_spend=daily)
    income = recurring.regular_income
    tomorrow = as_of + dt.timedelta(days=1)
    if income is not None:
        income_date = max(income.next_expected, tomorrow)   # a late credit is expected any day now
        horizon_end = income_date - dt.timedelta(days=1)
        until = f"until {_income_word(income)}"
    else:
        income_date = None
        horizon_end = as_of + dt.timedelta(days=DAYS_WITHOUT_INCOME)
        until = f"over the next {DAYS_WITHOUT_INCOME} days"
    n_days = (horizon_end - as_of).days
    scheduled = tuple(sorted(
        (ScheduledPayment(p.merchant, p.label, p.category, p.amount, day)
         for p in recurring.payments for day in expected_dates(p, tomorrow, horizon_end)),
        key=lambda s: (s.date, -s.amount)))
    if n_days <= 0 and income is not None:
        return result("stays_above", f"{_income_word(income).capitalize()} is expected tomorrow.",
                      daily_spend=daily, horizon_end=horizon_end, lowest_balance=balance, income_date=income_date)
    lumps = np.zeros(n_days)
    for item in scheduled:
        lumps[(item.date - tomorrow).days] += item.amount
    path = balance - daily * np.arange(1, n_days + 1) - np.cumsum(lumps)
    lowest = round(float(path.min()), 2)
    below = np.flatnonzero(path < threshold)
    figures: dict[str, object] = dict(daily_spend=daily, horizon_end=horizon_end, lowest_balance=lowest,
                                      income_date=income_date, scheduled=scheduled)
    if len(below) == 0:
        when = (f"until {_income_word(income)} around {format_date(income_date)}" if income and income_date
                else f"for the next {DAYS_WITHOUT_INCOME} days")
        return result("stays_above", f"At your usual {_money(daily)} a day your balance should stay above "
                                     f"{_money(threshold)} {when} (lowest about {_money(lowest)}).", **figures)
    crossing = tomorrow + dt.timedelta(days=int(below[0]))
    gaps = threshold - path
    shortfall = round(float(gaps.max()), 2)
    # The even daily cut that keeps every day at or above the threshold.
    per_day = float(max(gaps[i] / (i + 1) for i in below.tolist()))
    tip = _cut_tip(shares, daily, per_day, n_days, until, threshold)
    if tip is None and overdraft is not None:
        tip = f"You are eligible for {overdraft[0]}, which would cover the gap of about {_money(shortfall)}: {overdraft[1]}"
    if tip is None:
        tip = (f"You would need about {_money(_round_up(shortfall))} more {until} to stay above "
               f"{_money(threshold)}: more than cutting everyday spending can save.")
    due = [s for s in scheduled if s.date <= crossing]
    with_due = ""
    if due:
        biggest = max(due, key=lambda s: s.amount)
        with_due = f", with {_money(biggest.amount)} to {biggest.merchant} due around {format_date(biggest.date)}"
        if len(due) > 1:
            others = len(due) - 1
            with_due += f" and {others} other regular payment{'s' if others > 1 else ''}"
        with_due += ","
    head = f"At your usual {_money(daily)} a day{with_due} you will be below {_money(threshold)} around " \
           f"{format_date(crossing)}"
    if income is not None and income_date is not None:
        days_before = (income_date - crossing).days
        message = f"{head}, {days_before} day{'s' if days_before != 1 else ''} before {_income_word(income)}."
    else:
        days_before = None
        message = f"{head}; no regular income is credited to this account."
    return result("will_cross", message, crossing_date=crossing, days_before_income=days_before,
                  shortfall=shortfall, tip=tip, **figures)
