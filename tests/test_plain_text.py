"""The CLI's plain-text views of facade results, line by line, on hand-made results whose text is known."""

from __future__ import annotations

import datetime as dt
import json

from analytics.results import (
    AnomalyFlag,
    BalanceInfo,
    BudgetLine,
    BudgetPlan,
    CategoryAmount,
    CategoryChange,
    ChurnRisk,
    CustomerInsights,
    CustomerProfile,
    MonthlyReport,
    Recommendation,
    SegmentInfo,
    SpendingSummary,
    TransactionBrief,
)
from bot.plain_text import budget_lines, insights_text, month_label, report_text, spending_lines, to_json

AS_OF = dt.date(2016, 10, 21)


def _summary(**changes) -> SpendingSummary:
    base = dict(
        customer_id="C1", month="2016-09", start=dt.date(2016, 9, 1), end=dt.date(2016, 9, 30), is_partial=False,
        total_out=10_000.0, total_in=50_000.0, n_debits=9,
        by_category=tuple(CategoryAmount(c, a, a / 10_000, 1) for c, a in (
            ("rent", 4000.0), ("dining", 2000.0), ("fuel", 1000.0), ("travel", 900.0), ("cash", 800.0),
            ("health", 700.0), ("shopping", 350.0), ("other", 250.0))),
        previous_month="2016-08", previous_total_out=8000.0,
        changes=(CategoryChange("dining", 1000.0, 2000.0, 1.0), CategoryChange("fuel", 1050.0, 1000.0, -0.0476)))
    return SpendingSummary(**{**base, **changes})


def _profile(n: int = 40) -> CustomerProfile:
    return CustomerProfile(
        customer_id="C1", age=30, age_band="26-35", gender="F", location="PUNE", first_seen=dt.date(2016, 1, 4),
        last_seen=dt.date(2016, 10, 20), n_transactions=n, n_debits=n - 2, n_credits=2, total_spend=90_000.0,
        total_income=100_000.0, avg_debit=2368.42, monthly_spend=9_600.0, frequency_per_month=4.3,
        recency_days=1, rfm_recency=5, rfm_frequency=3, rfm_monetary=4)


def _balance(**changes) -> BalanceInfo:
    base = dict(customer_id="C1", amount=1500.5, as_of=dt.datetime(2016, 10, 20, 9, 30), change_30d=-2500.0,
                trend="falling", low_balance_threshold=2000.0, is_low=True, derived=False)
    return BalanceInfo(**{**base, **changes})


def _insights(**changes) -> CustomerInsights:
    base = dict(
        customer_id="C1", as_of=AS_OF, profile=_profile(), balance=_balance(), this_month=_summary(),
        last_month=_summary(),
        budget=BudgetPlan("C1", 3, (BudgetLine("dining", 2000.0, 2000.0, 1700.0, 300.0),), 1700.0, 300.0),
        anomalies=(AnomalyFlag("T9", dt.datetime(2016, 10, 19, 3, 12), 95_000.0, "WIRE REYKJAVIK", "REYKJAVIK",
                               0.97, ("₹95,000.00 is 40× your usual amount", "first transaction in REYKJAVIK")),),
        segment=SegmentInfo(2, "Low-balance customer", "Typically runs a lower balance: balance about ₹9,000.",
                            fits_customer=True),
        churn=ChurnRisk(0.12, "low", ("active in the last week",)),
        recommendations=(Recommendation("sav_zero", "Zero Balance Savings Account", "savings", "No minimum.",
                                        "No penalty charges.", 0.7),),
        notes=("Age, gender and location come from the latest transaction (an ID can be shared).",))
    return CustomerInsights(**{**base, **changes})


def test_month_label_is_the_full_month_name():
    assert month_label("2016-09") == "September 2016"


def test_spending_lines_show_the_top_six_and_sum_the_rest():
    lines = spending_lines(_summary())
    assert lines[0] == "Spending in September 2016: ₹10,000.00 out, ₹50,000.00 in"
    assert lines[1] == "  rent               ₹4,000.00   40%"
    assert lines[7] == "  2 more               ₹600.00    6%"
    # only changes of 10% or more are worth a line
    assert lines[8:] == ["  100% more on dining than in August 2016"]


def test_spending_lines_for_a_month_without_payments():
    assert spending_lines(_summary(n_debits=0, is_partial=True)) == [
        "Spending in September 2016 (so far): nothing spent."]


def test_budget_lines_put_savings_first_and_only_show_real_savings():
    plan = BudgetPlan("C1", 2, (BudgetLine("rent", 9000.0, 9000.0, 9000.0, 0.0),
                                BudgetLine("dining", 2000.0, 2100.0, 1700.0, 300.0)), 10_700.0, 300.0)
    assert budget_lines(plan) == [
        "Suggested monthly budget (from 2 complete months): ₹10,700.00, saving ₹300.00 a month",
        "  dining         usually ₹2,000.00 -> ₹1,700.00, save ₹300.00",
        "  rent           usually ₹9,000.00 -> ₹9,000.00"]
    assert budget_lines(BudgetPlan("C1", 0, (), 0.0, 0.0)) == [
        "Budget: not enough complete months of history to suggest one yet."]


