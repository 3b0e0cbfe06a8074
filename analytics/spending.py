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


def _customer_rows(txns: pd.DataFrame, customer_id: str | None) -> pd.DataFrame:
    if customer_id is not None and "customer_id" in txns.columns:
        return txns[txns["customer_id"].astype(str) == str(customer_id)]
    return txns


def _is_debit(frame: pd.DataFrame) -> pd.Series:
    """Contract §1: with no TransactionType every row is a debit."""
    if "txn_type" not in frame.columns:
        return pd.Series(True, index=frame.index)
    kind = frame["txn_type"].astype("string").str.upper()
    return (kind != CREDIT).fillna(True).astype(bool)


def _categories(frame: pd.DataFrame) -> pd.Series:
    if "category" not in frame.columns:
        return pd.Series(UNCATEGORIZED, index=frame.index, dtype=object)
    return frame["category"].astype(object).where(frame["category"].notna(), UNCATEGORIZED)


def _window(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Rows whose timestamp falls on a day from `start` to `end` inclusive."""
    ts = pd.to_datetime(frame["ts"])
    lo = pd.Timestamp(start)
    hi = pd.Timestamp(end) + pd.Timedelta(days=1)
    return frame[(ts >= lo) & (ts < hi)]


def _month_window(frame: pd.DataFrame, month: str, as_of: dt.date) -> tuple[pd.DataFrame, dt.date, dt.date]:
    start, last = month_bounds(month)
    end = min(last, as_of)
    if end < start:
        return frame.iloc[0:0], start, end
    return _window(frame, start, end), start, end


def category_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Debit totals and counts per category, largest first (ties by name)."""
    debits = frame[_is_debit(frame)]
    if debits.empty:
        return pd.DataFrame({"amount": pd.Series(dtype=float), "count": pd.Series(dtype=int)})
    grouped = debits.assign(category=_categories(debits)).groupby("category")["amount"].agg(["sum", "count"])
    grouped = grouped.rename(columns={"sum": "amount"})
    grouped = grouped.reset_index().sort_values(["amount", "category"], ascending=[False, True])
    return grouped.set_index("category")


def _as_category_amounts(totals: pd.DataFrame) -> tuple[CategoryAmount, ...]:
    grand = float(totals["amount"].sum()) if len(totals) else 0.0
    return tuple(
        CategoryAmount(category=str(cat), amount=round(float(amount), 2),
                       share=(float(amount) / grand) if grand > 0 else 0.0, count=int(count))
        for cat, amount, count in zip(totals.index, totals["amount"], totals["count"], strict=True)
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
    return bool((pd.to_datetime(frame["ts"]) < pd.Timestamp(day)).any())


def month_over_month_changes(txns: pd.DataFrame, month: str, as_of: dt.date) -> tuple[CategoryChange, ...]:
    """Category changes of `month` (up to as_of) against the whole previous month; () without prior history."""
    current, start, _ = _month_window(txns, month, as_of)
    if not _has_history_before(txns, start):
        return ()
    prior, _, _ = _month_window(txns, previous_month(month), as_of)
    return compare_categories(category_totals(prior)["amount"].to_dict(),
                              category_totals(current)["amount"].to_dict())


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
    own = _customer_rows(txns, customer_id)
    current, start, end = _month_window(own, month, as_of)
    debit_mask = _is_debit(current)
    totals = category_totals(current)
    has_prior = _has_history_before(own, start)
    prev_name = previous_month(month)
    prev_total: float | None = None
    changes: tuple[CategoryChange, ...] = ()
    if has_prior:
        prior, _, _ = _month_window(own, prev_name, as_of)
        prior_totals = category_totals(prior)
        prev_total = round(float(prior_totals["amount"].sum()), 2)
        changes = compare_categories(prior_totals["amount"].to_dict(), totals["amount"].to_dict())
    return SpendingSummary(
        customer_id=str(customer_id),
        month=month,
        start=start,
        end=max(start, end),
        is_partial=not is_complete(month, as_of),
        total_out=round(float(current.loc[debit_mask, "amount"].sum()), 2),
        total_in=round(float(current.loc[~debit_mask, "amount"].sum()), 2),
        n_debits=int(debit_mask.sum()),
        by_category=_as_category_amounts(totals),
        previous_month=prev_name if has_prior else None,
        previous_total_out=prev_total,
        changes=changes,
    )


def monthly_breakdown(txns: pd.DataFrame) -> pd.DataFrame:
    """Month (`YYYY-MM` index) x category debit totals, zeros where nothing was spent."""
    debits = txns[_is_debit(txns)]
    if debits.empty:
        return pd.DataFrame(dtype=float)
    months = pd.to_datetime(debits["ts"]).dt.strftime("%Y-%m")
    table = (debits.assign(month=months, category=_categories(debits))
             .pivot_table(index="month", columns="category", values="amount", aggfunc="sum", fill_value=0.0))
    table.columns.name = None
    return table.sort_index().astype(float)


def _budget_months(own: pd.DataFrame, as_of: dt.date, months: int) -> list[str]:
    """Up to `months` complete months ending last month, none before the customer's first transaction."""
    if own.empty or months <= 0:
        return []
    first = month_of(pd.to_datetime(own["ts"]).min().date())
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
    own = _customer_rows(txns, customer_id)
    chosen = _budget_months(own, as_of, months)
    if not chosen:
        return BudgetPlan(customer_id=str(customer_id), months_used=0, lines=(), total_suggested=0.0,
                          total_saving=0.0)
    start, _ = month_bounds(chosen[0])
    _, end = month_bounds(chosen[-1])
    table = monthly_breakdown(_window(own, start, end)).reindex(chosen, fill_value=0.0)
    lines = []
    for category in table.columns:
        if category == "income":
            continue
        values = table[category].to_numpy(dtype=float)
        average = float(values.mean())
        if average <= 0:
            continue
        suggested = suggested_budget(str(category), average, float(np.median(values)))
        lines.append(BudgetLine(category=str(category), average_monthly=round(average, 2),
                                last_month=round(float(values[-1]), 2), suggested=suggested,
                                saving=round(max(0.0, average - suggested), 2)))
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
    )

