"""Quiet hours and the outbox's once-per-key guarantee."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.notify.outbox import Outbox
from bot.notify.quiet_hours import QuietHours, QuietHoursError
from bot.storage.outbox import OutboxRepository

IST = ZoneInfo("Asia/Kolkata")


def test_message_created_at_23_in_kolkata_is_due_at_8_next_morning():
    quiet = QuietHours.parse("22:00-08:00", "Asia/Kolkata")
    created = dt.datetime(2026, 3, 10, 23, 0, tzinfo=IST)
    assert quiet.next_allowed(created) == dt.datetime(2026, 3, 11, 8, 0, tzinfo=IST)


def test_message_created_after_midnight_is_due_at_8_same_morning():
    quiet = QuietHours.parse("22:00-08:00", "Asia/Kolkata")
    created = dt.datetime(2026, 3, 11, 2, 30, tzinfo=IST)
    assert quiet.next_allowed(created) == dt.datetime(2026, 3, 11, 8, 0, tzinfo=IST)


def test_message_outside_quiet_hours_is_due_at_once():
    quiet = QuietHours.parse("22:00-08:00", "Asia/Kolkata")
    created = dt.datetime(2026, 3, 10, 14, 5, tzinfo=IST)
    assert quiet.next_allowed(created) == created


def test_quiet_hours_apply_in_the_bank_zone_not_utc():
    quiet = QuietHours.parse("22:00-08:00", "Asia/Kolkata")
    created_utc = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)  # 23:00 in Kolkata (UTC+5:30)
    assert quiet.next_allowed(created_utc) == dt.datetime(2026, 3, 11, 2, 30, tzinfo=dt.UTC)


def test_window_within_one_day_is_respected():
    quiet = QuietHours.parse("13:00-14:00", "Asia/Kolkata")
    assert quiet.is_quiet(dt.datetime(2026, 3, 10, 13, 30, tzinfo=IST))
    assert not quiet.is_quiet(dt.datetime(2026, 3, 10, 14, 0, tzinfo=IST))


def test_malformed_quiet_hours_are_refused():
    with pytest.raises(QuietHoursError):
        QuietHours.parse("10pm-8am", "Asia/Kolkata")


def test_enqueue_twice_with_same_key_queues_once(fresh_store, test_config):
    outbox = Outbox(fresh_store, test_config)
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)
    first = outbox.enqueue(chat_id=5, kind="low_balance", dedupe_key="low_balance:C1:2026-03-10:5",
                           text="low", now=now)
    second = outbox.enqueue(chat_id=5, kind="low_balance", dedupe_key="low_balance:C1:2026-03-10:5",
                            text="low again", now=now + dt.timedelta(minutes=15))
    assert (first.queued, second.queued) == (True, False)
    rows = fresh_store.db.execute("SELECT payload FROM outbox").fetchall()
    assert len(rows) == 1 and '"low"' in rows[0][0]


def test_enqueue_at_night_is_deferred_to_morning(fresh_store, test_config):
    outbox = Outbox(fresh_store, test_config)
    night = dt.datetime(2026, 3, 10, 23, 0, tzinfo=IST)
    result = outbox.enqueue(chat_id=5, kind="unusual", dedupe_key="unusual:T1:5", text="?", now=night)
    assert result.deferred
    repo = OutboxRepository(fresh_store)
    assert repo.due(night) == []
    [row] = repo.due(dt.datetime(2026, 3, 11, 8, 0, tzinfo=IST))
    assert row.due_at == dt.datetime(2026, 3, 11, 2, 30, tzinfo=dt.UTC)


def test_unknown_kind_is_refused(fresh_store, test_config):
    with pytest.raises(ValueError):
        Outbox(fresh_store, test_config).enqueue(chat_id=1, kind="spam", dedupe_key="x", text="x",
                                                 now=dt.datetime(2026, 1, 1, 12, tzinfo=IST))


# ---- claiming (issue 9): one statement with a lease, so several workers never take the same row ----------
def _queue_many(store, n, now):
    repo = OutboxRepository(store)
    return [repo.enqueue(chat_id=1000 + i, kind="low_balance", dedupe_key=f"k{i}", payload={"text": str(i)},
                         created_at=now, due_at=now) for i in range(n)]


def test_enqueue_returns_the_row_id_once_and_none_for_a_repeated_key(fresh_store):
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)
    repo = OutboxRepository(fresh_store)
    first = repo.enqueue(chat_id=1, kind="low_balance", dedupe_key="x", payload={"text": "a"}, created_at=now,
                         due_at=now)
    again = repo.enqueue(chat_id=1, kind="low_balance", dedupe_key="x", payload={"text": "b"}, created_at=now,
                         due_at=now)
    assert first == fresh_store.db.execute("SELECT id FROM outbox").fetchone()[0] and again is None


def _second_store(store, tmp_path):
    """Another process's view of the same store: a new connection to the file, or a new pool on the URL."""
    from bot.storage.database import Store

    if store.backend == "postgresql":
        return Store(store.url, local_dir=tmp_path / "other")
    return Store(store.path)


