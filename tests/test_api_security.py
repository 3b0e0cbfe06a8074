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


async def test_concurrent_posts_of_one_id_store_it_once_and_alert_only_its_owner(handmade_bank):
    """50 requests race to store the same transaction ID, half for C100 and half for C101 (both linked): one
    row is stored, and a "Was this you?" can only reach the chat of the customer who owns that row."""
    import asyncio
    import datetime as dt

    from bot.config import load_config
    from bot.container import build_services
    from bot.storage.links import LinkStore

    config_path, _, _ = handmade_bank
    config = load_config(str(config_path))
    services = build_services(replace(config, api=replace(config.api, api_key=KEY)))
    links = LinkStore(services.store)
    links.link(100, "C100", 100, dt.datetime.now(dt.UTC))
    links.link(101, "C101", 101, dt.datetime.now(dt.UTC))
    rows = [{"transaction_id": "RACE1", "customer_id": "C100" if i % 2 else "C101", "ts": "2016-10-01T03:12:00",
             "amount": 95_000, "merchant": "NORDIC ELECTRONICS", "location": "REYKJAVIK"} for i in range(50)]
    try:
        async with _client(create_app(services)) as client:
            responses = await asyncio.gather(*(client.post("/transactions", json=[row], headers={"X-API-Key": KEY})
                                               for row in rows))
        stored = services.store.db.execute(
            "SELECT customer_id FROM transactions WHERE transaction_id = 'RACE1'").fetchall()
        outbox = services.store.db.execute("SELECT chat_id FROM outbox").fetchall()
        scored = services.store.db.execute(
            "SELECT customer_id, flagged FROM transaction_scores WHERE transaction_id = 'RACE1'").fetchall()
    finally:
        services.close()
    assert [r.status_code for r in responses] == [200] * 50
    assert sum(r.json()["inserted"] for r in responses) == 1
    assert len(stored) == 1
    owner_chat = int(stored[0][0][1:])
    assert outbox == [(owner_chat,)]
    assert scored == [(stored[0][0], 1)]      # one score row, the trained detector's, for the row's owner
