"""`train` stores every score in the database; `export` writes them in the contract's CSV columns."""

from __future__ import annotations

import argparse
import csv
import json

import pandas as pd
import pytest

from analytics.anomaly import TransactionAnomalyDetector
from analytics.categorize import assign_categories, train_default_categorizer
from bot.commands import export as export_command
from bot.commands import train as train_command
from bot.config import Config
from bot.services.errors import NotTrained
from bot.services.scoring import TransactionScorer
from bot.services.trained_scores import TrainedScores
from bot.services.training import train
from bot.storage.database import Store
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository
from tests.model_frames import synth_bank


@pytest.fixture(scope="module")
def trained_config(tmp_path_factory) -> Config:
    return Config().with_db(tmp_path_factory.mktemp("models") / "train.db")


@pytest.fixture(scope="module")
def trained(trained_config):
    """One trained store shared by the read-only checks below (training is the slow part)."""
    test_config = trained_config
    store = Store(test_config.storage.db_path)
    bank = synth_bank(customers=400, months=8, seed=3)
    with store.atomic():
        TransactionRepository(store).insert_frame(bank.transactions, "test")
    report = train(store, test_config)
    yield store, report, bank
    store.close()


def scalar(store: Store, sql: str, *params):
    return store.conn.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="module")
def refit(trained):
    """The same detector fitted again here on the stored rows, and the categories, for independent figures."""
    store, _, _ = trained
    frame = TransactionRepository(store).all_frame()
    given = frame["category"].copy()
    frame["category"] = assign_categories(frame, train_default_categorizer)
    scored = TransactionAnomalyDetector(random_state=0).fit_score_frame(frame)
    return frame, given, scored


def test_rows_with_something_to_say_are_stored(trained, refit):
    store, report, _ = trained
    frame, given, scored = refit
    worth = scored["flagged"] | (scored["reasons"].map(len) > 0) | (given.isna() & frame["merchant"].notna())
    stored = {r[0] for r in store.conn.execute("SELECT transaction_id FROM transaction_scores")}
    assert stored == set(frame.loc[worth, "transaction_id"])
    assert 0 < len(stored) < len(frame) == report.n_transactions
    assert scalar(store, "SELECT COUNT(*) FROM transaction_scores WHERE flagged = 1") == report.anomaly_flagged
    assert scalar(store, "SELECT COUNT(*) FROM transaction_scores s JOIN transactions t USING (transaction_id) "
                         "WHERE t.txn_type = 'CREDIT' AND s.category != 'income'") == 0
    assert scalar(store, "SELECT MIN(anomaly_score) >= 0 AND MAX(anomaly_score) <= 1 FROM transaction_scores") == 1


def test_flagged_rows_carry_reasons_as_json_lists(trained):
    store, _, _ = trained
    rows = store.conn.execute("SELECT reasons FROM transaction_scores WHERE flagged = 1").fetchall()
    assert rows and all(len(json.loads(r[0])) >= 1 for r in rows)


def test_every_customer_gets_segment_persona_and_churn(trained):
    store, report, _ = trained
    n_customers = scalar(store, "SELECT COUNT(DISTINCT customer_id) FROM transactions")
    assert scalar(store, "SELECT COUNT(*) FROM customer_scores") == n_customers == report.n_customers
    assert scalar(store, "SELECT SUM(size) FROM segments") == n_customers
    assert scalar(store, "SELECT COUNT(*) FROM segments") == report.k
    assert scalar(store, "SELECT COUNT(*) FROM customer_scores c LEFT JOIN segments g USING (segment) "
                         "WHERE g.persona IS NULL OR g.persona != c.persona") == 0
    assert scalar(store, "SELECT COUNT(*) FROM customer_scores "
                         "WHERE churn_level NOT IN ('low','medium','high','lapsed')") == 0


def test_customers_idle_for_the_whole_look_back_are_lapsed_not_high(trained):
    """Lapsed = no transaction in the 90 days up to as_of (counted here in SQL); they are not called high."""
    store, report, _ = trained
    as_of = report.as_of.isoformat()
    idle = {r[0] for r in store.conn.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id HAVING MAX(txn_date) <= date(?, '-90 days')",
        (as_of,))}
    lapsed = {r[0] for r in store.conn.execute("SELECT customer_id FROM customer_scores WHERE churn_level = 'lapsed'")}
    assert idle and lapsed == idle
    assert report.churn_levels["lapsed"] == len(idle)
    reasons = json.loads(scalar(store, "SELECT churn_reasons FROM customer_scores WHERE churn_level = 'lapsed'"))
    assert reasons[0].startswith("no transaction since ") and reasons[0].endswith("already lapsed")


