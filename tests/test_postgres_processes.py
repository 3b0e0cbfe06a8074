"""Real `python -m bot` processes on one PostgreSQL store: a polling bot with `notify --once` beside it, the
REST API beside the bot, and a server restart under both. Every message is counted over the loopback fake Bot
API (queued, delivered once, duplicated, lost); rows are read back from the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from bot.storage.database import Store
from bot.storage.links import LinkStore
from bot.storage.outbox import OutboxRepository
from tests.fakes.delivery import expected_from_store, tally
from tests.fakes.telegram_server import FakeTelegramServer
from tests.intake_history import LAST_DAY

REPO_ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.slow]
KEY = "k-processes"
HEADERS = {"X-API-Key": KEY}
FIRST_CHAT = 810_000          # the queued batches' chats: one each, so the per-chat pace never slows a drain
ASKED_CHAT = 4242             # C100's chat in the hand-made bank


# ------------------------------------------------------------------------------------------- processes
def _config(folder: Path, url: str, fake: FakeTelegramServer, *, rate: float = 25.0) -> Path:
    path = folder / "processes.toml"
    path.write_text(
        f'[storage]\nurl = "{url}"\ndb_path = "{folder / "local" / "store.db"}"\n'
        f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\nmode = "polling"\n'
        f'[scheduler]\nquiet_hours = "off"\nscan_every_minutes = 1\nsend_rate_per_second = {rate}\n'
        '[api]\nhost = "127.0.0.1"\nport = 0\n')
    return path


async def _start(*argv: str, config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv, "--config", str(config), cwd=REPO_ROOT,
        env=dict(os.environ, FINASSIST_API_KEY=KEY), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)


async def _api_base(process: asyncio.subprocess.Process) -> str:
    """The API's address from its ready line (port 0: it picked a free port and is listening)."""
    ready = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
    found = re.fullmatch(r"FinAssist API on (http://127\.0\.0\.1:\d+) \(X-API-Key required\)\n", ready)
    assert found, ready
    return found.group(1)


async def _stop(*processes: asyncio.subprocess.Process) -> list[str]:
    """SIGINT each process and wait for it; their stderr tails, for the assertion messages."""
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
    return [(await asyncio.wait_for(p.communicate(), 60))[1].decode()[-2000:] for p in processes]


def _queue(store: Store, first: int, count: int, label: str) -> None:
    now = dt.datetime.now(dt.UTC)
    repo = OutboxRepository(store)
    for i in range(first, first + count):
        repo.enqueue(chat_id=FIRST_CHAT + i, kind="low_balance", dedupe_key=f"{label}:{i}",
                     payload={"text": f"{label} message {i}", "photo": None, "buttons": None, "meta": {}},
                     created_at=now, due_at=now)


def _batch(call) -> bool:
    return (call.chat_id or 0) >= FIRST_CHAT


def _workers(store: Store) -> dict[str, int]:
    return dict(store.db.execute("SELECT claimed_by, count(*) FROM outbox WHERE status = 'sent'"
                                 " GROUP BY claimed_by").fetchall())


def _night_abroad(tid: str) -> dict:
    """₹95,000 at 3 am in a city C100 never used, the day after the hand-made history ends."""
    return {"transaction_id": tid, "customer_id": "C100", "ts": f"{LAST_DAY + dt.timedelta(days=1)}T03:12:00",
            "amount": 95_000.0, "merchant": "NORDIC ELECTRONICS", "category": "shopping", "location": "REYKJAVIK"}


def _ordinary(tid: str) -> dict:
    return {"transaction_id": tid, "customer_id": "C100", "ts": f"{LAST_DAY + dt.timedelta(days=1)}T12:30:00",
            "amount": 420.0, "merchant": "BIG BAZAAR", "category": "groceries", "location": "PUNE"}


def _questions(fake: FakeTelegramServer) -> list:
    return [c for c in fake.sent_to(ASKED_CHAT) if "Was this you?" in c.text]


