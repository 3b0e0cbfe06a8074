"""Product catalog and recommendations: never an ineligible product, reasons in the customer's numbers."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import pytest

from analytics.recommend import (
    DEFAULT_CATALOG_PATH,
    PRODUCT_KINDS,
    CatalogError,
    RecommendationContext,
    load_catalog,
    recommend,
)

PERSONAS = ["High-value saver", "Frequent spender", "Low-balance customer", "Salaried professional",
            "Dormant customer", "Young starter", "Retiree", None]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def raw_rules() -> dict[str, dict]:
    """Eligibility read straight from the TOML, independently of the loader."""
    data = tomllib.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    return {p["id"]: p.get("eligibility", {}) for p in data["product"]}


def eligible_by_hand(rules: dict, ctx: RecommendationContext) -> bool:
    if ("min_age" in rules or "max_age" in rules) and ctx.age is None:
        return False
    if ctx.age is not None and not rules.get("min_age", 0) <= ctx.age <= rules.get("max_age", 200):
        return False
    if rules.get("min_balance", 0) > 0 and (ctx.balance is None or ctx.balance < rules["min_balance"]):
        return False
    if ctx.monthly_income < rules.get("min_monthly_income", 0):
        return False
    if "max_churn_risk" in rules and (ctx.churn_risk is None or ctx.churn_risk > rules["max_churn_risk"]):
        return False
    if ctx.persona and any(word in ctx.persona.lower() for word in rules.get("excluded_personas", [])):
        return False
    return not (rules.get("no_open_anomalies") and ctx.has_anomalies_open)


def random_context(rng: random.Random) -> RecommendationContext:
    return RecommendationContext(
        age=rng.choice([None, rng.randint(16, 90)]),
        balance=rng.choice([None, round(rng.uniform(-500, 500_000), 2)]),
        monthly_income=round(rng.choice([0, rng.uniform(0, 200_000)]), 2),
        monthly_spend=round(rng.uniform(0, 150_000), 2),
        persona=rng.choice(PERSONAS),
        churn_risk=rng.choice([None, rng.random()]),
        has_anomalies_open=rng.random() < 0.3,
        spend_by_category={c: round(rng.uniform(0, 20_000), 2)
                           for c in rng.sample(["dining", "shopping", "travel", "fuel", "groceries"], 3)},
    )


def test_catalog_has_every_kind_and_at_least_eight_products(catalog):
    assert len(catalog) >= 8
    assert {p.kind for p in catalog} == set(PRODUCT_KINDS)
    assert len({p.id for p in catalog}) == len(catalog)


def test_recommend_never_returns_an_ineligible_product(catalog, raw_rules):
    rng = random.Random(7)
    shown = 0
    for _ in range(3000):
        ctx = random_context(rng)
        for rec in recommend(ctx, catalog, limit=len(catalog)):
            assert eligible_by_hand(raw_rules[rec.product_id], ctx), (rec.product_id, ctx)
            shown += 1
    assert shown > 3000      # the loop really exercised recommendations


def test_recommend_returns_every_eligible_product_when_limit_allows(catalog, raw_rules):
    rng = random.Random(11)
    for _ in range(300):
        ctx = random_context(rng)
        expected = {pid for pid, rules in raw_rules.items() if eligible_by_hand(rules, ctx)}
        assert {r.product_id for r in recommend(ctx, catalog, limit=100)} == expected


def test_unknown_age_excludes_age_restricted_products(catalog, raw_rules):
    ctx = RecommendationContext(age=None, balance=900_000, monthly_income=200_000, monthly_spend=50_000,
                                persona="High-value saver", churn_risk=0.01, has_anomalies_open=False)
    restricted = {pid for pid, r in raw_rules.items() if "min_age" in r or "max_age" in r}
    assert restricted
    assert not restricted & {r.product_id for r in recommend(ctx, catalog, limit=100)}


def test_results_are_ranked_best_first_and_limited(catalog):
    ctx = RecommendationContext(age=35, balance=300_000, monthly_income=120_000, monthly_spend=50_000,
                                persona="Salaried professional", churn_risk=0.1, has_anomalies_open=False,
                                spend_by_category={"travel": 20_000})
    recs = recommend(ctx, catalog, limit=3)
    assert len(recs) == 3
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_card_reason_quotes_the_customers_spending(catalog):
    ctx = RecommendationContext(age=30, balance=40_000, monthly_income=60_000, monthly_spend=30_000,
                                persona="Frequent spender", churn_risk=0.2, has_anomalies_open=False,
                                spend_by_category={"fuel": 4_000})
    (rec,) = recommend(ctx, catalog, kind="credit_card", limit=1)
    assert rec.product_id == "cc_fuel"
    assert "₹4,000" in rec.reason and "₹160" in rec.reason        # 4% of 4,000


def test_big_idle_balance_prefers_a_deposit_over_a_zero_balance_account(catalog):
    ctx = RecommendationContext(age=45, balance=500_000, monthly_income=80_000, monthly_spend=30_000,
                                persona="High-value saver", churn_risk=0.1, has_anomalies_open=False)
    ids = [r.product_id for r in recommend(ctx, catalog, limit=len(catalog))]
    assert ids.index("fd_1y") < ids.index("sav_zero")
    fd = next(r for r in recommend(ctx, catalog, kind="fd") if r.product_id == "fd_1y")
    assert "₹4,40,000" in fd.reason          # 5,00,000 minus two months of 30,000


def test_kind_filter_only_returns_that_kind(catalog):
    ctx = RecommendationContext(age=30, balance=100_000, monthly_income=90_000, monthly_spend=30_000,
                                persona=None, churn_risk=0.1, has_anomalies_open=False)
    assert {r.kind for r in recommend(ctx, catalog, kind="sip", limit=10)} == {"sip"}
    with pytest.raises(ValueError):
        recommend(ctx, catalog, kind="crypto")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[product]]\nid="a"\nname="A"\nkind="bond"\npitch="p"\n', "kind"),
        ('[[product]]\nid="a"\nname="A"\nkind="fd"\n', "pitch"),
        ('[[product]]\nid="a"\nname="A"\nkind="fd"\npitch="p"\n[product.eligibility]\nmin_age=70\nmax_age=60\n',
         "min_age"),
        ('[[product]]\nid="a"\nname="A"\nkind="fd"\npitch="p"\n[product.eligibility]\nmin_salary=1\n',
         "min_salary"),
        ('[[product]]\nid="a"\nname="A"\nkind="fd"\npitch="p"\n[[product]]\nid="a"\nname="B"\nkind="fd"\npitch="q"\n',
         "duplicate"),
        ("not toml [", "TOML"),
    ],
)
def test_bad_catalog_is_refused_with_a_clear_error(tmp_path: Path, body, message):
    path = tmp_path / "products.toml"
    path.write_text(body)
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_without_a_kind_the_top_products_are_of_different_kinds() -> None:
    from analytics.recommend import PRODUCT_KINDS, RecommendationContext, load_catalog, recommend

    catalog = load_catalog()
    saver = RecommendationContext(age=40, balance=900_000.0, monthly_income=120_000.0, monthly_spend=30_000.0,
                                  persona="High-value saver", churn_risk=0.05, has_anomalies_open=False,
                                  spend_by_category={"dining": 4000.0, "groceries": 6000.0})
    top = recommend(saver, catalog, limit=3)
    eligible_kinds = {r.kind for r in recommend(saver, catalog, limit=100)}
    assert len(top) == 3
    assert len({r.kind for r in top}) == min(3, len(eligible_kinds))
    assert all(r.kind in PRODUCT_KINDS for r in top)
    sips = recommend(saver, catalog, kind="sip", limit=3)
    assert all(r.kind == "sip" for r in sips)  # asking for a kind still lists several of it
