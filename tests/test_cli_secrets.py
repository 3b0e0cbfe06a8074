"""The bot token never reaches stdout, stderr or a log line, and a Telegram failure is one line and exit 1.

Every verb that talks to Telegram runs as a real process against the loopback fake Bot API, which answers
401 to any token but its own (as Telegram does); the whole output is searched for the token and for its
secret half, with and without -v.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.telegram.app import webhook_secret_token
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = pytest.mark.slow

REJECTED = "987654:SECRETwrongTOKENvalue"            # the fake answers 401 to it
SECRET_HALF = REJECTED.split(":", 1)[1]


def _write_config(tmp_path: Path, db: Path, token: str, base_url: str, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{db}"\n[telegram]\ntoken = "{token}"\nbase_url = "{base_url}"\n'
                      + extra)
    return config


async def _finassist(*argv: str, timeout: float = 120) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
def store_copy(trained_db, tmp_path) -> Path:
    db = tmp_path / "store.db"
    shutil.copyfile(trained_db, db)
    return db


def _a_customer(db: Path) -> str:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT customer_id FROM transactions LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
async def test_a_rejected_token_is_never_printed_or_logged(store_copy, tmp_path, verbose):
    customer = _a_customer(store_copy)
    async with FakeTelegramServer() as fake:
        config = str(_write_config(tmp_path, store_copy, REJECTED, fake.base_url))
        flag = ["-v"] if verbose else []
        results = {
            "bot": await _finassist(*flag, "bot", "--config", config),
            "notify": await _finassist("notify", "--once", *flag, "--config", config),
            "link-code": await _finassist("link-code", customer, "--config", config, *flag),
        }
        rejected = list(fake.unauthorized)
    assert rejected == ["getMe"] * 3, "each verb asked Telegram and was answered 401"
    for verb, (status, out, err) in results.items():
        text = out + err
        assert REJECTED not in text and SECRET_HALF not in text, f"{verb} leaked the token:\n{text[-2000:]}"
        if verb == "link-code":   # the code is still useful without the username: printed, exit 0
            assert status == 0 and "rejected the bot token" in out
        else:
            assert status == 1, (verb, err)
            reason = [line for line in err.splitlines() if line.startswith(f"finassist {verb}")]
            assert reason == [f"finassist {verb}: Telegram at {fake.base_url} rejected the bot token: "
                              "check [telegram] token or TELEGRAM_BOT_TOKEN"]
            if not verbose:
                assert err.strip().splitlines() == reason, f"{verb} printed more than one line"
    if verbose:  # debug logging was on, but PTB's lines that held the URL with the token are held back
        assert " DEBUG " in results["bot"][2] and "Set Bot API URL" not in results["bot"][2]


async def test_bot_with_telegram_unreachable_says_so_in_one_line(store_copy, tmp_path):
    with socket.socket() as sock:   # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/bot"
    config = _write_config(tmp_path, store_copy, REJECTED, closed)
    status, out, err = await _finassist("bot", "--config", str(config))
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"finassist bot: cannot reach Telegram at {closed}: "), err
    assert "Traceback" not in err and out == ""


async def test_running_bot_logs_nothing_secret_with_verbose(store_copy, tmp_path):
    """With the right token and -v: PTB's debug lines (API URL, every call) and ours, all masked; the
    webhook's secret token (derived from the bot token) never shows either."""
    async with FakeTelegramServer() as fake:
        config = _write_config(tmp_path, store_copy, fake.token, fake.base_url)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "-v", "bot", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await fake.wait_for("getUpdates", timeout=90)
        finally:
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), 60)
    text = (out + err).decode()
    secret_half = fake.token.split(":", 1)[1]
    assert " DEBUG " in text, "the debug log was on"
    # PTB's per-call request lines (URL with the token, every message's text) are held at INFO even with -v.
    assert "Calling Bot API endpoint" not in text
    assert fake.token not in text and secret_half not in text
    assert webhook_secret_token(fake.token) not in text
    assert process.returncode == 0


async def test_webhook_mode_registers_the_derived_secret_and_hides_the_url_path(store_copy, tmp_path):
    """Over the wire: setWebhook carries secret_token = HMAC of the bot token; a post to the webhook without
    it is refused, one with it is answered; the log (-v) shows neither the token, the secret nor the
    webhook URL's secret path."""
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chat = 7001
    update = {"update_id": 1, "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "T"}, "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
    async with FakeTelegramServer() as fake:
        config = _write_config(
            tmp_path, store_copy, fake.token, fake.base_url,
            f'mode = "webhook"\nwebhook_url = "https://bank.example/hook/PATHSECRET"\n'
            f'webhook_listen = "127.0.0.1"\nwebhook_port = {port}\n')
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "bot", "-v", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            [registered] = await fake.wait_for("setWebhook", timeout=90)
            secret = registered.params["secret_token"]
            hook = f"http://127.0.0.1:{port}/hook/PATHSECRET"
            async with httpx.AsyncClient(timeout=30) as client:
                forged = await client.post(hook, json=update)
                genuine = await client.post(hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            [reply] = await fake.wait_for("sendMessage", lambda c: c.chat_id == chat, timeout=60)
        finally:
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), 60)
    assert secret == webhook_secret_token(fake.token) != webhook_secret_token(fake.token + "x")
    assert len(secret) >= 32 and fake.token not in secret
    assert registered.params["url"] == "https://bank.example/hook/PATHSECRET"
    assert forged.status_code == 403 and genuine.status_code == 200 and reply.text
    assert len(fake.sent_to(chat)) == 1, "the forged post was not processed"
    text = (out + err).decode()
    assert " DEBUG " in text and "Calling Bot API endpoint" not in text, "debug on, PTB's call lines held back"
    assert "PATHSECRET" not in text and secret not in text and fake.token.split(":", 1)[1] not in text
    assert process.returncode == 0, text[-2000:]
