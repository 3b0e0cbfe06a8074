"""Low balance before it happens: warn only when the customer's own history says the crossing is robust.

The forecast abstains (no warning, and says why) rather than guess:
- `no_balance`: no balance on record; `below_now`: already below (the after-the-fact warning's case);
- `not_enough_history`: under eight weeks of transactions (too few to know the usual week or a pay cycle);
- `no_income`: no regular income (`analytics.recurring`: a monthly or weekly credit on its usual day), so
  there is no "before the next income" to speak of;
- `income_missed`: the regular income is already overdue (its expected day has passed without it): a late
  salary changes everything, so nothing is projected until it arrives;
- `uncertain`: the usual path crosses, but not robustly (below).

Otherwise the balance is projected day by day from the latest balance on record until the day before the
EARLIEST plausible next pay day: the last pay day plus the shortest interval between the customer's own past
pay days, or the income's expected day if that is sooner. Each day takes off everyday spending (rows of
recurring payments left out) and, on their expected days, the recurring debits (rent, bills, EMIs).

It warns (`will_cross`) only when all four agree:
1. the usual path (the median of the last eight full weeks, a seventh a day: one big purchase is not a habit)
   crosses the threshold before the earliest plausible pay day;
2. at least CONFIDENCE (90%) of PATHS spending paths resampled from the customer's own days of the last eight
   weeks (each day's everyday spending less its credits other than the income; a fixed seed, so the answer
   is a pure function of the history) cross it too: the warning holds at a conservative (low, the
   10th-percentile) spending, not only at the usual one;
3. the customer's own past pay cycles agree: at the same number of days before each past pay day, the money
   that actually went out (everything: everyday, bills, less any odd credits) until that pay day would have
   taken today's balance below the threshold in at least CYCLE_SHARE of the cycles on record. Money usually
   runs low just before pay day; this asks whether it did for this customer;
4. the crossing is at most MAX_LEAD_DAYS (14) days ahead: further out, too much can change (the daily check
   warns later if it still holds).
The crossing reported is the usual path's. The levels (90%, 75%, 14 days) were chosen on two synthetic seeds
and checked on a third and on the public data (benchmarks/forecast_backtest.py; README).

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
from analytics.recurring import CADENCE_BY_NAME, RecurringScan, expected_dates, merchant_key
from analytics.results import BalanceForecast, RecurringPayment, ScheduledPayment
from analytics.schema import CREDIT, UNCATEGORIZED
from analytics.spending import ESSENTIAL_CATEGORIES

WINDOW_WEEKS = 8                    # everyday spending: the median of the last eight full weeks
MIN_HISTORY_DAYS = 7 * WINDOW_WEEKS  # fewer days on record: not_enough_history
PAY_INTERVALS = 6                   # the earliest next pay day: the shortest of the last few pay intervals
PATHS = 500                         # resampled spending paths ...
SEED = 20161010                     # ... drawn with one fixed seed
CONFIDENCE = 0.9                    # share of the resampled paths that must cross too
CYCLE_SHARE = 0.75                  # share of the past pay cycles that must have crossed too
MAX_LEAD_DAYS = 14                  # a crossing further ahead is not warned of yet (later passes will)
MAX_CUT_SHARE = 0.5                 # a tip never asks to cut more than half of a category's spending
NOT_CUTTABLE = ESSENTIAL_CATEGORIES | {"income", UNCATEGORIZED}
ABSTAIN = frozenset({"no_balance", "not_enough_history", "no_income", "income_missed", "uncertain"})


def _money(amount: float) -> str:
    return format_inr(amount, paise=False)


def _round_up(amount: float, step: float = 100.0) -> float:
    """Up to the next `step` (float noise below a paisa does not count: 8,600.000000001 is 8,600)."""
    return math.ceil(round(amount / step, 6)) * step


def _days(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_datetime(frame["ts"]).to_numpy().astype("datetime64[D]")


def _is_credit(frame: pd.DataFrame) -> np.ndarray:
    if "txn_type" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.array([isinstance(k, str) and k.upper() == CREDIT for k in frame["txn_type"].tolist()], dtype=bool)


def everyday_spending(frame: pd.DataFrame, as_of: dt.date, recurring_rows: np.ndarray,
                      weeks: int = WINDOW_WEEKS) -> tuple[float, dict[str, float], np.ndarray]:
    """(usual spending a day, share of it per category, everyday spending of each day) over the last
    `weeks` full weeks ending on as_of (fewer for a newer customer). Recurring rows are left out."""
    days = _days(frame)
    known = days[~np.isnat(days)]
    if len(known) == 0:
        return 0.0, {}, np.zeros(0)
    first_seen = pd.Timestamp(known.min()).date()
    full_weeks = min(weeks, max(0, ((as_of - first_seen).days + 1) // 7))
    if full_weeks == 0:
        return 0.0, {}, np.zeros(0)
    start = as_of - dt.timedelta(days=7 * full_weeks - 1)
    in_window = (days >= np.datetime64(start)) & (days <= np.datetime64(as_of))
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    chosen = in_window & ~_is_credit(frame) & ~recurring_rows & ~np.isnan(amounts)
    offset = (days[chosen] - np.datetime64(start)).astype(np.int64)
    per_day = np.bincount(offset, weights=amounts[chosen], minlength=7 * full_weeks)
    weekly = per_day.reshape(full_weeks, 7).sum(axis=1)
    daily = float(statistics.median(weekly.tolist())) / 7
    cats = frame["category"].to_numpy(dtype=object) if "category" in frame.columns \
        else np.full(len(frame), UNCATEGORIZED, dtype=object)
    by_category: dict[str, float] = {}
    for category, amount in zip(cats[chosen].tolist(), amounts[chosen].tolist(), strict=True):
        name = category if isinstance(category, str) else UNCATEGORIZED
        by_category[name] = by_category.get(name, 0.0) + amount
    total = sum(by_category.values())
    shares = {c: a / total for c, a in by_category.items()} if total > 0 else {}
    return daily, shares, per_day


def other_credits(frame: pd.DataFrame, as_of: dt.date, recurring_rows: np.ndarray, n_days: int) -> np.ndarray:
    """Credits that are not a regular income (refunds, transfers in) on each of the last `n_days` days."""
    if n_days == 0:
        return np.zeros(0)
    days = _days(frame)
    start = as_of - dt.timedelta(days=n_days - 1)
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    chosen = (days >= np.datetime64(start)) & (days <= np.datetime64(as_of)) & _is_credit(frame) \
        & ~recurring_rows & ~np.isnan(amounts)
    offset = (days[chosen] - np.datetime64(start)).astype(np.int64)
    return np.bincount(offset, weights=amounts[chosen], minlength=n_days)


def pay_days(frame: pd.DataFrame, income: RecurringPayment, series_rows: np.ndarray) -> list[dt.date]:
    """The days the regular income was credited, oldest first."""
    credits = _is_credit(frame) & series_rows
    if "merchant" in frame.columns:
        keys = frame["merchant"].to_numpy(dtype=object)
        credits &= np.array([merchant_key(k) == income.merchant for k in keys.tolist()], dtype=bool)
    days = sorted({pd.Timestamp(d).date() for d in _days(frame)[credits].tolist() if not pd.isna(d)})
    return days


def earliest_pay_day(days: list[dt.date], income: RecurringPayment) -> dt.date:
    """The soonest the next pay can plausibly come: the last pay day plus the shortest recent interval, or
    the expected day if that is sooner."""
    if len(days) < 2:
        return income.next_expected
    period = {"weekly": 7, "monthly": 30}.get(income.interval, 30)
    # A gap far shorter than the cadence is two credits of one period (an arrear, a bonus), not a pay cycle.
    recent = days[-PAY_INTERVALS - 1:]
    gaps = [g for a, b in zip(recent, recent[1:], strict=False) if (g := (b - a).days) >= 0.7 * period]
    if not gaps:
        return income.next_expected
    return min(income.next_expected, days[-1] + dt.timedelta(days=min(gaps)))


def income_overdue(income: RecurringPayment, as_of: dt.date) -> bool:
    """The income's expected day has passed (beyond its cadence's tolerance) without it: a charge the
    recurring scan treats as skipped, or a late one."""
    cadence = CADENCE_BY_NAME[income.interval]
    return income.next_expected < as_of or \
        (as_of - income.last_date).days > cadence.period_days + cadence.tolerance


def cycle_drawdowns(frame: pd.DataFrame, days_left: int, pays: list[dt.date],
                    income_rows: np.ndarray) -> list[float]:
    """For each past pay day with the history to show it: the most the balance went down from `days_left`
    days before that pay day until the day before it (debits less credits other than the income itself)."""
    days = _days(frame)
    amounts = frame["amount"].to_numpy(dtype=float, na_value=0.0)
    signed = np.where(_is_credit(frame), -amounts, amounts)
    signed[income_rows] = 0.0
    known = days[~np.isnat(days)]
    if len(known) == 0:
        return []
    first = pd.Timestamp(known.min()).date()
    out: list[float] = []
    for pay in pays:
        start = pay - dt.timedelta(days=days_left)
        if start <= first:
            continue
        # after the analog of as_of (its end of day) up to the day before pay day
        window = (days > np.datetime64(start)) & (days < np.datetime64(pay))
        order = np.argsort(days[window], kind="stable")
        flow = np.cumsum(signed[window][order])
        out.append(float(max(0.0, flow.max())) if len(flow) else 0.0)
    return out


def _clipped(year: int, month: int, day: int) -> dt.date:
    """`day` of that month, or its last day (30 -> 29 Feb)."""
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return min(dt.date(year, month, 1) + dt.timedelta(days=day - 1), following - dt.timedelta(days=1))


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
    """Project the balance until the earliest plausible next pay day; warn only on a robust crossing.

    `overdraft` is (name, pitch) of an overdraft product the customer is eligible for, or None.
    """
    def result(status: str, message: str, **figures: object) -> BalanceForecast:
        base: dict[str, object] = dict(
            status=status, balance=balance, balance_date=balance_date, threshold=threshold, daily_spend=0.0,
            horizon_end=None, crossing_date=None, lowest_balance=None, income=recurring.regular_income,
            income_date=None, earliest_income_date=None, days_before_income=None, scheduled=(), shortfall=0.0,
            paths_crossing=None, cycles_crossing=None, cycles=0, tip=None, message=message)
        base.update(figures)
        return BalanceForecast(**base)  # type: ignore[arg-type]

    if balance is None:
        return result("no_balance", "No balance is on record for this account, so it cannot be forecast.")
    days = _days(frame)
    known = days[~np.isnat(days)]
    first_seen = pd.Timestamp(known.min()).date() if len(known) else as_of
    if (as_of - first_seen).days + 1 < MIN_HISTORY_DAYS:
        return result("not_enough_history", f"Fewer than {WINDOW_WEEKS} weeks of transactions are on record, "
                                            "too few to know your usual spending and pay cycle, so no forecast.")
    daily, shares, per_day = everyday_spending(frame, as_of, recurring.series_rows)
    daily = round(daily, 2)
    if balance < threshold:
        return result("below_now", f"Your balance of {format_inr(balance)} is already below "
                                   f"{_money(threshold)}.", daily_spend=daily)
    income = recurring.regular_income
    if income is None:
        return result("no_income", "No regular income (a salary or pension on its usual day) is credited to "
                                   "this account, so there is no next pay day to forecast to.", daily_spend=daily)
    word = _income_word(income)
    if income_overdue(income, as_of):
        missed = min(income.next_expected, income.last_date + dt.timedelta(
            days=round(CADENCE_BY_NAME[income.interval].period_days)))
        if income.day_of_month is not None and income.interval == "monthly":
            month = income.last_date.month % 12 + 1
            year = income.last_date.year + (income.last_date.month == 12)
            missed = min(income.next_expected, _clipped(year, month, income.day_of_month))
        return result("income_missed", f"{word.capitalize()} was expected around {format_date(missed)} and has "
                                       "not come in yet, so the balance is not forecast until it does.",
                      daily_spend=daily, income_date=missed)
    tomorrow = as_of + dt.timedelta(days=1)
    income_date = max(income.next_expected, tomorrow)
    pays = pay_days(frame, income, recurring.series_rows)
    earliest = max(tomorrow, earliest_pay_day(pays, income))
    horizon_end = income_date - dt.timedelta(days=1)
    until = f"until {word}"
    n_days = (horizon_end - as_of).days
    scheduled = tuple(sorted(
        (ScheduledPayment(p.merchant, p.label, p.category, p.amount, day)
         for p in recurring.payments for day in expected_dates(p, tomorrow, horizon_end)),
        key=lambda s: (s.date, -s.amount)))
    if n_days <= 0:
        return result("stays_above", f"{word.capitalize()} is expected tomorrow.", daily_spend=daily,
                      horizon_end=horizon_end, lowest_balance=balance, income_date=income_date,
                      earliest_income_date=earliest)
    lumps = np.zeros(n_days)
    for item in scheduled:
        lumps[(item.date - tomorrow).days] += item.amount
    path = balance - daily * np.arange(1, n_days + 1) - np.cumsum(lumps)
    lowest = round(float(path.min()), 2)
    below = np.flatnonzero(path < threshold)
    # The robust checks look only until the earliest plausible pay day.
    robust_days = (earliest - tomorrow).days
    # A resampled day is a real day of the last eight weeks: what went out on it less what came in besides
    # the income (a refund, a transfer from family), so a customer who is often topped up is not warned.
    net_days = per_day - other_credits(frame, as_of, recurring.series_rows, len(per_day))
    rng = np.random.default_rng(SEED)
    draws = rng.choice(net_days, size=(PATHS, n_days)) if len(net_days) else np.zeros((PATHS, n_days))
    paths = balance - np.cumsum(draws, axis=1) - np.cumsum(lumps)
    paths_crossing = float((paths[:, :robust_days] < threshold).any(axis=1).mean()) if robust_days > 0 else 0.0
    income_rows = recurring.series_rows & _is_credit(frame)
    drawdowns = cycle_drawdowns(frame, (income_date - as_of).days, pays, income_rows)
    cycles_crossing = (sum(balance - d < threshold for d in drawdowns) / len(drawdowns)) if drawdowns else None
    figures: dict[str, object] = dict(daily_spend=daily, horizon_end=horizon_end, lowest_balance=lowest,
                                      income_date=income_date, earliest_income_date=earliest, scheduled=scheduled,
                                      paths_crossing=paths_crossing, cycles_crossing=cycles_crossing,
                                      cycles=len(drawdowns))
    if len(below) == 0:
        return result("stays_above", f"At your usual {_money(daily)} a day your balance should stay above "
                                     f"{_money(threshold)} until {word} around {format_date(income_date)} "
                                     f"(lowest about {_money(lowest)}).", **figures)
    crossing = tomorrow + dt.timedelta(days=int(below[0]))
    doubts = []
    if crossing >= earliest:
        doubts.append(f"{word} can come as early as {format_date(earliest)}")
    if paths_crossing < CONFIDENCE:
        doubts.append(f"only {paths_crossing:.0%} of spending paths drawn from your recent days get there "
                      f"before {format_date(earliest)}")
    if cycles_crossing is None or cycles_crossing < CYCLE_SHARE:
        doubts.append("your past pay cycles do not show it" if cycles_crossing is not None
                      else "no past pay cycle on record shows it")
    if (crossing - as_of).days > MAX_LEAD_DAYS:
        doubts.append(f"it is {(crossing - as_of).days} days away, too far ahead to be sure")
    if doubts:
        return result("uncertain", f"At your usual {_money(daily)} a day you might go below {_money(threshold)} "
                                   f"around {format_date(crossing)}, but not surely ({'; '.join(doubts)}), so "
                                   "no warning.", crossing_date=crossing, **figures)
    gaps = threshold - path
    shortfall = round(float(gaps.max()), 2)
    # The even daily cut that keeps every day at or above the threshold.
    per_day_cut = float(max(gaps[i] / (i + 1) for i in below.tolist()))
    tip = _cut_tip(shares, daily, per_day_cut, n_days, until, threshold)
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
    days_before = (income_date - crossing).days
    message = (f"At your usual {_money(daily)} a day{with_due} you will be below {_money(threshold)} around "
               f"{format_date(crossing)}, {days_before} day{'s' if days_before != 1 else ''} before {word}.")
    return result("will_cross", message, crossing_date=crossing, days_before_income=days_before,
                  shortfall=shortfall, tip=tip, **figures)
