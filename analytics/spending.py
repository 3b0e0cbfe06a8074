"""Where one customer's money goes: monthly category totals, month-over-month changes, budgets, affordability.

Every function takes ONE customer's canonical transaction frame (analytics.schema.TXN_COLUMNS) whose
`category` column is already resolved (analytics.categorize.assign_categories).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.money import format_inr, format_percent
from analytics.periods import (
    is_complete,
    last_complete_month,
    month_bounds,
    month_label,
    month_of,
    previous_month,
)
from analytics.results import BudgetLine, BudgetPlan, CategoryAmount, CategoryChange, SpendingSummary
from analytics.schema import CREDIT, UNCATEGORIZED

# Budget rules: essentials are commitments, not habits, so the plan never cuts them.
ESSENTIAL_CATEGORIES = frozenset({"rent", "utilities", "education", "health", "transfers"})
# Discretionary categories get a trim on top of the typical month.
DISCRETIONARY_CATEGORIES = frozenset({"dining", "shopping", "entertainment"})
DISCRETIONARY_TRIM = 0.15
# A budget line suggests a cut only when it is worth doing: at least ₹10 and 2% of the usual month. A smaller
# difference (often the median a few paise under the mean) would read "save ₹0.01".
MIN_BUDGET_SAVING = 10.0
MIN_BUDGET_SAVING_SHARE = 0.02


@dataclass(frozen=True)
class Affordability:
    """Can a purchase be paid from the balance while keeping a month of spending as a cushion?"""

    price: float
    balance: float | None              # None = unknown
    cushion: float                     # one month of usual spending kept aside
    balance_after: float | None        # balance - price
    shortfall: float                   # how much is missing to pay and keep the cushion (0 if none)
    monthly_surplus: float             # monthly_income - monthly_spend (may be negative)
    can_afford: bool
    months_to_save: int | None         # 0 = now; None = never at the current surplus
    monthly_income: float = 0.0        # the income the surplus is based on (0 = none credited)


def _customer_rows(txns: pd.DataFrame, customer_id: str | None) -> pd.DataFrame:
    if customer_id is not None and "customer_id" in txns.columns:
        wanted = str(customer_id)
        ids = txns["customer_id"].to_numpy(dtype=object)
        if len(ids) and all(isinstance(v, str) and v == wanted for v in ids.tolist()):
            return txns  # the usual case (the facade reads one customer): skip the filtering copy
        return txns[txns["customer_id"].astype(str) == wanted]
    return txns


# ---- array views of small frames ----------------------------------------------------------------------
# One customer's frame holds a few hundred rows, where pandas' per-call overhead dwarfs the work; the
# helpers below read each column once into numpy/Python and reproduce pandas' arithmetic exactly
# (Kahan-compensated sums like groupby.sum, numpy pairwise sums like Series.sum, NaN amounts skipped).


def _ts_values(frame: pd.DataFrame) -> np.ndarray:
    ts = frame["ts"]
    if not (isinstance(ts.dtype, np.dtype) and ts.dtype.kind == "M"):
        ts = pd.to_datetime(ts)
    return ts.to_numpy()


def _debit_values(frame: pd.DataFrame) -> np.ndarray:
    if "txn_type" not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    kinds = frame["txn_type"].to_numpy(dtype=object)
    missing = pd.isna(kinds).tolist()
    return np.array([True if gone else str(kind).upper() != CREDIT
                     for kind, gone in zip(kinds.tolist(), missing, strict=True)], dtype=bool)


def _category_values(frame: pd.DataFrame) -> np.ndarray:
    if "category" not in frame.columns:
        return np.full(len(frame), UNCATEGORIZED, dtype=object)
    cats = frame["category"].to_numpy(dtype=object, copy=True)
    cats[pd.isna(cats)] = UNCATEGORIZED
    return cats


def _amount_values(frame: pd.DataFrame) -> np.ndarray:
    return frame["amount"].to_numpy(dtype=float, na_value=np.nan)


def _day(day: dt.date) -> np.datetime64:
    return np.datetime64(day, "D")


def _between(ts: np.ndarray, start: dt.date, end: dt.date) -> np.ndarray:
    """Mask of timestamps on a day from `start` to `end` inclusive."""
    return (ts >= _day(start)) & (ts < _day(end) + np.timedelta64(1, "D"))


def _nansum(values: np.ndarray) -> float:
    """Series.sum(): NaN counts as 0, numpy's pairwise summation."""
    return float(np.where(np.isnan(values), 0.0, values).sum())


