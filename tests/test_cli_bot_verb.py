"""`finassist bot` as a real process: each way it refuses to start is one exact line and exit 1, and the mode
in the config decides whether it polls or registers a webhook (the loopback fake Bot API records which).

The process is `python -m bot bot`, so `make coverage` counts bot/commands/bot.py from these runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from bot.telegram.app import webhook_secret_token
from tests.fakes.telegram_server import FakeTelegramServer, Fault

pytestmark = pytest.mark.slow

NO_TOKEN = "finassist bot: no Telegram bot token: set [telegram] token in the config or TELEGRAM_BOT_TOKEN"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(tmp_path: Path, db: Path, telegram: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\ndb_path = "{db}"\n[telegram]\n{telegram}')
    return path


def _env() -> dict[str, str]:
    """The test's environment without a bot token of its own (the config is the only source)."""
    return {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}


async def _finassist(*argv: str, timeout: float = 120) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, out.decode(), err.decode()


async def _status_of_a_forged_post(url: str, timeout: float = 30) -> int:
    """The webhook's answer to a post without the secret, once its server listens (setWebhook comes first)."""
    async with httpx.AsyncClient(timeout=5) as client, asyncio.timeout(timeout):
        while True:
            try:
                answer = await client.post(url, json={"update_id": 1},
                                           headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
                return answer.status_code
            except httpx.ConnectError:
                await asyncio.sleep(0.1)


@pytest.fixture
def store_copy(trained_db, tmp_path) -> Path:
    db = tmp_path / "store.db"
    shutil.copyfile(trained_db, db)
    return db


async def test_bot_without_a_token_says_so_in_one_line_and_asks_nobody(store_copy, tmp_path):
    async with FakeTelegramServer() as fake:
        config = _config(tmp_path, store_copy, f'base_url = "{fake.base_url}"\n')
        status, out, err = await _finassist("bot", "--config", str(config))
        calls = list(fake.calls) + list(fake.unauthorized)
    assert (status, out, err.splitlines()) == (1, "", [NO_TOKEN])
    assert calls == []


async def test_webhook_mode_without_a_url_is_refused_before_telegram_is_asked(store_copy, tmp_path):
    async with FakeTelegramServer() as fake:
        config = _config(tmp_path, store_copy,
                         f'token = "{fake.token}"\nbase_url = "{fake.base_url}"\nmode = "webhook"\n')
        status, out, err = await _finassist("bot", "--config", str(config))
        calls = list(fake.calls)
    assert (status, out) == (1, "")
    assert err.splitlines() == ["finassist bot: [telegram] mode is 'webhook' but webhook_url is empty"]
    assert calls == []


async def test_an_error_answer_to_get_me_is_quoted_in_one_line(store_copy, tmp_path):
    """A 400 is an answer from Telegram, not "cannot reach" (PTB's BadRequest subclasses NetworkError)."""
    async with FakeTelegramServer() as fake:
        fake.fail_next("getMe", 400, "Bad Request: bot is being migrated")
        config = _config(tmp_path, store_copy, f'token = "{fake.token}"\nbase_url = "{fake.base_url}"\n')
        status, out, err = await _finassist("bot", "--config", str(config))
        methods = [c.method for c in fake.calls]
    assert (status, out) == (1, "")
    assert err.splitlines() == [f"finassist bot: Telegram at {fake.base_url} answered getMe with an error: "
                                "Bot is being migrated"]
    assert methods == ["getMe"]          # nothing was started after the refusal


async def test_a_token_revoked_between_the_check_and_start_up_is_one_line_not_a_traceback(store_copy, tmp_path):
    """The verb's own getMe passes; python-telegram-bot's start-up getMe is answered 401 (the token was revoked
    in between): the CLI still prints its one line, and the bot never polls."""
    async with FakeTelegramServer() as fake:
        answered: list[str] = []

        def second_get_me_is_unauthorised(method: str, params: dict) -> Fault | None:
            if method != "getMe":
                return None
            answered.append(method)
            return Fault(401, "Unauthorized") if len(answered) >= 2 else None

        fake.fault_hook = second_get_me_is_unauthorised
        config = _config(tmp_path, store_copy, f'token = "{fake.token}"\nbase_url = "{fake.base_url}"\n')
        status, out, err = await _finassist("bot", "--config", str(config))
        calls = [(c.method, c.failed) for c in fake.calls]
    assert (status, out) == (1, "")
    assert err.splitlines() == [f"finassist bot: Telegram at {fake.base_url} rejected the bot token: "
                                "check [telegram] token or TELEGRAM_BOT_TOKEN"]
    assert calls[:2] == [("getMe", False), ("getMe", True)]
    assert not any(method in ("getUpdates", "setWebhook", "setMyCommands") for method, _ in calls)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_the_configured_mode_decides_between_polling_and_a_webhook(store_copy, tmp_path, mode):
    port = _free_port()
    hook = f"http://127.0.0.1:{port}/hook-path-secret"
    async with FakeTelegramServer() as fake:
        extra = (f'mode = "webhook"\nwebhook_url = "{hook}"\nwebhook_listen = "127.0.0.1"\nwebhook_port = {port}\n'
                 if mode == "webhook" else "")
        config = _config(tmp_path, store_copy, f'token = "{fake.token}"\nbase_url = "{fake.base_url}"\n{extra}')
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "-v", "bot", "--config", str(config), env=_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await fake.wait_for("setMyCommands", timeout=90)   # post_init ran; then the updater starts
            await fake.wait_for("getUpdates" if mode == "polling" else "setWebhook", timeout=30)
            if mode == "webhook":   # serving once its port answers: a post without the secret is refused
                assert await _status_of_a_forged_post(hook) == 403
        finally:
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), 60)
        methods = [c.method for c in fake.calls]
        webhooks = fake.calls_of("setWebhook")
    log = err.decode()
    assert process.returncode == 0, log[-2000:]
    assert out == b""
    assert "bot.commands.bot: Telegram answers as @finassist_test_bot" in log
    if mode == "polling":
        assert f"bot.commands.bot: polling {fake.base_url}" in log
        assert "getUpdates" in methods and webhooks == []
    else:
        assert f"bot.commands.bot: serving the webhook at http://127.0.0.1:{port}\n" in log
        assert "hook-path-secret" not in log                 # the path may be a secret: never logged
        assert [(c.params["url"], c.params["secret_token"]) for c in webhooks] == [
            (hook, webhook_secret_token(fake.token))]
        assert "getUpdates" not in methods                    # a webhook bot never polls
