"""Security review of the bot's setup: webhook posts need Telegram's secret header; the token is never logged."""

from __future__ import annotations

import dataclasses
import logging

from bot import cli
from bot.config import Config, TelegramConfig

TOKEN = "123456:SECRET-bot-token"


# The webhook's secret token and the hidden URL path are tested over the wire, with `finassist bot` running
# against the fake Bot API: tests/test_cli_secrets.py::test_webhook_mode_registers_the_derived_secret_and_hides_the_url_path


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
