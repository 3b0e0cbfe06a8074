"""The outbox sender against the fake Telegram Bot API over HTTP, on an injected clock (no wall-clock waits).

Buttons, photos, pacing, and what each Bot API answer does to a row: 429, 5xx, 403, 400, 401, a missing
chart, quiet hours at send time, leases.
"""

from __future__ import annotations

import datetime as dt

import pytest
from telegram.error import InvalidToken

from bot.notify import messages
from bot.notify.outbox import Outbox
from bot.notify.retry import RetrySchedule
from bot.notify.sender import OutboxSender, SendPolicy
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.links import LinkStore
from bot.storage.outbox import OutboxRepository
from tests.fakes.clock import ManualClock
from tests.fakes.telegram_server import UploadedFile

NOON = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)  # 12:00 in Kolkata: outside quiet hours
FAST = SendPolicy(per_chat_interval_s=0.0, per_second=1000.0)


def _queue_unusual(store, config, chat_id=42, txn="T900"):
    LinkStore(store).link(chat_id, "C1", None, NOON)   # the sender only sends while the chat is linked to C1
    return Outbox(store, config).enqueue(
        chat_id=chat_id, kind="unusual", dedupe_key=f"unusual:{txn}:{chat_id}", text=f"🔔 Was this you? {txn}",
        buttons=messages.fraud_buttons(), meta={"transaction_id": txn, "customer_id": "C1"}, now=NOON).outbox_id


def _queue_text(store, config, chat_id, key, text="low", now=NOON):
    return Outbox(store, config).enqueue(chat_id=chat_id, kind="low_balance", dedupe_key=key, text=text,
                                         now=now).outbox_id


def _row(store, outbox_id=None):
    sql = "SELECT status, attempts, failures, due_at, last_error, unknown_outcomes FROM outbox"
    if outbox_id is None:
        return store.db.execute(sql).fetchone()
    return store.db.execute(sql + " WHERE id = ?", [outbox_id]).fetchone()


def _sender(bot, store, policy=FAST, start=NOON, config=None):
    clock = ManualClock(start)
    return OutboxSender(bot, store, policy, config=config, clock=clock), clock


async def test_unusual_message_has_yes_and_no_buttons_naming_its_outbox_row(fresh_store, test_config, fake, bot):
    outbox_id = _queue_unusual(fresh_store, test_config)
    sender, _ = _sender(bot, fresh_store)
    counts = await sender.drain()
    [call] = fake.calls_of("sendMessage")
    assert counts.sent == 1 and call.chat_id == 42 and call.params["parse_mode"] == "HTML"
    assert call.reply_markup == {"inline_keyboard": [[
        {"text": "Yes, it was me", "callback_data": f"fraud:y:{outbox_id}"},
        {"text": "No, block my card", "callback_data": f"fraud:n:{outbox_id}"},
    ]]}


async def test_a_transaction_id_of_any_length_fits_the_callback_data(fresh_store, test_config, fake, bot):
    long_id = "T" + "9" * 200
    _queue_unusual(fresh_store, test_config, txn=long_id)
    sender, _ = _sender(bot, fresh_store)
    assert (await sender.drain()).sent == 1
    [call] = fake.calls_of("sendMessage")
    assert all(len(data.encode()) <= 64 for data in call.button_data())
    assert FraudCheckRepository(fresh_store).get(long_id).status == "pending"