def test_workers_claiming_at_once_never_take_the_same_row(backend_store, tmp_path):
    """Four workers over two stores (two per store: on PostgreSQL each thread has its own pooled connection)
    claim 3 rows at a time until nothing is due: every row is taken exactly once."""
    import threading

    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)
    ids = _queue_many(backend_store, 300, now)
    other = _second_store(backend_store, tmp_path)
    names = ("a", "b", "c", "d")
    taken: dict[str, list[int]] = {name: [] for name in names}
    start = threading.Barrier(len(names))

    def work(store, name):
        repo = OutboxRepository(store)
        start.wait()
        while rows := repo.claim(now, name, now + dt.timedelta(minutes=2), limit=3):
            taken[name] += [r.id for r in rows]

    threads = [threading.Thread(target=work, args=(backend_store if i % 2 else other, name))
               for i, name in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    claimed = [i for name in names for i in taken[name]]
    assert sorted(claimed) == sorted(ids)          # every row once, none twice
    owners = dict(backend_store.db.execute("SELECT id, claimed_by FROM outbox").fetchall())
    assert all(owners[i] == name for name in names for i in taken[name])


def test_a_finished_row_names_the_worker_that_finished_it(backend_store):
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)
    first, second = _queue_many(backend_store, 2, now)
    repo = OutboxRepository(backend_store)
    repo.claim(now, "w1", now + dt.timedelta(minutes=2), limit=2)
    assert repo.mark_sent(first, "w1", telegram_message_id=7, sent_at=now)
    assert repo.release(second, "w1", due_at=now + dt.timedelta(minutes=5))
    rows = dict(backend_store.db.execute("SELECT id, status || ':' || COALESCE(claimed_by, '-') FROM outbox"
                                         ).fetchall())
    assert rows == {first: "sent:w1", second: "pending:-"}


def test_a_worker_that_lost_its_claim_cannot_record_the_outcome(fresh_store):
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)
    [outbox_id] = _queue_many(fresh_store, 1, now)
    repo = OutboxRepository(fresh_store)
    repo.claim(now, "slow", now + dt.timedelta(seconds=60))
    [again] = repo.claim(now + dt.timedelta(seconds=60), "fast", now + dt.timedelta(seconds=120))
    assert again.id == outbox_id and again.reclaimed and again.unknown_outcomes == 1
    assert not repo.mark_sent(outbox_id, "slow", telegram_message_id=1, sent_at=now)
    assert repo.mark_sent(outbox_id, "fast", telegram_message_id=2, sent_at=now)
    assert fresh_store.db.execute("SELECT status, message_id FROM outbox").fetchone() == ("sent", 2)


async def test_a_broadcast_stuck_before_the_upgrade_resumes_through_the_outbox(tmp_path, fake, bot):
    """A store from before migration 0006 with a broadcast a crash left 'sending': 2 sent, 3 never reached."""
    import sqlite3

    import sqlite_utils

    from bot.notify.sender import OutboxSender, SendPolicy
    from bot.storage import database
    from bot.storage.database import Store
    from bot.storage.links import LinkStore
    from tests.fakes.clock import ManualClock

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    old.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, step in database.MIGRATIONS[:5]:
        database._apply(old, name, step)
    old.execute("INSERT INTO broadcasts (created_at, admin_user_id, target_kind, message, audience_size,"
                " control_share, control_size, seed, status) VALUES ('2026-03-10T06:00:00+00:00', 1, 'all',"
                " 'Fees & more', 6, 0.2, 1, 1, 'sending')")
    old.conn.executemany("INSERT INTO broadcast_recipients (broadcast_id, chat_id, customer_id, grp, status)"
                         " VALUES (1, ?, ?, ?, ?)",
                         [(1, "C1", "treatment", "sent"), (2, "C2", "treatment", "sent"),
                          (3, "C3", "treatment", "pending"), (4, "C4", "treatment", "pending"),
                          (5, "C5", "treatment", "pending"), (6, "C6", "control", "held_out")])
    old.conn.close()
    store = Store(path)                                     # applies 0006
    now = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)
    for chat in range(1, 7):
        LinkStore(store).link(chat, f"C{chat}", chat, now)
    sender = OutboxSender(bot, store, SendPolicy(per_chat_interval_s=0.0), clock=ManualClock(now))
    counts = await sender.drain()
    status = store.db.execute("SELECT status, sent FROM broadcasts").fetchone()
    store.close()
    assert counts.sent == 3 and sorted(c.chat_id for c in fake.delivered()) == [3, 4, 5]
    assert {c.text for c in fake.delivered()} == {"Fees &amp; more"}   # HTML-escaped, as broadcasts are sent
    assert status == ("done", 5)


def test_recent_broadcasts_read_on_both_backends(backend_store):
    from bot.storage.broadcasts import BroadcastStore

    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=IST)
    broadcasts = BroadcastStore(backend_store)
    first = broadcasts.create(admin_user_id=1, target_kind="all", target_value=None, message="a", control_share=0.1,
                              seed=3, treatment=[(11, "C1")], control=[(12, "C2")], when=now)
    second = broadcasts.create(admin_user_id=1, target_kind="all", target_value=None, message="b",
                               control_share=0.1, seed=4, treatment=[], control=[], when=now)
    broadcasts.set_progress_message(first, 99, 5)
    assert [(r["broadcast_id"], r["message"]) for r in broadcasts.recent(2)] == [(second, "b"), (first, "a")]
    assert [r["broadcast_id"] for r in broadcasts.unfinished_with_progress()] == [first]
