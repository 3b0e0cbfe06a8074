"""The proactive analyses over a whole synthetic bank (its README says which salaries, bills and subscriptions
it generates) and over the real public sample (mostly one row per ID: nothing recurring to find)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import lru_cache

import pandas as pd
import pytest

from analytics.categorize import assign_categories, train_default_categorizer
from analytics.forecast import forecast_balance
from analytics.ingest import read_transactions
from analytics.recurring import merchant_key, scan_recurring
from analytics.synth_params import SUBSCRIPTIONS
from analytics.trends import monthly_trend
from tests.model_frames import synth_bank

EVERYDAY = {"groceries", "dining", "shopping", "travel", "fuel", "cash", "health"}


@lru_cache(maxsize=1)
def bank_scans():
    bank = synth_bank(300, 12, 7)
    txns = bank.transactions.copy()
    txns["category"] = assign_categories(txns, train_default_categorizer).to_numpy()
    txns["text"] = txns["merchant"].fillna("").str.upper()
    frames = {c: g.sort_values("ts", kind="stable").reset_index(drop=True) for c, g in txns.groupby("customer_id")}
    # A generous alert window: every duplicate or price rise anywhere in the year is counted.
    scans = {c: scan_recurring(f, bank.as_of, alert_days=400) for c, f in frames.items()}
    return bank, frames, scans


def described(frame: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows whose description contains `text`."""
    return frame[[text in t for t in frame["text"].tolist()]]


def test_most_salaried_customers_have_their_salary_day_detected() -> None:
    bank, frames, scans = bank_scans()
    labels = bank.customer_labels.set_index("CustomerID")
    checked = right = 0
    for cid, frame in frames.items():
        credits = frame[frame["txn_type"] == "CREDIT"]
        salary = described(credits, "SALARY")
        recent = salary[salary["ts"] >= pd.Timestamp(bank.as_of - dt.timedelta(days=40))]
        if labels.loc[cid, "persona"] == "student" or len(salary) < 3 or recent.empty:
            continue            # moved their salary away, or not salaried
        checked += 1
        payday = Counter(salary["ts"].dt.day).most_common(1)[0][0]
        income = scans[cid].regular_income
        right += income is not None and merchant_key(salary["merchant"].iloc[-1]) == income.merchant \
            and abs(income.day_of_month - payday) <= 1
    assert checked > 150
    assert right / checked >= 0.95


def test_subscriptions_are_found_at_their_price() -> None:
    bank, frames, scans = bank_scans()
    recent = pd.Timestamp(bank.as_of - dt.timedelta(days=35))
    expected = found = 0
    for cid, frame in frames.items():
        rows = list(zip(frame["text"].tolist(), frame["amount"].round(2).tolist(), frame["ts"].tolist(), strict=True))
        for name, price in SUBSCRIPTIONS:
            charges = [ts for text, amount, ts in rows if name in text and amount == price]
            if len(charges) < 3 or max(charges) < recent:
                continue            # never subscribed, or stopped
            expected += 1
            found += any(p.merchant == name and p.amount == price and p.interval == "monthly"
                         for p in scans[cid].payments)
    assert expected > 50
    assert found / expected >= 0.95


def test_rent_is_found_for_renters() -> None:
    bank, frames, scans = bank_scans()
    expected = found = 0
    for cid, frame in frames.items():
        rent = frame[(frame["category"] == "rent") & (frame["ts"] >= pd.Timestamp(bank.as_of - dt.timedelta(days=35)))]
        if rent.empty or (frame["category"] == "rent").sum() < 3:
            continue
        expected += 1
        found += any(p.category == "rent" and p.interval == "monthly" for p in scans[cid].payments)
    assert expected > 50
    assert found / expected >= 0.95


def test_everyday_shopping_is_almost_never_called_recurring() -> None:
    _, _, scans = bank_scans()
    series = [p for scan in scans.values() for p in scan.payments]
    everyday = [p for p in series if p.category in EVERYDAY]
    assert len(series) > 500
    assert len(everyday) <= 0.01 * len(series)


def test_a_bank_without_duplicates_or_price_changes_gets_almost_no_such_alerts() -> None:
    # The generator charges every bill once a period at a fixed price: every such alert would be false.
    _, frames, scans = bank_scans()
    alerts = Counter(a.kind for scan in scans.values() for a in scan.alerts)
    assert alerts["duplicate_charge"] <= 0.01 * len(frames)
    assert alerts["price_rise"] <= 0.01 * len(frames)


def test_real_sample_finds_nothing_recurring_and_does_not_crash(real_sample_csv) -> None:
    txns = read_transactions([real_sample_csv]).frame
    counts = txns["customer_id"].value_counts()
    busiest = counts.index[:200]
    as_of = pd.Timestamp(txns["ts"].max()).date()
    subset = txns[txns["customer_id"].isin(busiest)]
    statuses: Counter[str] = Counter()
    for _, frame in subset.groupby("customer_id"):
        frame = frame.sort_values("ts").reset_index(drop=True)
        frame["category"] = assign_categories(frame, None).to_numpy()
        scan = scan_recurring(frame, as_of)
        assert (scan.payments, scan.incomes, scan.alerts) == ((), (), ())
        assert monthly_trend(frame, as_of) is None
        known = frame[frame["balance"].notna()]
        balance = float(known["balance"].iloc[-1]) if len(known) else None
        result = forecast_balance(frame, as_of, balance, as_of if balance is not None else None, 2_000.0, scan)
        statuses[result.status] += 1
        assert result.income is None
        # Weeks of history and no credits at all: it abstains rather than warn.
        assert not result.warn and (result.abstained or result.status == "below_now")
    assert sum(statuses.values()) == len(busiest)


@pytest.fixture(autouse=True, scope="module")
def _release_bank():
    yield
    bank_scans.cache_clear()
