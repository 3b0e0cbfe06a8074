"""`finassist bot` as a real process: polls the fake Bot API, registers its commands, answers, stops on SIGINT."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys

import pytest

from bot.config import Config
from bot.container import build_services
from bot.services.linking import LinkingService
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = pytest.mark.slow
CHAT = 4242


async def test_bot_process_links_a_chat_and_answers_its_balance(trained_db, tmp_path):
    db = tmp_path / "bot.db"
    shutil.copyfile(trained_db, db)
    services = build_services(Config().with_db(db))
    try:
        customer = services.store.db.execute(
            "SELECT customer_id FROM transactions WHERE balance IS NOT NULL "
            "GROUP BY customer_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
        code = LinkingService(services.store).issue_code(customer).code
        balance = services.store.db.execute(   # the latest recorded balance, straight from the table
            "SELECT balance FROM transactions WHERE customer_id = ? AND balance IS NOT NULL "
            "ORDER BY ts DESC, transaction_id DESC LIMIT 1", (customer,)).fetchone()[0]
    finally:
        services.close()
    async with FakeTelegramServer() as fake:
        config = tmp_path / "config.toml"
        config.write_text(f'[storage]\ndb_path = "{db}"\n'
                          f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n')
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "bot", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await fake.wait_for("setMyCommands", timeout=60)
            linked = await fake.ask(CHAT, CHAT, f"/start {code}", timeout=30)
            reply = await fake.ask(CHAT, CHAT, "/balance", timeout=30)
        finally:
            process.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(process.communicate(), 60)
    from analytics.money import format_inr

    assert "linked" in linked.text.lower()
    assert format_inr(balance) in reply.text
    assert process.returncode == 0, err.decode()[-2000:]
    assert fake.calls_of("getMe") and fake.calls_of("getUpdates")
