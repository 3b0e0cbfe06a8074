"""Advice fits the facts it is given: no spending limit on rent or bills, no "your income" without one, no
trim of a fixed-price subscription. Each case is a small hand-made history whose right answer is known."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics.money import format_inr
from analytics.recommend import Eligibility, Product, RecommendationContext, recommend
from analytics.report import monthly_report
from analytics.schema import TXN_COLUMNS
from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.nlu import trained_classifier
from tests.assistant_history import Row, month_days, monthly, services_with

RENT_ONLY, RENT_AND_CAFE, NO_CREDITS, SUBSCRIBER = "C810", "C820", "C830", "C840"


def history() -> list[Row]:
    rows: list[Row] = []
    # Rent and groceries the same every month, a low balance: no budget line can be cut.
    for customer in (RENT_ONLY, RENT_AND_CAFE):
        rows += [Row(customer, d, 15_000, "DEBIT", "LANDLORD RENT", "rent", balance=1_400.0)
                 for d in month_days(1, (2016, 6), (2016, 10))]
        rows += [Row(customer, d, 2_000, "DEBIT", shop, "groceries", balance=1_200.0)
                 for d, shop in zip(month_days(12, (2016, 6), (2016, 10)),
                                    ["DMART", "BIG BAZAAR", "DMART", "NATURES BASKET", "BIG BAZAAR"], strict=True)]
    # ₹50 of cafe spending a month (irregular days and places): too small for a budget cut, still discretionary.
    rows += [Row(RENT_AND_CAFE, dt.date(2016, m, d), 50, "DEBIT", shop, "dining")
             for m, d, shop in [(6, 7, "CAFE ONE"), (7, 19, "CAFE TWO"), (8, 24, "CHAI POINT"), (9, 9, "CAFE ONE")]]
    # Debits only, never a credit.
    rows += [Row(NO_CREDITS, dt.date(2016, m, d), a, "DEBIT", "KIRANA STORE", "groceries", balance=3_000.0)
             for m, d, a in [(7, 4, 2_600), (8, 6, 2_700), (9, 21, 2_350), (10, 2, 2_500)]]
    # Entertainment is one subscription at a fixed price; shopping varies and can be trimmed.
    rows += monthly(SUBSCRIBER, month_days(1, (2016, 6), (2016, 10)), 40_000, "CREDIT", "NEFT/SALARY ACME LTD",
                    "income")
    rows += monthly(SUBSCRIBER, month_days(6, (2016, 6), (2016, 10)), 799, "DEBIT", "NETFLIX.COM", "entertainment")
    rows += [Row(SUBSCRIBER, dt.date(2016, m, d), a, "DEBIT", "AMAZON", "shopping")
             for m, d, a in [(7, 11, 3_100), (8, 17, 5_400), (9, 22, 2_900), (10, 14, 1_000)]]
    rows.append(Row(SUBSCRIBER, dt.date(2016, 10, 20), 300, "DEBIT", "SWIGGY", "dining"))
    return rows


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    services, _ = services_with(tmp_path_factory.mktemp("advice"), history())
    yield services
    services.close()


@pytest.fixture
def assistant(bank):
    return build_assistant(Config(), bank.insights, classifier=trained_classifier())


async def test_rent_is_never_the_place_for_a_weekly_limit(assistant) -> None:
    reply = await assistant.answer(RENT_ONLY, "how can I save?", "a")
    assert reply.intent == "saving_tips"
    # September: rent 15,000 of 17,000 spent (88%); no discretionary spending at all.
    assert f"rent: {format_inr(15_000)} (88%), an essential cost that a spending limit won't change" in reply.text
    assert "weekly limit" not in reply.text
    assert "no discretionary spending to trim" in reply.text


async def test_the_limit_goes_to_the_discretionary_category_instead(assistant) -> None:
    reply = await assistant.answer(RENT_AND_CAFE, "how can I save?", "b")
    # September: rent 15,000 + groceries 2,000 + dining 50 = 17,050; dining is 0.29%, shown as 0%.
    assert f"rent: {format_inr(15_000)} (88%), an essential cost" in reply.text
    assert (f"Of what you can steer, dining was the largest: {format_inr(50)} (0%). Setting a weekly limit there "
            "is the quickest win.") in reply.text


async def test_no_income_on_record_is_said_instead_of_spending_uses_up_income(assistant) -> None:
    reply = await assistant.answer(NO_CREDITS, "can I afford a ₹50,000 phone?", "c")
    assert reply.intent == "affordability" and reply.text.startswith("Not comfortably yet.")
    assert "uses up your income" not in reply.text
    assert "I don't see any income coming into this account" in reply.text


async def test_a_fixed_price_subscription_is_not_trimmed_by_a_limit(assistant, bank) -> None:
    reply = await assistant.answer(SUBSCRIBER, "how can I save?", "d")
    plan = {b.category: b for b in bank.insights.budget(SUBSCRIBER).lines}
    assert plan["entertainment"].saving > 0            # the budget's generic 15% trim, which cannot apply here
    assert f"bring it from {format_inr(plan['entertainment'].average_monthly)}" not in reply.text
    assert "NETFLIX.COM, at a fixed price: a limit won't trim it" in reply.text
    shopping = plan["shopping"]
    assert (f"• Shopping: bring it from {format_inr(shopping.average_monthly)} to {format_inr(shopping.suggested)}"
            in reply.text)
    # Only the limits that can work are added up, and "payday" is right: a salary is on record.
    assert f"That limit saves about {format_inr(shopping.saving)} a month" in reply.text and "on payday" in reply.text


def test_without_a_regular_income_there_is_no_payday(bank) -> None:
    """The same customer's cuts with the salary hidden from the facade: the advice no longer assumes a payday."""
    from bot.llm.answers import Request, saving_tips

    class WithoutIncome:
        def __getattr__(self, name):
            return getattr(bank.insights, name)

        def regular_income(self, cid):
            return None

    answer = saving_tips(WithoutIncome(), SUBSCRIBER, Request("saving_tips"))
    assert "at the start of each month" in answer.text and "payday" not in answer.text


