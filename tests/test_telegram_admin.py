"""Admin commands over the real Application: refusal for others, figures, and a broadcast with a hold-out group."""

from __future__ import annotations

import datetime as dt

from bot.services.admin import RETENTION_OFFERS
from bot.storage.links import LinkStore
from bot.telegram.handlers.admin import REFUSAL
from tests.fakes.clock import ManualClock
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

ADMIN, CUSTOMER_CHAT = 9001, 3001
NOON = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)   # 12:00 in Kolkata: outside quiet hours


def link_many(services, n: int, first_chat: int = 50_000) -> list[tuple[int, str]]:
    """Link n chats to distinct customers straight through the repository (setup, not the behaviour tested)."""
    customers = [r[0] for r in services.store.db.execute(
        "SELECT DISTINCT customer_id FROM transactions ORDER BY customer_id LIMIT ?", (n,)).fetchall()]
    links = LinkStore(services.store)
    now = dt.datetime.now(dt.UTC)
    pairs = [(first_chat + i, c) for i, c in enumerate(customers)]
    for chat, customer in pairs:
        links.link(chat, customer, chat, now)
    return pairs


def audit_actions(services) -> list[tuple[int, str]]:
    return [tuple(r) for r in services.store.db.execute(
        "SELECT admin_user_id, action FROM admin_audit ORDER BY id").fetchall()]


async def test_non_admins_get_a_refusal_that_reveals_nothing(trained_services):
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]):
        replies = [await fake.ask(CUSTOMER_CHAT, CUSTOMER_CHAT, c) for c in ("/stats", "/segments", "/broadcast")]
    assert [r.text for r in replies] == [REFUSAL] * 3
    assert all(not r.button_data() for r in replies)
    assert [a for a in audit_actions(trained_services)] == [(CUSTOMER_CHAT, "denied")] * 3


async def test_stats_match_the_stores_counts(trained_services):
    link_many(trained_services, 7)
    customers = trained_services.store.db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    flagged = trained_services.store.db.execute(
        "SELECT COUNT(*) FROM transaction_scores WHERE flagged = 1").fetchone()[0]
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]):
        call = await fake.ask(ADMIN, ADMIN, "/stats")
    assert f"Customers: {customers:,}" in call.text
    assert "Linked chats: 7 (7 customers)" in call.text
    assert f"Flagged transactions: {flagged:,}" in call.text
    assert (ADMIN, "stats") in audit_actions(trained_services)


async def test_segments_show_sizes_and_the_churn_models_auc(trained_services):
    import html
    import json

    db = trained_services.store.db
    sizes = db.execute("SELECT persona, COUNT(*) FROM customer_scores GROUP BY persona").fetchall()
    levels = db.execute(
        "SELECT persona, SUM(churn_level = 'high'), SUM(churn_level = 'medium'), SUM(churn_level = 'lapsed') "
        "FROM customer_scores GROUP BY persona").fetchall()
    metrics = json.loads(db.execute("SELECT metrics FROM model_artifacts WHERE name = 'churn'").fetchone()[0])
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]):
        call = await fake.ask(ADMIN, ADMIN, "/segments")
    for persona, size in sizes:
        assert f"{persona}</b> — {size:,} customers" in call.text
    for persona, high, medium, lapsed in levels:
        block = call.text.split(f"{persona}</b>", 1)[1].split("\n\n", 1)[0]
        assert f"{high:,} high, {medium:,} medium, {lapsed:,} lapsed" in block
    assert f"held-out AUC {metrics['auc']:.2f}" in call.text
    assert html.escape(metrics["method_sentence"]) in call.text


async def test_admin_help_lists_admin_commands(trained_services):
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]):
        call = await fake.ask(ADMIN, ADMIN, "/help")
        menus = fake.calls_of("setMyCommands")
    assert "/broadcast" in call.text and "/stats" in call.text
    admin_menu = [m for m in menus if m.params.get("scope", {}).get("chat_id") == ADMIN]
    assert admin_menu and "broadcast" in [c["command"] for c in admin_menu[0].params["commands"]]


async def press(fake, chat: int, data: str, method: str = "sendMessage"):
    since = fake.mark()
    fake.push_callback(chat, chat, fake.last_message_id(chat), data)
    return await fake.wait_for(method, lambda c: c.chat_id == chat, since=since)


async def broadcast_over_the_wire(fake, offer: str = "bc:o:0"):
    """Drive /broadcast → all linked chats → an offer → confirm, as an admin would; returns the preview."""
    await fake.ask(ADMIN, ADMIN, "/broadcast")
    await press(fake, ADMIN, "bc:t:all", "editMessageText")
    [preview] = await press(fake, ADMIN, offer)
    await press(fake, ADMIN, "bc:ok")
    return preview


