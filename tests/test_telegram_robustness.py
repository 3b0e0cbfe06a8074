"""The bot survives errors: a raising handler gets an apology, 429s are retried, services start and stop."""

from __future__ import annotations

import logging

import pytest

from bot.config import Config, TelegramConfig
from bot.telegram.app import build_application, file_url_for
from bot.telegram.errors import APOLOGY
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

CHAT = 4001


def busiest_customer(services) -> str:
    return services.store.db.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]


async def test_a_handler_that_raises_gets_an_apology_and_the_bot_keeps_serving(trained_services, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        await fake.ask(CHAT, CHAT, f"/start {data_of(app).linking.issue_code(busiest_customer(trained_services)).code}")
        monkeypatch.setattr(data_of(app).services.insights, "budget", broken)
        apology = await fake.ask(CHAT, CHAT, "/budget")
        still_alive = await fake.ask(CHAT, CHAT, "/help")
    assert apology.text == APOLOGY and "disk on fire" not in apology.text
    assert "What I can do" in still_alive.text
    assert any(r.exc_info and "disk on fire" in str(r.exc_info[1]) for r in caplog.records)


async def test_a_429_is_retried_once_after_the_wait_telegram_asked_for(trained_services, caplog):
    # No clock is read: the limiter's own record of the pause it took, and the order and count of attempts.
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake):
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=CHAT)
        with caplog.at_level(logging.INFO, logger="telegram.ext.AIORateLimiter"):
            reply = await fake.ask(CHAT, CHAT, "/help", timeout=8)
        attempts = fake.calls_of("sendMessage")
    assert "What I can do" in reply.text
    assert [(c.failed, c.text) for c in attempts] == [(True, reply.text), (False, reply.text)]
    pauses = [r.getMessage() for r in caplog.records if "Retrying after" in r.getMessage()]
    assert pauses == ["Rate limit hit. Retrying after 1.100000 seconds"]   # retry_after + PTB's 0.1 s margin


async def test_a_500_on_one_reply_gets_an_apology_and_the_next_command_is_answered(trained_services, caplog):
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, max_retries=0):
        fake.fail_next("sendMessage", 500, "Internal Server Error", chat_id=CHAT)
        since = fake.mark()
        fake.push_command(CHAT, CHAT, "/help")
        await fake.wait_for("sendMessage", lambda c: c.text == APOLOGY, since=since)
        later = await fake.ask(CHAT, CHAT, "/help")
        sends = [(c.failed, c.text) for c in fake.calls_of("sendMessage", since)]
    assert "What I can do" in later.text
    # Outcomes counted: the failed reply (not retried: a 500 is not a 429), one apology, then the next answer.
    assert sends == [(True, later.text), (False, APOLOGY), (False, later.text)]
    assert len([r for r in caplog.records if r.getMessage() == "error while handling an update"]) == 1


async def test_services_the_application_built_are_closed_when_it_stops(trained_db, tmp_path):
    """post_init builds the services from the config, post_shutdown closes them: the store's connection is shut
    and the notifier gone (what `finassist bot` relies on to stop cleanly)."""
    import shutil
    import sqlite3
    from dataclasses import replace

    from bot.telegram.app import start_services, stop_services

    db = tmp_path / "bot.db"
    shutil.copyfile(trained_db, db)
    async with FakeTelegramServer() as fake:
        base = Config().with_db(db)
        config = replace(base, telegram=replace(base.telegram, token=fake.token, base_url=fake.base_url))
        application = build_application(config)
        async with application:
            await start_services(application)
            built, notifier = data_of(application).services, data_of(application).notifier
            customers = built.store.db.execute("SELECT COUNT(DISTINCT customer_id) FROM transactions").fetchone()[0]
            await stop_services(application)
    assert customers > 0 and notifier is not None and fake.set_commands()
    assert data_of(application).services is None and data_of(application).notifier is None
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        built.store.db.execute("SELECT 1")


async def test_services_handed_to_the_application_stay_open_after_it_stops(trained_services):
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        assert data_of(app).services is not None
    assert data_of(app).services is None
    assert trained_services.store.db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] > 0


def test_a_missing_token_is_a_clear_error():
    with pytest.raises(ValueError, match="token"):
        build_application(Config(telegram=TelegramConfig(token="")))


def test_the_file_url_follows_the_base_url():
    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url_for("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
