"""Customer profiles equal figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.profiles import build_profiles, profile_for, rfm_score
from tests.model_frames import frame

AS_OF = dt.date(2016, 9, 30)


@pytest.fixture
def txns():
    return frame([
        {"customer_id": "C1", "ts": "2016-07-01 10:00", "amount": 1000.0, "balance": 9000.0, "location": "PUNE",
         "dob": "1990-10-15"},
        {"customer_id": "C1", "ts": "2016-08-15 11:00", "amount": 5000.0, "balance": 14000.0,
         "txn_type": "CREDIT", "location": "PUNE", "dob": "1990-10-15"},
        {"customer_id": "C1", "ts": "2016-09-20 12:00", "amount": 2000.0, "balance": 12000.0, "location": "MUMBAI",
         "dob": "1990-10-15"},
        {"customer_id": "C1", "ts": "2016-09-25 12:00", "amount": 500.0, "balance": np.nan, "location": "MUMBAI",
         "dob": "1990-10-15"},
        {"customer_id": "C2", "ts": "2016-09-29 09:00", "amount": 300.0, "balance": 700.0, "location": None,
         "dob": None, "gender": None},
        {"customer_id": "C3", "ts": "2016-10-05 09:00", "amount": 99.0, "balance": 1.0},  # after as_of
    ])


def test_activity_and_amounts_match_hand_counts(txns):
    p = build_profiles(txns, AS_OF).loc["C1"]
    assert (p.n_txn, p.n_debits, p.n_credits) == (4, 3, 1)
    assert p.total_spend == 3500.0 and p.total_income == 5000.0
    assert p.avg_debit == pytest.approx(3500.0 / 3)
    span_months = (dt.datetime(2016, 9, 25, 12) - dt.datetime(2016, 7, 1, 10)).total_seconds() / 86400 / 30.4375
    assert p.monthly_spend == pytest.approx(3500.0 / span_months)
    assert p.frequency_per_month == pytest.approx(4 / span_months)
    assert p.recency_days == 5 and p.tenure_days == 91


def test_balance_is_latest_known_and_trend_compares_30_days_earlier(txns):
    p = build_profiles(txns, AS_OF).loc["C1"]
    assert p.balance_now == 12000.0                    # the 25 Sep row has no balance
    assert p.balance_change_30d == 12000.0 - 14000.0    # latest balance on or before 31 Aug was 14,000
    assert p.balance_trend == "falling"


def test_age_and_location_come_from_latest_row(txns):
    p = build_profiles(txns, AS_OF).loc["C1"]
    assert p.age == 25 and p.age_band == "18-25"       # 26th birthday is on 15 Oct, after as_of
    assert p.location == "MUMBAI"


def test_unknown_dob_gives_unknown_age_band(txns):
    p = build_profiles(txns, AS_OF).loc["C2"]
    assert np.isnan(p.age) and p.age_band == "unknown"


def test_transactions_after_as_of_are_ignored(txns):
    assert "C3" not in build_profiles(txns, AS_OF).index


def test_rfm_scores_are_quintiles_and_ties_share_a_score():
    import pandas as pd

    scores = rfm_score(pd.Series([1, 1, 1, 1, 2, 3, 4, 5, 6, 7]))
    assert scores.iloc[0] == scores.iloc[3]             # ties never split across quintiles
    assert scores.min() >= 1 and scores.max() == 5
    assert list(rfm_score(pd.Series([10, 20, 30, 40, 50]))) == [1, 2, 3, 4, 5]
    assert list(rfm_score(pd.Series([10, 20, 30, 40, 50]), higher_is_better=False)) == [5, 4, 3, 2, 1]


def test_profile_for_one_customer_uses_stored_rfm(txns):
    own = txns[txns["customer_id"] == "C1"]
    profile = profile_for(own, AS_OF, rfm={"rfm_recency": 4, "rfm_frequency": 2, "rfm_monetary": 5})
    assert profile.customer_id == "C1" and profile.n_transactions == 4
    assert (profile.rfm_recency, profile.rfm_frequency, profile.rfm_monetary) == (4, 2, 5)
    assert profile.first_seen == dt.date(2016, 7, 1) and profile.last_seen == dt.date(2016, 9, 25)


def test_profile_for_row_equals_profile_for_transactions(txns):
    table = build_profiles(txns, AS_OF)
    from_row = profile_for(table.loc["C1"], AS_OF, customer_id="C1", rfm=(1, 2, 3))
    from_txns = profile_for(txns, AS_OF, customer_id="C1", rfm=(1, 2, 3))
    assert from_row == from_txns