def test_segment_summary_adds_up(trained):
    store, report, _ = trained
    summary = ScoreRepository(store).segment_summary()
    assert [s["segment"] for s in summary] == list(range(report.k))
    assert all(s["churn_low"] + s["churn_medium"] + s["churn_high"] + s["churn_lapsed"] == s["size"] for s in summary)
    by_level = dict(store.conn.execute("SELECT churn_level, COUNT(*) FROM customer_scores GROUP BY churn_level"))
    assert sum(s["churn_high"] for s in summary) == by_level.get("high", 0) == report.churn_levels["high"]


def test_customer_scores_reads_back_rfm_and_reasons(trained):
    store, _, _ = trained
    cid, r = store.conn.execute("SELECT customer_id, rfm_recency FROM customer_scores ORDER BY churn_risk DESC").fetchone()
    scores = ScoreRepository(store).customer_scores(cid)
    assert scores["rfm_recency"] == r and isinstance(scores["churn_reasons"], list) and scores["description"]


def test_artifacts_are_stored_with_metrics(trained):
    store, report, _ = trained
    names = {r[0] for r in store.conn.execute("SELECT name FROM model_artifacts")}
    assert {"anomaly", "segments", "churn"} <= names
    info = ScoreRepository(store).artifact_info("churn")
    assert info["metrics"]["n_test"] == report.churn_metrics["n_test"]


def test_scorer_from_store_scores_like_the_stored_model(trained):
    store, _, bank = trained
    scorer = TransactionScorer.from_store(store)
    row = bank.transactions.iloc[-1].to_dict()
    row["ts"] = row["ts"] + pd.Timedelta(days=1)
    assert scorer.score(row) == ScoreRepository(store).load_artifact("anomaly").score_one(row)


def test_scorer_without_training_says_so(fresh_store):
    with pytest.raises(NotTrained):
        TransactionScorer.from_store(fresh_store)


def test_train_output_shows_the_figures(trained):
    _, report, _ = trained
    text = train_command.render(report)
    assert f"k = {report.k}" in text and "AUC" in text and "precision@10%" in text and "flagged" in text


def test_export_writes_contract_columns(trained, trained_config, tmp_path):
    store, report, _ = trained
    out = tmp_path / "export"
    assert export_command.run(argparse.Namespace(out=str(out)), trained_config) == 0
    with (out / "transactions_scored.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["TransactionID", "CustomerID", "category", "anomaly_score", "flagged", "reasons"]
    assert len(rows) - 1 == report.n_transactions
    with (out / "customers_scored.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
        n = sum(1 for _ in handle)
    assert header[:4] == ["CustomerID", "segment", "persona", "churn_risk"]
    assert n == report.n_customers


def test_export_gives_every_transaction_its_training_score_and_category(trained, trained_config, refit, tmp_path):
    frame, _, scored = refit
    assert export_command.run(argparse.Namespace(out=str(tmp_path)), trained_config) == 0
    exported = pd.read_csv(tmp_path / "transactions_scored.csv", keep_default_na=False)
    assert exported["TransactionID"].tolist() == frame["transaction_id"].tolist()
    assert exported["category"].tolist() == frame["category"].tolist()
    assert (exported["anomaly_score"] - scored["anomaly_score"].round(6)).abs().max() < 1e-9
    assert exported["flagged"].tolist() == scored["flagged"].astype(int).tolist()
    assert exported["reasons"].tolist() == ["; ".join(r) for r in scored["reasons"]]


def test_a_quiet_transaction_is_scored_again_exactly(trained, refit):
    store, _, _ = trained
    frame, _, scored = refit
    quiet = scored.index[~scored["flagged"] & (scored["reasons"].map(len) == 0)][len(frame) // 3]
    tid = frame.loc[quiet, "transaction_id"]
    assert ScoreRepository(store).transaction_score(tid) is None
    got = TrainedScores(store).for_transaction(tid)
    assert got["anomaly_score"] == scored.loc[quiet, "anomaly_score"] and got["flagged"] is False
    assert got["category"] == frame.loc[quiet, "category"] and got["reasons"] == []


def test_indexes_survive_the_bulk_rewrite(trained):
    store, _, _ = trained
    names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_transaction_scores_customer", "idx_transaction_scores_flagged",
            "idx_customer_scores_segment"} <= names


def test_train_output_prints_churn_figures_beside_the_base_rate(trained):
    store, report, _ = trained
    text = train_command.render(report)
    m = report.churn_metrics
    counts = dict(store.conn.execute("SELECT churn_level, COUNT(*) FROM customer_scores GROUP BY churn_level"))
    assert f"method: {m['method']}" in text and m["method_sentence"] in text
    assert f"AUC {m['auc']:.3f}" in text and f"Brier {m['brier']:.4f}" in text
    assert f"base rate {m['base_rate']:.3f}" in text and f"precision@10% {m['precision_at_k']:.3f}" in text
    assert f"high {counts.get('high', 0):,}, lapsed {counts.get('lapsed', 0):,}" in text
