"""The facade's proactive figures on a hand-made store: what a channel will read, through the real ingest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from analytics import recommend
from analytics.forecast import ABSTAIN
from bot.config import Config
from bot.services.errors import CustomerNotFound
from bot.services.ingestion import ingest_files
from bot.services.insights import PRODUCTS_PATH, InsightsService
from bot.storage.database import Store
from bot.storage.scores import ScoreRepository
from tests.intake_history import HEADER, raw_line

CID = "C9000001"
AS_OF = dt.date(2016, 10, 10)
SHOPS = (("ZOMATO", "dining"), ("DMART", "groceries"), ("SWIGGY", "dining"))


def write_statement(path: Path) -> None:
    """1 Jul – 10 Oct 2016: ₹1,400 a day of everyday spending, salary ₹50,000 on the 30th, rent ₹15,000 on
    the 12th, NETFLIX ₹499 on the 5th until September and ₹649 in October; only the last row carries the
    balance, ₹20,000 (so the forecast's start does not depend on how balances are derived)."""
    lines = [HEADER]
    rows: list[tuple[dt.datetime, float, str, str, str, str]] = []
    day = dt.date(2016, 7, 1)
    while day <= AS_OF:
        merchant, category = SHOPS[(day - dt.date(2016, 7, 1)).days % 3]
        rows.append((dt.datetime.combine(day, dt.time(20, 0)), 1_400.0, "DEBIT", merchant, category, "UPI"))
        if day.day == 30:
            rows.append((dt.datetime.combine(day, dt.time(9, 0)), 50_000.0, "CREDIT", "NEFT/SALARY ACME LTD",
                         "income", "NEFT"))
        if day.day == 12:
            rows.append((dt.datetime.combine(day, dt.time(8, 0)), 15_000.0, "DEBIT", "NEFT/HOUSE RENT", "rent",
                         "NEFT"))
        if day.day == 5:
            price = 649.0 if day.month == 10 else 499.0
            rows.append((dt.datetime.combine(day, dt.time(6, 0)), price, "DEBIT", "NETFLIX.COM", "entertainment",
                         "ONLINE"))
        day += dt.timedelta(days=1)
    rows.sort()
    for i, (when, amount, kind, merchant, category, channel) in enumerate(rows):
        balance = 20_000.0 if i == len(rows) - 1 else None
        lines.append(raw_line(f"P{i + 1}", CID, "PUNE", when, amount, balance, kind, merchant, category, channel))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def service(tmp_path: Path):
    path = tmp_path / "proactive.db"
    write_statement(tmp_path / "statement.csv")
    store = Store(path)
    ingest_files(store, [tmp_path / "statement.csv"], rejects_path=tmp_path / "rejects.csv")
    yield InsightsService(store, Config().with_db(path))
    store.close()


def score(store: Store, churn_risk: float) -> None:
    """A stored customer score, as `train` would write it (the overdraft rules read persona and churn risk)."""
    row = pd.DataFrame([{"segment": 0, "persona": "Salaried saver", "churn_risk": churn_risk, "churn_level": "low",
                         "churn_reasons": [], "rfm_recency": 5, "rfm_frequency": 5, "rfm_monetary": 3,
                         "balance_now": 20_000.0, "monthly_spend": 45_000.0, "frequency_per_month": 32.0,
                         "recency_days": 0, "n_txn": 110, "age_band": "26-35"}], index=[CID])
    with store.atomic():
        ScoreRepository(store).write_customer_scores(row, as_of=AS_OF)


def test_recurring_payments_list_what_the_statement_repeats(service) -> None:
    assert service.as_of() == AS_OF
    found = {p.merchant: p for p in service.recurring_payments(CID)}
    assert set(found) == {"HOUSE RENT", "NETFLIX"}
    assert (found["HOUSE RENT"].amount, found["HOUSE RENT"].next_expected) == (15_000.0, dt.date(2016, 10, 12))
    assert (found["NETFLIX"].amount, found["NETFLIX"].interval, found["NETFLIX"].category) == (
        649.0, "monthly", "entertainment")
    salary = service.regular_income(CID)
    assert salary is not None and (salary.amount, salary.day_of_month) == (50_000.0, 30)


def test_recurring_alerts_report_the_netflix_price_rise(service) -> None:
    (rise,) = service.recurring_alerts(CID)
    assert rise.kind == "price_rise" and (rise.previous_amount, rise.amount) == (499.0, 649.0)
    assert "went from ₹499 to ₹649" in rise.message


def test_balance_forecast_starts_from_the_balance_on_record(service) -> None:
    # 11 Oct 18,600; 12 Oct 2,200 after the rent; 13 Oct 800: below ₹2,000, 17 days before the salary.
    result = service.balance_forecast(CID)
    assert result.balance == 20_000.0 and result.threshold == 2_000.0
    assert result.crossing_date == dt.date(2016, 10, 13) and result.days_before_income == 17
    assert result.message == ("At your usual ₹1,400 a day, with ₹15,000 to HOUSE RENT due around 12 Oct 2016, you "
                              "will be below ₹2,000 around 13 Oct 2016, 17 days before your salary.")
    # the customer's own threshold is honoured
    assert service.balance_forecast(CID, low_balance_threshold=500).crossing_date == dt.date(2016, 10, 14)


def test_overdraft_is_suggested_only_when_its_rules_allow(service) -> None:
    catalog = {p.id: p for p in recommend.load_catalog(PRODUCTS_PATH)}
    # Before `train` there is no churn score: the product's max_churn_risk rule fails, so it is never named.
    assert "Overdraft" not in (service.balance_forecast(CID).tip or "")
    score(service.store, churn_risk=0.9)
    assert "Overdraft" not in (service.balance_forecast(CID).tip or "")
    score(service.store, churn_risk=0.1)
    tip = service.balance_forecast(CID).tip or ""
    assert tip.startswith(f"You are eligible for {catalog['od_protect'].name}")
    assert catalog["od_protect"].pitch in tip


def test_trend_and_pace_are_read_through_the_facade(service) -> None:
    # Every month has the same everyday spending: nothing rose, and October runs at the usual pace.
    assert service.spending_trend(CID) is None
    assert service.mid_month_pace(CID) is None


def test_unknown_customer_is_a_domain_error(service) -> None:
    with pytest.raises(CustomerNotFound):
        service.recurring_payments("C0000000")


def test_every_trained_customer_gets_answers_that_keep_their_own_rules(trained_services) -> None:
    svc = trained_services.insights
    as_of = svc.as_of()
    ids = [r[0] for r in trained_services.store.db.execute(
        "SELECT DISTINCT customer_id FROM transactions ORDER BY customer_id LIMIT 40").fetchall()]
    for cid in ids:
        for payment in svc.recurring_payments(cid):
            assert payment.txn_type == "DEBIT" and payment.n_charges >= 2
            assert payment.next_expected >= as_of - dt.timedelta(days=12)
        forecast = svc.balance_forecast(cid)
        assert forecast.status in {"will_cross", "stays_above", "below_now"} | ABSTAIN
        assert forecast.abstained == (forecast.status in ABSTAIN) and forecast.message
        if forecast.warn:
            assert forecast.crossing_date is not None and forecast.crossing_date > as_of and forecast.tip
        trend = svc.spending_trend(cid)
        if trend is not None:
            assert trend.change >= 0.2 and trend.increase >= 500
        pace = svc.mid_month_pace(cid)
        if pace is not None:
            assert pace.month == as_of.strftime("%Y-%m") and pace.ahead >= 500