async def test_sent_unusual_message_opens_a_pending_fraud_check(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    sender, _ = _sender(bot, fresh_store)
    await sender.drain()
    check = FraudCheckRepository(fresh_store).get("T900")
    row = fresh_store.db.execute("SELECT status, message_id FROM outbox").fetchone()
    assert check is not None and check.status == "pending" and check.chat_id == 42
    assert row == ("sent", check.message_id) and check.message_id is not None


async def test_message_is_not_sent_twice_by_a_second_drain(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    sender, _ = _sender(bot, fresh_store)
    await sender.drain()
    second = await sender.drain()
    assert second.sent == 0 and len(fake.calls_of("sendMessage")) == 1


async def test_short_retry_after_defers_the_chat_and_the_pass_sends_it_when_due(fresh_store, test_config, fake,
                                                                                 bot):
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    sender, clock = _sender(bot, fresh_store)
    counts = await sender.drain()
    failed, succeeded = fake.calls_of("sendMessage")
    assert failed.failed and not succeeded.failed
    assert clock.elapsed >= 2.0                 # waited the flood wait on the clock, not inside the call
    assert (counts.sent, counts.rate_limited) == (1, 1)
    assert _row(fresh_store)[:2] == ("sent", 2)


async def test_server_error_is_retried_at_a_later_pass_not_at_once(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    sender, clock = _sender(bot, fresh_store)
    first = await sender.drain()
    status, attempts, failures, due_at, error, _ = _row(fresh_store)
    assert (first.sent, first.retried, status, failures) == (0, 1, "pending", 1)
    assert dt.datetime.fromisoformat(due_at) == NOON + dt.timedelta(seconds=30)   # the first retry delay
    assert "Bad Gateway" in error and len(fake.calls_of("sendMessage")) == 1
    assert (await sender.drain(NOON + dt.timedelta(seconds=20))).sent == 0   # 10 s early: more than linger_s
    assert (await sender.drain(NOON + dt.timedelta(seconds=30))).sent == 1
    assert _row(fresh_store)[:3] == ("sent", 2, 1)


async def test_repeated_server_errors_back_off_then_dead_letter_the_message(fresh_store, test_config, fake, bot):
    # Delays 30, 60, 120, 120 s (capped): after the fourth failure they add up to 330 s > 300 s: give up.
    policy = SendPolicy(per_chat_interval_s=0.0, per_second=1000.0,
                        retry=RetrySchedule(first_s=30, max_s=120, give_up_s=300))
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 500, "Internal Server Error", times=10)
    sender, _ = _sender(bot, fresh_store, policy)
    when, dues = NOON, []
    for _ in range(6):
        await sender.drain(when)
        status, _, failures, due_at, error, _ = _row(fresh_store)
        if status != "pending":
            break
        dues.append((dt.datetime.fromisoformat(due_at) - when).total_seconds())
        when = dt.datetime.fromisoformat(due_at)
    assert dues == [30, 60, 120]
    assert (status, failures) == ("dead", 3) and "gave up after 4 failures" in error
    assert len(fake.calls_of("sendMessage")) == 4
    assert OutboxRepository(fresh_store).delivery_counts().dead == 1


async def test_an_outage_stops_the_pass_and_leaves_the_rest_pending(fresh_store, test_config, fake, bot):
    for n in range(8):
        _queue_text(fresh_store, test_config, 100 + n, f"k{n}", f"message {n}")
    fake.fail_next("sendMessage", 500, "Internal Server Error", times=50)
    sender, _ = _sender(bot, fresh_store, SendPolicy(per_chat_interval_s=0.0, per_second=1000.0,
                                                     max_consecutive_failures=3))
    counts = await sender.drain()
    statuses = [r[0] for r in fresh_store.db.execute("SELECT status FROM outbox ORDER BY id")]
    failures = [r[0] for r in fresh_store.db.execute("SELECT failures FROM outbox ORDER BY id")]
    assert len(fake.calls_of("sendMessage")) == 3 and counts.left_pending == 5
    assert statuses == ["pending"] * 8 and failures == [1, 1, 1, 0, 0, 0, 0, 0]


async def test_blocked_bot_marks_the_message_dropped(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config)
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    sender, _ = _sender(bot, fresh_store)
    counts = await sender.drain()
    status, attempts, _, _, error, _ = _row(fresh_store)
    assert (counts.dropped, status, attempts) == (1, "dropped", 1)
    assert "blocked" in error
    assert FraudCheckRepository(fresh_store).get("T900") is None


async def test_later_messages_to_a_blocked_chat_are_dropped_without_calling(fresh_store, test_config, fake, bot):
    _queue_unusual(fresh_store, test_config, txn="T1")
    _queue_unusual(fresh_store, test_config, txn="T2")
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    sender, _ = _sender(bot, fresh_store)
    counts = await sender.drain()
    assert counts.dropped == 2 and len(fake.calls_of("sendMessage")) == 1


async def test_bad_request_dead_letters_that_message_and_the_others_still_go(fresh_store, test_config, fake, bot):
    first = _queue_text(fresh_store, test_config, 7, "a", "first")
    _queue_text(fresh_store, test_config, 8, "b", "second")
    fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities", chat_id=7)
    sender, _ = _sender(bot, fresh_store)
    counts = await sender.drain()
    status, _, _, _, error, _ = _row(fresh_store, first)
    assert (counts.failed, counts.sent) == (1, 1)
    assert status == "dead" and "can't parse entities" in error.lower()
    assert [c.text for c in fake.sent_to(8)] == ["second"]


async def test_chat_not_found_drops_the_message(fresh_store, test_config, fake, bot):
    _queue_text(fresh_store, test_config, 7, "a")
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    sender, _ = _sender(bot, fresh_store)
    assert (await sender.drain()).dropped == 1 and _row(fresh_store)[0] == "dropped"


async def test_a_malformed_row_is_dead_lettered_and_does_not_stop_the_pass(fresh_store, test_config, fake, bot):
    # A row queued before callback data was bounded: Telegram refuses its 70-byte button (400).
    bad = Outbox(fresh_store, test_config).enqueue(
        chat_id=7, kind="unusual", dedupe_key="old", text="old question",
        buttons=[[("Yes", "fraud:yes:" + "T" * 60), ("No", "fraud:no:" + "T" * 60)]], now=NOON).outbox_id
    _queue_text(fresh_store, test_config, 8, "b", "second")
    sender, _ = _sender(bot, fresh_store)
    counts = await sender.drain()
    assert (counts.failed, counts.sent) == (1, 1)
    status, _, _, _, error, _ = _row(fresh_store, bad)
    assert status == "dead" and "button_data_invalid" in error.lower()
    assert [c.text for c in fake.delivered()] == ["second"]


async def test_invalid_token_is_raised_and_the_row_waits_untouched(fresh_store, test_config, fake, bot):
    _queue_text(fresh_store, test_config, 7, "a")
    fake.fail_next("sendMessage", 401, "Unauthorized")
    sender, _ = _sender(bot, fresh_store)
    with pytest.raises(InvalidToken):
        await sender.drain()
    assert _row(fresh_store)[:3] == ("pending", 0, 0)


async def test_photo_message_uploads_the_chart_with_its_caption(fresh_store, test_config, fake, bot, tmp_path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 500)
    Outbox(fresh_store, test_config).enqueue(chat_id=7, kind="monthly_summary", dedupe_key="monthly:C1:2026-02:7",
                                             text="📊 Your February summary", photo_path=str(chart), now=NOON)
    sender, _ = _sender(bot, fresh_store)
    await sender.drain()
    [call] = fake.calls_of("sendPhoto")
    assert isinstance(call.params["photo"], UploadedFile) and call.params["photo"].size == 508
    assert call.params["caption"] == "📊 Your February summary" and call.chat_id == 7


async def test_a_missing_chart_sends_the_summary_as_text(fresh_store, test_config, fake, bot, tmp_path):
    Outbox(fresh_store, test_config).enqueue(chat_id=7, kind="monthly_summary", dedupe_key="m",
                                             text="📊 Your February summary", photo_path=str(tmp_path / "gone.png"),
                                             now=NOON)
    sender, _ = _sender(bot, fresh_store)
    assert (await sender.drain()).sent == 1
    assert fake.calls_of("sendPhoto") == []
    assert [c.text for c in fake.calls_of("sendMessage")] == ["📊 Your February summary"]


async def test_messages_to_one_chat_are_spaced_by_the_per_chat_interval(fresh_store, test_config, fake, bot):
    for n in range(3):
        _queue_unusual(fresh_store, test_config, txn=f"T{n}")
    sender, clock = _sender(bot, fresh_store, SendPolicy(per_chat_interval_s=0.3, per_second=1000.0))
    await sender.drain()
    assert len(fake.calls_of("sendMessage")) == 3
    assert clock.elapsed == pytest.approx(0.6)      # two intervals of 0.3 s on the clock


async def test_the_overall_rate_paces_sends_to_different_chats(fresh_store, test_config, fake, bot):
    for n in range(5):
        _queue_text(fresh_store, test_config, 200 + n, f"k{n}")
    sender, clock = _sender(bot, fresh_store, SendPolicy(per_chat_interval_s=0.0, per_second=10.0))
    await sender.drain()
    assert len(fake.calls_of("sendMessage")) == 5 and clock.elapsed == pytest.approx(0.4)


async def test_deferred_message_is_not_sent_before_it_is_due(fresh_store, test_config, fake, bot):
    night = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)  # 23:00 in Kolkata
    _queue_text(fresh_store, test_config, 42, "k", now=night)
    sender, _ = _sender(bot, fresh_store)
    before = await sender.drain(night + dt.timedelta(hours=1))
    after = await sender.drain(dt.datetime(2026, 3, 11, 2, 30, tzinfo=dt.UTC))
    assert (before.sent, after.sent) == (0, 1)
    assert OutboxRepository(fresh_store).counts_by_status() == {"sent": 1}


async def test_a_retry_that_falls_due_at_night_waits_for_the_morning(fresh_store, test_config, fake, bot):
    evening = dt.datetime(2026, 3, 10, 16, 29, 50, tzinfo=dt.UTC)   # 21:59:50 in Kolkata
    _queue_text(fresh_store, test_config, 42, "k", now=evening)
    fake.fail_next("sendMessage", 500, "Internal Server Error")
    sender, _ = _sender(bot, fresh_store)
    await sender.drain(evening)                                      # fails; retry due 22:00:20, quiet
    night = await sender.drain(evening + dt.timedelta(seconds=30))
    morning = dt.datetime(2026, 3, 11, 2, 30, tzinfo=dt.UTC)         # 08:00 in Kolkata
    assert (night.sent, night.quiet) == (0, 1) and len(fake.calls_of("sendMessage")) == 1
    assert dt.datetime.fromisoformat(_row(fresh_store)[3]) == morning
    assert (await sender.drain(morning)).sent == 1


async def test_a_row_claimed_by_a_crashed_worker_waits_for_its_lease_then_is_sent(fresh_store, test_config, fake,
                                                                                  bot):
    _queue_text(fresh_store, test_config, 42, "k", "hello")
    repo = OutboxRepository(fresh_store)
    [claimed] = repo.claim(NOON, "crashed-worker", NOON + dt.timedelta(seconds=120))
    sender, _ = _sender(bot, fresh_store)
    during = await sender.drain(NOON + dt.timedelta(seconds=60))
    after = await sender.drain(NOON + dt.timedelta(seconds=120))
    assert claimed.status == "sending" and during.sent == 0
    assert (after.sent, after.unknown) == (1, 1)
    assert _row(fresh_store)[0] == "sent" and _row(fresh_store)[5] == 1   # the unknown outcome is counted
    assert [c.text for c in fake.delivered()] == ["hello"]
