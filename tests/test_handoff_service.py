"""The handoff rules that need a clock or many requests: expiry after inactivity, a relinked chat, the cap on
requests, two requests at once. The Telegram wire is tested in test_telegram_handoff.py; here a recording
channel stands in for it and the clock is injected."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from bot.config import Config
from bot.services.handoff import ADDED, FULL, MAX_REQUESTS, OPEN_FOR, OPENED, HandoffService

SUPPORT = -100777


class RecordingChannel:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, int | None]] = []
        self.edits: list[tuple[int, int]] = []

    async def send(self, chat_id: int, html_text: str, reply_to: int | None = None) -> int:
        self.sent.append((chat_id, html_text, reply_to))
        return 1000 + len(self.sent)

    async def edit(self, chat_id: int, message_id: int, html_text: str) -> None:
        self.edits.append((chat_id, message_id))


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2016, 10, 21, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(fresh_store, clock) -> HandoffService:
    config = dataclasses.replace(Config(), telegram=dataclasses.replace(Config().telegram, support_chat_id=SUPPORT))
    return HandoffService(fresh_store, config, clock=clock)


def statuses(store) -> list[tuple[str, str]]:
    return [tuple(r) for r in store.db.execute("SELECT reference, status FROM handoffs ORDER BY handoff_id")]


async def test_an_idle_open_handoff_expires_and_the_next_request_opens_a_new_one(service, clock, fresh_store) -> None:
    channel = RecordingChannel()
    first = await service.request(chat_id=5, customer_id="C1", question="one", channel=channel)
    clock.now += OPEN_FOR - dt.timedelta(minutes=1)
    added = await service.request(chat_id=5, customer_id="C1", question="two", channel=channel)
    assert (added.outcome, added.reference) == (ADDED, first.reference)       # activity keeps it open
    clock.now += OPEN_FOR + dt.timedelta(minutes=1)
    fresh = await service.request(chat_id=5, customer_id="C1", question="three", channel=channel)
    assert fresh.outcome == OPENED and fresh.reference != first.reference
    assert statuses(fresh_store) == [(first.reference, "expired"), (fresh.reference, "open")]
    assert len(channel.sent) == 2


async def test_a_chat_linked_to_another_customer_since_does_not_join_the_old_handoff(service, fresh_store) -> None:
    channel = RecordingChannel()
    old = await service.request(chat_id=5, customer_id="C1", question="mine", channel=channel)
    new = await service.request(chat_id=5, customer_id="C2", question="someone else's", channel=channel)
    assert new.outcome == OPENED and new.reference != old.reference
    assert statuses(fresh_store) == [(old.reference, "expired"), (new.reference, "open")]
    assert "C2" in channel.sent[1][1] and "mine" not in channel.sent[1][1]


async def test_requests_beyond_the_cap_are_not_forwarded(service, fresh_store) -> None:
    channel = RecordingChannel()
    outcomes = [(await service.request(chat_id=5, customer_id="C1", question=f"q{i}", channel=channel)).outcome
                for i in range(MAX_REQUESTS + 2)]
    assert outcomes == [OPENED] + [ADDED] * (MAX_REQUESTS - 1) + [FULL, FULL]
    assert fresh_store.db.execute("SELECT COUNT(*) FROM handoff_messages").fetchone()[0] == MAX_REQUESTS
    assert len(channel.sent) == 1 and len(channel.edits) == MAX_REQUESTS - 1


async def test_two_requests_at_once_open_one_handoff(service, fresh_store) -> None:
    channel = RecordingChannel()
    results = await asyncio.gather(*(service.request(chat_id=5, customer_id="C1", question=f"q{i}", channel=channel)
                                     for i in range(3)))
    assert sorted(r.outcome for r in results) == [ADDED, ADDED, OPENED]
    assert len({r.reference for r in results}) == 1 and len(channel.sent) == 1
    assert fresh_store.db.execute("SELECT n_requests FROM handoffs").fetchone()[0] == 3


async def test_a_long_conversation_still_fits_one_telegram_message(service) -> None:
    channel = RecordingChannel()
    turns = [("question " * 80, "answer " * 80)] * 4
    await service.request(chat_id=5, customer_id="C1", question="x" * 5000, turns=turns, channel=channel)
    for i in range(MAX_REQUESTS - 1):
        await service.request(chat_id=5, customer_id="C1", question=f"{i} " + "y" * 900, channel=channel)
    handoff = service.repo.open_for_chat(5)
    text = service.support_text(handoff)
    assert len(text) <= 4096 and handoff.reference in text and "earlier not shown" in text
