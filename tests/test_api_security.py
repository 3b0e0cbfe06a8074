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
    """Flags every amount over 1,000; while scoring, a 'concurrent request' stores the same ID for C1."""

    def __init__(self, store):
        self.store = store

    def score(self, txn):
        import pandas as pd

        from analytics.ingest import to_canonical
        from bot.storage.transactions import TransactionRepository
        row = {"transaction_id": txn["transaction_id"], "customer_id": "C1", "ts": pd.Timestamp("2016-09-03 12:00"),
               "amount": 5.0}
        TransactionRepository(self.store).insert_frame(to_canonical(pd.DataFrame([row])), source="api")
        return 0.99, txn["amount"] > 1000, ["much more than usual"]


async def test_concurrently_stored_id_is_not_alerted_to_the_other_customer(fresh_store, test_config):
    import datetime as dt

    from bot.storage.links import LinkStore
    config = replace(test_config, api=replace(test_config.api, api_key=KEY),
                     scheduler=replace(test_config.scheduler, quiet_hours="00:00-00:00"))
    services = Services(config=config, store=fresh_store, insights=InsightsService(fresh_store, config))
    LinkStore(fresh_store).link(77, "C2", 77, dt.datetime.now(dt.UTC))
    app = create_app(services, scorer_factory=lambda: _RacingScorer(fresh_store), score_writer=lambda rows: None)
    row = {"transaction_id": "T9", "customer_id": "C2", "ts": "2016-09-04T12:00:00", "amount": 50000}
    async with _client(app) as client:
        response = await client.post("/transactions", json=[row], headers={"X-API-Key": KEY})
    assert response.status_code == 200 and response.json()["inserted"] == 0
    assert fresh_store.db.execute("SELECT customer_id FROM transactions").fetchall() == [("C1",)]
    assert fresh_store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
