"""Monthly report numbers against hand sums, and the chart file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from analytics.charts import render_spending_chart
from analytics.report import monthly_report
from analytics.schema import TXN_COLUMNS

AS_OF = dt.date(2016, 9, 5)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: ('YYYY-MM-DD HH:MM', amount, kind, category, balance or None, merchant)."""
    out = pd.DataFrame([
        {"transaction_id": f"T{i:03d}", "customer_id": "C1", "ts": pd.Timestamp(when), "amount": float(amount),
         "txn_type": kind, "category": category, "balance": float("nan") if balance is None else float(balance),
         "merchant": merchant}
        for i, (when, amount, kind, category, balance, merchant) in enumerate(rows)
    ])
    for column in TXN_COLUMNS:
        if column not in out.columns:
            out[column] = None
    return out[[*TXN_COLUMNS]]


@pytest.fixture
def august() -> pd.DataFrame:
    return frame([
        ("2016-07-03 10:00", 900, "DEBIT", "dining", 19500, "ZOMATO"),
        ("2016-07-15 10:00", 2000, "DEBIT", "groceries", 17500, "DMART"),
        ("2016-08-01 08:00", 500, "DEBIT", "dining", None, "SWIGGY"),        # no balance: derived 17,000
        ("2016-08-01 09:00", 45000, "CREDIT", "income", 62000, "SALARY ACME"),
        ("2016-08-02 10:00", 15000, "DEBIT", "rent", 47000, "NO BROKER RENT"),
        ("2016-08-05 10:00", 3000, "DEBIT", "groceries", 44000, "BIGBASKET"),
        ("2016-08-09 10:00", 2500, "DEBIT", "shopping", 41500, "AMAZON"),
        ("2016-08-12 10:00", 1200, "DEBIT", "dining", 40300, "ZOMATO"),
        ("2016-08-20 10:00", 800, "DEBIT", "fuel", 39500, "INDIAN OIL"),
        ("2016-08-25 10:00", 2000, "DEBIT", "cash", 37500, "ATM WDL"),
        ("2016-08-30 10:00", 700, "DEBIT", "entertainment", None, "NETFLIX"),  # no balance: skipped for end
        ("2016-09-02 10:00", 999, "DEBIT", "dining", 36000, "SWIGGY"),
    ])


def test_report_totals_match_hand_sums(august):
    report = monthly_report(august, "C1", "2016-08", AS_OF)
    out = 500 + 15000 + 3000 + 2500 + 1200 + 800 + 2000 + 700
    assert report.total_out == out
    assert report.total_in == 45000
    assert report.net_savings == 45000 - out


def test_report_top_categories_are_largest_first(august):
    report = monthly_report(august, "C1", "2016-08", AS_OF)
    assert [(c.category, c.amount) for c in report.top_categories[:3]] == [
        ("rent", 15000), ("groceries", 3000), ("shopping", 2500)]


def test_report_lists_five_biggest_debits(august):
    report = monthly_report(august, "C1", "2016-08", AS_OF)
    assert [b.amount for b in report.biggest] == [15000, 3000, 2500, 2000, 1200]
    assert all(b.txn_type == "DEBIT" for b in report.biggest)


def test_report_balance_runs_from_the_end_of_last_month_to_the_end_of_this_one(august):
    report = monthly_report(august, "C1", "2016-08", AS_OF)
    # 17,500 is the balance after 15 Jul, the last transaction before August.
    assert report.balance_start == 17500
    # 37,500 is the balance after 25 Aug; the ₹700 Netflix on 30 Aug carries none but still leaves the account.
    assert report.balance_end == 37500 - 700
    assert report.balance_change == pytest.approx(report.net_savings)
    assert report.balance_estimated  # the end is derived from 25 Aug's balance


def test_report_of_the_first_month_starts_from_the_opening_balance(august):
    august_only = august[august["ts"] >= pd.Timestamp("2016-08-01")]
    report = monthly_report(august_only, "C1", "2016-08", AS_OF)
    # 62,000 is the balance after the 1 Aug salary: undo it and the unbalanced ₹500 dining before it.
    assert report.balance_start == 62000 - 45000 + 500
    assert report.balance_change == pytest.approx(report.net_savings)


def test_report_with_reported_balances_at_both_ends_is_not_estimated():
    rows = frame([("2016-07-30 10:00", 100, "DEBIT", "dining", 5000, "ZOMATO"),
                  ("2016-08-10 10:00", 300, "DEBIT", "dining", 4700, "ZOMATO")])
    report = monthly_report(rows, "C1", "2016-08", AS_OF)
    assert (report.balance_start, report.balance_end, report.balance_change) == (5000, 4700, -300)
    assert not report.balance_estimated


def test_report_and_30_day_change_agree_on_a_shared_id_with_inconsistent_balances():
    """The real file's C3226689 (one ID, several people): rows whose balances do not follow from each other.
    The report once said ₹5,95,178.33 -> ₹96,820.46 (undoing 1 Sep's debit) while the 30-day change said
    +₹95,152.63; by the one rule both start from the last balance before the period (8 Aug's)."""
    from analytics.balances import BalanceHistory

    rows = frame([("2016-08-08 19:02", 4700, "DEBIT", "other", 1667.83, None),
                  ("2016-09-01 16:55", 6351.39, "DEBIT", "other", 588826.94, None),
                  ("2016-09-04 13:46", 1749, "DEBIT", "other", 369.36, None),
                  ("2016-09-15 19:59", 1340, "DEBIT", "other", 12977.22, None),
                  ("2016-09-26 13:13", 200, "DEBIT", "other", 11369.4, None),
                  ("2016-09-30 14:50", 418, "DEBIT", "other", 96820.46, None)])
    report = monthly_report(rows, "C1", "2016-09", dt.date(2016, 9, 30))
    assert (report.balance_start, report.balance_end) == (1667.83, 96820.46)
    assert report.balance_change == pytest.approx(96820.46 - 1667.83)  # +₹95,152.63
    history = BalanceHistory.of(rows)
    thirty_days_before = history.at(pd.Timestamp("2016-09-30 14:50") - pd.Timedelta(days=30))
    assert thirty_days_before.amount == 1667.83


def test_report_goal_names_a_category_and_amount(august):
    report = monthly_report(august, "C1", "2016-08", AS_OF)
    # Budget months Jul-Aug: dining 900 and 1700 -> mean 1300, trimmed 15% -> 1105, saving 195;
    # groceries 2000, 3000 -> mean 2500 = median, no saving; shopping 0, 2500 -> 1250*0.85 -> saving 187.5.
    assert report.suggestion == ("In September 2016, keep dining to ₹1,105 (you average ₹1,300): "
                                 "that saves ₹195.")


def test_report_without_balances_has_no_balance_change(august):
    no_balance = august.assign(balance=float("nan"))
    report = monthly_report(no_balance, "C1", "2016-08", AS_OF)
    assert report.balance_start is None and report.balance_change is None


def test_chart_is_a_small_valid_png(august, tmp_path: Path):
    report = monthly_report(august, "C1", "2016-08", AS_OF)
    path = render_spending_chart(report, tmp_path / "charts" / "aug.png")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert 5_000 < len(data) < 200_000


def test_chart_of_a_month_without_spending_still_renders(august, tmp_path: Path):
    report = monthly_report(august, "C1", "2016-06", AS_OF)
    assert report.total_out == 0
    assert render_spending_chart(report, tmp_path / "empty.png").read_bytes().startswith(PNG_MAGIC)
