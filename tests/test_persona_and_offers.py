"""A recommendation never breaks its own rule, and a persona shown to a customer fits them or is called the
group's (issue 10 item 8)."""

from __future__ import annotations

import re
import statistics

import pandas as pd
import pytest

from analytics.ingest import to_canonical
from analytics.personas import persona_fits
from analytics.recommend import DEFAULT_CATALOG_PATH, RecommendationContext, load_catalog, recommend
from bot.llm.answers import profile as profile_answer
from bot.storage.transactions import TransactionRepository

CATALOG = load_catalog(DEFAULT_CATALOG_PATH)


def _rupees(text: str) -> float:
    return float(text.replace("₹", "").replace(",", ""))


def test_every_pitch_that_names_a_balance_is_backed_by_its_min_balance():
    checked = 0
    for product in CATALOG:
        for amount in re.findall(r"balances? (?:above|over|of at least) (₹[\d,]+)", product.pitch):
            checked += 1
            assert (product.eligibility.min_balance or 0) >= _rupees(amount), product.id
    assert checked >= 1, "the catalog's Savings Max pitch names its ₹1,00,000"


def _ctx(balance: float) -> RecommendationContext:
    return RecommendationContext(age=35, balance=balance, monthly_income=60_000, monthly_spend=20_000,
                                 persona="High-value saver", churn_risk=0.1, has_anomalies_open=False)


def test_savings_max_is_not_offered_at_96820_and_is_offered_well_above_a_lakh():
    below = recommend(_ctx(96_820.46), CATALOG, kind="savings", limit=5)
    above = recommend(_ctx(2_50_000.0), CATALOG, kind="savings", limit=5)
    assert "sav_max" not in {r.product_id for r in below}
    assert "sav_max" in {r.product_id for r in above}


def test_recommendations_in_a_trained_store_keep_every_rule_against_the_balance_shown(trained_services):
    svc = trained_services.insights
    minimum = {p.id: p.eligibility.min_balance or 0 for p in CATALOG}
    customers = [r[0] for r in trained_services.store.db.execute(
        "SELECT customer_id FROM customer_scores ORDER BY customer_id LIMIT 60")]
    offered = 0
    for customer in customers:
        shown = svc.balance(customer).amount
        for rec in svc.insights(customer).recommendations:
            offered += 1
            if minimum[rec.product_id]:
                assert shown is not None and shown >= minimum[rec.product_id], (customer, rec.product_id, shown)
            for amount in re.findall(r"Your balance of (₹[\d,.]+)", rec.reason):
                assert _rupees(amount) == pytest.approx(shown, abs=0.01), (customer, rec.reason)
    assert offered > 0


# ---- personas -------------------------------------------------------------------------------------------
def test_low_balance_name_does_not_fit_a_customer_with_five_times_the_typical_balance():
    median = 20_000.0
    assert persona_fits("Low-balance customer", {"balance": 5 * median}, median) is False
    assert persona_fits("Low-balance customer", {"balance": median / 4}, median) is True
    assert persona_fits("Low-balance customer", {"balance": None}, median) is None
    assert persona_fits("Retiree", {"age": 41}, median) is False and persona_fits("Retiree", {"age": 70}, median)
    assert persona_fits("Everyday banker", {}, None) is True


def test_train_stores_the_median_balance_the_persona_rules_use(trained_services):
    median = trained_services.insights.reads.model_metrics("segments")["median_balance"]
    balances = sorted(max(b, 0.0) for (b,) in trained_services.store.db.execute(
        "SELECT balance_now FROM customer_scores WHERE balance_now IS NOT NULL"))
    low, high = balances[(len(balances) - 1) // 2], balances[len(balances) // 2]
    assert low - 0.01 <= median <= high + 0.01
    assert statistics.median(balances) == pytest.approx(median, rel=0.05)


def _give_persona(services, customer: str, persona: str) -> None:
    with services.store.atomic():
        services.store.db.execute("UPDATE customer_scores SET persona = ? WHERE customer_id = ?", (persona, customer))


def _set_balance(services, customer: str, balance: float) -> None:
    svc = services.insights
    row = {"transaction_id": f"TBAL-{customer}", "customer_id": customer,
           "ts": pd.Timestamp(svc.as_of()) + pd.Timedelta(hours=12), "amount": 1.0, "balance": balance,
           "txn_type": "DEBIT"}
    with services.store.atomic():
        TransactionRepository(services.store).insert_frame(to_canonical(pd.DataFrame([row])), source="test")


def test_a_persona_that_does_not_fit_is_presented_as_the_groups(trained_services):
    svc = trained_services.insights
    median = svc.reads.model_metrics("segments")["median_balance"]
    rich, poor = [r[0] for r in trained_services.store.db.execute(
        "SELECT customer_id FROM customer_scores ORDER BY customer_id LIMIT 2")]
    for customer, balance in ((rich, 5 * median), (poor, median / 5)):
        _give_persona(trained_services, customer, "Low-balance customer")
        _set_balance(trained_services, customer, round(balance, 2))
    assert svc.segment(rich).fits_customer is False and svc.insights(rich).segment.fits_customer is False
    assert svc.segment(poor).fits_customer is True
    said_to_rich = profile_answer(svc, rich, None).text
    said_to_poor = profile_answer(svc, poor, None).text
    assert "Your profile: Low-balance customer" not in said_to_rich
    assert "group of customers we call “Low-balance customer”" in said_to_rich and "not you" in said_to_rich
    assert "Your profile: Low-balance customer." in said_to_poor


def test_telegram_profile_and_cli_say_whose_the_name_is(trained_services):
    from bot.plain_text import insights_text
    from bot.telegram.formatting import profile_text

    svc = trained_services.insights
    median = svc.reads.model_metrics("segments")["median_balance"]
    customer = trained_services.store.db.execute("SELECT customer_id FROM customer_scores LIMIT 1").fetchone()[0]
    _give_persona(trained_services, customer, "Low-balance customer")
    _set_balance(trained_services, customer, round(5 * median, 2))
    telegram = profile_text(svc.profile(customer), svc.segment(customer))
    assert "Your group: <b>Low-balance customer</b> (the group's name, not a description of you)" in telegram
    assert "Your segment:" not in telegram
    assert ("Segment: Low-balance customer — the group's name, not a description of this customer"
            in insights_text(svc.insights(customer)))
