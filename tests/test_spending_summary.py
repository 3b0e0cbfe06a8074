"""Monthly summaries, month-over-month changes, budgets and affordability on hand-built frames."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics.schema import TXN_COLUMNS
from analytics.spending import (
    affordability,
    describe_change,
    describe_top_change,
    monthly_breakdown,
    monthly_summary,
    suggest_budget,
)

AS_OF = dt.date(2016, 9, 10)


def frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer, 'YYYY-MM-DD', amount, DEBIT|CREDIT, category)."""
    records = [
        {"transaction_id": f"T{i}", "customer_id": cust, "ts": pd.Timestamp(day) + pd.Timedelta(hours=12),
         "amount": float(amount), "txn_type": kind, "category": category}
        for i, (cust, day, amount, kind, category) in enumerate(rows)
    ]
    out = pd.DataFrame(records)
    for column in TXN_COLUMNS:
        if column not in out.columns:
            out[column] = None
    out["balance"] = float("nan")
    return out[[*TXN_COLUMNS]]


@pytest.fixture
def two_months() -> pd.DataFrame:
    return frame([
        ("C1", "2016-07-01", 30000, "CREDIT", "income"),
        ("C1", "2016-07-01", 10000, "DEBIT", "rent"),
        ("C1", "2016-07-05", 1000, "DEBIT", "groceries"),
        ("C1", "2016-07-10", 500, "DEBIT", "dining"),
        ("C1", "2016-08-01", 30000, "CREDIT", "income"),
        ("C1", "2016-08-01", 10000, "DEBIT", "rent"),
        ("C1", "2016-08-03", 1200, "DEBIT", "groceries"),
        ("C1", "2016-08-09", 800, "DEBIT", "dining"),
        ("C1", "2016-08-20", 200, "DEBIT", "dining"),
        ("C1", "2016-08-15", 3000, "DEBIT", "shopping"),
        ("C2", "2016-08-15", 99999, "DEBIT", "dining"),          # someone else
        ("C1", "2016-09-01", 30000, "CREDIT", "income"),
        ("C1", "2016-09-02", 300, "DEBIT", "dining"),
        ("C1", "2016-09-09", 400, "DEBIT", "groceries"),
        ("C1", "2016-09-12", 999, "DEBIT", "groceries"),        # after as_of
    ])


def test_summary_totals_in_and_out(two_months):
    summary = monthly_summary(two_months, "C1", "2016-08", AS_OF)
    assert summary.total_out == 10000 + 1200 + 800 + 200 + 3000
    assert summary.total_in == 30000
    assert summary.n_debits == 5
    assert not summary.is_partial


def test_summary_categories_largest_first_with_shares(two_months):
    summary = monthly_summary(two_months, "C1", "2016-08", AS_OF)
    total = 15200
    got = [(c.category, c.amount, c.count) for c in summary.by_category]
    assert got == [("rent", 10000, 1), ("shopping", 3000, 1), ("groceries", 1200, 1), ("dining", 1000, 2)]
    assert [c.share for c in summary.by_category] == pytest.approx([10000 / total, 3000 / total,
                                                                    1200 / total, 1000 / total])


def test_summary_compares_with_previous_month(two_months):
    summary = monthly_summary(two_months, "C1", "2016-08", AS_OF)
    assert summary.previous_month == "2016-07"
    assert summary.previous_total_out == 11500
    got = [(c.category, c.previous, c.current, c.change) for c in summary.changes]
    assert got == [("shopping", 0, 3000, None), ("dining", 500, 1000, pytest.approx(1.0)),
                   ("groceries", 1000, 1200, pytest.approx(0.2)), ("rent", 10000, 10000, pytest.approx(0.0))]


def test_top_change_is_phrased_for_people(two_months):
    summary = monthly_summary(two_months, "C1", "2016-08", AS_OF)
    assert describe_top_change(summary) == "₹3,000.00 on shopping, nothing in July 2016"
    assert describe_change(summary.changes[1], "2016-07") == "100% more on dining than in July 2016"


def test_current_month_counts_only_up_to_as_of(two_months):
    summary = monthly_summary(two_months, "C1", "2016-09", AS_OF)
    assert summary.is_partial
    assert summary.end == AS_OF
    assert summary.total_out == 300 + 400


def test_month_after_as_of_is_empty(two_months):
    summary = monthly_summary(two_months, "C1", "2016-10", AS_OF)
    assert summary.total_out == 0 and summary.by_category == ()


def test_first_month_has_no_comparison(two_months):
    summary = monthly_summary(two_months, "C1", "2016-07", AS_OF)
    assert summary.previous_month is None and summary.previous_total_out is None and summary.changes == ()


def test_monthly_breakdown_is_month_by_category(two_months):
    table = monthly_breakdown(two_months[two_months["customer_id"] == "C1"])
    assert list(table.index) == ["2016-07", "2016-08", "2016-09"]
    assert table.loc["2016-08", "dining"] == 1000
    assert table.loc["2016-07", "shopping"] == 0
    assert table.loc["2016-09", "groceries"] == 400 + 999
    assert "income" not in table.columns


