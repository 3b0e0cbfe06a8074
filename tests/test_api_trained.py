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


async def test_anomaly_check_of_a_quiet_trained_transaction_gives_its_exported_score(trained_services):
    """Quiet rows have no stored score row: the API recomputes one customer's rows, `export` the whole
    bank's, and both must give the figure training gave (quiet: unflagged, no reasons, below the threshold
    stored with the model, read here with plain SQL)."""
    import json

    from bot.services.trained_scores import TrainedScores

    services = trained_services
    services.config = replace(services.config, api=replace(services.config.api, api_key=KEY))
    db = services.store.db
    stored = {r[0] for r in db.execute("SELECT transaction_id FROM transaction_scores")}
    exported = {row[0]: row for row in TrainedScores(services.store).export_rows()}
    quiet = next(t for (t,) in db.execute("SELECT transaction_id FROM transactions ORDER BY rowid DESC")
                 if t not in stored)
    threshold = json.loads(db.execute("SELECT metrics FROM model_artifacts WHERE name = 'anomaly'").fetchone()[0])[
        "threshold"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services)), base_url="http://t") as client:
        check = (await client.get(f"/transaction/{quiet}/anomaly-check", headers={"X-API-Key": KEY})).json()
    assert check["scored"] is True and check["flagged"] is False and check["reasons"] == []
    _, _, _, score, flagged, reasons = exported[quiet]
    assert check["anomaly_score"] == pytest.approx(score, abs=1e-6) and flagged == 0 and reasons == ""
    assert check["anomaly_score"] < threshold and check["scored_at"] is not None
