"""Churn: the time-split model ranks real leavers first and explains risk in plain words."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analytics.churn import ChurnModel, churn_labels, precision_at_k
from tests.model_frames import frame, synth_bank


@pytest.fixture(scope="module")
def bank():
    return synth_bank()


@pytest.fixture(scope="module")
def model(bank) -> ChurnModel:
    return ChurnModel().fit(bank.transactions, bank.as_of)


def test_time_split_auc_beats_chance_clearly(model):
    m = model.metrics_
    print(f"churn: test AUC {m['auc']:.3f}, precision@10% {m['precision_at_k']:.3f}, base rate {m['base_rate']:.3f}")
    assert m["auc"] > 0.7
    assert m["precision_at_k"] > 2 * m["base_rate"]
    assert m["n_train"] > 0 and m["n_test"] > 0


def test_out_of_time_auc_on_labels_computed_here(bank):
    """Fit with everything up to T (as_of - 30 days) only, then judge on the 30 days it never saw."""
    txns = bank.transactions
    cutoff = bank.as_of - dt.timedelta(days=30)
    seen = txns[txns["ts"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    risk = ChurnModel().fit(seen, cutoff).predict(seen, cutoff)["churn_risk"]
    last_seen = seen.groupby("customer_id")["ts"].max()
    active = last_seen[last_seen >= pd.Timestamp(cutoff) - pd.Timedelta(days=89)].index
    later = txns[txns["ts"] >= pd.Timestamp(cutoff) + pd.Timedelta(days=1)]["customer_id"].unique()
    y = ~active.isin(later)
    auc = roc_auc_score(y, risk.reindex(active))
    print(f"churn: out-of-time AUC {auc:.3f} on {len(active)} customers, {y.mean():.3f} left")
    assert auc > 0.7


def test_label_is_no_activity_in_the_next_30_days():
    txns = frame([
        {"customer_id": "A", "ts": "2016-08-01 10:00", "amount": 10.0},
        {"customer_id": "A", "ts": "2016-08-20 10:00", "amount": 10.0},   # within 30 days after 31 Jul
        {"customer_id": "B", "ts": "2016-08-01 10:00", "amount": 10.0},
        {"customer_id": "B", "ts": "2016-09-05 10:00", "amount": 10.0},   # 36 days later: too late
    ])
    labels = churn_labels(txns, pd.Index(["A", "B"]), dt.date(2016, 8, 1))
    assert list(labels) == [0, 1]


def test_precision_at_k_counts_leavers_among_the_riskiest_tenth():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0] * 2)
    score = np.arange(20, 0, -1, dtype=float)        # first rows riskiest; top 2 rows are [1, 0]
    assert precision_at_k(y, score, 0.1) == 0.5


def test_reasons_name_the_silence_in_days(model, bank):
    risk = model.predict(bank.transactions, bank.as_of)
    last = bank.transactions.groupby("customer_id")["ts"].max()
    high = risk[risk["level"] == "high"]
    assert len(high) > 0
    cid = high.index[0]
    days = (pd.Timestamp(bank.as_of) + pd.Timedelta(days=1) - last[cid]).days
    silence = [r for r in high.loc[cid, "reasons"] if r.startswith("no transaction for")]
    assert silence == [f"no transaction for {days} days"] or any("activity fell" in r for r in high.loc[cid, "reasons"])


def test_levels_follow_the_risk_thresholds(model, bank):
    risk = model.predict(bank.transactions, bank.as_of)
    assert (risk.loc[risk["churn_risk"] >= 0.6, "level"] == "high").all()
    assert (risk.loc[risk["churn_risk"] < 0.3, "level"] == "low").all()
    assert risk["churn_risk"].between(0, 1).all()
