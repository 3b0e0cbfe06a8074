"""Security review: a queued (deferred or retried) message about a customer is not sent once its chat unlinked."""

from __future__ import annotations

import datetime as dt

from bot.notify.outbox import Outbox
from bot.notify.sender import OutboxSender, SendPolicy
from bot.storage.links import LinkStore

NOON = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)  # 12:00 in Kolkata: outside quiet hours
FAST = SendPolicy(per_chat_interval_s=0.0)


def _queue_balance(store, config, chat_id: int, customer_id: str, text: str) -> None:
    Outbox(store, config).enqueue(chat_id=chat_id, kind="low_balance", dedupe_key=f"low:{customer_id}:{chat_id}",
                                  text=text, meta={"customer_id": customer_id}, now=NOON)


async def test_message_for_a_chat_that_unlinked_is_dropped_not_sent(fresh_store, test_config, fake, bot):
    links = LinkStore(fresh_store)
    links.link(42, "C1", None, NOON)
    _queue_balance(fresh_store, test_config, 42, "C1", "C1 balance is low")
    links.unlink(42)
    counts = await OutboxSender(bot, fresh_store, FAST).drain(now=NOON)
    assert fake.calls_of("sendMessage") == []
    assert counts.sent == 0 and counts.dropped == 1
    status = fresh_store.db.execute("SELECT status FROM outbox").fetchone()[0]
    assert status == "dropped"


async def test_message_for_the_old_customer_is_not_sent_after_relinking(fresh_store, test_config, fake, bot):
    links = LinkStore(fresh_store)
    links.link(42, "C1", None, NOON)
    _queue_balance(fresh_store, test_config, 42, "C1", "C1 balance is low")
    links.link(42, "C2", None, NOON)                    # the chat now belongs to another customer
    _queue_balance(fresh_store, test_config, 42, "C2", "C2 balance is low")
    counts = await OutboxSender(bot, fresh_store, FAST).drain(now=NOON)
    texts = [call.params["text"] for call in fake.calls_of("sendMessage")]
    assert texts == ["C2 balance is low"]
    assert counts.sent == 1 and counts.dropped == 1
