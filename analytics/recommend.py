"""Ranks catalog products for one customer by fit, only ever among those the customer is eligible for."""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analytics.money import format_inr
from analytics.results import Recommendation
from analytics.schema import CATEGORIES

log = logging.getLogger(__name__)

DEFAULT_CATALOG_PATH = Path(__file__).resolve().parent.parent / "data" / "products.toml"
PRODUCT_KINDS = ("savings", "fd", "sip", "credit_card", "personal_loan", "overdraft")
_ELIGIBILITY_KEYS = frozenset({"min_balance", "min_monthly_income", "min_age", "max_age", "max_churn_risk",
                               "excluded_personas", "no_open_anomalies"})
_PRODUCT_KEYS = frozenset({"id", "name", "kind", "pitch", "rate", "focus_categories", "target_personas",
                           "eligibility"})


class CatalogError(ValueError):
    """The product catalog file is malformed."""


@dataclass(frozen=True)
class Eligibility:
    """Hard rules: a product failing any of them is never shown."""

    min_balance: float | None = None
    min_monthly_income: float | None = None
    min_age: int | None = None
    max_age: int | None = None
    max_churn_risk: float | None = None
    excluded_personas: tuple[str, ...] = ()
    no_open_anomalies: bool = False


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    kind: str
    pitch: str
    eligibility: Eligibility = field(default_factory=Eligibility)
    rate: float | None = None
    focus_categories: tuple[str, ...] = ()
    target_personas: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecommendationContext:
    """What the recommender may know about a customer; None = unknown."""

    age: int | None
    balance: float | None
    monthly_income: float
    monthly_spend: float
    persona: str | None
    churn_risk: float | None
    has_anomalies_open: bool
    spend_by_category: Mapping[str, float] = field(default_factory=dict)


