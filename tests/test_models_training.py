"""`train` stores every score in the database; `export` writes them in the contract's CSV columns."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import re

import pandas as pd
import pytest

from bot.commands import export as export_command
from bot.commands import train as train_command
from bot.config import Config
from bot.services.trained_scores import TrainedScores
from bot.services.training import train
from bot.storage.database import Store
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository
from tests.model_frames import synth_bank
from tests.steady_history import hand_score, stored_model


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
def exported(trained, trained_config, tmp_path_factory) -> pd.DataFrame:
    """`finassist export`'s transactions_scored.csv (scores of quiet rows recomputed for the whole bank)."""
    out = tmp_path_factory.mktemp("export")
    assert export_command.run(argparse.Namespace(out=str(out)), trained_config) == 0
    return pd.read_csv(out / "transactions_scored.csv", keep_default_na=False, dtype={"reasons": str})


def test_rows_with_something_to_say_are_stored(trained):
    """Stored: flagged rows, explained rows (with reasons) and rows whose category the merchant model
    inferred; nothing quiet with a given category (plain SQL over both tables)."""
    store, report, _ = trained
    assert scalar(store, "SELECT COUNT(*) FROM transaction_scores WHERE flagged = 1") == report.anomaly_flagged > 0
    quiet_but_stored = scalar(store, "SELECT COUNT(*) FROM transaction_scores s JOIN transactions t USING "
                                     "(transaction_id) WHERE s.flagged = 0 AND s.reasons = '[]' AND NOT "
                                     "(t.category IS NULL AND t.merchant IS NOT NULL)")
    assert quiet_but_stored == 0
    inferred = scalar(store, "SELECT COUNT(*) FROM transactions WHERE category IS NULL AND merchant IS NOT NULL")
    stored_inferred = scalar(store, "SELECT COUNT(*) FROM transaction_scores s JOIN transactions t USING "
                                    "(transaction_id) WHERE t.category IS NULL AND t.merchant IS NOT NULL")
    assert stored_inferred == inferred > 0
    assert 0 < scalar(store, "SELECT COUNT(*) FROM transaction_scores") < report.n_transactions
    assert scalar(store, "SELECT COUNT(*) FROM transaction_scores s JOIN transactions t USING (transaction_id) "
                         "WHERE t.txn_type = 'CREDIT' AND (s.flagged = 1 OR s.anomaly_score != 0)") == 0
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
    """The riskiest customer's stored row, column by column (plain SQL), with the reasons decoded and the
    description of their segment."""
    store, _, _ = trained
    cursor = store.conn.execute("SELECT * FROM customer_scores ORDER BY churn_risk DESC, customer_id LIMIT 1")
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    description = scalar(store, "SELECT description FROM segments WHERE segment = ?", row["segment"])
    scores = ScoreRepository(store).customer_scores(row["customer_id"])
    assert scores == {**row, "churn_reasons": json.loads(row["churn_reasons"]), "description": description}
    assert scores["churn_reasons"] and all(isinstance(reason, str) for reason in scores["churn_reasons"])
    assert description and scores["rfm_recency"] is not None


def test_artifacts_are_stored_with_metrics(trained):
    store, report, _ = trained
    names = {r[0] for r in store.conn.execute("SELECT name FROM model_artifacts")}
    assert {"anomaly", "segments", "churn"} <= names
    info = ScoreRepository(store).artifact_info("churn")
    assert info["metrics"]["n_test"] == report.churn_metrics["n_test"]