@pytest.fixture
def three_months() -> pd.DataFrame:
    rows = [("C1", "2016-05-20", 50000, "DEBIT", "shopping")]            # older than the 3-month window
    for month, groceries, utilities in (("06", 1000, 500), ("07", 1000, 0), ("08", 4000, 1600)):
        rows += [("C1", f"2016-{month}-02", 8000, "DEBIT", "rent"),
                 ("C1", f"2016-{month}-05", groceries, "DEBIT", "groceries"),
                 ("C1", f"2016-{month}-07", 600, "DEBIT", "dining"),
                 ("C1", f"2016-{month}-01", 40000, "CREDIT", "income")]
        if utilities:
            rows.append(("C1", f"2016-{month}-10", utilities, "DEBIT", "utilities"))
    rows.append(("C1", "2016-09-03", 7000, "DEBIT", "dining"))              # current month: not used
    return frame(rows)


def test_budget_uses_trailing_complete_months(three_months):
    plan = suggest_budget(three_months, "C1", AS_OF, months=3)
    assert plan.months_used == 3
    lines = {line.category: line for line in plan.lines}
    assert set(lines) == {"rent", "groceries", "dining", "utilities"}
    assert lines["groceries"].average_monthly == pytest.approx(2000)
    assert lines["groceries"].last_month == 4000


def test_budget_takes_the_typical_month_for_everyday_categories(three_months):
    lines = {line.category: line for line in suggest_budget(three_months, "C1", AS_OF).lines}
    # groceries 1000, 1000, 4000: median 1000 is below the mean 2000.
    assert lines["groceries"].suggested == pytest.approx(1000)
    assert lines["groceries"].saving == pytest.approx(1000)


def test_budget_trims_discretionary_and_keeps_essentials(three_months):
    lines = {line.category: line for line in suggest_budget(three_months, "C1", AS_OF).lines}
    assert lines["dining"].suggested == pytest.approx(600 * 0.85)
    assert lines["rent"].suggested == pytest.approx(8000) and lines["rent"].saving == 0
    # utilities 500, 0, 1600: the average 700 is kept although the median is lower.
    assert lines["utilities"].suggested == pytest.approx(700) and lines["utilities"].saving == 0


def test_budget_totals_add_up(three_months):
    plan = suggest_budget(three_months, "C1", AS_OF)
    assert plan.total_suggested == pytest.approx(8000 + 1000 + 510 + 700)
    assert plan.total_saving == pytest.approx(1000 + 90)


def test_occasional_expense_keeps_its_average_instead_of_zero():
    txns = frame([("C1", "2016-06-03", 100, "DEBIT", "groceries"),
                  ("C1", "2016-08-03", 6900, "DEBIT", "cash")])
    (line,) = [line for line in suggest_budget(txns, "C1", AS_OF).lines if line.category == "cash"]
    # cash 0, 0, 6900: the median 0 is not a realistic target; the average 2300 is kept.
    assert line.suggested == pytest.approx(2300) and line.saving == 0


def test_budget_without_a_complete_month_is_empty():
    txns = frame([("C9", "2016-09-02", 500, "DEBIT", "dining")])
    plan = suggest_budget(txns, "C9", AS_OF)
    assert plan.months_used == 0 and plan.lines == () and plan.total_saving == 0


def test_budget_months_start_at_first_transaction(two_months):
    assert suggest_budget(two_months, "C1", AS_OF, months=6).months_used == 2


def test_affordable_when_balance_covers_price_and_a_month_of_spending():
    result = affordability(balance=50000, monthly_income=30000, monthly_spend=20000, price=25000)
    assert result.can_afford and result.months_to_save == 0
    assert result.balance_after == 25000 and result.shortfall == 0


def test_months_to_save_for_the_shortfall():
    result = affordability(balance=50000, monthly_income=30000, monthly_spend=20000, price=65000)
    # needs 65000 + 20000 cushion; has 50000 -> 35000 short; saves 10000 a month -> 4 months.
    assert not result.can_afford
    assert result.shortfall == 35000 and result.months_to_save == 4


def test_never_affordable_without_a_surplus():
    result = affordability(balance=1000, monthly_income=20000, monthly_spend=25000, price=5000)
    assert not result.can_afford and result.months_to_save is None and result.monthly_surplus == -5000


def test_unknown_balance_is_not_assumed():
    result = affordability(balance=None, monthly_income=30000, monthly_spend=20000, price=5000)
    assert not result.can_afford
    assert result.months_to_save == 3       # (5000 + 20000) / 10000 rounded up


def test_a_saving_that_rounds_to_nothing_is_not_suggested():
    # groceries 7,379.18, 7,379.18, 7,379.21: the median is 1 paisa under the mean ("save ₹0.01" before).
    txns = frame([("C1", "2016-06-03", 7379.18, "DEBIT", "groceries"),
                  ("C1", "2016-07-03", 7379.18, "DEBIT", "groceries"),
                  ("C1", "2016-08-03", 7379.21, "DEBIT", "groceries")])
    (line,) = suggest_budget(txns, "C1", AS_OF).lines
    assert (line.average_monthly, line.suggested, line.saving) == (7379.19, 7379.19, 0.0)


def test_a_small_but_real_saving_is_kept_and_adds_up_from_the_figures_shown():
    # groceries 1,000, 1,000, 1,300: median 1,000 against the mean 1,100 -> save ₹100 (9%).
    txns = frame([("C1", "2016-06-03", 1000, "DEBIT", "groceries"),
                  ("C1", "2016-07-03", 1000, "DEBIT", "groceries"),
                  ("C1", "2016-08-03", 1300, "DEBIT", "groceries")])
    (line,) = suggest_budget(txns, "C1", AS_OF).lines
    assert (line.average_monthly, line.suggested, line.saving) == (1100.0, 1000.0, 100.0)
