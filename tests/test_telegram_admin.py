"""Admin commands over the real Application: refusal for others, figures, and a broadcast with a hold-out group."""

from __future__ import annotations

import datetime as dt

from bot.storage.links import LinkStore
from bot.telegram.handlers.admin import REFUSAL
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

ADMIN, CUSTOMER_CHAT = 9001, 3001


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


async def test_broadcast_holds_out_a_control_group_that_receives_nothing(trained_services):
    pairs = link_many(trained_services, 50)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         overall_max_rate=0) as app:
        blocked = pairs[0][0]
        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=blocked)
        await fake.ask(ADMIN, ADMIN, "/broadcast")
        await press(fake, ADMIN, "bc:t:all", "editMessageText")
        [preview] = await press(fake, ADMIN, "bc:o:0")
        assert "Audience: 50 chats" in preview.text and "held out as control: 5" in preview.text
        await press(fake, ADMIN, "bc:ok")
        await fake.wait_for("editMessageText", lambda c: "Finished" in c.text, timeout=10)
        recipients_of = data_of(app).admin.recipients
        broadcast_id = trained_services.store.db.execute("SELECT MAX(broadcast_id) FROM broadcasts").fetchone()[0]
        rows = recipients_of(broadcast_id)
    control = {r["chat_id"] for r in rows if r["group"] == "control"}
    treatment = {r["chat_id"] for r in rows if r["group"] == "treatment"}
    delivered = {c.chat_id for c in fake.calls_of("sendMessage") if not c.failed} - {ADMIN}
    assert len(control) == 5 and len(treatment) == 45 and control | treatment == {c for c, _ in pairs}
    assert not control & delivered
    assert {r["status"] for r in rows if r["group"] == "control"} == {"held_out"}
    if blocked in treatment:
        assert delivered == treatment - {blocked}
        assert [r["chat_id"] for r in rows if r["status"] == "failed"] == [blocked]
    else:
        assert delivered == treatment
    assert sum(r["status"] == "sent" for r in rows) == len(delivered)
    assert (ADMIN, "broadcast_send") in audit_actions(trained_services)


async def test_broadcast_control_share_is_about_the_configured_share(trained_services):
    link_many(trained_services, 60)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN],
                                                         control_share=0.25) as app:
        admin = data_of(app).admin
        plan = admin.plan_broadcast("all")
        started = admin.start_broadcast(ADMIN, plan, "Hello", seed=3)
        other = admin.start_broadcast(ADMIN, plan, "Hello", seed=4)
    assert len(started.control) == 15 and len(started.treatment) == 45
    assert set(started.control) != set(other.control)   # random, not the first 15


async def test_broadcast_skips_customers_who_switched_offers_off(trained_services):
    pairs = link_many(trained_services, 10)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake, admin_ids=[ADMIN]) as app:
        data_of(app).preferences.update(pairs[0][0], offers=False)
        plan = data_of(app).admin.plan_broadcast("all")
    assert len(plan.audience) == 9 and plan.opted_out == 1


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