def _kahan_groups(keys: list, amounts: list[float]) -> dict:
    """key -> [sum, count] exactly as pandas' groupby sum/count (NaN skipped, group kept).

    The sums come from one groupby on integer codes: pandas' compiled compensated sum is bit-for-bit
    what the figures always used, and grouping small int codes is far cheaper than grouping a frame.
    """
    codes: dict = {}
    labels = [codes.setdefault(key, len(codes)) for key in keys]
    if not labels:
        return {}
    sums = pd.Series(amounts, dtype=float).groupby(np.array(labels, dtype=np.int64)).sum().tolist()
    counts = [0] * len(codes)
    for label, value in zip(labels, amounts, strict=True):
        if value == value:
            counts[label] += 1
    return {key: [sums[code], counts[code]] for key, code in codes.items()}


@dataclass(frozen=True)
class _Rows:
    """The columns the spending figures need, read once from one customer's frame."""

    ts: np.ndarray          # datetime64
    amount: np.ndarray      # float64, NaN allowed
    debit: np.ndarray       # bool
    category: np.ndarray    # object, never missing

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Rows:
        return cls(_ts_values(frame), _amount_values(frame), _debit_values(frame), _category_values(frame))

    def month_mask(self, month: str, as_of: dt.date) -> tuple[np.ndarray, dt.date, dt.date]:
        start, last = month_bounds(month)
        end = min(last, as_of)
        if end < start:
            return np.zeros(len(self.ts), dtype=bool), start, end
        return _between(self.ts, start, end), start, end

    def totals(self, mask: np.ndarray) -> list[tuple[object, float, int]]:
        """(category, debit total, count) for the masked rows, largest first (ties by name)."""
        chosen = mask & self.debit
        groups = _kahan_groups(self.category[chosen].tolist(), self.amount[chosen].tolist())
        rows = [(cat, entry[0], entry[1]) for cat, entry in groups.items()]
        rows.sort(key=lambda row: (-row[1], row[0]))
        return rows


