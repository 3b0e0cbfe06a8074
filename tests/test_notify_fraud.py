"""The "Was this you?" flow through the real FinAssist Application (its own `fraud:` routing) and the fake Bot
API: Yes, No, twice, another chat, forged and stale buttons, unmatched callback data."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from analytics.ingest import to_canonical
from bot.container import Services
from bot.notify import messages
from bot.notify.outbox import Outbox
from bot.services.insights import InsightsService
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.links import LinkStore
from bot.storage.transactions import TransactionRepository
from tests.fakes.clock import ManualClock
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

FRAUD_TEAM = -100777
OWNER_CHAT, OTHER_CHAT = 4242, 5151
NOON = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)   # 12:00 in Kolkata


def _store_transactions(store):
    frame = pd.DataFrame([{
        "transaction_id": txn, "customer_id": "C1", "ts": "2016-09-03 14:32:07", "amount": amount,
        "balance": 1200.0, "txn_type": "DEBIT", "merchant": "CROMA ONLINE", "category": "shopping",
        "channel": "ONLINE", "location": "PUNE", "dob": "1990-01-10", "gender": "F",
    } for txn, amount in (("T900", 48500.0), ("T901", 150.0))])
    with store.atomic():
        TransactionRepository(store).insert_frame(to_canonical(frame), source="test")


def _ask(store, config, txn="T900", chat=OWNER_CHAT, buttons=None):
    return Outbox(store, config).enqueue(
        chat_id=chat, kind="unusual", dedupe_key=f"unusual:{txn}:{chat}", text="🔔 Was this you?",
        buttons=buttons or messages.fraud_buttons(), meta={"transaction_id": txn, "customer_id": "C1"},
        now=NOON).outbox_id


@pytest.fixture
async def running(fresh_store, test_config):
    """The real app polling the fake, with the question for T900 sent to the owner's chat by its notifier."""
    config = replace(test_config, telegram=replace(test_config.telegram, fraud_team_chat_id=FRAUD_TEAM))
    _store_transactions(fresh_store)
    links = LinkStore(fresh_store)
    links.link(OWNER_CHAT, "C1", OWNER_CHAT, NOON)
    links.link(OTHER_CHAT, "C2", OTHER_CHAT, NOON)
    services = Services(config=config, store=fresh_store, insights=InsightsService(fresh_store, config))
    async with FakeTelegramServer() as fake, running_bot(services, fake, clock=ManualClock(NOON)) as app:
        outbox_id = _ask(fresh_store, config)
        await data_of(app).notifier.sender.drain()
        [question] = fake.sent_to(OWNER_CHAT)
        message_id = FraudCheckRepository(fresh_store).get("T900").message_id
        assert question.button_data() == [f"fraud:y:{outbox_id}", f"fraud:n:{outbox_id}"]
        yield fake, fresh_store, message_id, outbox_id, app


async def _press(fake, chat_id, message_id, data):
    since = fake.mark()
    fake.push_callback(chat_id, chat_id, message_id, data)
    [answer] = await fake.wait_for("answerCallbackQuery", since=since)
    return answer, since


async def test_yes_confirms_and_edits_the_question_without_buttons(running):
    fake, store, message_id, outbox_id, _ = running
    answer, since = await _press(fake, OWNER_CHAT, message_id, f"fraud:y:{outbox_id}")
    [edit] = await fake.wait_for("editMessageText", since=since)
    assert FraudCheckRepository(store).get("T900").status == "confirmed"
    assert "confirmed" in edit.text and "₹48,500.00" in edit.text
    assert "reply_markup" not in fake.message(OWNER_CHAT, message_id)
    assert fake.sent_to(FRAUD_TEAM) == []


async def test_no_disputes_and_reports_to_the_fraud_team(running):
    fake, store, message_id, outbox_id, _ = running
    answer, since = await _press(fake, OWNER_CHAT, message_id, f"fraud:n:{outbox_id}")
    [edit] = await fake.wait_for("editMessageText", since=since)
    [report] = await fake.wait_for("sendMessage", lambda c: c.chat_id == FRAUD_TEAM, since=since)
    assert FraudCheckRepository(store).get("T900").status == "disputed"
    assert "blocked your card" in edit.text and "call you" in edit.text
    assert "T900" in report.text and "C1" in report.text and "₹48,500.00" in report.text
    assert "PUNE" not in report.text and "1990" not in report.text   # no more personal data than needed