def test_scorer_from_store_flags_a_huge_debit_and_not_a_usual_one(trained):
    """Figures from SQL: a customer's median and largest debit, their city and a usual hour."""
    store, _, _ = trained
    cid, n = store.conn.execute("SELECT customer_id, COUNT(*) FROM transactions WHERE txn_type = 'DEBIT' "
                                "GROUP BY customer_id HAVING COUNT(*) >= 40 ORDER BY customer_id LIMIT 1").fetchone()
    amounts = sorted(r[0] for r in store.conn.execute(
        "SELECT amount FROM transactions WHERE customer_id = ? AND txn_type = 'DEBIT'", [cid]))
    median = amounts[len(amounts) // 2]
    city, last_ts = store.conn.execute("SELECT location, MAX(ts) FROM transactions WHERE customer_id = ? "
                                       "GROUP BY location ORDER BY COUNT(*) DESC LIMIT 1", [cid]).fetchone()
    when = dt.datetime.fromisoformat(last_ts).replace(hour=13, minute=0) + dt.timedelta(days=1)
    detector = ScoreRepository(store).load_artifact("anomaly")
    huge = 40 * amounts[-1]
    score, flagged, reasons = detector.score_one({"customer_id": cid, "ts": when, "amount": huge,
                                                  "location": "REYKJAVIK"})
    assert flagged and "first transaction in REYKJAVIK" in reasons
    times = [float(m.group(1)) for r in reasons if (m := re.search(r"is ([\d.]+)× your usual amount", r))]
    assert times and 0.5 <= times[0] / (huge / median) <= 2.0      # "your usual" is about the median
    assert detector.score_one({"customer_id": cid, "ts": when + dt.timedelta(days=1), "amount": median,
                               "location": city})[1] is False


def test_intake_without_training_scores_nothing_and_says_so(fresh_store):
    from bot.services.intake_scoring import IntakeScorer

    outcome = IntakeScorer(fresh_store).score_pending()
    assert (outcome.trained, outcome.scored) == (False, 0)


def test_train_output_shows_the_figures(trained):
    """The printed anomaly figures, computed here from SQL: flags, alerts per 1,000 customers a month."""
    store, report, _ = trained
    text = train_command.render(report)
    flagged = scalar(store, "SELECT COUNT(*) FROM transaction_scores WHERE flagged = 1")
    customers = scalar(store, "SELECT COUNT(DISTINCT customer_id) FROM transactions")
    first, last = store.conn.execute("SELECT MIN(ts), MAX(ts) FROM transactions").fetchone()
    months = (dt.datetime.fromisoformat(last) - dt.datetime.fromisoformat(first)).total_seconds() / (30.44 * 86400)
    assert f"anomalies: {flagged:,} of {report.n_transactions:,} transactions flagged" in text
    assert f"{flagged / (customers / 1000) / months:.1f} alerts per 1,000 customers per month" in text
    metrics = json.loads(scalar(store, "SELECT metrics FROM model_artifacts WHERE name = 'anomaly'"))
    assert f"threshold {metrics['threshold']:.4f} for precision target 0.80" in text
    assert f"validation precision {metrics['validation_precision']:.3f}, recall {metrics['validation_recall']:.3f}" in text
    assert scalar(store, "SELECT COUNT(*) FROM fraud_checks") == 0 and "as customers answered them: no answers yet" in text
    assert f"k = {report.k}" in text and "AUC" in text and "precision@10%" in text


def test_train_output_shows_the_precision_of_answered_alerts(trained):
    _, report, _ = trained
    answered = dataclasses.replace(report, alert_answers={"confirmed": 3, "disputed": 1})
    assert "alerts as customers answered them: precision 0.250 (1 disputed, 3 confirmed)" in train_command.render(answered)


def test_export_writes_contract_columns(trained, trained_config, tmp_path):
    store, _, _ = trained
    out = tmp_path / "export"
    assert export_command.run(argparse.Namespace(out=str(out)), trained_config) == 0
    with (out / "transactions_scored.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["TransactionID", "CustomerID", "category", "anomaly_score", "flagged", "reasons"]
    assert len(rows) - 1 == scalar(store, "SELECT COUNT(*) FROM transactions")
    with (out / "customers_scored.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
        n = sum(1 for _ in handle)
    assert header[:4] == ["CustomerID", "segment", "persona", "churn_risk"]
    assert n == scalar(store, "SELECT COUNT(DISTINCT customer_id) FROM transactions")


def test_export_gives_stored_rows_their_stored_figures_and_quiet_rows_none(trained, exported):
    """Against plain SQL: the stored score rows verbatim, in stored order; every other row quiet, below the
    threshold, with its given category."""
    store, _, _ = trained
    ids = [r[0] for r in store.conn.execute("SELECT transaction_id FROM transactions ORDER BY rowid")]
    assert exported["TransactionID"].tolist() == ids
    stored = pd.read_sql_query("SELECT transaction_id, category, anomaly_score, flagged, reasons FROM "
                               "transaction_scores", store.conn).set_index("transaction_id")
    mine = exported.set_index("TransactionID").loc[stored.index]
    assert (mine["anomaly_score"] - stored["anomaly_score"]).abs().max() < 1e-9
    assert mine["flagged"].tolist() == stored["flagged"].tolist()
    assert mine["category"].tolist() == stored["category"].tolist()
    assert mine["reasons"].tolist() == ["; ".join(json.loads(r)) for r in stored["reasons"]]
    quiet = exported[~exported["TransactionID"].isin(stored.index)]
    given = dict(store.conn.execute("SELECT transaction_id, category FROM transactions").fetchall())
    threshold = json.loads(scalar(store, "SELECT metrics FROM model_artifacts WHERE name = 'anomaly'"))["threshold"]
    assert len(quiet) > 0 and (quiet["flagged"] == 0).all() and (quiet["reasons"] == "").all()
    assert (quiet["anomaly_score"] < threshold).all()
    assert quiet["category"].tolist() == [given[t] for t in quiet["TransactionID"]]


def test_a_quiet_transaction_gets_its_hand_worked_score_from_the_api_path_and_from_export(steady_bank, tmp_path):
    """A row with no stored score (tests/steady_history.py: ₹1,100 once among ₹1,000 a day): the score worked
    out by hand from the stored weights (`hand_score`: every signal 0 by construction but beyond_largest) is
    what both the per-customer recompute and the whole-bank export give, unflagged as score < threshold.
    The fraud rate is stored to 6 decimals, hence rel=1e-3 (any other signal non-zero would add its weight,
    0.4 or more in log-odds)."""
    config, facts = steady_bank
    store = Store(config.storage.db_path)
    try:
        chosen = facts["transaction_id"]
        assert store.conn.execute("SELECT COUNT(*) FROM transaction_scores WHERE transaction_id = ?",
                                  (chosen,)).fetchone()[0] == 0
        model = stored_model(store.conn)
        expected = hand_score(facts, model)
        got = TrainedScores(store).for_transaction(chosen)
    finally:
        store.close()
    assert export_command.run(argparse.Namespace(out=str(tmp_path / "out")), config) == 0
    exported = pd.read_csv(tmp_path / "out" / "transactions_scored.csv", keep_default_na=False,
                           dtype={"reasons": str}).set_index("TransactionID").loc[chosen]
    assert got["anomaly_score"] == pytest.approx(expected, rel=1e-3)
    assert exported["anomaly_score"] == pytest.approx(expected, abs=5e-7)   # rounded to 6 decimals
    assert expected < model["threshold"] and got["flagged"] is False and exported["flagged"] == 0
    assert got["reasons"] == [] and exported["reasons"] == ""
    assert got["category"] == exported["category"] == "groceries"


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


def test_train_learns_from_customers_answers(tmp_path):
    """Answers stored in fraud_checks reach the detector as labels, and `train` prints their precision."""
    from bot.storage.fraud_checks import FraudCheckRepository

    config = Config().with_db(tmp_path / "answers.db")
    store = Store(config.storage.db_path)
    try:
        bank = synth_bank(customers=400, months=8, seed=3)
        with store.atomic():
            TransactionRepository(store).insert_frame(bank.transactions, "test")
        first = train(store, config)
        checks = FraudCheckRepository(store)
        flagged = [r[0] for r in store.conn.execute(
            "SELECT s.transaction_id FROM transaction_scores s WHERE s.flagged = 1 ORDER BY s.transaction_id")]
        def pattern_reasons(tid: str) -> list[str]:
            row = ScoreRepository(store).transaction_score(tid) or {"reasons": []}
            return [r for r in row["reasons"] if "usual amount" in r or r.startswith(("first transaction in",
                                                                                       "first payment to"))]

        assert any(pattern_reasons(tid) for tid in flagged[1:4])
        now = dt.datetime(2016, 11, 1, tzinfo=dt.UTC)
        for i, tid in enumerate(flagged[:4]):
            cid = scalar(store, "SELECT customer_id FROM transactions WHERE transaction_id = ?", tid)
            checks.create(transaction_id=tid, customer_id=cid, chat_id=1, message_id=None, created_at=now)
            checks.answer(tid, status="disputed" if i == 0 else "confirmed", chat_id=1, answered_at=now)
        assert first.alert_answers == {}
        again = train(store, config)
        metrics = json.loads(scalar(store, "SELECT metrics FROM model_artifacts WHERE name = 'anomaly'"))
        disputed = scalar(store, "SELECT COUNT(*) FROM fraud_checks WHERE status = 'disputed'")
        confirmed = scalar(store, "SELECT COUNT(*) FROM fraud_checks WHERE status = 'confirmed'")
        assert (metrics["labels_disputed"], metrics["labels_confirmed"]) == (disputed, confirmed) == (1, 3)
        text = train_command.render(again)
        assert "alerts as customers answered them: precision 0.250 (1 disputed, 3 confirmed)" in text
        # "Yes, it was me" made those three's merchant, place and amount expected: no such reason is left (a
        # burst they were part of may still be asked about).
        assert not any(pattern_reasons(tid) for tid in flagged[1:4])
    finally:
        store.close()
