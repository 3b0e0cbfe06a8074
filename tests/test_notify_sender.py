"""The outbox sender against the fake Telegram Bot API over HTTP: buttons, photos, 429, 5xx, 403, pacing."""

from __future__ import annotations

import datetime as dt

from bot.notify import messages
from bot.notify.outbox import Outbox
from bot.notify.sender import OutboxSender, SendPolicy
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.links import LinkStore
from bot.storage.outbox import OutboxRepository
from tests.fakes.telegram_server import UploadedFile

NOON = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)  # 12:00 in Kolkata: outside quiet hours
FAST = SendPolicy(backoff_s=0.01, max_attempts=3, per_chat_interval_s=0.0)


def _queue_unusual(store, config, chat_id=42, txn="T900"):
    LinkStore(store).link(chat_id, "C1", None, NOON)   # the sender only sends while the chat is linked to C1
    Outbox(store, config).enqueue(
        chat_id=chat_id, kind="unusual", dedupe_key=f"unusual:{txn}:{chat_id}", text="🔔 <b>Was this you?</b>",
        buttons=messages.fraud_buttons(txn), meta={"transaction_id": txn, "customer_id": "C1"}, now=NOON)


def _status(store):
    return store.db.execute("SELECT status, attempts, last_error FROM outbox").fetchone()


async def test_unusual_message_is_sent_with_yes_and_no_buttons(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    counts = await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    [call] = fake.calls_of("sendMessage")
    assert counts.sent == 1 and call.chat_id == 42
    assert call.params["parse_mode"] == "HTML"
    assert call.reply_markup == {"inline_keyboard": [[
        {"text": "Yes, it was me", "callback_data": "fraud:yes:T900"},
        {"text": "No, block my card", "callback_data": "fraud:no:T900"},
    ]]}


async def test_sent_unusual_message_opens_a_pending_fraud_check(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    check = FraudCheckRepository(fresh_store).get("T900")
    row = fresh_store.db.execute("SELECT status, message_id FROM outbox").fetchone()
    assert check is not None and check.status == "pending" and check.chat_id == 42
    assert row == ("sent", check.message_id) and check.message_id is not None


async def test_message_is_not_sent_twice_by_a_second_drain(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    sender = OutboxSender(bot, fresh_store, FAST)
    await sender.drain(NOON)
    second = await sender.drain(NOON)
    assert second.sent == 0 and len(fake.calls_of("sendMessage")) == 1


async def test_retry_after_is_waited_then_the_message_is_sent(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    counts = await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    failed, succeeded = fake.calls_of("sendMessage")
    assert failed.failed and not succeeded.failed
    assert succeeded.time - failed.time >= 0.95   # honoured the 1 s flood wait
    assert (counts.sent, counts.retried) == (1, 1)
    assert _status(fresh_store)[:2] == ("sent", 2)


async def test_server_errors_are_retried_then_marked_failed_with_the_reason(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 500, "Internal Server Error", times=5)
    counts = await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    status, attempts, error = _status(fresh_store)
    assert len(fake.calls_of("sendMessage")) == 3       # FAST.max_attempts
    assert (counts.failed, status, attempts) == (1, "failed", 3)
    assert "Internal Server Error" in error


async def test_server_error_once_then_success_is_sent(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    counts = await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    assert counts.sent == 1 and _status(fresh_store)[:2] == ("sent", 2)


async def test_blocked_bot_marks_the_message_dropped(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    counts = await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    status, attempts, error = _status(fresh_store)
    assert (counts.dropped, status, attempts) == (1, "dropped", 1)
    assert "blocked" in error
    assert FraudCheckRepository(fresh_store).get("T900") is None


async def test_later_messages_to_a_blocked_chat_are_dropped_without_calling(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config, txn="T1")
    _queue_unusual(fresh_store, test_config, txn="T2")
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    counts = await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    assert counts.dropped == 2 and len(fake.calls_of("sendMessage")) == 1


async def test_photo_message_uploads_the_chart_with_its_caption(fresh_store, test_config, fake, bot, tmp_path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 500)
    Outbox(fresh_store, test_config).enqueue(chat_id=7, kind="monthly_summary", dedupe_key="monthly:C1:2026-02:7",
                                             text="📊 Your February summary", photo_path=str(chart), now=NOON)
    await OutboxSender(bot, fresh_store, FAST).drain(NOON)
    [call] = fake.calls_of("sendPhoto")
    assert isinstance(call.params["photo"], UploadedFile) and call.params["photo"].size == 508
    assert call.params["caption"] == "📊 Your February summary" and call.chat_id == 7


async def test_messages_to_one_chat_are_spaced_by_the_per_chat_interval(fresh_store, test_config, fake, bot):
    for n in range(3):
        _queue_unusual(fresh_store, test_config, txn=f"T{n}")
    policy = SendPolicy(per_chat_interval_s=0.3, backoff_s=0.01)
    await OutboxSender(bot, fresh_store, policy).drain(NOON)
    times = [c.time for c in fake.calls_of("sendMessage")]
    assert len(times) == 3
    assert times[-1] - times[0] >= 0.55   # two intervals of 0.3 s, less request jitter


async def test_deferred_message_is_not_sent_before_it_is_due(fresh_store, test_config, fake, bot):
    night = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)  # 23:00 in Kolkata
    Outbox(fresh_store, test_config).enqueue(chat_id=42, kind="low_balance", dedupe_key="k", text="low", now=night)
    sender = OutboxSender(bot, fresh_store, FAST)
    before = await sender.drain(night + dt.timedelta(hours=1))
    after = await sender.drain(dt.datetime(2026, 3, 11, 2, 30, tzinfo=dt.UTC))
    assert (before.sent, after.sent) == (0, 1)
    assert OutboxRepository(fresh_store).counts_by_status() == {"sent": 1}
