"""Security review of the bot's setup: webhook posts need Telegram's secret header; the token is never logged."""

from __future__ import annotations

import argparse
import dataclasses
import logging

from telegram.ext import Application

from bot import cli
from bot.commands import bot as bot_command
from bot.config import Config, TelegramConfig
from bot.telegram.app import webhook_secret_token

TOKEN = "123456:SECRET-bot-token"


def test_webhook_mode_passes_a_secret_token_derived_from_the_bot_token(monkeypatch, test_config):
    seen: dict = {}
    monkeypatch.setattr(Application, "run_webhook", lambda self, **kw: seen.update(kw))
    telegram = TelegramConfig(token=TOKEN, mode="webhook", webhook_url="https://bank.example/hook/abc")
    config = dataclasses.replace(test_config, telegram=telegram)
    assert bot_command.run(argparse.Namespace(), config) == 0
    secret = seen.get("secret_token")
    assert secret and TOKEN not in secret and len(secret) >= 32
    assert secret == webhook_secret_token(TOKEN) != webhook_secret_token(TOKEN + "x")


def test_webhook_log_line_does_not_show_the_url_path(monkeypatch, test_config, caplog):
    monkeypatch.setattr(Application, "run_webhook", lambda self, **kw: None)
    telegram = TelegramConfig(token=TOKEN, mode="webhook", webhook_url="https://bank.example/hook/PATHSECRET")
    with caplog.at_level(logging.DEBUG):
        bot_command.run(argparse.Namespace(), dataclasses.replace(test_config, telegram=telegram))
    assert "PATHSECRET" not in caplog.text


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
