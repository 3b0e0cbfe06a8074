"""Domain errors reach the customer as one plain sentence over the wire (bot/telegram/errors.py), without
internals; a chat that blocked the bot gets no apology it could never read."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from pathlib import Path

import pytest

from bot.config import Config
from bot.container import build_services
from bot.services.errors import CustomerNotFound, FinAssistError, InvalidMonth, NoData, NotTrained
from bot.services.ingestion import ingest_files
from bot.storage.links import LinkStore
from bot.telegram.errors import user_message
from tests.fakes.telegram_app import running_bot
from tests.fakes.telegram_server import FakeTelegramServer

CHAT, GHOST_CHAT = 3101, 3102
NO_MONTH = "I don't have data for that month. Try a month like 2016-09."
NO_ACCOUNT = "I can't find your account data right now. Please contact the bank, or link again with /link."
NO_DATA = "There is no data for that period yet."
ROWS = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
        "TransactionTime,TransactionAmount (INR)\n"
        "E1,C1,1/1/90,M,PUNE,9000,2/8/16,120000,500\n"
        "E2,C1,1/1/90,M,PUNE,8000,3/9/16,120000,1000\n"
        "E3,C1,1/1/90,M,PUNE,7000,4/10/16,120000,1000\n")


def shown(call) -> str:
    """The text as Telegram shows it (the bot sends HTML; `'` travels as an entity)."""
    return html.unescape(call.text)


def _services(tmp_path: Path, rows: str | None):
    services = build_services(Config().with_db(tmp_path / "errors.db"))
    if rows is not None:
        (tmp_path / "rows.csv").write_text(rows)
        ingest_files(services.store, [tmp_path / "rows.csv"])
    return services


def _link(services, chat_id: int, customer_id: str) -> None:
    """A link as the store keeps it (the customer may have gone from the store since)."""
    LinkStore(services.store).link(chat_id, customer_id, chat_id, dt.datetime.now(dt.UTC))


@pytest.fixture
async def bot_with_data(tmp_path):
    services = _services(tmp_path, ROWS)
    _link(services, CHAT, "C1")
    _link(services, GHOST_CHAT, "C-GONE-42")
    try:
        async with FakeTelegramServer() as fake, running_bot(services, fake):
            yield fake
    finally:
        services.close()


async def test_a_month_after_the_data_gets_the_month_sentence(bot_with_data):
    for command in ("/spending 2030-01", "/report 2030-01"):
        call = await bot_with_data.ask(CHAT, CHAT, command)
        assert shown(call) == NO_MONTH


async def test_a_button_for_a_month_after_the_data_is_answered_and_explained(bot_with_data):
    fake = bot_with_data
    since = fake.mark()
    fake.push_callback(CHAT, CHAT, 1, "go:why:2030-01")
    [answer] = await fake.wait_for("sendMessage", lambda c: c.chat_id == CHAT, since=since)
    assert shown(answer) == NO_MONTH
    assert fake.calls_of("answerCallbackQuery", since)                      # the button stopped spinning


async def test_a_link_to_a_customer_no_longer_in_the_store_gets_the_account_sentence(bot_with_data):
    call = await bot_with_data.ask(GHOST_CHAT, GHOST_CHAT, "/balance")
    assert shown(call) == NO_ACCOUNT and "C-GONE-42" not in call.text


async def test_an_empty_store_gets_the_no_data_sentence(tmp_path):
    services = _services(tmp_path, None)
    _link(services, CHAT, "C1")
    try:
        async with FakeTelegramServer() as fake, running_bot(services, fake):
            call = await fake.ask(CHAT, CHAT, "/spending")
    finally:
        services.close()
    assert shown(call) == NO_DATA and "finassist ingest" not in call.text       # no operator advice to customers


class _LogSeen(logging.Handler):
    """Sets an event when a record containing `needle` is logged (to await a path that sends nothing)."""

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.seen.set()


async def test_a_chat_that_blocked_the_bot_gets_no_apology(bot_with_data, caplog):
    fake = bot_with_data
    caplog.set_level(logging.INFO, logger="bot.telegram.errors")
    blocked = _LogSeen("a chat blocked the bot")
    logging.getLogger("bot.telegram.errors").addHandler(blocked)
    try:
        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CHAT)
        since = fake.mark()
        fake.push_command(CHAT, CHAT, "/help")
        await asyncio.wait_for(blocked.seen.wait(), 10)      # the error handler has run to its end
    finally:
        logging.getLogger("bot.telegram.errors").removeHandler(blocked)
    to_blocked = [c for c in fake.calls_of("sendMessage", since) if c.chat_id == CHAT]
    assert [(c.failed, "What I can do" in c.text) for c in to_blocked] == [(True, True)]    # no apology after it
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)      # not logged as a failure either


@pytest.mark.parametrize(("error", "sentence"), [
    (CustomerNotFound("C123"), NO_ACCOUNT),
    (InvalidMonth("2031-01 is after the latest data (31 Oct 2016)"), NO_MONTH),
    (NoData("customer C123 has no transactions on or before 31 Oct 2016"), NO_DATA),
    (NotTrained("no anomaly model stored yet: run `finassist train`"),
     "That figure isn't ready yet — the bank is still preparing it. Please try again later."),
    (FinAssistError("internal detail"), "Sorry, I couldn't do that."),
])
def test_each_domain_error_has_one_sentence_without_internals(error, sentence):
    assert user_message(error) == sentence
    assert str(error) not in sentence and "C123" not in sentence and "finassist" not in sentence
