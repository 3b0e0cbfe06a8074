"""The monthly report for one customer: totals, top categories, biggest payments, balance change and a goal."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.balances import BalanceHistory
from analytics.money import format_inr
from analytics.periods import month_bounds, month_label, next_month
from analytics.results import BudgetPlan, MonthlyReport, TransactionBrief
from analytics.schema import DEBIT, UNCATEGORIZED
from analytics.spending import (
    ESSENTIAL_CATEGORIES,
    _amount_values,
    _between,
    _customer_rows,
    _debit_values,
    _ts_values,
    monthly_summary,
    suggest_budget,
)

TOP_CATEGORIES = 6
BIGGEST = 5
MIN_GOAL_SAVING = 100.0   # a smaller saving is not worth a goal; suggest saving the surplus instead


def _str_or_none(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text or None


def _month_rows(txns: pd.DataFrame, customer_id: str, month: str, as_of: dt.date) -> pd.DataFrame:
    own = _customer_rows(txns, customer_id)
    start, last = month_bounds(month)
    end = min(last, as_of)
    rows = own[_between(_ts_values(own), start, end)]
    sort_keys = ["ts", "transaction_id"] if "transaction_id" in rows.columns else ["ts"]
    if _already_sorted(rows, sort_keys):
        return rows  # the facade's frame comes ordered by (ts, transaction_id): a stable sort keeps it as is
    return rows.sort_values(sort_keys, kind="stable")


def _already_sorted(rows: pd.DataFrame, keys: list[str]) -> bool:
    """True when `rows` is already in (non-missing, non-decreasing) order of `keys`."""
    ts = _ts_values(rows)
    if np.isnat(ts).any():
        return False
    if len(keys) == 1:
        return bool((ts[1:] >= ts[:-1]).all())
    ids = rows[keys[1]].to_numpy(dtype=object).tolist()
    if not all(isinstance(v, str) for v in ids):
        return False
    pairs = list(zip(ts.tolist(), ids, strict=True))
    return all(a <= b for a, b in zip(pairs, pairs[1:], strict=False))


def _column(rows: pd.DataFrame, name: str, positions: list[int]) -> list[object]:
    if name not in rows.columns:
        return [None] * len(positions)
    values = rows[name].to_numpy(dtype=object)
    return [values[i] for i in positions]


def biggest_debits(rows: pd.DataFrame, n: int = BIGGEST) -> tuple[TransactionBrief, ...]:
    """The n largest payments out (ties: earliest first)."""
    debit = _debit_values(rows) if "txn_type" in rows.columns else np.ones(len(rows), dtype=bool)
    amounts = _amount_values(rows)
    candidates = np.flatnonzero(debit).tolist()
    known = [i for i in candidates if amounts[i] == amounts[i]]
    missing = [i for i in candidates if amounts[i] != amounts[i]]
    # pandas' stable descending sort: largest first, ties in their original order, NaN last
    top = (sorted(known, key=lambda i: -amounts[i]) + missing)[:max(n, 0)]
    ids, stamps, kinds, cats, merchants, places = (
        _column(rows, name, top)
        for name in ("transaction_id", "ts", "txn_type", "category", "merchant", "location"))
    return tuple(
        TransactionBrief(
            transaction_id=str(ids[k]),
            ts=pd.Timestamp(stamps[k]).to_pydatetime(),
            amount=round(float(amounts[i]), 2),
            txn_type=str(_str_or_none(kinds[k]) or DEBIT),
            category=str(_str_or_none(cats[k]) or UNCATEGORIZED),
            merchant=_str_or_none(merchants[k]),
            location=_str_or_none(places[k]),
        )
        for k, i in enumerate(top)
    )


def month_balance(txns: pd.DataFrame, customer_id: str, month: str,
                  as_of: dt.date) -> tuple[float | None, float | None, float | None, bool]:
    """(start, end, change, estimated) of the balance over `month` (to `as_of` if it has not ended).

    The start is the balance at the end of the day before the month, the end the balance at the end of its
    last counted day, both by analytics.balances' one rule (reported, else derived from the nearest reported
    balance); `estimated` says that either is derived.
    """
    own = _customer_rows(txns, customer_id)
    if "balance" not in own.columns or own.empty:
        return None, None, None, False
    if not _already_sorted(own, ["ts"]):
        own = own.sort_values("ts", kind="stable")
    history = BalanceHistory.of(own)
    first, last = month_bounds(month)
    before_start = pd.Timestamp(first) - pd.Timedelta(1, "ns")
    end = pd.Timestamp(min(last, as_of)) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    start_balance, end_balance, change = history.change(before_start, end)
    return start_balance, end_balance, change, history.derived_between(before_start, end)


def goal_for_next_month(plan: BudgetPlan, month: str, total_in: float, total_out: float,
                        essential_out: float = 0.0) -> str:
    """One concrete, numeric goal: the budget line with the biggest saving, else a savings target.

    `essential_out` is the month's rent, bills, fees, health and transfers (ESSENTIAL_CATEGORIES): a goal to
    spend less applies only to the rest, because a budget does not shrink those.
    """
    following = month_label(next_month(month))
    best = max(plan.lines, key=lambda line: (line.saving, line.category), default=None)
    if best is not None and best.saving >= MIN_GOAL_SAVING:
        return (f"In {following}, keep {best.category} to {format_inr(best.suggested, paise=False)} "
                f"(you average {format_inr(best.average_monthly, paise=False)}): that saves "
                f"{format_inr(best.saving, paise=False)}.")
    net = total_in - total_out
    if net > 0:
        return (f"In {following}, move {format_inr(round(net / 2, -2) or net, paise=False)} — half of this "
                "month's surplus — into savings early in the month.")
    everyday = max(0.0, total_out - essential_out)
    if everyday >= MIN_GOAL_SAVING * 10:      # a 10% cut worth at least MIN_GOAL_SAVING
        return (f"In {following}, aim to keep spending outside rent, bills and other essentials under "
                f"{format_inr(everyday * 0.9, paise=False)}, 10% less than in {month_label(month)}.")
    if total_out > 0 and essential_out >= everyday:
        share = "all" if everyday <= 0 else "almost all"
        return (f"In {following}, keep tracking: {share} of {month_label(month)}'s spending went on essentials "
                "(rent, bills, fees, health, transfers), which a budget won't shrink.")
    if total_out > 0:
        return (f"In {following}, keep your spending as low as in {month_label(month)} "
                f"({format_inr(total_out, paise=False)}).")
    return f"In {following}, keep tracking: a full month of transactions lets FinAssist suggest a budget."


def monthly_report(txns: pd.DataFrame, customer_id: str, month: str, as_of: dt.date) -> MonthlyReport:
    """Everything the monthly report says about `month` (counted up to `as_of` if it has not ended)."""
    summary = monthly_summary(txns, customer_id, month, as_of)
    rows = _month_rows(txns, customer_id, month, as_of)
    start_balance, end_balance, change, estimated = month_balance(txns, customer_id, month, as_of)
    # The goal looks at the months up to and including this one.
    budget_as_of = min(as_of, month_bounds(month)[1] + dt.timedelta(days=1))
    plan = suggest_budget(txns, customer_id, budget_as_of)
    return MonthlyReport(
        customer_id=str(customer_id),
        month=month,
        total_in=summary.total_in,
        total_out=summary.total_out,
        net_savings=round(summary.total_in - summary.total_out, 2),
        top_categories=summary.by_category[:TOP_CATEGORIES],
        biggest=biggest_debits(rows),
        balance_start=start_balance,
        balance_end=end_balance,
        balance_change=change,
        suggestion=goal_for_next_month(plan, month, summary.total_in, summary.total_out,
                                       sum(c.amount for c in summary.by_category if c.category in ESSENTIAL_CATEGORIES)),
        balance_estimated=estimated,
    )
