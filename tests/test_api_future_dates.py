"""POST /transactions refuses rows dated beyond now plus a day: 422 with the row's index and reason, nothing stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import httpx

from bot.api.app import create_app
from bot.api.schemas import validate_rows
from bot.container import Services
from bot.services.insights import InsightsService

KEY = "k-future"


def _txn(tid: str, ts: str) -> dict:
    return {"transaction_id": tid, "customer_id": "C1", "ts": ts, "amount": 100.0}


def test_validation_uses_the_injected_clock_in_the_bank_time_zone():
    now = dt.datetime(2016, 10, 31, 6, 30, tzinfo=dt.UTC)          # 12:00 in Kolkata
    rows = [_txn("T1", "2016-11-01T12:00:00"), _txn("T2", "2016-11-01T12:00:01"),
            _txn("T3", "2016-11-01T06:30:01+00:00")]                # = 12:00:01 Kolkata: one second too late
    good, problems = validate_rows(rows, "Asia/Kolkata", now=now)
    assert [t.transaction_id for t in good] == ["T1"]
    assert [(p["row"], p["transaction_id"]) for p in problems] == [(1, "T2"), (2, "T3")]
    assert problems[0]["errors"] == ["ts: 2016-11-01T12:00:01 is in the future "
                                     "(after 2016-11-01T12:00 Asia/Kolkata time, now plus 1 day)"]


async def test_a_future_dated_post_is_422_naming_the_row_and_nothing_is_stored(fresh_store, test_config):
    config = replace(test_config, api=replace(test_config.api, api_key=KEY))
    app = create_app(Services(config=config, store=fresh_store, insights=InsightsService(fresh_store, config)))
    soon = (dt.datetime.now(ZoneInfo(config.scheduler.timezone)) + dt.timedelta(days=30)).replace(tzinfo=None)
    rows = [_txn("T1", "2016-09-01T12:00:00"), _txn("T2", soon.isoformat(timespec="seconds")),
            _txn("T3", "2031-01-01T00:00:00")]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client:
        response = await client.post("/transactions", json=rows, headers={"X-API-Key": KEY})
    detail = response.json()["detail"]
    assert response.status_code == 422
    assert [(d["row"], d["transaction_id"]) for d in detail] == [(1, "T2"), (2, "T3")]
    assert detail[1]["errors"][0].startswith("ts: 2031-01-01T00:00:00 is in the future (after ")
    assert fresh_store.db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == 0