def recipients(services, broadcast_id: int) -> dict[str, set[int]]:
    """Chats of each group and recipient status, read with plain SQL."""
    groups: dict[str, set[int]] = {}
    for chat, group, status in services.store.db.execute(
            "SELECT chat_id, grp, status FROM broadcast_recipients WHERE broadcast_id = ?", [broadcast_id]):
        groups.setdefault(group, set()).add(chat)
        groups.setdefault(status, set()).add(chat)
    return groups


def latest_broadcast(services) -> int:
    return services.store.db.execute("SELECT MAX(broadcast_id) FROM broadcasts").fetchone()[0]


def delivered_offers(fake, text: str) -> list[int]:
    return [c.chat_id for c in fake.delivered() if c.text == text]


async def test_broadcast_holds_out_a_control_group_that_receives_nothing(trained_services):
    pairs = link_many(trained_services, 50)
    offer = RETENTION_OFFERS[0]
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         clock=ManualClock(NOON)):
        blocked = pairs[0][0]
        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=blocked)
        preview = await broadcast_over_the_wire(fake)
        assert "Audience: 50 chats" in preview.text and "held out as control: 5" in preview.text
        await fake.wait_for("editMessageText", lambda c: "Finished" in c.text, timeout=20)
    groups = recipients(trained_services, latest_broadcast(trained_services))
    control, treatment = groups["control"], groups["treatment"]
    delivered = delivered_offers(fake, offer)
    assert len(control) == 5 and len(treatment) == 45 and control | treatment == {c for c, _ in pairs}
    assert not control & set(delivered) and groups["held_out"] == control
    assert sorted(delivered) == sorted(treatment - {blocked})      # each recipient once
    assert groups.get("failed", set()) == ({blocked} & treatment)
    assert len(groups["sent"]) == len(delivered)
    status = trained_services.store.db.execute(
        "SELECT status FROM broadcasts WHERE broadcast_id = ?", [latest_broadcast(trained_services)]).fetchone()
    assert status == ("done",) and (ADMIN, "broadcast_send") in audit_actions(trained_services)


async def test_broadcast_control_share_is_about_the_configured_share(trained_services):
    link_many(trained_services, 60)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         control_share=0.25, clock=ManualClock(NOON)):
        controls = []
        for _ in range(2):
            since = fake.mark()
            preview = await broadcast_over_the_wire(fake)
            assert "Will receive: 45 · held out as control: 15" in preview.text
            await fake.wait_for("editMessageText", lambda c: "Finished" in c.text, since=since, timeout=20)
            groups = recipients(trained_services, latest_broadcast(trained_services))
            assert len(groups["control"]) == 15 and len(groups["treatment"]) == 45
            controls.append(groups["control"])
    assert controls[0] != controls[1]   # drawn at random each time, not the first 15


async def test_broadcast_skips_customers_who_switched_offers_off(trained_services):
    pairs = link_many(trained_services, 10)
    opted_out = pairs[0][0]
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         control_share=0.0, clock=ManualClock(NOON)) as app:
        data_of(app).preferences.update(opted_out, offers=False)   # setup: the customer's own choice
        preview = await broadcast_over_the_wire(fake)
        await fake.wait_for("editMessageText", lambda c: "Finished 9/9" in c.text, timeout=20)
    assert "Audience: 9 chats (1 opted out of offers, not counted)" in preview.text
    assert sorted(delivered_offers(fake, RETENTION_OFFERS[0])) == sorted(c for c, _ in pairs[1:])


async def test_a_chat_that_opts_out_after_the_broadcast_was_queued_gets_nothing(trained_services):
    pairs = link_many(trained_services, 4)
    night = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)     # 23:00 in Kolkata: the offers wait
    clock = ManualClock(night)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         control_share=0.0, clock=clock) as app:
        await broadcast_over_the_wire(fake)
        await fake.wait_for("editMessageText", lambda c: "4 waiting" in c.text, timeout=20)
        data_of(app).preferences.update(pairs[0][0], offers=False)
        clock.advance(9.5 * 3600)                                 # 08:30 next morning
        await data_of(app).notifier.run_once()
        await fake.wait_for("editMessageText", lambda c: "Finished 4/4 · 1 not delivered" in c.text, timeout=20)
    assert sorted(delivered_offers(fake, RETENTION_OFFERS[0])) == sorted(c for c, _ in pairs[1:])


async def test_broadcast_waits_for_each_chats_quiet_hours_and_is_not_dropped(trained_services):
    pairs = link_many(trained_services, 6)
    night = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)     # 23:00 in Kolkata
    clock = ManualClock(night)
    early_bird = pairs[0][0]
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         control_share=0.0, clock=clock) as app:
        data_of(app).preferences.update(early_bird, quiet_hours="23:30-06:00")   # not quiet yet at 23:00
        await broadcast_over_the_wire(fake)
        [progress] = await fake.wait_for("editMessageText", lambda c: "5 waiting" in c.text, timeout=20)
        at_night = delivered_offers(fake, RETENTION_OFFERS[0])
        due = {r[0] for r in trained_services.store.db.execute(
            "SELECT due_at FROM outbox WHERE kind = 'retention_offer' AND status = 'pending'")}
        clock.advance(9 * 3600)                                  # 08:00 next morning in Kolkata
        await data_of(app).notifier.run_once()
        await fake.wait_for("editMessageText", lambda c: "Finished 6/6" in c.text, timeout=20)
    assert at_night == [early_bird] and "Sending 1/6" in progress.text
    assert due == {"2026-03-11T02:30:00+00:00"}                   # 08:00 Kolkata, the default window's end
    assert sorted(delivered_offers(fake, RETENTION_OFFERS[0])) == sorted(c for c, _ in pairs)


