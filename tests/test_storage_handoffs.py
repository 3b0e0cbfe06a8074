"""The handoffs tables: one open handoff per chat (the database decides it), messages in order, final states
once, counts by status. Rows are read back with plain SQL, not only through the repository."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.storage.handoffs import CLOSED, CUSTOMER, EXPIRED, STAFF, UNDELIVERED, HandoffRepository

NOW = dt.datetime(2016, 10, 21, 9, 30, tzinfo=dt.UTC)


def test_a_chat_can_have_only_one_open_handoff(fresh_store) -> None:
    repo = HandoffRepository(fresh_store)
    first = repo.create(reference="H-AAAAAA", chat_id=11, customer_id="C1", source="command",
                        support_chat_id=-100, now=NOW)
    assert first is not None and first.status == "open"
    assert repo.create(reference="H-BBBBBB", chat_id=11, customer_id="C1", source="command",
                       support_chat_id=-100, now=NOW) is None
    other_chat = repo.create(reference="H-CCCCCC", chat_id=12, customer_id="C2", source="offer",
                             support_chat_id=-100, now=NOW)
    assert other_chat is not None
    rows = fresh_store.db.execute("SELECT reference, chat_id, status FROM handoffs ORDER BY reference").fetchall()
    assert [tuple(r) for r in rows] == [("H-AAAAAA", 11, "open"), ("H-CCCCCC", 12, "open")]


def test_a_closed_handoff_makes_room_for_a_new_one_and_closes_once(fresh_store) -> None:
    repo = HandoffRepository(fresh_store)
    first = repo.create(reference="H-AAAAAA", chat_id=11, customer_id="C1", source="command",
                        support_chat_id=-100, now=NOW)
    assert repo.finish(first.handoff_id, CLOSED, NOW + dt.timedelta(hours=1)) is True
    assert repo.finish(first.handoff_id, EXPIRED, NOW + dt.timedelta(hours=2)) is False   # already final
    again = repo.create(reference="H-BBBBBB", chat_id=11, customer_id="C1", source="command",
                        support_chat_id=-100, now=NOW)
    assert again is not None and repo.open_for_chat(11).reference == "H-BBBBBB"
    assert fresh_store.db.execute("SELECT status, closed_at FROM handoffs WHERE reference = 'H-AAAAAA'"
                                  ).fetchone() == ("closed", "2016-10-21T10:30:00+00:00")
    with pytest.raises(ValueError):
        repo.finish(again.handoff_id, "open", NOW)


def test_messages_are_numbered_and_counted_by_author(fresh_store) -> None:
    repo = HandoffRepository(fresh_store)
    h = repo.create(reference="H-AAAAAA", chat_id=11, customer_id="C1", source="command",
                    support_chat_id=-100, now=NOW, context="Customer: hi\nAssistant: Hello!")
    assert [repo.add_message(h.handoff_id, a, t, NOW) for a, t in
            [(CUSTOMER, "q1"), (STAFF, "answer"), (CUSTOMER, "q2")]] == [1, 2, 3]
    assert [(m.seq, m.author, m.text) for m in repo.messages(h.handoff_id)] == [
        (1, "customer", "q1"), (2, "staff", "answer"), (3, "customer", "q2")]
    assert fresh_store.db.execute("SELECT n_requests, n_staff_replies, context FROM handoffs").fetchone() == (
        2, 1, "Customer: hi\nAssistant: Hello!")


def test_counts_cover_every_status(fresh_store) -> None:
    repo = HandoffRepository(fresh_store)
    for n, status in enumerate([None, CLOSED, UNDELIVERED, CLOSED]):
        h = repo.create(reference=f"H-{n}AAAAA", chat_id=20 + n, customer_id="C1", source="command",
                        support_chat_id=-100, now=NOW)
        if status:
            repo.finish(h.handoff_id, status, NOW)
    assert repo.counts() == {"open": 1, "closed": 2, "expired": 0, "undelivered": 1}
    assert repo.counts(since=NOW + dt.timedelta(seconds=1)) == {"open": 0, "closed": 0, "expired": 0,
                                                                "undelivered": 0}


def test_naive_times_are_refused(fresh_store) -> None:
    with pytest.raises(ValueError):
        HandoffRepository(fresh_store).create(reference="H-AAAAAA", chat_id=1, customer_id="C1", source="command",
                                              support_chat_id=-1, now=dt.datetime(2016, 10, 21))
