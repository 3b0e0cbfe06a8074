"""The "Was this you?" flow through a real PTB Application and the fake Bot API: Yes, No, twice, other chat."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes

from analytics.ingest import to_canonical
from bot.container import Services
from bot.notify import messages
from bot.notify.outbox import Outbox
from bot.notify.sender import OutboxSender, SendPolicy
from bot.services.insights import InsightsService
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.links import LinkStore
from bot.storage.transactions import TransactionRepository
from bot.telegram.context import BotContext, BotData
from bot.telegram.handlers.fraud import on_fraud_answer
from tests.fakes.telegram_server import FakeTelegramServer

FRAUD_TEAM = -100777
OWNER_CHAT, OTHER_CHAT = 4242, 5151
NOON = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)


def _store_transaction(store):
    frame = pd.DataFrame([{
        "transaction_id": "T900", "customer_id": "C1", "ts": "2016-09-03 14:32:07", "amount": 48500.0,
        "balance": 1200.0, "txn_type": "DEBIT", "merchant": "CROMA ONLINE", "category": "shopping",
        "channel": "ONLINE", "location": "PUNE", "dob": "1990-01-10", "gender": "F",
    }])
    with store.atomic():
        TransactionRepository(store).insert_frame(to_canonical(frame), source="test")


@pytest.fixture
async def running(fresh_store, test_config):
    config = replace(test_config, telegram=replace(test_config.telegram, fraud_team_chat_id=FRAUD_TEAM))
    _store_transaction(fresh_store)
    links = LinkStore(fresh_store)
    links.link(OWNER_CHAT, "C1", OWNER_CHAT, NOON)
    links.link(OTHER_CHAT, "C2", OTHER_CHAT, NOON)
    services = Services(config=config, store=fresh_store, insights=InsightsService(fresh_store, config))
    async with FakeTelegramServer() as fake:
        app = (ApplicationBuilder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url)
               .context_types(ContextTypes(context=BotContext, bot_data=BotData)).build())
        app.bot_data.attach(services)
        app.add_handler(CallbackQueryHandler(on_fraud_answer, pattern=r"^fraud:"))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            Outbox(fresh_store, config).enqueue(
                chat_id=OWNER_CHAT, kind="unusual", dedupe_key=f"unusual:T900:{OWNER_CHAT}", text="🔔 Was this you?",
                buttons=messages.fraud_buttons("T900"), meta={"transaction_id": "T900", "customer_id": "C1"},
                now=NOON)
            await OutboxSender(app.bot, fresh_store, SendPolicy(per_chat_interval_s=0)).drain(NOON)
            [question] = fake.sent_to(OWNER_CHAT)
            message_id = FraudCheckRepository(fresh_store).get("T900").message_id
            assert question.method == "sendMessage" and message_id is not None
            yield fake, fresh_store, message_id
            await app.updater.stop()
            await app.stop()


async def _press(fake, chat_id, message_id, data):
    since = fake.mark()
    fake.push_callback(chat_id, chat_id, message_id, data)
    [answer] = await fake.wait_for("answerCallbackQuery", since=since)
    return answer, since


async def test_yes_confirms_and_edits_the_question_without_buttons(running):
    fake, store, message_id = running
    answer, since = await _press(fake, OWNER_CHAT, message_id, "fraud:yes:T900")
    [edit] = await fake.wait_for("editMessageText", since=since)
    assert FraudCheckRepository(store).get("T900").status == "confirmed"
    assert "confirmed" in edit.text and "₹48,500.00" in edit.text
    assert "reply_markup" not in fake.message(OWNER_CHAT, message_id)
    assert fake.sent_to(FRAUD_TEAM) == []


async def test_no_disputes_and_reports_to_the_fraud_team(running):
    fake, store, message_id = running
    answer, since = await _press(fake, OWNER_CHAT, message_id, "fraud:no:T900")
    [edit] = await fake.wait_for("editMessageText", since=since)
    [report] = await fake.wait_for("sendMessage", lambda c: c.chat_id == FRAUD_TEAM, since=since)
    assert FraudCheckRepository(store).get("T900").status == "disputed"
    assert "blocked your card" in edit.text and "call you" in edit.text
    assert "T900" in report.text and "C1" in report.text and "₹48,500.00" in report.text
    assert "PUNE" not in report.text and "1990" not in report.text   # no more personal data than needed


async def test_pressing_the_other_button_after_an_answer_changes_nothing(running):
    fake, store, message_id = running
    await _press(fake, OWNER_CHAT, message_id, "fraud:yes:T900")
    await fake.wait_for("editMessageText")
    second, since = await _press(fake, OWNER_CHAT, message_id, "fraud:no:T900")
    assert second.params["text"].startswith("You already told us this was you on ")
    assert FraudCheckRepository(store).get("T900").status == "confirmed"
    assert fake.calls_of("editMessageText", since=since) == [] and fake.sent_to(FRAUD_TEAM) == []


async def test_pressing_yes_twice_says_already_answered(running):
    fake, store, message_id = running
    await _press(fake, OWNER_CHAT, message_id, "fraud:yes:T900")
    second, _ = await _press(fake, OWNER_CHAT, message_id, "fraud:yes:T900")
    assert "already" in second.params["text"]
    assert FraudCheckRepository(store).labels() == [("T900", 0)]


async def test_another_customers_chat_cannot_answer(running):
    fake, store, message_id = running
    answer, since = await _press(fake, OTHER_CHAT, message_id, "fraud:no:T900")
    assert "not for this chat" in answer.params["text"]
    assert FraudCheckRepository(store).get("T900").status == "pending"
    assert fake.calls_of("editMessageText", since=since) == [] and fake.sent_to(FRAUD_TEAM) == []
