"""POST /transactions: validated, stored, scored, "Was this you?" queued for linked chats; anomaly-check reads it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import httpx
import pytest

from bot.api.app import create_app
from bot.config import load_config
from bot.container import build_services
from bot.storage.links import LinkStore

KEY = "k-123"
HEADERS = {"X-API-Key": KEY}


def _txn(tid, amount, day=1, cid="C100", hour=12, **extra):
    return {"transaction_id": tid, "customer_id": cid, "ts": f"2016-10-{day:02d}T{hour:02d}:00:00", "amount": amount,
            "merchant": "BIG BAZAAR", "category": "groceries", "location": "PUNE", **extra}


@pytest.fixture
def client_and_store(handmade_bank):
    """The API over the hand-made bank of tests/intake_history.py, ingested and trained for real: C100 buys
    groceries for ₹250–₹650 in PUNE every day, so ₹50,000 at 3 am in another city is unusual by any measure."""
    config_file, _, _ = handmade_bank
    config = load_config(str(config_file))
    config = replace(config, api=replace(config.api, api_key=KEY))
    services = build_services(config)
    LinkStore(services.store).link(4242, "C100", 4242, dt.datetime.now(dt.UTC))
    app = create_app(services)
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test"), services.store
    services.close()


async def _post(client, rows):
    return await client.post("/transactions", json=rows, headers=HEADERS)


async def test_posted_transactions_are_stored(client_and_store):
    client, store = client_and_store
    async with client:
        response = await _post(client, [_txn("T1", 500.0), _txn("T2", 620.5, day=2, txn_type="credit")])
    rows = store.db.execute("SELECT transaction_id, amount, txn_type, ts, source FROM transactions"
                            " WHERE source = 'api' ORDER BY transaction_id").fetchall()
    assert response.status_code == 200
    assert rows == [("T1", 500.0, "DEBIT", "2016-10-01 12:00:00", "api"),
                    ("T2", 620.5, "CREDIT", "2016-10-02 12:00:00", "api")]
    assert response.json()["inserted"] == 2


async def test_reposting_the_same_ids_changes_nothing(client_and_store):
    client, store = client_and_store
    async with client:
        await _post(client, [_txn("T1", 500.0)])
        second = (await _post(client, [_txn("T1", 999.0)])).json()
    assert (second["inserted"], second["duplicates"]) == (0, 1)
    assert store.db.execute("SELECT amount FROM transactions WHERE transaction_id='T1'").fetchone() == (500.0,)


async def test_every_posted_row_gets_its_score_row(client_and_store):
    client, store = client_and_store
    async with client:
        body = (await _post(client, [_txn(f"T{d}", 400.0 + d, day=d) for d in range(1, 9)])).json()
    stored = dict(store.db.execute("SELECT transaction_id, anomaly_score FROM transaction_scores"
                                   " WHERE transaction_id LIKE 'T%'").fetchall())
    assert sorted(stored) == [f"T{d}" for d in range(1, 9)]
    assert {t["transaction_id"]: t["anomaly_score"] for t in body["transactions"]} == pytest.approx(stored)


async def test_outlier_is_flagged_and_queues_was_this_you_for_the_linked_chat(client_and_store):
    client, store = client_and_store
    async with client:
        body = (await _post(client, [_txn("BIG1", 50_000.0, day=2, hour=3, merchant="NORDIC ELECTRONICS",
                                          category="shopping", location="REYKJAVIK"),
                                     _txn("OK1", 420.0, day=2, hour=12)])).json()
    by_id = {t["transaction_id"]: t for t in body["transactions"]}
    assert by_id["BIG1"]["flagged"] is True and by_id["OK1"]["flagged"] is False
    assert (body["flagged"], body["alerts_queued"]) == (1, 1)
    # the trained detector's verdicts are what the store holds, one score row per posted row
    scored = {tid: (customer, flagged, score) for tid, customer, flagged, score in store.db.execute(
        "SELECT transaction_id, customer_id, flagged, anomaly_score FROM transaction_scores"
        " WHERE transaction_id IN ('BIG1', 'OK1')").fetchall()}
    assert {tid: row[:2] for tid, row in scored.items()} == {"BIG1": ("C100", 1), "OK1": ("C100", 0)}
    assert scored["BIG1"][2] == pytest.approx(by_id["BIG1"]["anomaly_score"]) and scored["BIG1"][2] > scored["OK1"][2]
    outbox = store.db.execute("SELECT chat_id, kind, dedupe_key, payload FROM outbox").fetchall()
    assert [(c, k, d) for c, k, d, _ in outbox] == [(4242, "unusual", "unusual:BIG1:4242")]
    assert "₹50,000.00" in json.loads(outbox[0][3])["text"]


async def test_anomaly_check_returns_the_stored_score_and_reasons(client_and_store):
    client, store = client_and_store
    async with client:
        posted = (await _post(client, [_txn("BIG1", 50_000.0, day=2, hour=3, location="REYKJAVIK")])).json()
        check = (await client.get("/transaction/BIG1/anomaly-check", headers=HEADERS)).json()
    stored = store.db.execute("SELECT anomaly_score, flagged, reasons FROM transaction_scores"
                              " WHERE transaction_id = 'BIG1'").fetchone()
    assert check["flagged"] is True and bool(stored[1]) is True
    assert check["anomaly_score"] == pytest.approx(stored[0]) == pytest.approx(posted["transactions"][0]["anomaly_score"])
    assert check["reasons"] == json.loads(stored[2]) and check["reasons"]
    assert check["fraud_check"] is None


async def test_anomaly_check_of_unknown_transaction_is_404(client_and_store):
    client, _ = client_and_store
    async with client:
        response = await client.get("/transaction/NOPE/anomaly-check", headers=HEADERS)
    assert response.status_code == 404


async def test_malformed_rows_are_422_with_row_index_and_nothing_is_stored(client_and_store):
    client, store = client_and_store
    rows = [_txn("T1", 100.0), _txn("T2", -5.0), {"transaction_id": "T3", "customer_id": "C100", "amount": 5},
            _txn("T4", 100.0, ts="yesterday"), _txn("T1", 7.0)]
    async with client:
        response = await _post(client, rows)
    detail = response.json()["detail"]
    assert response.status_code == 422
    assert [d["row"] for d in detail] == [1, 2, 3, 4]
    assert "amount" in detail[0]["errors"][0] and "ts" in detail[1]["errors"][0]
    assert "repeated" in detail[3]["errors"][0]
    assert store.db.execute("SELECT COUNT(*) FROM transactions WHERE source = 'api'").fetchone()[0] == 0


async def test_body_that_is_not_a_list_is_422(client_and_store):
    client, _ = client_and_store
    async with client:
        response = await client.post("/transactions", json={"transaction_id": "T1"}, headers=HEADERS)
    assert response.status_code == 422