def _totals_frame(rows: list[tuple[object, float, int]]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({"amount": pd.Series(dtype=float), "count": pd.Series(dtype=int)})
    return pd.DataFrame(
        {"amount": np.array([r[1] for r in rows], dtype=float), "count": np.array([r[2] for r in rows], dtype=np.int64)},
        index=pd.Index([r[0] for r in rows], name="category"),
    )


def _is_debit(frame: pd.DataFrame) -> pd.Series:
    """Contract §1: with no TransactionType every row is a debit."""
    return pd.Series(_debit_values(frame), index=frame.index)


def _categories(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(_category_values(frame), index=frame.index, dtype=object)


def _window(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Rows whose timestamp falls on a day from `start` to `end` inclusive."""
    return frame[_between(_ts_values(frame), start, end)]


def _month_window(frame: pd.DataFrame, month: str, as_of: dt.date) -> tuple[pd.DataFrame, dt.date, dt.date]:
    start, last = month_bounds(month)
    end = min(last, as_of)
    if end < start:
        return frame.iloc[0:0], start, end
    return _window(frame, start, end), start, end


def category_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Debit totals and counts per category, largest first (ties by name)."""
    rows = _Rows.of(frame)
    return _totals_frame(rows.totals(np.ones(len(frame), dtype=bool)))


def _as_category_amounts(totals: pd.DataFrame) -> tuple[CategoryAmount, ...]:
    return _category_amounts(list(zip(totals.index, totals["amount"].tolist(), totals["count"].tolist(), strict=True)))


def _category_amounts(rows: list[tuple[object, float, int]]) -> tuple[CategoryAmount, ...]:
    grand = float(np.array([r[1] for r in rows], dtype=float).sum()) if rows else 0.0
    return tuple(
        CategoryAmount(category=str(cat), amount=round(float(amount), 2),
                       share=(float(amount) / grand) if grand > 0 else 0.0, count=int(count))
        for cat, amount, count in rows
    )


def compare_categories(previous: Mapping[str, float], current: Mapping[str, float]) -> tuple[CategoryChange, ...]:
    """Per-category change between two months, largest absolute rupee change first."""
    changes = []
    for category in sorted(set(previous) | set(current)):
        before = float(previous.get(category, 0.0))
        now = float(current.get(category, 0.0))
        if before == 0 and now == 0:
            continue
        ratio = (now - before) / before if before > 0 else None
        changes.append(CategoryChange(category=category, previous=round(before, 2), current=round(now, 2),
                                      change=ratio))
    changes.sort(key=lambda c: (-abs(c.current - c.previous), c.category))
    return tuple(changes)


def _has_history_before(frame: pd.DataFrame, day: dt.date) -> bool:
    if frame.empty:
        return False
    return bool((_ts_values(frame) < _day(day)).any())


def month_over_month_changes(txns: pd.DataFrame, month: str, as_of: dt.date) -> tuple[CategoryChange, ...]:
    """Category changes of `month` (up to as_of) against the whole previous month; () without prior history."""
    rows = _Rows.of(txns)
    current, start, _ = rows.month_mask(month, as_of)
    if not (rows.ts < _day(start)).any():
        return ()
    prior, _, _ = rows.month_mask(previous_month(month), as_of)
    return compare_categories({c: a for c, a, _ in rows.totals(prior)}, {c: a for c, a, _ in rows.totals(current)})


def describe_change(change: CategoryChange, previous_month_name: str) -> str:
    """One phrase: "30% more on dining than in August 2016"."""
    label = month_label(previous_month_name)
    if change.change is None:
        return f"{format_inr(change.current)} on {change.category}, nothing in {label}"
    if change.current == 0:
        return f"nothing on {change.category}, down from {format_inr(change.previous)} in {label}"
    direction = "more" if change.change > 0 else "less"
    return f"{format_percent(abs(change.change))} {direction} on {change.category} than in {label}"


def describe_top_change(summary: SpendingSummary, min_amount: float = 100.0) -> str | None:
    """The change most worth mentioning (largest rupee swing of at least `min_amount`), phrased; else None."""
    if summary.previous_month is None:
        return None
    for change in summary.changes:
        if abs(change.current - change.previous) >= min_amount:
            return describe_change(change, summary.previous_month)
    return None


def monthly_summary(txns: pd.DataFrame, customer_id: str, month: str, as_of: dt.date) -> SpendingSummary:
    """Debits by category, totals in and out, and the comparison with the previous month.

    A month that has not ended by `as_of` counts only up to `as_of` and is marked partial.
    """
    rows = _Rows.of(_customer_rows(txns, customer_id))
    current, start, end = rows.month_mask(month, as_of)
    totals = rows.totals(current)
    has_prior = bool((rows.ts < _day(start)).any())
    prev_name = previous_month(month)
    prev_total: float | None = None
    changes: tuple[CategoryChange, ...] = ()
    if has_prior:
        prior, _, _ = rows.month_mask(prev_name, as_of)
        prior_totals = rows.totals(prior)
        prev_total = round(float(np.array([r[1] for r in prior_totals], dtype=float).sum()), 2)
        changes = compare_categories({c: a for c, a, _ in prior_totals}, {c: a for c, a, _ in totals})
    out_mask = current & rows.debit
    return SpendingSummary(
        customer_id=str(customer_id),
        month=month,
        start=start,
        end=max(start, end),
        is_partial=not is_complete(month, as_of),
        total_out=round(_nansum(rows.amount[out_mask]), 2),
        total_in=round(_nansum(rows.amount[current & ~rows.debit]), 2),
        n_debits=int(out_mask.sum()),
        by_category=_category_amounts(totals),
        previous_month=prev_name if has_prior else None,
        previous_total_out=prev_total,
        changes=changes,
    )


def _month_category_sums(rows: _Rows, mask: np.ndarray) -> tuple[dict, list]:
    """(month, category) -> Kahan sum of the masked debits (NaT rows left out), and the categories seen."""
    chosen = mask & rows.debit & ~np.isnat(rows.ts)
    months = rows.ts[chosen].astype("datetime64[M]").astype(str).tolist()
    cats = rows.category[chosen].tolist()
    groups = _kahan_groups(list(zip(months, cats, strict=True)), rows.amount[chosen].tolist())
    return {key: entry[0] for key, entry in groups.items()}, cats


def monthly_breakdown(txns: pd.DataFrame) -> pd.DataFrame:
    """Month (`YYYY-MM` index) x category debit totals, zeros where nothing was spent."""
    rows = _Rows.of(txns)
    sums, cats = _month_category_sums(rows, np.ones(len(rows.ts), dtype=bool))
    if not sums:
        return pd.DataFrame(dtype=float)
    months = sorted({m for m, _ in sums})
    columns = sorted(set(cats))
    values = np.array([[sums.get((m, c), 0.0) for c in columns] for m in months], dtype=float)
    return pd.DataFrame(values, index=pd.Index(months, name="month"), columns=pd.Index(columns))


def _budget_months(own: pd.DataFrame, as_of: dt.date, months: int) -> list[str]:
    """Up to `months` complete months ending last month, none before the customer's first transaction."""
    if own.empty or months <= 0:
        return []
    return _budget_months_from(_ts_values(own), as_of, months)


def _budget_months_from(ts: np.ndarray, as_of: dt.date, months: int) -> list[str]:
    if len(ts) == 0 or months <= 0:
        return []
    known = ts[~np.isnat(ts)]
    earliest = pd.Timestamp(known.min()) if len(known) else pd.NaT
    first = month_of(earliest.date())
    chosen: list[str] = []
    month = last_complete_month(as_of)
    while len(chosen) < months and month >= first:
        chosen.append(month)
        month = previous_month(month)
    return sorted(chosen)


def suggested_budget(category: str, average: float, median: float) -> float:
    """Essentials keep their average; others take the typical month, discretionary ones trimmed a further
    DISCRETIONARY_TRIM.

    The typical month is the median when one unusual month inflated the mean (median below the mean but
    at least half of it); an occasional expense (median far below the mean, often 0) keeps the mean, so
    the plan never asks for an unrealistic ₹0.
    """
    if category in ESSENTIAL_CATEGORIES:
        return round(average, 2)
    typical = median if average / 2 <= median < average else average
    if category in DISCRETIONARY_CATEGORIES:
        typical *= 1 - DISCRETIONARY_TRIM
    return round(typical, 2)


def suggest_budget(txns: pd.DataFrame, customer_id: str, as_of: dt.date, months: int = 3) -> BudgetPlan:
    """A monthly budget per category from the trailing complete months, with the saving it would bring."""
    rows = _Rows.of(_customer_rows(txns, customer_id))
    chosen = _budget_months_from(rows.ts, as_of, months)
    if not chosen:
        return BudgetPlan(customer_id=str(customer_id), months_used=0, lines=(), total_suggested=0.0,
                          total_saving=0.0)
    start, _ = month_bounds(chosen[0])
    _, end = month_bounds(chosen[-1])
    sums, cats = _month_category_sums(rows, _between(rows.ts, start, end))
    lines = []
    for category in sorted(set(cats)):
        if category == "income":
            continue
        values = np.array([sums.get((m, category), 0.0) for m in chosen], dtype=float)
        average = float(values.mean())
        if average <= 0:
            continue
        usual = round(average, 2)
        suggested = suggested_budget(str(category), average, float(np.median(values)))
        saving = round(max(0.0, usual - suggested), 2)   # from the figures shown, so they add up line by line
        if saving < max(MIN_BUDGET_SAVING, MIN_BUDGET_SAVING_SHARE * usual):
            suggested, saving = usual, 0.0                # "₹7,379.19 -> ₹7,379.18, save ₹0.01" is no advice
        lines.append(BudgetLine(category=str(category), average_monthly=usual,
                                last_month=round(float(values[-1]), 2), suggested=suggested, saving=saving))
    lines.sort(key=lambda line: (-line.average_monthly, line.category))
    return BudgetPlan(
        customer_id=str(customer_id),
        months_used=len(chosen),
        lines=tuple(lines),
        total_suggested=round(sum(line.suggested for line in lines), 2),
        total_saving=round(sum(line.saving for line in lines), 2),
    )


def affordability(balance: float | None, monthly_income: float, monthly_spend: float,
                  price: float) -> Affordability:
    """Whether `price` can be paid now while keeping one month of spending aside, else how long saving takes.

    With an unknown balance nothing is assumed to be saved yet.
    """
    if price < 0:
        raise ValueError("price must not be negative")
    cushion = max(0.0, float(monthly_spend))
    surplus = float(monthly_income) - float(monthly_spend)
    have = float(balance) if balance is not None else 0.0
    shortfall = max(0.0, price + cushion - have)
    can_afford = balance is not None and shortfall == 0.0
    if can_afford:
        months: int | None = 0
    elif surplus > 0:
        months = max(1, math.ceil(shortfall / surplus))
    else:
        months = None
    return Affordability(
        price=float(price),
        balance=None if balance is None else float(balance),
        cushion=round(cushion, 2),
        balance_after=None if balance is None else round(float(balance) - price, 2),
        shortfall=round(shortfall, 2),
        monthly_surplus=round(surplus, 2),
        can_afford=can_afford,
        months_to_save=months,
        monthly_income=round(float(monthly_income), 2),
    )

