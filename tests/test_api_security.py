"""Security review of the REST API: no route, including FastAPI's built-in docs, answers without the key."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from bot.api.app import create_app
from bot.container import Services
from bot.services.insights import InsightsService

KEY = "s3cret-test-key"


def _app(store, config):
    config = replace(config, api=replace(config.api, api_key=KEY))
    return create_app(Services(config=config, store=store, insights=InsightsService(store, config)))


def _client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
async def test_builtin_docs_routes_do_not_answer_without_key(fresh_store, test_config, path):
    async with _client(_app(fresh_store, test_config)) as client:
        response = await client.get(path)
    assert response.status_code in (401, 404)
    assert "customer" not in response.text.lower()


async def test_unauthorised_error_body_does_not_echo_the_key(fresh_store, test_config):
    async with _client(_app(fresh_store, test_config)) as client:
        response = await client.get("/health", headers={"X-API-Key": KEY[:-1]})
    assert response.status_code == 401
    assert KEY[:-1] not in response.text


async def test_post_with_existing_id_for_another_customer_changes_nothing(fresh_store, test_config):
    headers = {"X-API-Key": KEY}
    first = {"transaction_id": "T1", "customer_id": "C1", "ts": "2016-09-01T10:00:00", "amount": 10}
    hijack = {**first, "customer_id": "C2", "amount": 99999}
    async with _client(_app(fresh_store, test_config)) as client:
        assert (await client.post("/transactions", json=[first], headers=headers)).status_code == 200
        response = await client.post("/transactions", json=[hijack], headers=headers)
    assert response.status_code == 200 and response.json()["inserted"] == 0
    rows = fresh_store.db.execute("SELECT customer_id, amount FROM transactions").fetchall()
    assert rows == [("C1", 10.0)]
    assert fresh_store.db.execute("SELECT COUNT(*) FROM customers WHERE customer_id = 'C2'").fetchone()[0] == 0


class _RacingScorer:
    """The real scorer of the trained store; while it scores, a 'concurrent request' stores the same ID for
    another customer (the race the intake's second look inside its transaction exists for)."""

    def __init__(self, store, owner: str):
        from bot.services.scoring import TransactionScorer

        self.real = TransactionScorer.from_store(store)
        self.store, self.owner = store, owner
        self.verdicts: list[bool] = []

    def score(self, txn):
        import pandas as pd

        from analytics.ingest import to_canonical
        from bot.storage.transactions import TransactionRepository
        row = {"transaction_id": txn["transaction_id"], "customer_id": self.owner,
               "ts": pd.Timestamp(txn["ts"]) - pd.Timedelta(hours=1), "amount": 5.0}
        with self.store.atomic():
            TransactionRepository(self.store).insert_frame(to_canonical(pd.DataFrame([row])), source="api")
        score, flagged, reasons = self.real.score(txn)
        self.verdicts.append(flagged)
        return score, flagged, reasons


async def test_concurrently_stored_id_is_not_alerted_to_the_other_customer(trained_services):
    """Real scorer and real score writer: the posted debit is one the detector flags, yet because another
    request stored its ID for someone else meanwhile, nothing is stored, scored or queued for the poster."""
    import datetime as dt

    from bot.storage.links import LinkStore
    store = trained_services.store
    victim, owner = [r[0] for r in store.db.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 2")]
    usual_max = store.db.execute("SELECT MAX(amount) FROM transactions WHERE customer_id = ?", (victim,)).fetchone()[0]
    config = replace(trained_services.config, api=replace(trained_services.config.api, api_key=KEY),
                     scheduler=replace(trained_services.config.scheduler, quiet_hours="00:00-00:00"))
    services = Services(config=config, store=store, insights=InsightsService(store, config))
    LinkStore(store).link(77, victim, 77, dt.datetime.now(dt.UTC))
    racing = _RacingScorer(store, owner)
    app = create_app(services, scorer_factory=lambda: racing)
    when = (services.insights.as_of() + dt.timedelta(days=1)).isoformat() + "T03:12:00"
    row = {"transaction_id": "TRACE9", "customer_id": victim, "ts": when, "amount": round(usual_max * 20, 2),
           "merchant": "WIRE TRANSFER REYKJAVIK", "location": "REYKJAVIK", "channel": "ONLINE"}
    async with _client(app) as client:
        response = await client.post("/transactions", json=[row], headers={"X-API-Key": KEY})
    assert racing.verdicts == [True], "the real detector flags this debit, so an alert would have been queued"
    assert response.status_code == 200 and response.json()["inserted"] == 0
    assert store.db.execute("SELECT customer_id FROM transactions WHERE transaction_id = 'TRACE9'").fetchall() == [
        (owner,)]
    assert store.db.execute("SELECT COUNT(*) FROM transaction_scores WHERE transaction_id = 'TRACE9'").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
