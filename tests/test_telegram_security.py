"""Security review of the bot's setup: webhook posts need Telegram's secret header; the token is never logged."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import signal
import socket
import sys

import httpx
import pytest

from bot import cli
from bot.config import Config, TelegramConfig
from bot.telegram.app import webhook_secret_token
from tests.fakes.telegram_server import FakeTelegramServer

TOKEN = "123456:SECRET-bot-token"


@pytest.fixture(scope="module")
def webhook_run(trained_db, tmp_path_factory):
    """`finassist bot -v` in webhook mode as a real process against the fake Bot API, stopped after it has
    registered its webhook: (the recorded setWebhook call, everything it printed, its exit status, the URL)."""
    folder = tmp_path_factory.mktemp("webhook")
    db = folder / "bot.db"
    shutil.copyfile(trained_db, db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook/PATHSECRET"

    async def run():
        async with FakeTelegramServer(token=TOKEN) as fake:
            config = folder / "config.toml"
            config.write_text(
                f'[storage]\ndb_path = "{db}"\n'
                f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{fake.base_url}"\nmode = "webhook"\n'
                f'webhook_url = "{url}"\nwebhook_listen = "127.0.0.1"\nwebhook_port = {port}\n')
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "bot", "-v", "--config", str(config),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                [registered] = await fake.wait_for("setWebhook", timeout=60)
                # Ready once it answers an update posted to the webhook (a signal during start-up is another story).
                update = {"update_id": 1, "message": {
                    "message_id": 1, "date": 1, "text": "/help", "chat": {"id": 77, "type": "private"},
                    "from": {"id": 77, "is_bot": False, "first_name": "T"},
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
                async with httpx.AsyncClient(timeout=30) as client:
                    posted = await client.post(url, json=update, headers={
                        "X-Telegram-Bot-Api-Secret-Token": webhook_secret_token(TOKEN)})
                assert posted.status_code == 200
                await fake.wait_for("sendMessage", lambda c: c.chat_id == 77, timeout=30)
            finally:
                process.send_signal(signal.SIGINT)
                out, err = await asyncio.wait_for(process.communicate(), 60)
            return registered, (out + err).decode(), process.returncode, url

    return asyncio.run(run())


@pytest.mark.slow
def test_webhook_mode_registers_a_secret_token_derived_from_the_bot_token(webhook_run):
    registered, output, returncode, url = webhook_run
    secret = registered.params.get("secret_token")
    assert registered.params["url"] == url
    assert secret == webhook_secret_token(TOKEN) != webhook_secret_token(TOKEN + "x")
    assert TOKEN not in secret and len(secret) >= 32
    assert returncode == 0, output[-2000:]


@pytest.mark.slow
def test_the_verbose_log_of_a_webhook_run_shows_no_url_path_token_or_webhook_secret(webhook_run):
    _, output, _, _ = webhook_run
    assert "serving the webhook at http://127.0.0.1:" in output     # the line is there, without its path
    assert "DEBUG" in output                                          # -v did log at debug level
    assert "PATHSECRET" not in output
    assert "SECRET-bot-token" not in output and webhook_secret_token(TOKEN) not in output


def test_config_repr_does_not_show_the_bot_token():
    config = dataclasses.replace(Config(), telegram=TelegramConfig(token=TOKEN))
    assert "SECRET" not in repr(config)


def test_verbose_cli_keeps_httpx_request_lines_out_of_the_log(tmp_path, monkeypatch):
    monkeypatch.setattr(logging.getLogger("httpx"), "level", logging.NOTSET)
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)   # as -v makes it
    cli.main(["link-code", "-v", "--config", str(tmp_path / "missing.toml"), "C1"])
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


def test_two_chats_redeeming_one_code_at_once_link_only_one(fresh_store):
    import threading

    from bot.services.linking import LinkError, LinkingService
    service = LinkingService(fresh_store, customer_exists=lambda cid: True)
    code = service.issue_code("C1").code
    barrier = threading.Barrier(8)
    wins: list[int] = []
    losses: list[int] = []

    def redeem(chat_id: int) -> None:
        barrier.wait()
        try:
            service.redeem(chat_id, None, code)
            wins.append(chat_id)
        except LinkError:
            losses.append(chat_id)

    threads = [threading.Thread(target=redeem, args=(100 + i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7
    assert service.linked_chats() == [(wins[0], "C1")]
