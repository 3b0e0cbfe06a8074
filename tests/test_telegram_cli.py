"""`finassist link-code` prints a code that links, and a deep link with the bot's username (or says why not)."""

from __future__ import annotations

import argparse
import re
from dataclasses import replace

from bot.commands import link_code
from bot.services.linking import LinkingService
from tests.fakes.telegram_server import FakeTelegramServer


def busiest_customer(services) -> str:
    return services.store.db.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]


def test_link_code_without_a_token_prints_a_placeholder_link_and_why(trained_services, capsys):
    customer = busiest_customer(trained_services)
    config = replace(trained_services.config, telegram=replace(trained_services.config.telegram, token=""))
    assert link_code.run(argparse.Namespace(customer_id=customer), config) == 0
    out = capsys.readouterr().out
    code = re.search(r"^code: ([A-Za-z0-9]+)$", out, re.M).group(1)
    assert f"https://t.me/<bot_username>?start={code}" in out and "no Telegram token" in out
    assert LinkingService(trained_services.store).redeem(1, 1, code) == customer


async def test_link_code_asks_get_me_for_the_username():
    async with FakeTelegramServer() as fake:
        from bot.config import Config, TelegramConfig

        config = Config(telegram=TelegramConfig(token=fake.token, base_url=fake.base_url))
        username, why = await link_code._bot_username(config)
    assert username == "finassist_test_bot" and why == ""


def test_link_code_uses_the_configured_bot_username(trained_db, tmp_path, capsys):
    import shutil
    import sqlite3

    from bot.cli import main

    db = tmp_path / "trained.db"       # a private copy: the session's trained_db must not gain a link code
    shutil.copyfile(trained_db, db)
    customer = sqlite3.connect(db).execute("SELECT customer_id FROM transactions LIMIT 1").fetchone()[0]
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\ndb_path = "{db}"\n[telegram]\nbot_username = "@mybank_bot"\n')
    assert main(["link-code", customer, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    code = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("code: "))
    assert f"link: https://t.me/mybank_bot?start={code}" in out
    assert "note:" not in out