# --------------------------------------------------------------------------------------------- tests
async def test_notify_once_beside_a_running_bot_sends_each_message_once(pg_url, tmp_path):
    """A polling bot and `notify --once` drain one outbox at the same time: 240 messages, each delivered once,
    and both processes took part (a slow pace keeps both drains running together)."""
    messages = 240
    store = Store(pg_url, local_dir=tmp_path / "test")
    _queue(store, 0, messages, "before")
    async with FakeTelegramServer() as fake:
        config = _config(tmp_path, pg_url, fake, rate=12.0)
        bot = await _start("bot", config=config)
        notify = None
        try:
            await fake.wait_for("getUpdates", timeout=90)              # the bot is up; its first pass is ~10 s away
            notify = await _start("notify", "--once", config=config)
            _, err = await asyncio.wait_for(notify.communicate(), 120)
            assert notify.returncode == 0, err.decode()[-2000:]
            await fake.wait_for("sendMessage", _batch, timeout=120, count=messages)
        finally:
            errors = await _stop(bot)
        delivered = [c for c in fake.delivered() if _batch(c)]
    counted = tally(expected_from_store(store), delivered)
    statuses = store.db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    by_worker = _workers(store)
    store.close()
    assert (counted.queued, counted.once, counted.duplicated, counted.lost, counted.unexpected) == (
        messages, messages, 0, 0, 0), counted.line()
    assert statuses == [("sent", messages)]
    assert len(by_worker) == 2 and all(n > 0 for n in by_worker.values()), by_worker
    assert bot.returncode == 0, errors


async def test_a_flagged_post_to_the_api_is_asked_about_once_by_the_running_bot(handmade_bank_pg, tmp_path):
    """The API and the bot share the store: a ₹95,000 debit at 3 am in a new city, posted over HTTP, is stored,
    scored by the trained detector, and asked about once in C100's chat by the bot; `notify --once` after it
    and a repeated POST send nothing more."""
    _, _, url = handmade_bank_pg
    store = Store(url, local_dir=tmp_path / "test")
    LinkStore(store).link(ASKED_CHAT, "C100", ASKED_CHAT, dt.datetime.now(dt.UTC))
    async with FakeTelegramServer() as fake:
        config = _config(tmp_path, url, fake)
        api = await _start("api", config=config)
        bot = await _start("bot", config=config)
        try:
            base = await _api_base(api)
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                posted = await client.post("/transactions", json=[_night_abroad("N1"), _ordinary("N2")],
                                           headers=HEADERS)
                assert posted.status_code == 200, posted.text
                await fake.wait_for("sendMessage", lambda c: c.chat_id == ASKED_CHAT and "Was this you?" in c.text,
                                    timeout=150)
                again = await client.post("/transactions", json=[_night_abroad("N1")], headers=HEADERS)
            notify = await _start("notify", "--once", config=config)
            _, err = await asyncio.wait_for(notify.communicate(), 120)
            assert notify.returncode == 0, err.decode()[-2000:]
        finally:
            errors = await _stop(bot, api)
        questions = _questions(fake)
    body = posted.json()
    scores = dict((tid, (flagged, score)) for tid, flagged, score in store.db.execute(
        "SELECT transaction_id, flagged, anomaly_score FROM transaction_scores WHERE transaction_id IN ('N1', 'N2')"
    ).fetchall())
    stored = store.db.execute("SELECT transaction_id, amount, source FROM transactions WHERE source = 'api'"
                              " ORDER BY transaction_id").fetchall()
    unusual = store.db.execute("SELECT chat_id, status FROM outbox WHERE kind = 'unusual'").fetchall()
    checks = store.db.execute("SELECT transaction_id, chat_id, status FROM fraud_checks").fetchall()
    store.close()
    assert (body["inserted"], body["flagged"], body["alerts_queued"]) == (2, 1, 1)
    assert (again.status_code, again.json()["inserted"], again.json()["alerts_queued"]) == (200, 0, 0)
    assert stored == [("N1", 95_000.0, "api"), ("N2", 420.0, "api")]
    assert {tid: flagged for tid, (flagged, _) in scores.items()} == {"N1": 1, "N2": 0}
    by_id = {t["transaction_id"]: t for t in body["transactions"]}
    assert by_id["N1"]["anomaly_score"] == pytest.approx(scores["N1"][1])
    assert len(questions) == 1 and "₹95,000.00" in questions[0].text, [q.text for q in questions]
    assert [b for b in questions[0].button_texts()] == ["Yes, it was me", "No, block my card"]
    assert unusual == [(ASKED_CHAT, "sent")]
    assert checks == [("N1", ASKED_CHAT, "pending")]
    assert [bot.returncode, api.returncode] == [0, 0], errors


