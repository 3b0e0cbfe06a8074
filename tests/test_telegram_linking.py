"""Linking over the real Application and the fake Bot API: good, expired, reused and guessed codes."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from analytics.money import format_inr
from bot.services.linking import InvalidCode, LinkingService, LockedOut
from bot.telegram import formatting
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

CHAT, OTHER = 1001, 1002


def busiest_customer(services) -> str:
    return services.store.db.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 1"
    ).fetchone()[0]


def linked_customer(services, chat_id: int) -> str | None:
    row = services.store.db.execute("SELECT customer_id FROM chat_links WHERE chat_id = ?", (chat_id,)).fetchone()
    return row[0] if row else None


async def test_start_with_a_valid_code_links_the_chat(trained_services):
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        code = data_of(app).linking.issue_code(customer).code
        call = await fake.ask(CHAT, CHAT, f"/start {code}")
    assert "linked" in call.text.lower()
    assert linked_customer(trained_services, CHAT) == customer


async def test_link_command_also_links(trained_services):
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        code = data_of(app).linking.issue_code(customer).code
        await fake.ask(CHAT, CHAT, f"/link {code}")
    assert linked_customer(trained_services, CHAT) == customer


async def test_expired_code_is_refused(trained_services):
    customer = busiest_customer(trained_services)
    sixteen_minutes_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    old = LinkingService(trained_services.store, clock=lambda: sixteen_minutes_ago).issue_code(customer)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake):
        call = await fake.ask(CHAT, CHAT, f"/start {old.code}")
    assert "expired" in call.text
    assert linked_customer(trained_services, CHAT) is None


async def test_used_code_is_refused_for_a_second_chat(trained_services):
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        code = data_of(app).linking.issue_code(customer).code
        await fake.ask(CHAT, CHAT, f"/start {code}")
        call = await fake.ask(OTHER, OTHER, f"/start {code}")
    assert "already used" in call.text
    assert linked_customer(trained_services, OTHER) is None


async def test_wrong_codes_lock_the_chat_out_even_for_a_good_code(trained_services):
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        replies = [await fake.ask(CHAT, CHAT, f"/link WRONGcode{i:03d}") for i in range(5)]
        good = data_of(app).linking.issue_code(customer).code
        locked = await fake.ask(CHAT, CHAT, f"/link {good}")
        elsewhere = await fake.ask(OTHER, OTHER, f"/link {good}")
    assert all("not valid" in r.text for r in replies[:4])
    assert "Too many wrong codes" in replies[4].text and "Too many wrong codes" in locked.text
    assert linked_customer(trained_services, CHAT) is None
    assert "linked" in elsewhere.text.lower() and linked_customer(trained_services, OTHER) == customer


def test_lockout_ends_after_the_lockout_period(trained_services):
    customer = busiest_customer(trained_services)
    now = [dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)]
    linking = LinkingService(trained_services.store, clock=lambda: now[0], max_failures=3)
    for _ in range(3):
        with pytest.raises((InvalidCode, LockedOut)):
            linking.redeem(CHAT, CHAT, "nonsenseCODE1")
    now[0] += dt.timedelta(minutes=16)
    code = linking.issue_code(customer).code
    assert linking.redeem(CHAT, CHAT, code) == customer


def test_codes_are_stored_only_as_hashes(trained_services):
    customer = busiest_customer(trained_services)
    code = LinkingService(trained_services.store).issue_code(customer).code
    rows = trained_services.store.db.execute("SELECT code_hash, customer_id FROM link_codes").fetchall()
    assert len(rows) == 1 and rows[0][1] == customer
    assert code not in rows[0][0] and rows[0][0] != hashlib.sha256(code.encode()).hexdigest()
    assert len(rows[0][0]) == 64 and len(code) >= 10 and code.isalnum()


def test_unknown_customer_gets_no_code(trained_services):
    from bot.services.errors import CustomerNotFound

    with pytest.raises(CustomerNotFound):
        LinkingService(trained_services.store).issue_code("C_NOBODY")


async def test_unlinked_chat_sees_only_how_to_link(trained_services):
    customer = busiest_customer(trained_services)
    balance = trained_services.store.db.execute(
        "SELECT balance FROM transactions WHERE customer_id = ? AND balance IS NOT NULL ORDER BY ts DESC LIMIT 1",
        (customer,)).fetchone()[0]
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake):
        replies = [await fake.ask(CHAT, CHAT, text) for text in
                   ("/balance", "/spending", "/report", "/profile", "/alerts", "how much did I spend?")]
    for call in replies:
        assert call.text == formatting.LINK_HELP
        assert format_inr(balance) not in call.text


async def test_unlink_forgets_the_chat(trained_services):
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        code = data_of(app).linking.issue_code(customer).code
        await fake.ask(CHAT, CHAT, f"/start {code}")
        await fake.ask(CHAT, CHAT, "/unlink")
        after = await fake.ask(CHAT, CHAT, "/balance")
    assert linked_customer(trained_services, CHAT) is None
    assert after.text == formatting.LINK_HELP


async def test_one_customer_may_link_several_chats(trained_services):
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        linking = data_of(app).linking
        for chat in (CHAT, OTHER):
            await fake.ask(chat, chat, f"/start {linking.issue_code(customer).code}")
        assert linking.chats_for_customer(customer) == [CHAT, OTHER]
