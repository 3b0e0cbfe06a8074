"""Several `finassist bot` processes (webhook mode, one token) on one PostgreSQL store: each outbox message
reaches its chat exactly once, counted over the fake Bot API, and both workers take part."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
from pathlib import Path

import pytest

from bot.storage.database import Store
from bot.storage.outbox import OutboxRepository
from tests.fakes.delivery import expected_from_store, tally
from tests.fakes.telegram_server import FakeTelegramServer
from tests.pg_cluster import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.slow]
MESSAGES = 200


def _worker_config(folder: Path, url: str, fake: FakeTelegramServer, name: str) -> Path:
    port = free_port()
    path = folder / f"{name}.toml"
    path.write_text(
        f'[storage]\nurl = "{url}"\ndb_path = "{folder / name / "store.db"}"\n'
        f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\nmode = "webhook"\n'
        f'webhook_url = "http://127.0.0.1:{port}/hook"\nwebhook_listen = "127.0.0.1"\nwebhook_port = {port}\n'
        '[scheduler]\nquiet_hours = "off"\nsend_rate_per_second = 25\n')
    return path


async def test_two_webhook_workers_drain_one_outbox_each_message_once(pg_url, tmp_path):
    store = Store(pg_url, local_dir=tmp_path / "test")
    now = dt.datetime.now(dt.UTC)
    repo = OutboxRepository(store)
    for i in range(MESSAGES):   # one chat each: the per-chat pace never slows the drain
        repo.enqueue(chat_id=700_000 + i, kind="low_balance", dedupe_key=f"workers:{i}",
                     payload={"text": f"message {i}", "photo": None, "buttons": None, "meta": {}},
                     created_at=now, due_at=now)
    async with FakeTelegramServer() as fake:
        processes = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "bot", "--config", str(_worker_config(tmp_path, pg_url, fake, name)),
            cwd=REPO_ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            for name in ("w1", "w2")]
        try:
            await fake.wait_for("setWebhook", timeout=90, count=2)
            await fake.wait_for("sendMessage", lambda c: (c.chat_id or 0) >= 700_000, timeout=120, count=MESSAGES)
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            errors = [(await asyncio.wait_for(p.communicate(), 60))[1] for p in processes]
        delivered = [c for c in fake.delivered() if (c.chat_id or 0) >= 700_000]
    counted = tally(expected_from_store(store), delivered)
    by_worker = dict(store.db.execute("SELECT claimed_by, count(*) FROM outbox WHERE status = 'sent'"
                                      " GROUP BY claimed_by").fetchall())
    statuses = store.db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    store.close()
    assert (counted.queued, counted.once, counted.duplicated, counted.lost, counted.unexpected) == (
        MESSAGES, MESSAGES, 0, 0, 0), counted.line()
    assert statuses == [("sent", MESSAGES)]
    assert len(by_worker) == 2 and all(n > 0 for n in by_worker.values()), by_worker   # both took part
    assert [p.returncode for p in processes] == [0, 0], [e.decode()[-1500:] for e in errors]
