"""The supervised ceiling of `benchmarks/anomaly_ceiling.py`: its facts by hand, and that it learns what the
labels carry and nothing when they carry nothing."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

_BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(_BENCH))
_spec = importlib.util.spec_from_file_location("anomaly_ceiling", _BENCH / "anomaly_ceiling.py")
assert _spec is not None and _spec.loader is not None
ceiling = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ceiling)


def _tiny() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["A", "A", "A", "A", "B"],
        "ts": pd.to_datetime(["2016-01-01 10:00", "2016-01-01 10:05", "2016-01-02 02:00", "2016-01-03 12:00",
                              "2016-01-01 10:00"]),
        "amount": [100.0, 200.0, 50.0, 300.0, 10.0],
        "txn_type": ["DEBIT", "DEBIT", "CREDIT", "DEBIT", "DEBIT"],
        "location": ["X", "X", "Y", "Z", "X"],
        "merchant": ["m1", "m1", "m2", None, "m1"]})


def test_the_facts_of_each_row_by_hand() -> None:
    f = ceiling.ceiling_features(_tiny())
    log = np.log1p
    # A's debits are 100, 200, 300: median 200; the largest other debit is 300, or 200 for the 300 itself.
    assert np.allclose(f["times_median"], [log(100) - log(200), 0.0, log(50) - log(200), log(300) - log(200), 0.0])
    assert np.allclose(f["times_largest_other"][:4], [log(100) - log(300), log(200) - log(300),
                                                      log(50) - log(300), log(300) - log(200)])
    assert math.isnan(f["times_largest_other"][4])           # B has no other debit
    assert f["debits"].tolist() == [3, 3, 3, 3, 1]
    assert f["position"].tolist() == [0, 1, 2, 3, 0]
    assert f["place_before"].tolist() == [0, 1, 0, 0, 0]      # B's X is B's first
    assert f["place_other"].tolist() == [1, 1, 0, 0, 0]
    assert f["payee_before"][:3].tolist() == [0, 1, 0] and math.isnan(f["payee_before"][3])
    # Hours 9-11 hold A's rows at 10:00 and 10:05: one other of A's 3 other rows; 12:00 and 2:00 are alone.
    assert np.allclose(f["hour_share"], [1 / 3, 1 / 3, 0.0, 0.0, 0.0])
    # 10:00 and 10:05 are within 10 minutes of each other; the credit is never counted or counting.
    assert f["near_600"].tolist() == [1, 1, 0, 0, 0]
    assert f["near_3600"].tolist() == [1, 1, 0, 0, 0]
    assert f["credit"].tolist() == [0, 0, 1, 0, 0]


def _bank(n_customers: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers paying at home in the day; one in four also pays once at 2-3 am in a city never seen."""
    rows, fraud = [], []
    start = pd.Timestamp("2016-01-01")
    for c in range(n_customers):
        for k in range(30):
            ts = start + pd.Timedelta(days=k * 3, hours=int(rng.integers(9, 20)), minutes=int(rng.integers(0, 60)))
            rows.append((f"C{c}", ts, float(rng.lognormal(6, 0.5)), "DEBIT", "HOME"))
            fraud.append(False)
        if c % 4 == 0:
            ts = start + pd.Timedelta(days=40, hours=int(rng.integers(2, 4)))
            rows.append((f"C{c}", ts, float(rng.lognormal(6, 0.5)), "DEBIT", f"ELSEWHERE{c}"))
            fraud.append(True)
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "amount", "txn_type", "location"])
    return frame, np.array(fraud)


def test_the_ceiling_learns_what_the_labels_carry() -> None:
    frame, fraud = _bank(300, np.random.default_rng(1))
    features = ceiling.ceiling_features(frame)
    customer = pd.factorize(frame["customer_id"])[0]
    scores = ceiling.supervised_scores(features, fraud, customer, ceiling.GENERIC)
    judged = ceiling.judge(scores, fraud)
    # The pattern separates the rows completely; leaves of at least 100 rows (`MODEL`) blur its edge a little.
    assert judged["precision_at_recall_0_9"] >= 0.9 and judged["recall_at_precision_0_8"] >= 0.9