# ---- the recommender's reasons ---------------------------------------------------------------------------
def _product(kind: str, **extra) -> Product:
    extra.setdefault("eligibility", Eligibility())      # no rule: the reason is all that is judged here
    return Product(id=f"p_{kind}", name=f"A {kind}", kind=kind, pitch="pitch", **extra)


def _context(**changes) -> RecommendationContext:
    values = dict(age=30, balance=50_000.0, monthly_income=0.0, monthly_spend=12_000.0, persona=None,
                  churn_risk=0.1, has_anomalies_open=False, spend_by_category={})
    values.update(changes)
    return RecommendationContext(**values)


@pytest.mark.parametrize("kind", ["sip", "credit_card", "personal_loan"])
def test_no_income_reasons_never_mention_an_income(kind: str) -> None:
    [rec] = recommend(_context(), [_product(kind, focus_categories=("travel",) if kind == "credit_card" else ())])
    assert "No income is credited" in rec.reason or "no income is credited" in rec.reason
    assert "uses up your income" not in rec.reason and "₹0" not in rec.reason


def test_with_an_income_the_sip_reason_still_speaks_of_it() -> None:
    [rec] = recommend(_context(monthly_income=10_000.0), [_product("sip")])
    assert "uses up your income" in rec.reason      # ₹12,000 spent of ₹10,000 earned: true here


def test_no_spending_on_record_is_no_month_of_spending() -> None:
    ctx = _context(balance=2_00_000.0, monthly_income=30_000.0, monthly_spend=0.0)
    recs = recommend(ctx, [_product("savings", eligibility=Eligibility(min_balance=1_00_000), rate=4.0),
                           _product("fd", rate=7.0)])
    for rec in recs:
        assert "months of your spending" not in rec.reason and "₹0" not in rec.reason, rec.reason


# ---- the monthly report's goal -------------------------------------------------------------------------
def _frame(rows: list[tuple[str, float, str, str]]) -> pd.DataFrame:
    out = pd.DataFrame([{"transaction_id": f"T{i}", "customer_id": "C1", "ts": pd.Timestamp(when),
                         "amount": float(amount), "txn_type": "DEBIT", "category": category, "balance": float("nan"),
                         "merchant": merchant} for i, (when, amount, category, merchant) in enumerate(rows)])
    for column in TXN_COLUMNS:
        if column not in out.columns:
            out[column] = None
    return out[[*TXN_COLUMNS]]


def _months(rows_per_month: list[tuple[str, float, str, str]]) -> pd.DataFrame:
    """The same month of rows in June to September 2016 (a flat budget: nothing to cut)."""
    return _frame([(f"2016-{m:02d}-{day}", a, c, name) for m in (6, 7, 8, 9) for day, a, c, name in rows_per_month])


def test_report_goal_cuts_only_spending_outside_essentials() -> None:
    txns = _months([("02 10:00", 15_000, "rent", "LANDLORD"), ("10 10:00", 1_000, "utilities", "BESCOM"),
                    ("14 10:00", 3_000, "groceries", "DMART")])
    report = monthly_report(txns, "C1", "2016-09", dt.date(2016, 10, 5))
    assert report.suggestion == ("In October 2016, aim to keep spending outside rent, bills and other essentials "
                                 f"under {format_inr(2_700, paise=False)}, 10% less than in September 2016.")


def test_report_goal_for_a_month_of_only_essentials_asks_for_no_cut() -> None:
    txns = _months([("02 10:00", 15_000, "rent", "LANDLORD"), ("10 10:00", 1_000, "utilities", "BESCOM")])
    report = monthly_report(txns, "C1", "2016-09", dt.date(2016, 10, 5))
    assert "aim to" not in report.suggestion
    assert "all of September 2016's spending went on essentials" in report.suggestion
