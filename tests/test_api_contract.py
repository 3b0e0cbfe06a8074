"""The REST API's document, parameters, body limits and time format (issue 10 items 9-10, issue 9 item 15)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import httpx
import pytest

from bot.api.app import MAX_BODY_BYTES, create_app
from bot.container import Services
from bot.services.insights import InsightsService

KEY = "contract-test-key"
HEADERS = {"X-API-Key": KEY}
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2})?$")


def _app(store, config):
    config = replace(config, api=replace(config.api, api_key=KEY))
    return create_app(Services(config=config, store=store, insights=InsightsService(store, config)))


def _client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")


# ---- the OpenAPI document --------------------------------------------------------------------------------
async def test_openapi_document_and_docs_page_answer_only_with_the_key(fresh_store, test_config):
    async with _client(_app(fresh_store, test_config)) as client:
        anonymous = [await client.get(p) for p in ("/openapi.json", "/docs")]
        document = await client.get("/openapi.json", headers=HEADERS)
        page = await client.get("/docs", headers=HEADERS)
    assert [r.status_code for r in anonymous] == [401, 401]
    assert document.status_code == 200
    spec = document.json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/health", "/customer/{customer_id}/insights",
                                  "/customer/{customer_id}/recommendations",
                                  "/transaction/{transaction_id}/anomaly-check", "/transactions"}
    assert spec["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "the key from [api] api_key_env"}
    kinds = next(p for p in spec["paths"]["/customer/{customer_id}/recommendations"]["get"]["parameters"]
                 if p["name"] == "kind")
    assert "fd" in str(kinds["schema"]) and "credit_card" in str(kinds["schema"])
    insights = spec["paths"]["/customer/{customer_id}/insights"]["get"]["responses"]["200"]
    assert insights["content"]["application/json"]["schema"]["$ref"].endswith("/CustomerInsights")
    assert "derived" in spec["components"]["schemas"]["BalanceInfo"]["properties"]
    # the page embeds the document (a browser's own fetch of /openapi.json would carry no key)
    assert page.status_code == 200 and "swagger-ui" in page.text and '"/customer/{customer_id}/insights"' in page.text


# ---- parameters and bodies --------------------------------------------------------------------------------
async def test_unknown_recommendation_kind_is_422_naming_the_kinds(trained_services):
    app = _app(trained_services.store, trained_services.config)
    customer = trained_services.store.db.execute("SELECT customer_id FROM customer_scores LIMIT 1").fetchone()[0]
    async with _client(app) as client:
        bad = await client.get(f"/customer/{customer}/recommendations?kind=foo", headers=HEADERS)
        good = await client.get(f"/customer/{customer}/recommendations?kind=fd", headers=HEADERS)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "kind"] and "'fd'" in bad.json()["detail"][0]["msg"]
    assert good.status_code == 200 and all(r["kind"] == "fd" for r in good.json()["recommendations"])


class _CountingBody:
    """A 40 MB upload in 1 MB chunks that counts how many the server pulled."""

    def __init__(self, megabytes: int = 40) -> None:
        self.megabytes, self.pulled = megabytes, 0

    async def __aiter__(self):
        for _ in range(self.megabytes):
            self.pulled += 1
            yield b"[" + b" " * ((1 << 20) - 2) + b"]"


async def test_an_anonymous_40_mb_body_is_refused_before_it_is_read(fresh_store, test_config):
    body = _CountingBody()
    async with _client(_app(fresh_store, test_config)) as client:
        response = await client.post("/transactions", content=body,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and body.pulled == 0
    assert fresh_store.db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == 0


async def test_an_authenticated_body_over_the_cap_is_413_and_read_no_further(fresh_store, test_config):
    body = _CountingBody()
    async with _client(_app(fresh_store, test_config)) as client:
        streamed = await client.post("/transactions", content=body,
                                     headers={**HEADERS, "Content-Type": "application/json"})
        declared = await client.post("/transactions", content=b"[" + b" " * MAX_BODY_BYTES + b"]",
                                     headers={**HEADERS, "Content-Type": "application/json"})
    assert streamed.status_code == 413 and body.pulled == MAX_BODY_BYTES // (1 << 20) + 1
    assert declared.status_code == 413 and f"{MAX_BODY_BYTES:,}" in declared.json()["detail"]


async def test_a_full_batch_of_long_rows_fits_under_the_cap(fresh_store, test_config):
    from bot.api.schemas import MAX_BATCH

    row = {"transaction_id": "T" + "9" * 47, "customer_id": "C" * 64, "ts": "2016-09-01T10:00:00+05:30",
           "amount": 123456789.12, "balance": -123456789.12, "txn_type": "CREDIT", "merchant": "M" * 200,
           "category": "groceries", "channel": "C" * 40, "location": "L" * 200, "dob": "1990-01-01",
           "gender": "F"}
    import json

    size = len(json.dumps([row] * MAX_BATCH).encode())
    assert size < MAX_BODY_BYTES, "the largest valid request must not be refused for its size"


# ---- ISO 8601 everywhere ------------------------------------------------------------------------------------
async def test_anomaly_check_and_insights_write_times_the_same_iso_8601_way(trained_services):
    app = _app(trained_services.store, trained_services.config)
    tid, customer, stored_ts = trained_services.store.db.execute(
        "SELECT s.transaction_id, s.customer_id, t.ts FROM transaction_scores s JOIN transactions t "
        "USING (transaction_id) WHERE s.flagged = 1 ORDER BY s.transaction_id LIMIT 1").fetchone()
    async with _client(app) as client:
        check = (await client.get(f"/transaction/{tid}/anomaly-check", headers=HEADERS)).json()
        insights = (await client.get(f"/customer/{customer}/insights", headers=HEADERS)).json()
    assert check["ts"] == dt.datetime.strptime(stored_ts, "%Y-%m-%d %H:%M:%S").isoformat()
    assert ISO_8601.match(check["ts"]) and ISO_8601.match(check["scored_at"])
    assert ISO_8601.match(insights["balance"]["as_of"])
    flag_times = [a["ts"] for a in insights["anomalies"]]
    assert flag_times and all(ISO_8601.match(t) for t in flag_times)


@pytest.mark.parametrize("stored, expected", [
    ("2016-08-02 14:32:07", "2016-08-02T14:32:07"),
    ("2026-12-02T06:00:00+00:00", "2026-12-02T06:00:00+00:00"),
    (None, None),
])
def test_stored_times_are_rewritten_as_iso_8601(stored, expected):
    from bot.api.app import iso_8601

    assert iso_8601(stored) == expected