async def test_stats_show_delivery_precision_and_broadcast_uplift(trained_services):
    """Figures computed here from SQL: delivered treatment vs control activity in the 30 data days after."""
    pairs = link_many(trained_services, 40)
    db = trained_services.store.db
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         control_share=0.25, clock=ManualClock(NOON)):
        await broadcast_over_the_wire(fake)
        await fake.wait_for("editMessageText", lambda c: "Finished" in c.text, timeout=20)
        # Pin the broadcast's analytics date 30 days before the data's end, so the window is complete.
        end = dt.date.fromisoformat(db.execute("SELECT MAX(txn_date) FROM transactions").fetchone()[0])
        start = end - dt.timedelta(days=30)
        broadcast_id = latest_broadcast(trained_services)
        db.execute("UPDATE broadcasts SET as_of = ? WHERE broadcast_id = ?", [start.isoformat(), broadcast_id])
        call = await fake.ask(ADMIN, ADMIN, "/stats")
    counts = {}
    for group in ("treatment", "control"):
        counts[group] = [n for (n,) in db.execute(
            "SELECT (SELECT COUNT(*) FROM transactions t WHERE t.customer_id = r.customer_id"
            " AND t.txn_date > ? AND t.txn_date <= ?) FROM broadcast_recipients r"
            " WHERE r.broadcast_id = ? AND r.grp = ? AND (r.grp = 'control' OR r.status = 'sent')",
            [start.isoformat(), end.isoformat(), broadcast_id, group])]
    active = {g: sum(1 for n in c if n > 0) / len(c) for g, c in counts.items()}
    per_customer = {g: sum(c) / len(c) for g, c in counts.items()}
    assert (len(counts["treatment"]), len(counts["control"])) == (30, 10)
    assert f"Messages sent: {len(pairs) - 10:,}" in call.text and "dead-lettered: 0" in call.text
    assert "treatment n=30, control n=10" in call.text and "30 of 30 days" in call.text
    assert (f"Active (≥1 transaction): {active['treatment']:.1%} vs {active['control']:.1%}, "
            f"{(active['treatment'] - active['control']) * 100:+.1f} pts") in call.text
    assert (f"Transactions per customer: {per_customer['treatment']:.2f} vs {per_customer['control']:.2f}"
            in call.text)


async def test_churn_targets_select_the_stored_levels_over_the_wire(trained_services):
    """The buttons target churn_level as `train` stored it; the counts are taken here in SQL."""
    db = trained_services.store.db
    links, now, chat = LinkStore(trained_services.store), dt.datetime.now(dt.UTC), 70_000
    counts = {}
    for level in ("high", "medium", "low", "lapsed"):
        picked = [r[0] for r in db.execute(
            "SELECT customer_id FROM customer_scores WHERE churn_level = ? ORDER BY customer_id LIMIT 4", (level,))]
        for customer in picked:
            links.link(chat, customer, chat, now)
            chat += 1
        counts[level] = len(picked)
    assert counts["high"] and counts["lapsed"]
    expected = {"high": counts["high"], "high,medium": counts["high"] + counts["medium"], "lapsed": counts["lapsed"]}
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]):
        for value, n in expected.items():
            await fake.ask(ADMIN, ADMIN, "/broadcast")
            [chosen] = await press(fake, ADMIN, f"bc:t:churn:{value}", "editMessageText")
            label = " or ".join(value.split(","))
            assert f"Target: churn level {label} — {n} chats" in chosen.text
            await press(fake, ADMIN, "bc:no")


async def test_a_churn_target_that_is_not_a_level_is_refused(trained_services):
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]):
        await fake.ask(ADMIN, ADMIN, "/broadcast")
        [refused] = await press(fake, ADMIN, "bc:t:churn:0.6")
    assert "bad target value" in refused.text
    assert trained_services.store.db.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0] == 0


async def test_cancelled_broadcast_sends_nothing(trained_services):
    link_many(trained_services, 5)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]):
        await fake.ask(ADMIN, ADMIN, "/broadcast")
        [done] = await press(fake, ADMIN, "bc:no")
        sent = {c.chat_id for c in fake.calls_of("sendMessage")}
    assert "cancelled" in done.text and sent == {ADMIN}
    assert trained_services.store.db.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0] == 0