def _number(value: object, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
        raise CatalogError(f"{where}: {key} must be a non-negative number, got {value!r}")
    return float(value)


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _parse_eligibility(raw: object, where: str) -> Eligibility:
    if raw is None:
        return Eligibility()
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: eligibility must be a table")
    unknown = set(raw) - _ELIGIBILITY_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown eligibility key(s) {sorted(unknown)}; known: {sorted(_ELIGIBILITY_KEYS)}")
    values: dict[str, object] = {}
    for key in ("min_balance", "min_monthly_income", "max_churn_risk"):
        if key in raw:
            values[key] = _number(raw[key], where, key)
    for key in ("min_age", "max_age"):
        if key in raw:
            age = raw[key]
            if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120:
                raise CatalogError(f"{where}: {key} must be a whole number of years, got {age!r}")
            values[key] = age
    if "max_churn_risk" in values and not 0 <= values["max_churn_risk"] <= 1:  # type: ignore[operator]
        raise CatalogError(f"{where}: max_churn_risk must be between 0 and 1")
    if "min_age" in values and "max_age" in values and values["min_age"] > values["max_age"]:  # type: ignore[operator]
        raise CatalogError(f"{where}: min_age is above max_age")
    if "excluded_personas" in raw:
        values["excluded_personas"] = tuple(p.lower() for p in _strings(raw["excluded_personas"], where,
                                                                         "excluded_personas"))
    if "no_open_anomalies" in raw:
        if not isinstance(raw["no_open_anomalies"], bool):
            raise CatalogError(f"{where}: no_open_anomalies must be true or false")
        values["no_open_anomalies"] = raw["no_open_anomalies"]
    return Eligibility(**values)  # type: ignore[arg-type]


def _parse_product(raw: object, index: int, source: str) -> Product:
    where = f"{source}: product #{index + 1}"
    if not isinstance(raw, dict):
        raise CatalogError(f"{where} is not a table")
    if isinstance(raw.get("id"), str):
        where = f"{source}: product {raw['id']!r}"
    unknown = set(raw) - _PRODUCT_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {sorted(unknown)}")
    for key in ("id", "name", "kind", "pitch"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise CatalogError(f"{where}: missing or empty {key!r}")
    if raw["kind"] not in PRODUCT_KINDS:
        raise CatalogError(f"{where}: kind {raw['kind']!r} is not one of {', '.join(PRODUCT_KINDS)}")
    focus = _strings(raw["focus_categories"], where, "focus_categories") if "focus_categories" in raw else ()
    bad = [c for c in focus if c not in CATEGORIES]
    if bad:
        raise CatalogError(f"{where}: focus_categories {bad} are not spending categories")
    return Product(
        id=raw["id"].strip(),
        name=raw["name"].strip(),
        kind=raw["kind"],
        pitch=raw["pitch"].strip(),
        eligibility=_parse_eligibility(raw.get("eligibility"), where),
        rate=_number(raw["rate"], where, "rate") if "rate" in raw else None,
        focus_categories=focus,
        target_personas=tuple(p.lower() for p in _strings(raw["target_personas"], where, "target_personas"))
        if "target_personas" in raw else (),
    )


def load_catalog(path: Path | str = DEFAULT_CATALOG_PATH) -> tuple[Product, ...]:
    """Read and validate the product catalog; CatalogError names the product and field at fault."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"product catalog not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc})") from exc
    raw_products = data.get("product")
    if not isinstance(raw_products, list) or not raw_products:
        raise CatalogError(f"{path}: no [[product]] entries")
    products = tuple(_parse_product(raw, i, str(path)) for i, raw in enumerate(raw_products))
    seen: set[str] = set()
    for product in products:
        if product.id in seen:
            raise CatalogError(f"{path}: duplicate product id {product.id!r}")
        seen.add(product.id)
    return products


def ineligibility_reasons(product: Product, ctx: RecommendationContext) -> tuple[str, ...]:
    """Why a customer may not have this product (empty = eligible). Unknown facts never pass a rule."""
    rules = product.eligibility
    reasons = []
    if rules.min_age is not None or rules.max_age is not None:
        if ctx.age is None:
            reasons.append("age unknown")
        elif rules.min_age is not None and ctx.age < rules.min_age:
            reasons.append(f"younger than {rules.min_age}")
        elif rules.max_age is not None and ctx.age > rules.max_age:
            reasons.append(f"older than {rules.max_age}")
    if rules.min_balance:
        if ctx.balance is None or ctx.balance < rules.min_balance:
            reasons.append(f"balance below {format_inr(rules.min_balance)}")
    if rules.min_monthly_income and ctx.monthly_income < rules.min_monthly_income:
        reasons.append(f"monthly income below {format_inr(rules.min_monthly_income)}")
    if rules.max_churn_risk is not None and (ctx.churn_risk is None or ctx.churn_risk > rules.max_churn_risk):
        reasons.append("churn risk unknown or too high")
    persona = (ctx.persona or "").lower()
    if persona and any(word in persona for word in rules.excluded_personas):
        reasons.append(f"not offered to {ctx.persona} customers")
    if rules.no_open_anomalies and ctx.has_anomalies_open:
        reasons.append("an unusual-transaction alert is open")
    return tuple(reasons)


def is_eligible(product: Product, ctx: RecommendationContext) -> bool:
    return not ineligibility_reasons(product, ctx)


def _persona_bonus(product: Product, ctx: RecommendationContext) -> float:
    persona = (ctx.persona or "").lower()
    return 0.15 if persona and any(word in persona for word in product.target_personas) else 0.0


def _round_down(amount: float, step: float) -> float:
    return math.floor(amount / step) * step


def _fit(product: Product, ctx: RecommendationContext) -> tuple[float, str]:
    """A 0..1 fit score and the one-line reason, from the customer's own numbers."""
    balance = ctx.balance or 0.0
    spend = max(0.0, ctx.monthly_spend)
    income = max(0.0, ctx.monthly_income)
    surplus = income - spend
    if product.kind == "savings":
        if product.eligibility.min_balance:
            months = balance / spend if spend > 0 else 12.0
            score = 0.25 + 0.5 * min(1.0, months / 6)
            rate = f"{product.rate or 0:g}% a year"
            # "about N months of your spending" only when there is spending on record to measure it by.
            reason = (f"Your balance of {format_inr(balance)} is about {months:.0f} months of your spending; "
                      f"it would earn {rate} here." if spend > 0 else
                      f"Your balance of {format_inr(balance)} would earn {rate} here.")
        else:
            short = ctx.balance is not None and spend > 0 and ctx.balance < spend
            score = 0.55 if short else 0.2
            reason = (f"Your balance of {format_inr(balance)} would never attract minimum-balance charges."
                      if ctx.balance is not None else "No minimum balance, so no penalty charges.")
    elif product.kind == "fd":
        idle = balance - 2 * spend
        locked = _round_down(idle, 1000)
        if locked >= max(1000.0, product.eligibility.min_balance or 0):
            score = 0.3 + 0.55 * min(1.0, locked / 200_000)
            interest = locked * (product.rate or 0) / 100
            at_hand = (f" and still keep two months of spending ({format_inr(2 * spend, paise=False)}) at hand"
                       if spend > 0 else "")
            reason = (f"You could lock {format_inr(locked, paise=False)}{at_hand}, earning about "
                      f"{format_inr(interest, paise=False)} a year at {product.rate or 0:g}%.")
        else:
            score = 0.08
            reason = (f"Your balance of {format_inr(balance)} covers less than two months of spending, so "
                      "keep it liquid before locking money away.")
    elif product.kind == "sip":
        if surplus > 0 and income > 0:
            sip = max(500.0, _round_down(surplus * 0.3, 500))
            score = 0.3 + 0.55 * min(1.0, surplus / income / 0.4)
            reason = (f"You keep about {format_inr(surplus, paise=False)} a month after spending; a "
                      f"{format_inr(sip, paise=False)} monthly SIP would put part of it to work.")
        elif income <= 0:
            score = 0.08
            reason = ("No income is credited to this account, so a SIP would come out of your balance; start "
                      "with ₹500 a month once your salary or other income arrives here.")
        else:
            score = 0.08
            reason = (f"Your spending ({format_inr(spend, paise=False)} a month) uses up your income now; "
                      "start with ₹500 a month when it eases.")
    elif product.kind == "credit_card":
        focus = {c: float(ctx.spend_by_category.get(c, 0.0)) for c in product.focus_categories}
        focus_spend = sum(focus.values())
        if focus_spend > 0:
            top = sorted((c for c in focus if focus[c] > 0), key=lambda c: -focus[c])
            back = focus_spend * (product.rate or 0) / 100
            score = 0.2 + 0.6 * min(1.0, focus_spend / spend if spend else 0.0) + 0.1 * min(1.0, back / 500)
            reason = (f"You spend about {format_inr(focus_spend, paise=False)} a month on {' and '.join(top)}; "
                      f"{product.rate or 0:g}% back would return about {format_inr(back, paise=False)} a month.")
        elif income > 0:
            score = 0.1
            reason = f"Pre-qualified on your monthly income of {format_inr(income, paise=False)}."
        else:
            score = 0.1
            reason = "No income is credited to this account, so the bank checks your income when you apply."
    elif product.kind == "personal_loan":
        score = 0.15
        reason = (f"Pre-approved on your monthly income of {format_inr(income, paise=False)}, for a need "
                  "your savings can't cover yet." if income > 0 else
                  "For a need your savings can't cover yet; no income is credited to this account, so the bank "
                  "checks your income when you apply.")
    else:  # overdraft
        if ctx.balance is not None and spend > 0 and ctx.balance < spend:
            score = 0.5 + 0.3 * min(1.0, (spend - ctx.balance) / spend)
            reason = (f"Your balance of {format_inr(ctx.balance)} is below a month of your spending "
                      f"({format_inr(spend, paise=False)}); this covers a short gap without a bounced payment.")
        else:
            score = 0.1
            reason = "A safety net for the month a big bill arrives before your salary."
    return min(1.0, score + _persona_bonus(product, ctx)), reason


def recommend(ctx: RecommendationContext, catalog: Iterable[Product], kind: str | None = None,
              limit: int = 3) -> tuple[Recommendation, ...]:
    """The best-fitting eligible products, best first (one per kind first), each with a reason in the
    customer's numbers."""
    if kind is not None and kind not in PRODUCT_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(PRODUCT_KINDS)}")
    ranked = []
    for product in catalog:
        if kind is not None and product.kind != kind:
            continue
        if not is_eligible(product, ctx):
            continue
        score, reason = _fit(product, ctx)
        ranked.append(Recommendation(product_id=product.id, name=product.name, kind=product.kind,
                                     pitch=product.pitch, reason=reason, score=round(score, 3)))
    ranked.sort(key=lambda r: (-r.score, r.product_id))
    if kind is None:
        # Without a kind asked for, one product of each kind: two SIPs with the same reason help nobody.
        # Second-best products of a kind fill the list only when there are not enough kinds.
        firsts = [r for i, r in enumerate(ranked) if r.kind not in {x.kind for x in ranked[:i]}]
        rest = [r for r in ranked if r not in firsts]
        ranked = firsts + rest
    return tuple(ranked[:max(0, limit)])