def test_the_ceiling_learns_nothing_from_labels_that_carry_nothing() -> None:
    frame, _ = _bank(300, np.random.default_rng(2))
    coin = np.random.default_rng(3).random(len(frame)) < 0.05
    features = ceiling.ceiling_features(frame)
    customer = pd.factorize(frame["customer_id"])[0]
    judged = ceiling.judge(ceiling.supervised_scores(features, coin, customer, ceiling.GENERIC), coin)
    assert abs(judged["auc"] - 0.5) < 0.06
    # At recall 0.9 a score without information keeps about the base rate as its precision.
    assert judged["precision_at_recall_0_9"] < 2 * coin.mean()


def test_judge_reads_the_same_cuts_as_the_evaluation() -> None:
    score = np.array([5.0, 4.0, 4.0, 3.0, 1.0, 0.5])
    fraud = np.array([True, True, False, True, False, False])
    judged = ceiling.judge(score, fraud)
    # Recall 0.9 of 3 needs all 3: the cut after 3.0 keeps 4 rows -> precision 3/4; precision 0.8 holds
    # only above the tie at 4.0 -> recall 1/3.
    assert judged["precision_at_recall_0_9"] == 0.75
    assert judged["recall_at_precision_0_8"] == round(1 / 3, 4)
    assert judged["auc"] == round((3 + 2.5 + 2) / 9, 4)   # 5 beats all three; 4 ties one; 3 loses to 4


def test_hosting_counts_who_could_carry_fraud_by_hand() -> None:
    frame = pd.DataFrame({
        "customer_id": ["A"] * 5 + ["B"] * 2 + ["C"] * 4,
        "txn_type": ["DEBIT", "DEBIT", "DEBIT", "CREDIT", "DEBIT", "DEBIT", "DEBIT",
                     "DEBIT", "DEBIT", "DEBIT", "DEBIT"]})
    fraud = np.array([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], bool)
    eligible, summary = ceiling.hosting(frame, fraud, min_debits=3)
    # A has 3 genuine debits (its credit and its fraud do not count), B 2, C 4.
    assert eligible.tolist() == [True] * 5 + [False] * 2 + [True] * 4
    assert summary["customers"] == 3 and summary["eligible_customers"] == 2 and summary["hosts"] == 1
    assert summary["eligible_rows"] == 9
    assert math.isclose(summary["fraud_share_of_eligible_rows"], 1 / 9)
    assert math.isclose(summary["median_fraud_share_of_host_history"], 1 / 5)   # A: 1 fraud of 5 rows


def test_no_hindsight_facts_of_a_row_do_not_change_when_later_place_and_payee_rows_arrive() -> None:
    """`place_before`/`payee_before` and the row's own facts are what a row's intake knows about places and
    payees; the hindsight facts (`place_other`, ...) move when a later row reuses them."""
    assert not set(ceiling.HINDSIGHT) & set(ceiling.NO_HINDSIGHT_GENERIC)
    assert not set(ceiling.HINDSIGHT + ("category_code", "channel_code")) & set(ceiling.NO_HINDSIGHT_RICH)
    early = _tiny().iloc[:2]                                  # A's first two rows, both at X with m1
    later = pd.concat([early, pd.DataFrame({
        "customer_id": ["A"], "ts": pd.to_datetime(["2016-02-01 10:00"]), "amount": [100.0],
        "txn_type": ["DEBIT"], "location": ["X"], "merchant": ["m1"]})], ignore_index=True)
    before, after = ceiling.ceiling_features(early), ceiling.ceiling_features(later).iloc[:2]
    for column in ("place_before", "payee_before", "hour", "log_amount", "credit"):
        assert before[column].tolist() == after[column].tolist()
    assert before["place_other"].tolist() == [1, 1] and after["place_other"].tolist() == [2, 2]
    assert before["payee_other"].tolist() == [1, 1] and after["payee_other"].tolist() == [2, 2]