async def test_pressing_the_other_button_after_an_answer_changes_nothing(running):
    fake, store, message_id, outbox_id, _ = running
    await _press(fake, OWNER_CHAT, message_id, f"fraud:y:{outbox_id}")
    await fake.wait_for("editMessageText")
    second, since = await _press(fake, OWNER_CHAT, message_id, f"fraud:n:{outbox_id}")
    assert second.params["text"].startswith("You already told us this was you on ")
    assert FraudCheckRepository(store).get("T900").status == "confirmed"
    assert fake.calls_of("editMessageText", since=since) == [] and fake.sent_to(FRAUD_TEAM) == []


async def test_pressing_yes_twice_says_already_answered(running):
    fake, store, message_id, outbox_id, _ = running
    await _press(fake, OWNER_CHAT, message_id, f"fraud:y:{outbox_id}")
    second, _ = await _press(fake, OWNER_CHAT, message_id, f"fraud:y:{outbox_id}")
    assert "already" in second.params["text"]
    assert FraudCheckRepository(store).labels() == [("T900", 0)]


async def test_another_customers_chat_cannot_answer(running):
    fake, store, message_id, outbox_id, _ = running
    answer, since = await _press(fake, OTHER_CHAT, message_id, f"fraud:n:{outbox_id}")
    assert "not for this chat" in answer.params["text"]
    assert FraudCheckRepository(store).get("T900").status == "pending"
    assert fake.calls_of("editMessageText", since=since) == [] and fake.sent_to(FRAUD_TEAM) == []


async def test_a_forged_no_for_a_never_asked_transaction_files_no_dispute(running):
    fake, store, message_id, outbox_id, _ = running
    # T901 belongs to the same customer but was never asked about: neither an invented question id nor the
    # older transaction-id form may dispute it.
    for data in (f"fraud:n:{outbox_id + 7}", "fraud:no:T901"):
        answer, since = await _press(fake, OWNER_CHAT, message_id, data)
        assert "not for this chat" in answer.params["text"]
    assert FraudCheckRepository(store).get("T901") is None
    assert FraudCheckRepository(store).get("T900").status == "pending"
    assert fake.sent_to(FRAUD_TEAM) == []


async def test_a_question_queued_but_never_sent_cannot_be_answered(running):
    fake, store, message_id, _, _ = running
    unsent = _ask(store, data_of(running[4]).services.config, txn="T901")   # queued after the drain
    answer, _ = await _press(fake, OWNER_CHAT, message_id, f"fraud:n:{unsent}")
    assert "not for this chat" in answer.params["text"] and FraudCheckRepository(store).get("T901") is None


async def test_an_older_button_naming_the_transaction_still_answers_a_question_that_was_sent(running):
    fake, store, _, _, app = running
    config = data_of(app).services.config
    _ask(store, config, txn="T901", buttons=[[("Yes, it was me", "fraud:yes:T901"), ("No", "fraud:no:T901")]])
    await data_of(app).notifier.sender.drain()
    message_id = FraudCheckRepository(store).get("T901").message_id
    answer, since = await _press(fake, OWNER_CHAT, message_id, "fraud:no:T901")
    await fake.wait_for("editMessageText", since=since)
    assert FraudCheckRepository(store).get("T901").status == "disputed"


@pytest.mark.parametrize("data", ["nonsense", "bc:ok", "go:unknown:1", "fraud:maybe:1"])
async def test_unmatched_callback_data_is_answered_so_the_button_stops_spinning(running, data):
    fake, store, message_id, _, _ = running
    answer, _ = await _press(fake, OWNER_CHAT, message_id, data)
    assert answer.params["callback_query_id"]
    assert FraudCheckRepository(store).get("T900").status == "pending"
