"""`finassist stats`: the admin figures on the command line, each checked against a store built by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.ingest import to_canonical
from bot.cli import build_parser, main
from bot.storage.broadcasts import BroadcastStore
from bot.storage.database import Store
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.transactions import TransactionRepository

NOW = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)
AS_OF = dt.date(2016, 9, 1)


def _txn(txn_id, customer, day):
    return {"transaction_id": txn_id, "customer_id": customer, "ts": f"{day} 12:00:00", "amount": 100.0,
            "balance": 5000.0, "txn_type": "DEBIT", "merchant": "SHOP", "category": "shopping", "channel": "POS",
            "location": "PUNE", "dob": None, "gender": None}


def _store(path):
    store = Store(path)
    rows = [
        _txn("A1", "CA", "2016-09-05"), _txn("A2", "CA", "2016-09-20"),   # treatment, 2 in the window
        _txn("B0", "CB", "2016-08-31"),                                   # treatment, only before: inactive
        _txn("C1", "CC", "2016-10-01"), _txn("C2", "CC", "2016-10-02"),   # day 30 counts, day 31 does not
        _txn("D1", "CD", "2016-09-15"),                                   # control, active
        _txn("E0", "CE", "2016-09-01"),                                   # control, on as_of itself: excluded
    ]
    with store.atomic():
        TransactionRepository(store).insert_frame(to_canonical(pd.DataFrame(rows)), source="test")
        outbox = OutboxRepository(store)
        ids = [outbox.enqueue(chat_id=c, kind="low_balance", dedupe_key=f"k{c}", payload={"text": "x"},
                              created_at=NOW, due_at=NOW) for c in range(1, 6)]
        for outbox_id, status in zip(ids, ("sent", "sent", "dead", "dropped", "pending"), strict=True):
            store.db.execute("UPDATE outbox SET status = ? WHERE id = ?", [status, outbox_id])
        store.db.execute("UPDATE outbox SET unknown_outcomes = 2 WHERE id = ?", [ids[0]])
        checks = FraudCheckRepository(store)
        for n, answer in enumerate(("disputed", "disputed", "disputed", "confirmed", None)):
            checks.create(transaction_id=f"Q{n}", customer_id="CA", chat_id=1, message_id=n, created_at=NOW)
            if answer:
                checks.answer(f"Q{n}", status=answer, chat_id=1, answered_at=NOW)
        broadcasts = BroadcastStore(store)
        broadcast_id = broadcasts.create(
            admin_user_id=1, target_kind="all", target_value=None, message="Offer", control_share=0.4, seed=1,
            treatment=[(11, "CA"), (12, "CB"), (13, "CC")], control=[(14, "CD"), (15, "CE")], when=NOW,
            as_of=AS_OF)
        for chat in (11, 12, 13):
            broadcasts.record_delivery(broadcast_id, chat, "sent", None, NOW)
    store.close()


def test_stats_is_a_verb_with_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    assert "stats" in sub.choices and "--config" in sub.choices["stats"].format_help()


def test_stats_prints_delivery_answers_and_uplift(tmp_path, capsys):
    db = tmp_path / "s.db"
    _store(db)
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\ndb_path = "{db}"\n')
    assert main(["stats", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    # 2 outbox rows sent + 3 broadcast recipients recorded without outbox rows (sent before migration 0006).
    assert "messages sent: 5\n" in out and "messages pending: 1\n" in out
    assert "messages dead-lettered: 1\n" in out and "messages dropped: 1\n" in out
    assert "sends with an unknown outcome (retried): 2" in out
    assert "alerts open: 1\n" in out and "alerts answered: 4 (3 disputed, 1 confirmed)" in out
    assert "answered-alert precision: 75.0% (disputed / answered)" in out
    # By hand: treatment CA 2, CB 0, CC 1 -> active 2/3, 1.00 per customer; control CD 1, CE 0 -> 1/2, 0.50.
    assert "treatment n=3, control n=2" in out and "30 of 30 days" in out
    assert "Active (≥1 transaction): 66.7% vs 50.0%, +16.7 pts (95% CI -70.8 to +100.0 pts)" in out
    assert "Transactions per customer: 1.00 vs 0.50, +0.50" in out


def test_stats_on_an_empty_store_says_there_is_nothing_yet(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\ndb_path = "{tmp_path / "empty.db"}"\n')
    Store(tmp_path / "empty.db").close()   # an empty store (a missing one is refused: read-only verbs never create it)
    assert main(["stats", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "messages sent: 0" in out and "precision: n/a" in out and "broadcasts: none" in out
