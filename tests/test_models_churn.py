"""Churn: rolling cutoffs rank real leavers first, calibrated levels mean a stated probability, the transparent
fallback says why, and "high" never covers most of the bank. Expected values come from hand-made histories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analytics.churn import (
    HIGH_PROBABILITY,
    MEDIUM_PROBABILITY,
    MIN_TRAIN_CHURNERS,
    RANK_HIGH_SHARE,
    RANK_MEDIUM_SHARE,
    ChurnModel,
    LevelRule,
    churn_labels,
    precision_at_k,
    transparent_risk,
)
from analytics.ingest import read_transactions, to_canonical
from tests.model_frames import frame, synth_bank

START, AS_OF = dt.date(2016, 1, 1), dt.date(2016, 10, 31)
REAL_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "bank_transactions_sample.csv"


def history(days_by_customer: dict[str, list[int]], start: dt.date = START, credit_day: int | None = None) -> pd.DataFrame:
    """Canonical rows: one ₹100 debit at 10:00 on each listed day (days after `start`) per customer, and a
    ₹30,000 salary credit at 09:00 on day 1 of each month the customer was still transacting."""
    rows = []
    for cid, days in days_by_customer.items():
        for d in days:
            rows.append((cid, pd.Timestamp(start) + pd.Timedelta(days=int(d), hours=10), 100.0, "DEBIT"))
        if credit_day is not None and days:
            last = pd.Timestamp(start) + pd.Timedelta(days=int(max(days)))
            for month in pd.date_range(pd.Timestamp(start), last, freq="MS"):
                rows.append((cid, month + pd.Timedelta(hours=9), 30_000.0, "CREDIT"))
    out = pd.DataFrame(rows, columns=["customer_id", "ts", "amount", "txn_type"])
    out["transaction_id"] = [f"T{i}" for i in range(len(out))]
    out["balance"] = 50_000.0
    return to_canonical(out)


SPAN = (AS_OF - START).days + 1                           # days 0..304


def every(step: int, until: int = SPAN) -> list[int]:
    return list(range(0, until, step))


# ---- the label and the figures --------------------------------------------------------------------------
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


def test_cutoffs_roll_back_and_never_look_into_the_hold_out():
    holdout, train = ChurnModel(step_days=15, max_cutoffs=12).cutoffs(START, AS_OF)
    assert holdout == [dt.date(2016, 10, 1), dt.date(2016, 9, 16)]
    assert train[:3] == [dt.date(2016, 8, 17), dt.date(2016, 8, 2), dt.date(2016, 7, 18)]
    assert len(train) == 12 and train[-1] == dt.date(2016, 3, 5)
    assert all(c + dt.timedelta(days=30) <= min(holdout) for c in train)   # no training label after the hold-out


def test_a_history_shorter_than_the_window_has_no_hold_out():
    assert ChurnModel().cutoffs(dt.date(2016, 10, 1), dt.date(2016, 10, 31)) == ([], [])


# ---- the transparent score ------------------------------------------------------------------------------
def test_transparent_risk_by_hand():
    """10 silent days at 0.5 a day, a pace of 15 a month, 5% prior of having gone, bursty habits (shape 1):
    P(silence | there) = 1/(1 + 5) = 1/6; P(there) = 0.95/6 / (0.95/6 + 0.05) = 0.76;
    P(no transaction in 30 days | there) = 1/(1 + 15) = 1/16; risk = 1 - 0.76 * 15/16 = 0.2875."""
    risk = transparent_risk(np.array([10.0]), np.array([0.5]), np.array([15.0]))
    assert risk[0] == pytest.approx(0.2875, abs=1e-4)


def test_transparent_risk_rises_with_silence_and_with_a_fall_in_pace():
    days = np.array([0.0, 5.0, 20.0, 60.0])
    assert np.all(np.diff(transparent_risk(days, np.full(4, 0.5), np.full(4, 15.0))) > 0)
    pace = np.array([30.0, 15.0, 4.0, 1.0])
    assert np.all(np.diff(transparent_risk(np.full(4, 2.0), np.full(4, 0.5), pace)) > 0)


# ---- ranking and reasons ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stoppers_bank() -> tuple[pd.DataFrame, dict[str, int]]:
    """80 customers paying every other day all year; 40 who pay the same way and stop for good on a day
    spread from day 60 to day 290, so every cutoff has some recent leavers."""
    days = {f"S{i:03d}": every(2) for i in range(80)}
    stop = {f"L{i:03d}": int(d) for i, d in enumerate(np.linspace(60, 290, 40))}
    days |= {cid: every(2, s) for cid, s in stop.items()}
    return history(days, credit_day=1), stop


def test_a_customer_who_stops_is_ranked_above_every_one_who_continues(stoppers_bank):
    txns, stop = stoppers_bank
    scored = ChurnModel().fit(txns, AS_OF).predict(txns, AS_OF)
    recent_leavers = [c for c, s in stop.items() if c in scored.index]
    assert len(recent_leavers) >= 10        # those stopped within the 90-day look-back are still scored
    steady = scored.loc[scored.index.str.startswith("S"), "churn_risk"]
    assert scored.loc[recent_leavers, "churn_risk"].min() > steady.max()
    assert set(scored.loc[steady.index, "level"]) == {"low"}
    silent_a_month = [c for c in recent_leavers if (AS_OF - START).days - max(every(2, stop[c])) >= 30]
    assert silent_a_month and set(scored.loc[silent_a_month, "level"]) == {"high"}


def test_rolling_cutoffs_find_more_churners_than_one_window(stoppers_bank):
    txns, stop = stoppers_bank
    model = ChurnModel().fit(txns, AS_OF)
    # One window alone: the leavers of 17 Aug are those still active then who stop before it (by hand: last
    # no payment after day 229, 17 Aug, and one on or after day 140, 90 days before).
    in_one_window = sum(1 for s in stop.values() if 140 <= max(every(2, s)) <= 229)
    assert model.metrics_["n_cutoffs"] == 12
    assert model.metrics_["n_train_churners"] > 3 * in_one_window > 0


def test_reasons_state_the_silence_and_the_fall_counted_by_hand():
    """Nobody leaves in any labelled window, so the transparent score explains the two odd customers: one
    silent since 21 Sep (40 days before 31 Oct), one down from a payment a day (59 in days 32-90: 30 a month)
    to 4 in the last 31 days, the last on 11 Oct."""
    days = {f"S{i:02d}": every(1) for i in range(100)}
    days["QUIET"] = every(1, (dt.date(2016, 9, 21) - START).days + 1)
    recent = (AS_OF - START).days - 30                     # 1 Oct: the first of the last 31 days
    days["FALL"] = every(1, recent) + [recent + 1, recent + 4, recent + 7, recent + 10]
    txns = history(days)
    model = ChurnModel().fit(txns, AS_OF)
    scored = model.predict(txns, AS_OF)
    assert model.method_ == "transparent"
    assert "no transaction for 40 days" in scored.loc["QUIET", "reasons"]
    assert "activity fell from 30 to 4 transactions a month" in scored.loc["FALL", "reasons"]
    assert "no transaction for 20 days" in scored.loc["FALL", "reasons"]      # last payment on 11 Oct
    assert scored.loc[["QUIET", "FALL"], "level"].tolist() == ["high", "high"]


# ---- the fallback -----------------------------------------------------------------------------------------
def test_one_class_training_windows_fall_back_with_the_stated_reason():
    txns = history({f"S{i:02d}": every(1) for i in range(60)})
    model = ChurnModel().fit(txns, AS_OF)
    scored = model.predict(txns, AS_OF)
    assert model.method_ == "transparent" and model.model_ is None
    assert "only one class (0 churners, " in model.metrics_["method_reason"]
    assert model.metrics_["method_reason"] in model.method_sentence()
    # No hold-out churner to calibrate on: the levels rank, and say so.
    assert "riskiest 5%" in model.metrics_["level_rule"]
    assert (scored["level"] == "high").sum() == int(np.floor(60 * RANK_HIGH_SHARE))


def test_too_few_churners_fall_back_instead_of_fitting_noise():
    days = {f"S{i:02d}": every(1) for i in range(60)}
    days["GONE"] = every(1, 200)
    model = ChurnModel().fit(history(days), AS_OF)
    assert model.method_ == "transparent"
    assert model.metrics_["n_train_churners"] < MIN_TRAIN_CHURNERS
    assert "too few of one class" in model.metrics_["method_reason"]


def test_no_labelled_window_still_keeps_high_to_the_riskiest_few():
    start = dt.date(2016, 10, 12)                          # 20 days of history
    days = {f"C{i:03d}": every(1 + i % 7, 20) for i in range(200)}
    txns = history(days, start=start)
    model = ChurnModel().fit(txns, AS_OF)
    levels = model.predict(txns, AS_OF)["level"]
    assert model.method_ == "transparent" and "no labelled 30-day window" in model.method_sentence()
    assert (levels == "high").sum() == int(np.floor(200 * RANK_HIGH_SHARE))
    assert (levels == "medium").sum() == int(np.floor(200 * (RANK_HIGH_SHARE + RANK_MEDIUM_SHARE))) - 10


def test_when_no_transaction_in_30_days_is_the_norm_levels_rank_not_everyone_is_high():
    """Like the public file: most IDs have one or two rows, so nearly everyone 'churns' in any window."""
    rng = np.random.default_rng(4)
    start = dt.date(2016, 8, 1)
    span = (AS_OF - start).days + 1
    days = {f"C{i:04d}": sorted(rng.choice(span, rng.integers(1, 3), replace=False).tolist()) for i in range(900)}
    days |= {f"S{i:03d}": every(3, span) for i in range(100)}
    txns = history(days, start=start)
    model = ChurnModel().fit(txns, AS_OF)
    levels = model.predict(txns, AS_OF)["level"]
    assert model.metrics_["base_rate"] > 0.5
    assert "the norm here" in model.metrics_["level_rule"]
    assert (levels == "high").mean() == pytest.approx(RANK_HIGH_SHARE, abs=1 / len(levels))


# ---- calibration and levels ----------------------------------------------------------------------------
def test_calibrated_risk_matches_each_groups_churn_rate_a_month_later():
    """Irregular customers pay on random days at 1 a month (memoryless: P(no payment in 30 days) = e^-1 for
    each, whatever their silence); steady ones every day. Fit with data up to 1 Oct only; the mean risk of
    each group at 1 Oct must match how many of it made no payment in October."""
    rng = np.random.default_rng(11)
    days = {f"R{i:03d}": np.flatnonzero(rng.random(SPAN) < 1 / 30).tolist() for i in range(500)}
    days |= {f"S{i:03d}": every(1) for i in range(200)}
    txns = history(days)
    cutoff = AS_OF - dt.timedelta(days=30)
    seen = txns[txns["ts"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    scored = ChurnModel().fit(seen, cutoff).predict(seen, cutoff)
    later = set(txns.loc[txns["ts"] >= pd.Timestamp(cutoff) + pd.Timedelta(days=1), "customer_id"])
    churned = pd.Series([c not in later for c in scored.index], index=scored.index)
    irregular = scored.index.str.startswith("R")
    assert 0.25 < churned[irregular].mean() < 0.5                     # e^-1 = 0.37, give or take the sample
    assert scored.loc[irregular, "churn_risk"].mean() == pytest.approx(churned[irregular].mean(), abs=0.07)
    assert scored.loc[~irregular, "churn_risk"].mean() < 0.05 and not churned[~irregular].any()


def test_probability_levels_are_capped_at_three_times_the_base_rate():
    rule = LevelRule("probability", high_cap=0.3, sentence="")
    risk = np.array([0.9, 0.95, 0.6, 0.7, 0.55, 0.8, 0.3, 0.1, 0.2, 0.05])
    level, capped = rule.apply(risk, score=risk)
    assert capped and level.tolist() == ["high", "high", "medium", "medium", "medium", "high", "medium", "low",
                                         "medium", "low"]
    level, capped = LevelRule("probability", high_cap=1.0, sentence="").apply(risk, score=risk)
    assert not capped and (level == "high").sum() == 6


@pytest.fixture(scope="module")
def bank():
    return synth_bank()


@pytest.fixture(scope="module")
def model(bank) -> ChurnModel:
    return ChurnModel().fit(bank.transactions, bank.as_of)


def test_on_the_synthetic_bank_the_trained_blend_beats_the_transparent_score(model):
    m = model.metrics_
    print(f"churn: hold-out AUC {m['auc']:.3f} (transparent {m['auc_transparent']:.3f}), P@10% "
          f"{m['precision_at_k']:.3f}, Brier {m['brier']:.4f}, base rate {m['base_rate']:.3f}, {m['holdout_levels']}")
    assert model.method_ == "blend" and m["auc_blend"] > m["auc_transparent"]
    assert m["auc"] > 0.95 and m["precision_at_k"] > 3 * m["base_rate"]
    assert m["brier"] < 0.5 * m["brier_base_rate"]


def test_levels_follow_the_stated_probabilities(model, bank):
    scored = model.predict(bank.transactions, bank.as_of)
    assert not model.metrics_["high_capped"]
    risk, level = scored["churn_risk"], scored["level"]
    assert (level[risk >= HIGH_PROBABILITY] == "high").all()
    assert (level[(risk >= MEDIUM_PROBABILITY) & (risk < HIGH_PROBABILITY)] == "medium").all()
    assert (level[risk < MEDIUM_PROBABILITY] == "low").all()


def test_out_of_time_high_means_at_least_even_odds_and_stays_near_the_base_rate(bank):
    """Fit with everything up to T (as_of - 30 days) only, then judge on the 30 days it never saw."""
    txns = bank.transactions
    cutoff = bank.as_of - dt.timedelta(days=30)
    seen = txns[txns["ts"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    scored = ChurnModel().fit(seen, cutoff).predict(seen, cutoff)
    later = set(txns.loc[txns["ts"] >= pd.Timestamp(cutoff) + pd.Timedelta(days=1), "customer_id"])
    y = np.array([c not in later for c in scored.index])
    high = (scored["level"] == "high").to_numpy()
    auc = roc_auc_score(y, scored["churn_risk"])
    print(f"churn: out-of-time AUC {auc:.3f}, {y.mean():.3f} left, high {high.mean():.3f} "
          f"of whom {y[high].mean():.2f} left")
    assert auc > 0.95
    assert y[high].mean() >= HIGH_PROBABILITY - 0.1
    assert high.mean() <= 3 * y.mean()


@pytest.mark.skipif(not REAL_SAMPLE.exists(), reason="public data sample not present")
def test_the_public_sample_falls_back_and_never_calls_the_bank_high():
    txns = read_transactions([REAL_SAMPLE]).frame
    as_of = pd.Timestamp(txns["ts"].max()).date()
    model = ChurnModel().fit(txns, as_of)
    levels = model.predict(txns, as_of)["level"]
    print(model.method_sentence())
    assert model.method_ == "transparent"
    assert (levels == "high").mean() <= RANK_HIGH_SHARE + 1 / len(levels)
