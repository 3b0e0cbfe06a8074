"""The REST API refuses to start without a key and answers 401 without the right X-API-Key."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from bot.api.app import ApiKeyMissing, create_app
from bot.container import Services
from bot.services.insights import InsightsService

KEY = "s3cret-test-key"


def _services(store, config, key=KEY):
    config = replace(config, api=replace(config.api, api_key=key))
    return Services(config=config, store=store, insights=InsightsService(store, config))


def _client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")


def test_api_refuses_to_start_without_a_configured_key(fresh_store, test_config):
    with pytest.raises(ApiKeyMissing, match="FINASSIST_API_KEY"):
        create_app(_services(fresh_store, test_config, key=""))


async def test_request_without_key_is_401(fresh_store, test_config):
    async with _client(create_app(_services(fresh_store, test_config))) as client:
        response = await client.get("/health")
    assert response.status_code == 401


async def test_request_with_wrong_key_is_401(fresh_store, test_config):
    async with _client(create_app(_services(fresh_store, test_config))) as client:
        response = await client.get("/customer/C1/insights", headers={"X-API-Key": KEY + "x"})
    assert response.status_code == 401


async def test_request_with_right_key_is_answered(fresh_store, test_config):
    async with _client(create_app(_services(fresh_store, test_config))) as client:
        response = await client.get("/health", headers={"X-API-Key": KEY})
    assert response.status_code == 200 and response.json() == {"status": "ok", "latest_transaction": None}


async def test_post_without_key_stores_nothing(fresh_store, test_config):
    row = {"transaction_id": "T1", "customer_id": "C1", "ts": "2016-09-01T10:00:00", "amount": 10}
    async with _client(create_app(_services(fresh_store, test_config))) as client:
        response = await client.post("/transactions", json=[row])
    assert response.status_code == 401
    assert fresh_store.db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == 0


async def test_unknown_customer_is_404(fresh_store, test_config):
    async with _client(create_app(_services(fresh_store, test_config))) as client:
        response = await client.get("/customer/NOPE/insights", headers={"X-API-Key": KEY})
    assert response.status_code == 404
