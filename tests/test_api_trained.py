"""POST /transactions against the trained synthetic bank: the real detector flags a huge outlier."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import httpx
import pytest

from bot.api.app import create_app

KEY = "trained-key"


@pytest.mark.slow
async def test_real_scorer_flags_a_huge_purchase_and_stores_its_score(trained_services):
    services = trained_services
    services.config = replace(services.config, api=replace(services.config.api, api_key=KEY))
    store = services.store
    customer_id, biggest, last_ts, n = store.db.execute(
        "SELECT customer_id, MAX(amount), MAX(ts), COUNT(*) FROM transactions WHERE txn_type = 'DEBIT'"
        " GROUP BY customer_id HAVING COUNT(*) >= 30 ORDER BY customer_id LIMIT 1").fetchone()
    when = dt.datetime.fromisoformat(last_ts) + dt.timedelta(hours=3)
    rows = [{"transaction_id": "API-HUGE", "customer_id": customer_id, "ts": when.isoformat(),
             "amount": round(biggest * 40, 2), "merchant": "UNKNOWN ELECTRONICS", "location": "FAR CITY"}]
    app = create_app(services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        body = (await client.post("/transactions", json=rows, headers={"X-API-Key": KEY})).json()
        check = (await client.get("/transaction/API-HUGE/anomaly-check", headers={"X-API-Key": KEY})).json()
    [scored] = body["transactions"]
    assert body["inserted"] == 1 and scored["flagged"] is True and scored["reasons"]
    stored = store.db.execute("SELECT amount, source FROM transactions WHERE transaction_id = 'API-HUGE'").fetchone()
    assert stored == (round(biggest * 40, 2), "api")
    assert check["flagged"] is True and check["anomaly_score"] == pytest.approx(scored["anomaly_score"], abs=1e-6)


async def test_anomaly_check_of_a_quiet_trained_transaction_gives_its_hand_worked_score(steady_bank):
    """A quiet row of the steady bank (tests/steady_history.py: ₹1,100 once among ₹1,000 a day, no stored
    score row): /anomaly-check must give the score worked out by hand from the weights stored with the model
    (`hand_score`: every signal 0 by construction but beyond_largest), and `export` the same figure; unflagged
    as it lies below the stored threshold. rel=1e-3: the fraud rate is stored to 6 decimals."""
    from bot.container import build_services
    from bot.services.trained_scores import TrainedScores
    from tests.steady_history import hand_score, stored_model

    config, facts = steady_bank
    chosen = facts["transaction_id"]
    services = build_services(replace(config, api=replace(config.api, api_key=KEY)))
    try:
        db = services.store.db
        assert db.execute("SELECT COUNT(*) FROM transaction_scores WHERE transaction_id = ?",
                          (chosen,)).fetchone()[0] == 0
        model = stored_model(db)
        expected = hand_score(facts, model)
        exported = {row[0]: row for row in TrainedScores(services.store).export_rows()}[chosen]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services)),
                                     base_url="http://t") as client:
            check = (await client.get(f"/transaction/{chosen}/anomaly-check", headers={"X-API-Key": KEY})).json()
    finally:
        services.close()
    assert check["scored"] is True and check["scored_at"] is not None
    assert check["anomaly_score"] == pytest.approx(expected, rel=1e-3)
    assert expected < model["threshold"] and check["flagged"] is False and check["reasons"] == []
    _, customer, category, score, flagged, reasons = exported
    assert (customer, category) == (facts["customer_id"], "groceries")
    assert score == pytest.approx(expected, abs=5e-7) and flagged == 0 and reasons == ""
