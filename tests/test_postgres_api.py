"""The REST API on a PostgreSQL store: posted rows are stored, scored and asked about once, even when
requests race on one transaction ID (each request thread has its own pooled connection there)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import replace

import httpx
import pytest

from bot.api.app import create_app
from bot.config import load_config
from bot.container import build_services
from bot.storage.links import LinkStore

KEY = "k-pg"
HEADERS = {"X-API-Key": KEY}
pytestmark = pytest.mark.postgres


@pytest.fixture
def services(handmade_bank_pg):
    config_file, _, _ = handmade_bank_pg
    config = load_config(str(config_file))
    built = build_services(replace(config, api=replace(config.api, api_key=KEY)))
    yield built
    built.close()


def _client(services) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services)), base_url="http://api.test")


def _txn(tid: str, amount: float, hour: int = 12, **extra) -> dict:
    return {"transaction_id": tid, "customer_id": "C100", "ts": f"2016-10-02T{hour:02d}:00:00", "amount": amount,
            "merchant": "BIG BAZAAR", "category": "groceries", "location": "PUNE", **extra}


async def test_posted_rows_are_stored_scored_and_the_outlier_asks_once(services):
    LinkStore(services.store).link(4242, "C100", 4242, dt.datetime.now(dt.UTC))
    rows = [_txn("BIG1", 50_000.0, hour=3, merchant="NORDIC ELECTRONICS", category="shopping", location="REYKJAVIK"),
            _txn("OK1", 420.0)]
    async with _client(services) as client:
        body = (await client.post("/transactions", json=rows, headers=HEADERS)).json()
        again = (await client.post("/transactions", json=rows, headers=HEADERS)).json()
        check = (await client.get("/transaction/BIG1/anomaly-check", headers=HEADERS)).json()
    db = services.store.db
    assert db.execute("SELECT transaction_id, amount, source FROM transactions WHERE source = 'api' "
                      "ORDER BY transaction_id").fetchall() == [("BIG1", 50_000.0, "api"), ("OK1", 420.0, "api")]
    stored = dict(db.execute("SELECT transaction_id, flagged FROM transaction_scores WHERE transaction_id IN "
                             "('BIG1', 'OK1')").fetchall())
    assert stored == {"BIG1": 1, "OK1": 0}
    assert (body["inserted"], body["flagged"], body["alerts_queued"]) == (2, 1, 1)
    assert (again["inserted"], again["duplicates"], again["alerts_queued"]) == (0, 2, 0)
    outbox = db.execute("SELECT chat_id, kind, dedupe_key, payload FROM outbox").fetchall()
    assert [(c, k, d) for c, k, d, _ in outbox] == [(4242, "unusual", "unusual:BIG1:4242")]
    assert "₹50,000.00" in json.loads(outbox[0][3])["text"]
    assert check["flagged"] is True and check["anomaly_score"] == pytest.approx(body["transactions"][0]["anomaly_score"])


async def test_racing_posts_of_one_id_store_it_once_and_alert_only_its_owner(services):
    links = LinkStore(services.store)
    links.link(100, "C100", 100, dt.datetime.now(dt.UTC))
    links.link(101, "C101", 101, dt.datetime.now(dt.UTC))
    rows = [{"transaction_id": "RACE1", "customer_id": "C100" if i % 2 else "C101", "ts": "2016-10-01T03:12:00",
             "amount": 95_000, "merchant": "NORDIC ELECTRONICS", "location": "REYKJAVIK"} for i in range(30)]
    async with _client(services) as client:
        responses = await asyncio.gather(*(client.post("/transactions", json=[row], headers=HEADERS) for row in rows))
    stored = services.store.db.execute("SELECT customer_id FROM transactions WHERE transaction_id = 'RACE1'").fetchall()
    outbox = services.store.db.execute("SELECT chat_id FROM outbox").fetchall()
    assert [r.status_code for r in responses] == [200] * 30
    assert sum(r.json()["inserted"] for r in responses) == 1 and len(stored) == 1
    assert outbox == [(int(stored[0][0][1:]),)]