def test_insights_text_line_by_line():
    lines = insights_text(_insights()).splitlines()
    assert lines[0] == "Customer C1 — as of 21 Oct 2016"
    assert lines[1] == ("Segment: Low-balance customer — fits this customer's own figures (the segment as a whole: "
                        "Typically runs a lower balance: balance about ₹9,000)")
    assert lines[2] == "Profile: 26-35, F, PUNE; 40 transactions since 4 Jan 2016, last on 20 Oct 2016"
    assert lines[3] == ("Balance: ₹1,500.50 on 20 Oct 2016, -₹2,500.00 in 30 days (falling)"
                        "  ⚠ below your low-balance threshold of ₹2,000.00")
    assert "Unusual transactions:" in lines
    assert ("  ₹95,000.00 at WIRE REYKJAVIK on 19 Oct 2016 (score 0.97, open): ₹95,000.00 is 40× your usual "
            "amount; first transaction in REYKJAVIK") in lines
    assert "Churn risk: low (12%): active in the last week" in lines
    assert lines[-3:] == ["Recommended for you:",
                          "  Zero Balance Savings Account — No minimum. (No penalty charges.)",
                          "Note: Age, gender and location come from the latest transaction (an ID can be shared)."]


def test_insights_text_for_thin_or_unknown_facts():
    text = insights_text(_insights(
        profile=_profile(n=1), balance=_balance(amount=None, as_of=None, change_30d=None, trend="unknown",
                                                is_low=False),
        anomalies=(), segment=SegmentInfo(0, "High-value saver", "Typically keeps ₹9,00,000.", fits_customer=None),
        churn=None, recommendations=()))
    assert "1 transaction since 4 Jan 2016" in text
    assert "Balance: not known (no transaction carried one)" in text
    assert "Segment: High-value saver — the group's name, not a description of this customer" in text
    assert "Unusual transactions: none open" in text
    assert "Churn risk" not in text and "Recommended" not in text


def test_an_estimated_balance_says_so():
    text = insights_text(_insights(balance=_balance(derived=True, is_low=False, change_30d=None)))
    assert "Balance: ₹1,500.50 (estimated) on 20 Oct 2016\n" in text + "\n"


def _report(**changes) -> MonthlyReport:
    base = dict(
        customer_id="C1", month="2016-09", total_in=50_000.0, total_out=10_000.0, net_savings=40_000.0,
        top_categories=(CategoryAmount("rent", 4000.0, 0.4, 1), CategoryAmount("dining", 2000.0, 0.2, 5)),
        biggest=(TransactionBrief("T1", dt.datetime(2016, 9, 3), 4000.0, "DEBIT", "rent", "NO BROKER", None),
                 TransactionBrief("T2", dt.datetime(2016, 9, 12), 900.0, "DEBIT", "dining", None, None)),
        balance_start=10_000.0, balance_end=50_000.0, balance_change=40_000.0,
        suggestion="In October 2016, keep dining to ₹1,700.", chart_path="out/report_C1_2016-09.png")
    return MonthlyReport(**{**base, **changes})


def test_report_text_line_by_line():
    assert report_text(_report()).splitlines() == [
        "Monthly report for C1, September 2016",
        "  Money in:     ₹50,000.00",
        "  Money out:    ₹10,000.00",
        "  Net savings:  ₹40,000.00",
        "  Balance:      ₹10,000.00 -> ₹50,000.00 (+₹40,000.00)",
        "  Top categories: rent ₹4,000.00, dining ₹2,000.00",
        "  Biggest payments:",
        "     3 Sep 2016       ₹4,000.00  NO BROKER",
        "    12 Sep 2016         ₹900.00  dining",
        "  Next month: In October 2016, keep dining to ₹1,700.",
        "  Chart: out/report_C1_2016-09.png"]


def test_report_text_without_balances_or_chart_and_with_an_estimate():
    bare = report_text(_report(balance_start=None, balance_end=None, balance_change=None, chart_path=None,
                               top_categories=(), biggest=()))
    assert "Balance" not in bare and "Chart" not in bare and "Biggest" not in bare
    estimated = report_text(_report(balance_estimated=True))
    assert "  Balance:      ₹10,000.00 -> ₹50,000.00 (+₹40,000.00) (estimated)" in estimated


def test_json_has_iso_dates_and_lists():
    data = json.loads(to_json(_insights()))
    assert data["as_of"] == "2016-10-21" and data["balance"]["as_of"] == "2016-10-20T09:30:00"
    assert data["anomalies"][0]["reasons"][1] == "first transaction in REYKJAVIK"
    assert data["balance"]["derived"] is False and data["segment"]["fits_customer"] is True
    assert "₹" in to_json(_insights())   # not \\u-escaped
