"""The insights facade's numbers equal SQL computed directly on the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.services.errors import CustomerNotFound, InvalidMonth
from bot.services.insights import InsightsService


@pytest.fixture
def trained_services(any_trained_services):
    """Every test here runs on the SQLite and on the PostgreSQL store of the same trained bank."""
    return any_trained_services


def _busy_customer(services) -> str:
    row = services.store.db.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id ORDER BY COUNT(*) DESC LIMIT 1"
    ).fetchone()
    return row[0]


def _flagged_customer(services) -> str:
    row = services.store.db.execute(
        "SELECT customer_id FROM transaction_scores WHERE flagged = 1 GROUP BY customer_id "
        "ORDER BY COUNT(*) DESC LIMIT 1"
    ).fetchone()
    assert row, "the synthetic bank has injected fraud, so something must be flagged"
    return row[0]


def _last_complete_month(as_of: dt.date) -> tuple[str, str, str]:
    first_this = as_of.replace(day=1)
    last_prev = first_this - dt.timedelta(days=1)
    return last_prev.strftime("%Y-%m"), last_prev.replace(day=1).isoformat(), last_prev.isoformat()


def test_as_of_is_the_latest_transaction_date(trained_services) -> None:
    latest = trained_services.store.db.execute("SELECT MAX(txn_date) FROM transactions").fetchone()[0]
    assert trained_services.insights.as_of() == dt.date.fromisoformat(latest)


def test_balance_is_the_latest_recorded_balance(trained_services) -> None:
    cid = _busy_customer(trained_services)
    expected = trained_services.store.db.execute(
        "SELECT balance FROM transactions WHERE customer_id = ? AND balance IS NOT NULL "
        "ORDER BY ts DESC, transaction_id DESC LIMIT 1", (cid,)).fetchone()[0]
    info = trained_services.insights.balance(cid)
    assert info.amount == pytest.approx(expected, abs=0.005)
    assert info.is_low == (expected < 2000)
    assert trained_services.insights.balance(cid, low_balance_threshold=expected + 1).is_low


def test_last_month_spending_equals_sql_by_category(trained_services) -> None:
    svc = trained_services.insights
    cid = _busy_customer(trained_services)
    month, start, end = _last_complete_month(svc.as_of())
    rows = trained_services.store.db.execute(
        # A debit's category: the one training stored (merchant model), else the given one, else the rules.
        """SELECT COALESCE(s.category, t.category, CASE WHEN t.channel = 'ATM' THEN 'cash' ELSE 'uncategorized' END)
                  AS category, SUM(t.amount), COUNT(*) FROM transactions t
           LEFT JOIN transaction_scores s USING (transaction_id)
           WHERE t.customer_id = ? AND t.txn_type = 'DEBIT' AND t.txn_date BETWEEN ? AND ?
           GROUP BY 1""", (cid, start, end)).fetchall()
    credit = trained_services.store.db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM transactions WHERE customer_id = ? AND txn_type = 'CREDIT' "
        "AND txn_date BETWEEN ? AND ?", (cid, start, end)).fetchone()[0]
    summary = svc.spending(cid)
    assert summary.month == month
    assert summary.total_out == pytest.approx(sum(r[1] for r in rows), abs=0.01)
    assert summary.total_in == pytest.approx(credit, abs=0.01)
    assert {c.category: round(c.amount, 2) for c in summary.by_category} == pytest.approx(
        {r[0]: round(r[1], 2) for r in rows}, abs=0.01)
    assert [c.amount for c in summary.by_category] == sorted((c.amount for c in summary.by_category), reverse=True)


def test_anomalies_are_the_flagged_rows_in_the_store(trained_services) -> None:
    cid = _flagged_customer(trained_services)
    flagged = {r[0]: r[1] for r in trained_services.store.db.execute(
        "SELECT transaction_id, anomaly_score FROM transaction_scores WHERE customer_id = ? AND flagged = 1",
        (cid,)).fetchall()}
    flags = trained_services.insights.anomalies(cid, limit=100)
    assert {f.transaction_id for f in flags} == set(flagged)
    for flag in flags:
        assert flag.score == pytest.approx(flagged[flag.transaction_id], abs=0.001)
        assert flag.reasons, "every flag explains itself"


def test_segment_and_churn_come_from_the_stored_scores(trained_services) -> None:
    cid = _busy_customer(trained_services)
    segment, persona, risk = trained_services.store.db.execute(
        "SELECT segment, persona, churn_risk FROM customer_scores WHERE customer_id = ?", (cid,)).fetchone()
    assert trained_services.insights.segment(cid).persona == persona
    assert trained_services.insights.segment(cid).segment == segment
    assert trained_services.insights.churn(cid).risk == pytest.approx(risk, abs=0.001)


def test_churn_level_is_the_one_train_stored_whatever_the_risk(trained_services) -> None:
    """No channel recomputes a level from the risk: a stored level is shown as stored."""
    cid = _busy_customer(trained_services)
    db = trained_services.store.db
    with trained_services.store.atomic():
        db.execute("UPDATE customer_scores SET churn_risk = 0.9, churn_level = 'low' WHERE customer_id = ?", (cid,))
    churn = trained_services.insights.churn(cid)
    assert (churn.risk, churn.level) == (0.9, "low")


def test_insights_notes_say_how_churn_risk_was_made(trained_services) -> None:
    import json

    cid = _busy_customer(trained_services)
    metrics = json.loads(trained_services.store.db.execute(
        "SELECT metrics FROM model_artifacts WHERE name = 'churn'").fetchone()[0])
    notes = trained_services.insights.insights(cid).notes
    assert metrics["method_sentence"] in notes
    assert metrics["method_sentence"].startswith("Churn risk comes from ") and "Levels: high = " in metrics["method_sentence"]


def test_profile_counts_equal_sql(trained_services) -> None:
    cid = _busy_customer(trained_services)
    n, spend, income = trained_services.store.db.execute(
        "SELECT COUNT(*), SUM(CASE WHEN txn_type='DEBIT' THEN amount ELSE 0 END), "
        "SUM(CASE WHEN txn_type='CREDIT' THEN amount ELSE 0 END) FROM transactions WHERE customer_id = ?",
        (cid,)).fetchone()
    profile = trained_services.insights.profile(cid)
    assert profile.n_transactions == n
    assert profile.total_spend == pytest.approx(spend, abs=0.01)
    assert profile.total_income == pytest.approx(income, abs=0.01)


def test_report_totals_equal_sql_and_chart_is_a_png(trained_services, tmp_path) -> None:
    svc = trained_services.insights
    cid = _busy_customer(trained_services)
    month, start, end = _last_complete_month(svc.as_of())
    out_sum, in_sum = trained_services.store.db.execute(
        "SELECT SUM(CASE WHEN txn_type='DEBIT' THEN amount ELSE 0 END), "
        "SUM(CASE WHEN txn_type='CREDIT' THEN amount ELSE 0 END) FROM transactions "
        "WHERE customer_id = ? AND txn_date BETWEEN ? AND ?", (cid, start, end)).fetchone()
    report = svc.report(cid, chart_path=tmp_path / "r.png")
    assert report.month == month
    assert report.total_out == pytest.approx(out_sum or 0, abs=0.01)
    assert report.total_in == pytest.approx(in_sum or 0, abs=0.01)
    assert report.net_savings == pytest.approx((in_sum or 0) - (out_sum or 0), abs=0.01)
    # the synthetic bank's balances are consistent, so the month's balance change is its net savings
    assert report.balance_change == pytest.approx(report.net_savings, abs=0.01)
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pinned_as_of_hides_later_transactions(trained_services) -> None:
    cid = _busy_customer(trained_services)
    svc = trained_services.insights
    pinned_day = svc.as_of() - dt.timedelta(days=45)
    pinned = InsightsService(trained_services.store, replace(
        trained_services.config, analytics=replace(trained_services.config.analytics, as_of=pinned_day.isoformat())))
    n = trained_services.store.db.execute(
        "SELECT COUNT(*) FROM transactions WHERE customer_id = ? AND txn_date <= ?",
        (cid, pinned_day.isoformat())).fetchone()[0]
    assert pinned.profile(cid).n_transactions == n
    assert pinned.profile(cid).last_seen <= pinned_day


def test_unknown_customer_and_bad_month_raise_domain_errors(trained_services) -> None:
    with pytest.raises(CustomerNotFound):
        trained_services.insights.balance("C0000000-NOT-THERE")
    cid = _busy_customer(trained_services)
    with pytest.raises(InvalidMonth):
        trained_services.insights.spending(cid, month="2016-13")


def test_insights_bundle_equals_figures_computed_from_sql(trained_services) -> None:
    """Every figure of the one-read bundle against the store itself (not against the facade's own calls)."""
    from analytics.recommend import DEFAULT_CATALOG_PATH, load_catalog

    db = trained_services.store.db
    cid = _busy_customer(trained_services)
    bundle = trained_services.insights.insights(cid)
    month, start, end = _last_complete_month(bundle.as_of)
    # balance: a reported balance resets a running figure, a row without one moves it by its amount
    balance = None
    for amount, kind, reported in db.execute(
            "SELECT amount, txn_type, balance FROM transactions WHERE customer_id = ? ORDER BY ts, transaction_id",
            (cid,)):
        balance = reported if reported is not None else (
            None if balance is None else balance + (amount if kind == "CREDIT" else -amount))
    assert bundle.balance.amount == pytest.approx(balance, abs=0.01)
    out_sum, in_sum = db.execute(
        "SELECT COALESCE(SUM(CASE WHEN txn_type='DEBIT' THEN amount END), 0), "
        "COALESCE(SUM(CASE WHEN txn_type='CREDIT' THEN amount END), 0) FROM transactions "
        "WHERE customer_id = ? AND txn_date BETWEEN ? AND ?", (cid, start, end)).fetchone()
    assert bundle.last_month.month == month
    assert (bundle.last_month.total_out, bundle.last_month.total_in) == (
        pytest.approx(out_sum, abs=0.01), pytest.approx(in_sum, abs=0.01))
    # budget: the (up to) three complete months before as_of since the first transaction
    first = dt.date.fromisoformat(db.execute(
        "SELECT MIN(txn_date) FROM transactions WHERE customer_id = ?", (cid,)).fetchone()[0]).replace(day=1)
    months, cursor = [], dt.date.fromisoformat(start)
    while len(months) < 3 and cursor >= first:
        months.append(cursor)
        cursor = (cursor - dt.timedelta(days=1)).replace(day=1)
    assert bundle.budget.months_used == len(months)
    window_out = db.execute(
        "SELECT SUM(amount) FROM transactions WHERE customer_id = ? AND txn_type = 'DEBIT' AND txn_date BETWEEN ? AND ?",
        (cid, min(months).isoformat(), end)).fetchone()[0]
    assert sum(line.average_monthly for line in bundle.budget.lines) == pytest.approx(
        window_out / len(months), abs=0.05)
    # unusual transactions: the newest flagged ones nobody confirmed
    flagged = [r[0] for r in db.execute(
        "SELECT s.transaction_id FROM transaction_scores s JOIN transactions t USING (transaction_id) "
        "WHERE s.customer_id = ? AND s.flagged = 1 ORDER BY t.ts DESC, s.anomaly_score DESC LIMIT 5", (cid,))]
    assert [a.transaction_id for a in bundle.anomalies] == flagged
    segment, persona, risk = db.execute(
        "SELECT segment, persona, churn_risk FROM customer_scores WHERE customer_id = ?", (cid,)).fetchone()
    assert (bundle.segment.segment, bundle.segment.persona) == (segment, persona)
    assert bundle.churn.risk == pytest.approx(risk, abs=0.001)
    n = db.execute("SELECT COUNT(*) FROM transactions WHERE customer_id = ?", (cid,)).fetchone()[0]
    assert bundle.profile.n_transactions == n
    minimum = {p.id: p.eligibility.min_balance or 0 for p in load_catalog(DEFAULT_CATALOG_PATH)}
    assert bundle.recommendations and all(balance >= minimum[r.product_id] for r in bundle.recommendations)


def test_cached_reads_see_a_new_transaction_at_once(trained_services) -> None:
    import pandas as pd

    from analytics.ingest import to_canonical
    from bot.storage.transactions import TransactionRepository

    svc = trained_services.insights
    cid = _busy_customer(trained_services)
    before = svc.profile(cid).n_transactions
    assert svc.profile(cid).n_transactions == before  # served from the cache
    as_of = svc.as_of()
    new = to_canonical(pd.DataFrame([{
        "transaction_id": "TNEW1", "customer_id": cid, "ts": pd.Timestamp(as_of) + pd.Timedelta(hours=10),
        "amount": 123.0, "balance": 4321.0, "txn_type": "DEBIT",
    }]))
    with trained_services.store.atomic():
        TransactionRepository(trained_services.store).insert_frame(new, source="test")
    assert svc.profile(cid).n_transactions == before + 1
    assert svc.balance(cid).amount == 4321.0


def test_unreliable_churn_model_is_flagged_in_the_notes(trained_services) -> None:
    import json

    cid = _busy_customer(trained_services)
    svc = trained_services.insights
    assert not any("churn model" in n for n in svc.insights(cid).notes)  # the synthetic bank's model is good
    db = trained_services.store.db
    metrics = json.loads(db.execute("SELECT metrics FROM model_artifacts WHERE name = 'churn'").fetchone()[0])
    metrics["auc"] = 0.52
    with trained_services.store.atomic():
        db.execute("UPDATE model_artifacts SET metrics = ? WHERE name = 'churn'", (json.dumps(metrics),))
    assert any("AUC 0.52" in n for n in svc.insights(cid).notes)


def test_a_month_after_the_data_is_refused(trained_services) -> None:
    cid = _busy_customer(trained_services)
    as_of = trained_services.insights.as_of()
    later = (as_of.replace(day=1) + dt.timedelta(days=40)).strftime("%Y-%m")
    with pytest.raises(InvalidMonth, match="after the latest data"):
        trained_services.insights.report(cid, month=later)


def test_budget_needs_a_few_payments(trained_services) -> None:
    import pandas as pd

    from analytics.ingest import to_canonical
    from bot.storage.transactions import TransactionRepository

    as_of = trained_services.insights.as_of()
    lone = to_canonical(pd.DataFrame([{
        "transaction_id": "TLONE", "customer_id": "CLONE", "ts": pd.Timestamp(as_of) - pd.Timedelta(days=70),
        "amount": 25.0, "balance": 17819.05, "txn_type": "DEBIT", "category": "groceries"}]))
    with trained_services.store.atomic():
        TransactionRepository(trained_services.store).insert_frame(lone, source="test")
    plan = trained_services.insights.budget("CLONE")
    assert plan.months_used == 0 and plan.lines == () and plan.total_suggested == 0
    assert trained_services.insights.budget(_busy_customer(trained_services)).lines  # enough history: a plan


def test_customer_with_nothing_before_a_pinned_date_gets_a_clear_error(trained_services) -> None:
    from bot.services.errors import NoData

    cid = _busy_customer(trained_services)
    first = trained_services.store.db.execute(
        "SELECT MIN(txn_date) FROM transactions WHERE customer_id = ?", (cid,)).fetchone()[0]
    before = (dt.date.fromisoformat(first) - dt.timedelta(days=1)).isoformat()
    pinned = InsightsService(trained_services.store, replace(
        trained_services.config, analytics=replace(trained_services.config.analytics, as_of=before)))
    with pytest.raises(NoData, match="no transactions on or before"):
        pinned.insights(cid)
