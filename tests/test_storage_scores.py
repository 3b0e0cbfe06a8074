"""What `train` writes, read back the same on SQLite and PostgreSQL: score rows, customers, segments, models."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bot.storage.scores import ScoreRepository

STAMP = "2016-11-01T00:00:00+00:00"


def _transaction_scores(ids, flagged, scores, reasons):
    return pd.DataFrame({"transaction_id": ids, "customer_id": [f"C{i[1:]}" for i in ids],
                         "category": ["dining"] * len(ids), "anomaly_score": scores, "flagged": flagged,
                         "reasons": reasons})


def _customers():
    index = pd.Index(["C2", "C1", "C3"], name="customer_id")   # out of key order on purpose
    return pd.DataFrame({
        "segment": [1, 0, 1], "persona": ["saver", "spender", "saver"], "churn_risk": [0.81, 0.05, 0.4],
        "churn_level": ["high", "low", None], "churn_reasons": [("no salary for 2 months",), (), ("idle",)],
        "rfm_recency": [3, 1, 2], "rfm_frequency": [1, 3, 2], "rfm_monetary": [2, 3, 1],
        "balance_now": [1500.5, 250000.0, np.nan], "monthly_spend": [900.25, 45000.0, 0.0],
        "frequency_per_month": [2.5, 30.0, 0.0], "recency_days": [40, 1, 200], "n_txn": [12, 360, 1],
        "age_band": ["25-34", "35-44", None],
    }, index=index)


def test_transaction_scores_round_trip_and_a_retrain_replaces_them(backend_store):
    repo = ScoreRepository(backend_store)
    with backend_store.atomic():
        repo.write_transaction_scores(_transaction_scores(["T2", "T1"], [True, False], [0.912345678, 0.1],
                                                          [["night, abroad", 'a "quoted" reason'], []]),
                                      scored_at=STAMP)
    assert repo.transaction_score("T2") == {
        "transaction_id": "T2", "customer_id": "C2", "category": "dining", "anomaly_score": 0.912346,
        "flagged": True, "reasons": ["night, abroad", 'a "quoted" reason'], "scored_at": STAMP}
    assert repo.counts()["transaction_scores"] == 2 and repo.counts()["flagged"] == 1
    with backend_store.atomic():  # an API row upserted, then a retrain replaces everything
        repo.write_transaction_scores(_transaction_scores(["T1"], [True], [0.7], [["new"]]), replace_all=False,
                                      scored_at=STAMP)
    assert repo.transaction_score("T1")["flagged"] is True
    with backend_store.atomic():
        repo.write_transaction_scores(_transaction_scores(["T3"], [False], [0.2], [[]]), scored_at=STAMP)
    assert repo.transaction_score("T1") is None and repo.counts()["transaction_scores"] == 1
    assert list(repo.iter_transaction_export()) == [("T3", "C3", "dining", 0.2, 0, "")]


def test_customer_scores_segments_and_the_summary_by_hand(backend_store):
    repo = ScoreRepository(backend_store)
    with backend_store.atomic():
        repo.write_customer_scores(_customers(), as_of=dt.date(2016, 10, 31), scored_at=STAMP)
        repo.write_segments([
            {"segment": 0, "persona": "spender", "description": "spends a lot", "size": 1, "centroid": {"x": 1.23456}},
            {"segment": 1, "persona": "saver", "description": "saves", "size": 2, "centroid": {"x": -0.5}}])
    record = repo.customer_scores("C2")
    assert (record["segment"], record["persona"], record["churn_risk"], record["churn_level"]) == (1, "saver", 0.81, "high")
    assert record["churn_reasons"] == ["no salary for 2 months"] and record["description"] == "saves"
    assert (record["balance_now"], record["n_txn"], record["as_of"]) == (1500.5, 12, "2016-10-31")
    assert repo.customer_scores("C3")["churn_level"] is None and repo.customer_scores("C3")["balance_now"] is None
    # segment 0: C1 (low); segment 1: C2 (high) and C3 (no level)
    assert repo.segment_summary() == [
        {"segment": 0, "persona": "spender", "description": "spends a lot", "size": 1, "churn_low": 1,
         "churn_medium": 0, "churn_high": 0, "churn_lapsed": 0, "mean_churn_risk": 0.05},
        {"segment": 1, "persona": "saver", "description": "saves", "size": 2, "churn_low": 0,
         "churn_medium": 0, "churn_high": 1, "churn_lapsed": 0, "mean_churn_risk": pytest.approx((0.81 + 0.4) / 2)}]
    exported = list(repo.iter_customer_export())
    assert [row[0] for row in exported] == ["C1", "C2", "C3"]
    assert exported[1][:6] == ("C2", 1, "saver", 0.81, "high", "no salary for 2 months")
    with backend_store.atomic():   # a second full write replaces, it does not add
        repo.write_customer_scores(_customers().iloc[:1], as_of=dt.date(2016, 11, 30), scored_at=STAMP)
    assert repo.counts()["customer_scores"] == 1 and repo.customer_scores("C1") is None


def test_model_artifacts_keep_their_bytes_and_figures(backend_store):
    repo = ScoreRepository(backend_store)
    model = {"weights": np.arange(5, dtype=np.float64) / 3, "name": "detector", "blob": bytes(range(256))}
    with backend_store.atomic():
        repo.save_artifact("anomaly", model, {"auc": 0.91, "last_rowid": 12}, dt.date(2016, 10, 31))
        repo.save_artifact("anomaly", {**model, "name": "retrained"}, {"auc": 0.93}, dt.date(2016, 11, 30))
    loaded = repo.load_artifact("anomaly")
    assert loaded["name"] == "retrained" and loaded["blob"] == bytes(range(256))
    np.testing.assert_array_equal(loaded["weights"], model["weights"])
    info = repo.artifact_info("anomaly")
    assert (info["as_of"], info["metrics"]) == ("2016-11-30", {"auc": 0.93})
    assert repo.load_artifact("churn") is None and repo.artifact_info("churn") is None


def test_a_bulk_replace_skips_zeroing_freed_pages_and_restores_the_setting(tmp_path):
    """Inside `atomic(bulk=True)` freed pages are not overwritten with zeros first (the rows written next reuse
    them); the connection's own secure_delete setting is back afterwards, and the rows are the new ones."""
    from bot.storage.database import Store

    store = Store(tmp_path / "s.db")
    try:
        before = store.conn.execute("PRAGMA secure_delete").fetchone()[0]
        repo = ScoreRepository(store)
        with store.atomic(bulk=True):
            repo.write_customer_scores(_customers(), as_of=dt.date(2016, 10, 31), scored_at=STAMP)
            assert store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 2   # FAST
        with store.atomic(bulk=True):
            repo.write_customer_scores(_customers().iloc[1:], as_of=dt.date(2016, 10, 31), scored_at=STAMP)
        assert store.conn.execute("PRAGMA secure_delete").fetchone()[0] == before
        assert [r[0] for r in repo.iter_customer_export()] == ["C1", "C3"]
    finally:
        store.close()
