"""The anomaly evaluation's arithmetic: cuts, AUC, the naive baseline and the per-block figures, by hand."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.ingest import to_canonical

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "anomaly_eval.py"
_spec = importlib.util.spec_from_file_location("anomaly_eval", _PATH)
assert _spec is not None and _spec.loader is not None
anomaly_eval = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(anomaly_eval)

SCORES = np.array([5.0, 4.0, 4.0, 3.0, 1.0, -np.inf])
FRAUD = np.array([True, True, False, True, False, False])


def _ranking(keep: np.ndarray | None = None) -> anomaly_eval.Ranking:
    keep = np.ones(len(SCORES), dtype=bool) if keep is None else keep
    return anomaly_eval.Ranking(SCORES, np.argsort(-SCORES, kind="stable"), keep, FRAUD)


def test_top_k_counts_the_k_highest_scores() -> None:
    assert _ranking().top_k(2) == {"alerts": 2, "hits": 2, "precision": 1.0, "recall": round(2 / 3, 4)}
    assert _ranking().top_k(99)["alerts"] == 5  # -inf (a credit) is never an alert


def test_precision_cut_only_stops_between_different_scores() -> None:
    # Cuts: after 5 -> 1/1; after both 4s -> 2/3; after 3 -> 3/4: only the first reaches 0.8.
    cut = _ranking().at_precision(0.8)
    assert (cut["alerts"], cut["hits"], cut["threshold"]) == (1, 1, 5.0)
    assert _ranking().at_precision(0.75)["alerts"] == 4


def test_recall_cut_is_the_smallest_alert_set_that_reaches_it() -> None:
    # Fraud at 5, 4 (tied with a genuine 4) and 3: recall 0.6 needs 2 of 3 hits; the cut cannot split the
    # tie, so it takes both 4s (3 alerts, 2 hits); recall 0.9 needs all 3 (4 alerts).
    cut = _ranking().at_recall(0.6)
    assert (cut["alerts"], cut["hits"], cut["precision"], cut["threshold"]) == (3, 2, round(2 / 3, 4), 4.0)
    cut = _ranking().at_recall(0.9)
    assert (cut["alerts"], cut["hits"], cut["precision"], cut["recall"]) == (4, 3, 0.75, 1.0)


def test_recall_cut_never_counts_rows_that_cannot_alert() -> None:
    # The only fraud scores -inf (a credit): no threshold reaches any recall.
    fraud = np.array([False, False, False, False, False, True])
    ranking = anomaly_eval.Ranking(SCORES, np.argsort(-SCORES, kind="stable"), np.ones(6, bool), fraud)
    assert ranking.at_recall(0.5)["precision"] is None


def test_auc_counts_ties_as_half() -> None:
    # Fraud 5, 4, 3 against genuine 4, 1, -inf: 3 + 2.5 + 2 wins of 9 pairs.
    assert _ranking().auc() == pytest.approx(7.5 / 9, abs=1e-4)


def test_rows_left_out_are_not_judged() -> None:
    keep = np.array([True, True, False, True, True, True])
    assert _ranking(keep).auc() == pytest.approx(1.0)
    assert _ranking(keep).at_precision(0.8)["alerts"] == 3


def _history() -> pd.DataFrame:
    ts = pd.to_datetime(["2016-08-01 10:00", "2016-08-02 11:00", "2016-08-03 12:00", "2016-08-04 02:30",
                         "2016-08-05 10:00", "2016-08-01 09:00", "2016-08-09 09:00"])
    return to_canonical(pd.DataFrame({
        "transaction_id": [f"T{i}" for i in range(1, 8)],
        "customer_id": ["A", "A", "A", "A", "A", "B", "B"],
        "ts": ts, "amount": [100.0, 100.0, 100.0, 1000.0, 50_000.0, 300.0, 300.0],
        "balance": np.nan, "txn_type": ["DEBIT"] * 4 + ["CREDIT", "DEBIT", "DEBIT"],
        "location": ["PUNE", "PUNE", "PUNE", "GOA", "PUNE", "AGRA", "AGRA"],
    }))


def test_naive_score_is_robust_z_plus_new_city_plus_night() -> None:
    score = anomaly_eval.naive_scores(_history())
    # A's debits: log1p 100 three times and log1p 1000; median log1p(100), MAD 0 -> the floor.
    z = (math.log1p(1000) - math.log1p(100)) / anomaly_eval.NAIVE_MAD_FLOOR
    assert score[3] == pytest.approx(z + anomaly_eval.NAIVE_NEW_CITY + anomaly_eval.NAIVE_NIGHT)
    assert list(score[[0, 1, 2, 5, 6]]) == [0.0] * 5   # usual amounts, known places, daytime; B's first row
    assert score[4] == -np.inf                         # a credit is never an alert


def test_evaluate_counts_alerts_precision_recall_and_credits() -> None:
    frame = _history()
    labels = pd.DataFrame({"transaction_id": ["T4", "T5"], "scenario": ["night_burst", "salary_bonus"],
                           "is_fraud": [1, 0], "customer_id": ["A", "A"], "event": [0, 1],
                           "step": ["burst", "bonus"]})
    flagged = np.array([False, True, False, True, True, False, False])   # T2 false alarm, T5 a credit
    score = flagged.astype(float)
    report = anomaly_eval.evaluate(frame, flagged, score, anomaly_eval.naive_scores(frame), labels)
    detector = report["blocks"]["injected"]["detector"]
    assert (detector["alerts"], detector["hits"], detector["precision"], detector["recall"]) == (3, 1, 0.3333, 1.0)
    assert detector["credits_flagged"] == 1
    months = 8 / (365.25 / 12)
    assert detector["alerts_per_1k_customers_month"] == pytest.approx(3 * 1000 / 2 / months, abs=0.01)
    per = {s["scenario"]: s for s in report["scenarios"]}
    assert per["night_burst"]["flagged_share"] == 1.0 and per["night_burst"]["precision_on_these_customers"] == 0.3333
    assert per["salary_bonus"]["credits_flagged"] == 1
    naive = report["blocks"]["injected"]["naive_same_alerts"]
    assert naive["alerts"] == 3 and naive["hits"] == 1   # the naive score ranks T4 first
    assert report["false_alarms"]["background_flagged"] == 1


def test_native_fraud_is_broken_down_by_the_generators_kind() -> None:
    frame = _history()
    labels = pd.DataFrame({"transaction_id": ["T5"], "scenario": ["salary_bonus"], "is_fraud": [0],
                           "customer_id": ["A"], "event": [0], "step": ["bonus"]})
    flagged = np.array([False, False, False, True, False, False, False])
    score = np.array([0.1, 0.2, 0.3, 0.9, 0.0, 0.1, 0.5])
    native = {"T4": "odd_hour", "T7": "amount", "T6": "amount"}
    report = anomaly_eval.evaluate(frame, flagged, score, anomaly_eval.naive_scores(frame), labels, native)
    # Fraud scores 0.9, 0.5, 0.1 (T4, T7, T6); recall 0.9 needs all three, so the cut falls at 0.1, where T1
    # ties with T6: T4, T7, T3, T2, T1, T6 are the 6 alerts.
    cut = report["blocks"]["all_fraud"]["detector"]["score_at_recall_0_9"]
    assert (cut["alerts"], cut["hits"], cut["threshold"]) == (6, 3, 0.1)
    per = {k["kind"]: k for k in report["native_kinds"]}
    assert per["odd_hour"] == {"kind": "odd_hour", "rows": 1, "flagged_share": 1.0, "share_above_recall_0_9_cut": 1.0}
    assert per["amount"]["rows"] == 2 and per["amount"]["flagged_share"] == 0.0
    assert per["amount"]["share_above_recall_0_9_cut"] == 1.0