async def test_bot_and_api_survive_a_server_restart_and_every_message_goes_once(handmade_bank_pg, pg_databases,
                                                                                tmp_path):
    """Mid-drain the PostgreSQL server stops: the API answers 503 with Retry-After while it is down and 200
    after; the bot's drain waits and goes on. Messages queued before the outage, a question posted during it
    (refused, then posted again) and messages queued after it each reach their chat exactly once; nothing is
    half written."""
    before, after = 200, 60
    cluster = pg_databases.cluster
    _, _, url = handmade_bank_pg
    store = Store(url, local_dir=tmp_path / "test")
    LinkStore(store).link(ASKED_CHAT, "C100", ASKED_CHAT, dt.datetime.now(dt.UTC))
    _queue(store, 0, before, "before")
    async with FakeTelegramServer() as fake:
        config = _config(tmp_path, url, fake, rate=20.0)
        api = await _start("api", config=config)
        bot = await _start("bot", config=config)
        down: list[httpx.Response] = []
        try:
            base = await _api_base(api)
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                assert (await client.get("/health", headers=HEADERS)).status_code == 200
                await fake.wait_for("sendMessage", _batch, timeout=120, count=40)   # the bot is draining
                cluster.stop_server("fast")
                try:
                    down.append(await client.get("/health", headers=HEADERS))
                    down.append(await client.post("/transactions", json=[_night_abroad("R1")], headers=HEADERS))
                    sent_while_down = len([c for c in fake.delivered() if _batch(c)])
                finally:
                    cluster.start_server()
                health = await client.get("/health", headers=HEADERS)
                posted = await client.post("/transactions", json=[_night_abroad("R1")], headers=HEADERS)
            _queue(store, before, after, "after")
            await fake.wait_for("sendMessage", _batch, timeout=150, count=before + after)
            await fake.wait_for("sendMessage", lambda c: c.chat_id == ASKED_CHAT and "Was this you?" in c.text,
                                timeout=90)
        finally:
            if not cluster.data.joinpath("postmaster.pid").exists():
                cluster.start_server()
            errors = await _stop(bot, api)
        delivered = [c for c in fake.delivered() if _batch(c)]
        questions = _questions(fake)
    counted = tally(expected_from_store(store, f"chat_id >= {FIRST_CHAT}"), delivered)
    statuses = store.db.execute(f"SELECT kind, status, count(*) FROM outbox WHERE chat_id >= {FIRST_CHAT}"
                                " OR kind = 'unusual' GROUP BY kind, status ORDER BY kind").fetchall()
    stored = store.db.execute("SELECT count(*) FROM transactions WHERE transaction_id = 'R1'").fetchone()[0]
    scored = store.db.execute("SELECT flagged FROM transaction_scores WHERE transaction_id = 'R1'").fetchall()
    store.close()
    assert [r.status_code for r in down] == [503, 503], [r.text for r in down]
    assert all(r.headers.get("Retry-After") for r in down)
    assert sent_while_down < before                       # the outage did come mid-drain
    assert (health.status_code, posted.status_code) == (200, 200), posted.text
    assert (posted.json()["inserted"], posted.json()["alerts_queued"]) == (1, 1)
    assert (stored, scored) == (1, [(1,)])                # the refused POST left nothing; the second stored all
    assert (counted.queued, counted.once, counted.duplicated, counted.lost, counted.unexpected) == (
        before + after, before + after, 0, 0, 0), counted.line()
    assert len(questions) == 1 and "₹95,000.00" in questions[0].text
    assert statuses == [("low_balance", "sent", before + after), ("unusual", "sent", 1)]
    assert [bot.returncode, api.returncode] == [0, 0], errors
