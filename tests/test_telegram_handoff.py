"""Talk to a person over the real Application and the fake Bot API: what the support chat receives, what the
customer is told, one open handoff per chat, the offer after two failures, staff replies, and who gets none."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from contextlib import asynccontextmanager

from bot.config import Config
from bot.telegram import formatting
from tests.assistant_history import Row, month_days, services_with
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

SUPPORT, FRAUD_TEAM = -100777, -100888
CHAT, STRANGER, GROUP, STAFF = 3001, 3002, -4001, 501
CUSTOMER = "C900"
DOB = "14/3/82"                                   # 14 March 1982 in the raw file's d/m/yy
REFERENCE = re.compile(r"\bH-[A-Z2-9]{6}\b")


def rows() -> list[Row]:
    out = [Row(CUSTOMER, d, 40_000, "CREDIT", "NEFT/SALARY ACME LTD", "income", balance=60_000.0, dob=DOB)
           for d in month_days(1, (2016, 7), (2016, 10))]
    out += [Row(CUSTOMER, dt.date(2016, 10, 9), 1_200, "DEBIT", "DMART", "groceries", balance=58_800.0, dob=DOB)]
    return out


@asynccontextmanager
async def bot_with(tmp_path, support: int = SUPPORT, fraud_team: int = FRAUD_TEAM, admin_ids: tuple[int, ...] = ()):
    """A running bot over a small store, its support and fraud chats as given, CUSTOMER linked to CHAT."""
    telegram = dataclasses.replace(Config().telegram, support_chat_id=support, fraud_team_chat_id=fraud_team)
    services, _ = services_with(tmp_path, rows(), dataclasses.replace(Config(), telegram=telegram))
    try:
        async with FakeTelegramServer() as fake, running_bot(services, fake, admin_ids) as app:
            await fake.ask(CHAT, CHAT, f"/start {data_of(app).linking.issue_code(CUSTOMER).code}")
            yield fake, services
    finally:
        services.close()


def handoffs(services) -> list[tuple]:
    return services.store.db.execute(
        "SELECT reference, chat_id, customer_id, status, n_requests, n_staff_replies, support_chat_id,"
        " support_message_id FROM handoffs ORDER BY handoff_id").fetchall()


def messages(services, reference: str) -> list[tuple[str, str]]:
    return services.store.db.execute(
        "SELECT m.author, m.text FROM handoff_messages m JOIN handoffs h ON h.handoff_id = m.handoff_id"
        " WHERE h.reference = ? ORDER BY m.seq", [reference]).fetchall()


async def test_human_sends_one_message_with_the_reference_and_question(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        mark = fake.mark()
        answer = await fake.ask(CHAT, CHAT, "/human my card was charged twice at DMART")
        [sent] = fake.sent_to(SUPPORT, since=mark)
        reference = REFERENCE.search(sent.text).group(0)
        assert f"Customer <code>{CUSTOMER}</code>" in sent.text
        assert "my card was charged twice at DMART" in sent.text and "via /human" in sent.text
        # The customer learns the reference, who answers and where.
        assert reference in answer.text
        assert "A person from the bank will reply to you here in this chat" in answer.text
        assert fake.sent_to(FRAUD_TEAM, since=mark) == []
        [(ref, chat, customer, status, n_requests, _, support_chat, support_message)] = handoffs(services)
        assert (ref, chat, customer, status, n_requests, support_chat) == (reference, CHAT, CUSTOMER, "open", 1,
                                                                            SUPPORT)
        assert support_message == fake.last_message_id(SUPPORT)


async def test_the_conversation_goes_along_without_the_date_of_birth(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, _):
        await fake.ask(CHAT, CHAT, "my date of birth is 14/03/1982, what's my balance?")
        mark = fake.mark()
        answer = await fake.ask(CHAT, CHAT, "talk to a human")
        [sent] = fake.sent_to(SUPPORT, since=mark)
        assert "via asked the assistant for a person" in sent.text
        assert "Customer: my date of birth is [date of birth removed], what's my balance?" in sent.text
        assert "Assistant: Your balance is" in sent.text
        assert "1982" not in sent.text and "14/03" not in sent.text
        assert REFERENCE.search(answer.text).group(0) == REFERENCE.search(sent.text).group(0)


async def test_a_card_number_keeps_only_its_last_four_digits(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        mark = fake.mark()
        await fake.ask(CHAT, CHAT, "/human my card 4111 1111 1111 1234 was blocked")
        [sent] = fake.sent_to(SUPPORT, since=mark)
        assert "my card [number ending 1234] was blocked" in sent.text and "4111" not in sent.text
        reference = handoffs(services)[0][0]
        assert messages(services, reference) == [("customer", "my card [number ending 1234] was blocked")]


async def test_a_second_request_adds_to_the_open_handoff_instead_of_a_new_message(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        mark = fake.mark()
        first = await fake.ask(CHAT, CHAT, "/human a charge I don't recognise")
        second = await fake.ask(CHAT, CHAT, "/human it was ₹4,999 on 8 Oct")
        reference = REFERENCE.search(first.text).group(0)
        assert len(fake.sent_to(SUPPORT, since=mark)) == 1                   # the support chat got one message
        assert f"I've added this to your open request {reference}" in second.text
        support_message = fake.last_message_id(SUPPORT)
        [edit] = [c for c in fake.calls_of("editMessageText", since=mark) if c.chat_id == SUPPORT]
        assert int(edit.params["message_id"]) == support_message
        shown = fake.message(SUPPORT, support_message)["text"]
        assert "a charge I don't recognise" in shown and "it was ₹4,999 on 8 Oct" in shown
        assert [(r[0], r[3], r[4]) for r in handoffs(services)] == [(reference, "open", 2)]
        assert messages(services, reference) == [("customer", "a charge I don't recognise"),
                                                 ("customer", "it was ₹4,999 on 8 Oct")]


async def test_unlinked_and_group_chats_get_no_handoff(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        mark = fake.mark()
        unlinked = await fake.ask(STRANGER, STRANGER, "/human please help")
        assert unlinked.text == formatting.LINK_HELP
        group = await fake.ask(GROUP, CHAT, "/human please help")            # the linked customer, in a group
        assert "only in a private chat with me" in group.text
        in_words = await fake.ask(GROUP, CHAT, "talk to a human")
        assert "only in a private chat with me" in in_words.text
        assert fake.sent_to(SUPPORT, since=mark) == [] and fake.sent_to(FRAUD_TEAM, since=mark) == []
        assert handoffs(services) == []


async def test_two_failures_in_a_row_offer_a_person_and_the_button_opens_a_handoff(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        first = await fake.ask(CHAT, CHAT, "zxq blorp wibble")
        assert first.button_data() == [] and "/human" not in first.text
        second = await fake.ask(CHAT, CHAT, "what's the weather in pune")
        assert "send /human and your question" in second.text
        assert second.button_data() == ["hd:open"]
        mark = fake.mark()
        fake.push_callback(CHAT, CHAT, fake.last_message_id(CHAT), "hd:open")
        [sent] = await fake.wait_for("sendMessage", lambda c: c.chat_id == SUPPORT, since=mark)
        assert "what's the weather in pune" in sent.text and "via the assistant's offer" in sent.text
        [told] = await fake.wait_for("sendMessage", lambda c: c.chat_id == CHAT, since=mark)
        assert REFERENCE.search(told.text).group(0) == REFERENCE.search(sent.text).group(0)
        assert [r[3] for r in handoffs(services)] == ["open"]


async def test_without_a_support_or_fraud_chat_no_one_is_promised(tmp_path) -> None:
    async with bot_with(tmp_path, support=0, fraud_team=0) as (fake, services):
        mark = fake.mark()
        answer = await fake.ask(CHAT, CHAT, "/human my card was charged twice")
        assert "no one from the bank can take chats here" in answer.text
        assert "call the number on the back of your card" in answer.text
        assert {c.chat_id for c in fake.calls[mark:] if c.method == "sendMessage"} == {CHAT}
        assert handoffs(services) == []


async def test_the_fraud_team_chat_takes_handoffs_when_no_support_chat_is_set(tmp_path) -> None:
    async with bot_with(tmp_path, support=0) as (fake, services):
        mark = fake.mark()
        await fake.ask(CHAT, CHAT, "/human a question")
        [sent] = fake.sent_to(FRAUD_TEAM, since=mark)
        assert REFERENCE.search(sent.text) and handoffs(services)[0][6] == FRAUD_TEAM


async def test_staff_replies_reach_the_customer_and_close_ends_the_handoff(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        first = await fake.ask(CHAT, CHAT, "/human was I charged twice?")
        reference = REFERENCE.search(first.text).group(0)
        support_message = fake.last_message_id(SUPPORT)

        mark = fake.mark()
        fake.push_reply(SUPPORT, STAFF, "Yes, and we have reversed the second charge.", support_message)
        [relayed] = await fake.wait_for("sendMessage", lambda c: c.chat_id == CHAT, since=mark)
        assert f"Our support team</b> (ref {reference})" in relayed.text
        assert "Yes, and we have reversed the second charge." in relayed.text
        assert fake.sent_to(SUPPORT, since=mark) == []                       # no chatter back to the staff

        # After a staff reply the customer's next request is a threaded reply, not an edit nobody sees.
        mark = fake.mark()
        await fake.ask(CHAT, CHAT, "/human thanks, when will it show?")
        [threaded] = fake.sent_to(SUPPORT, since=mark)
        assert threaded.params["reply_parameters"]["message_id"] == support_message
        assert "when will it show?" in threaded.text

        mark = fake.mark()
        fake.push_reply(SUPPORT, STAFF, "/close", support_message)
        [closed] = await fake.wait_for("sendMessage", lambda c: c.chat_id == CHAT, since=mark)
        assert f"closed your request {reference}" in closed.text
        await fake.wait_for("editMessageText", lambda c: c.chat_id == SUPPORT, since=mark)
        assert "Closed by the support team" in fake.message(SUPPORT, support_message)["text"]
        assert handoffs(services)[0][3:6] == ("closed", 2, 1)
        assert [a for a, _ in messages(services, reference)] == ["customer", "staff", "customer"]

        again = await fake.ask(CHAT, CHAT, "/human another question")
        assert REFERENCE.search(again.text).group(0) != reference
        assert [r[3] for r in handoffs(services)] == ["closed", "open"]


async def test_a_staff_reply_after_the_customer_unlinked_is_not_sent(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        await fake.ask(CHAT, CHAT, "/human question")
        support_message = fake.last_message_id(SUPPORT)
        await fake.ask(CHAT, CHAT, "/unlink")
        mark = fake.mark()
        fake.push_reply(SUPPORT, STAFF, "Here is your balance: ...", support_message)
        [note] = await fake.wait_for("sendMessage", lambda c: c.chat_id == SUPPORT, since=mark)
        assert f"no longer linked to {CUSTOMER}" in note.text
        assert fake.sent_to(CHAT, since=mark) == []
        assert handoffs(services)[0][5] == 0


async def test_an_unreachable_support_chat_is_said_and_the_next_request_starts_afresh(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, services):
        fake.fail_next("sendMessage", 403, "Forbidden: bot was kicked from the group chat", chat_id=SUPPORT)
        failed = await fake.ask(CHAT, CHAT, "/human help me")
        assert "couldn't reach our support team" in failed.text and not REFERENCE.search(failed.text)
        assert [r[3] for r in handoffs(services)] == ["undelivered"]
        mark = fake.mark()
        retried = await fake.ask(CHAT, CHAT, "/human help me")
        assert REFERENCE.search(retried.text) and len(fake.sent_to(SUPPORT, since=mark)) == 1
        assert [r[3] for r in handoffs(services)] == ["undelivered", "open"]


async def test_human_is_registered_in_the_menu_and_help(tmp_path) -> None:
    async with bot_with(tmp_path) as (fake, _):
        assert "human" in {c["command"] for c in fake.set_commands()}
        help_text = (await fake.ask(CHAT, CHAT, "/help")).text
        assert "/human [question] — Talk to a person at the bank" in help_text


async def test_stats_counts_open_and_all_handoffs(tmp_path) -> None:
    async with bot_with(tmp_path, admin_ids=(STAFF,)) as (fake, services):
        await fake.ask(CHAT, CHAT, "/human first")
        fake.push_reply(SUPPORT, STAFF, "/close", fake.last_message_id(SUPPORT))
        await fake.wait_for("editMessageText", lambda c: c.chat_id == SUPPORT)
        await fake.ask(CHAT, CHAT, "/human second")
        statuses = [r[3] for r in handoffs(services)]
        assert statuses == ["closed", "open"]
        stats = await fake.ask(STAFF, STAFF, "/stats")
        assert "Requests for a person (/human): 1 open · 2 in all" in stats.text
