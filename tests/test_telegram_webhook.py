"""`finassist bot` in webhook mode as a real process: registers the webhook, answers authenticated posts only."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import sys
import time

import httpx
import pytest

from bot.config import Config
from bot.container import build_services
from bot.services.linking import LinkingService
from bot.telegram.app import webhook_secret_token
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = pytest.mark.slow
CHAT = 5151


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command_update(update_id: int, text: str) -> dict:
    command = text.split(maxsplit=1)[0]
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": CHAT, "type": "private"}, "from": {"id": CHAT, "is_bot": False, "first_name": "Test"},
        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}}


async def test_webhook_process_answers_only_posts_with_the_secret(trained_db, tmp_path):
    db = tmp_path / "bot.db"
    shutil.copyfile(trained_db, db)
    services = build_services(Config().with_db(db))
    try:
        customer = services.store.db.execute("SELECT customer_id FROM transactions LIMIT 1").fetchone()[0]
        code = LinkingService(services.store).issue_code(customer).code
    finally:
        services.close()
    port = _free_port()
    hook = f"http://127.0.0.1:{port}/hook"
    async with FakeTelegramServer() as fake:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[storage]\ndb_path = "{db}"\n'
            f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\nmode = "webhook"\n'
            f'webhook_url = "{hook}"\nwebhook_listen = "127.0.0.1"\nwebhook_port = {port}\n')
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "bot", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            [registered] = await fake.wait_for("setWebhook", timeout=60)
            await fake.wait_for("setMyCommands", timeout=30)
            async with httpx.AsyncClient(timeout=10) as client:
                forged = await client.post(hook, json=_command_update(1, "/unlink"),
                                           headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
                mark = fake.mark()
                genuine = await client.post(hook, json=_command_update(2, f"/start {code}"),
                                            headers={"X-Telegram-Bot-Api-Secret-Token":
                                                     webhook_secret_token(fake.token)})
            [reply] = await fake.wait_for("sendMessage", lambda c: c.chat_id == CHAT, since=mark, timeout=30)
        finally:
            process.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(process.communicate(), 60)
    assert registered.params["url"] == hook
    assert registered.params["secret_token"] == webhook_secret_token(fake.token)
    assert forged.status_code == 403
    assert genuine.status_code == 200 and "linked" in reply.text.lower()
    assert len([c for c in fake.sent_to(CHAT)]) == 1  # the forged /unlink got no answer
    assert process.returncode == 0, err.decode()[-2000:]
