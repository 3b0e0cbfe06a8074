"""Every customer command over the real Application: replies carry the store's figures, escaped, in limits."""

from __future__ import annotations

import pytest

from analytics.money import format_inr
from bot.telegram import formatting
from bot.telegram.commands import COMMANDS
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer, UploadedFile

CHAT = 2001


def busiest_customer(services) -> str:
    return services.store.db.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 1"
    ).fetchone()[0]


def sql(services, query: str, *args):
    return services.store.db.execute(query, args).fetchone()


@pytest.fixture
async def linked(trained_services):
    """A running bot, the fake, and the busiest customer linked to CHAT."""
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        await fake.ask(CHAT, CHAT, f"/start {data_of(app).linking.issue_code(customer).code}")
        yield fake, app, customer


async def test_balance_shows_the_latest_recorded_balance(linked, trained_services):
    fake, _, customer = linked
    latest = sql(trained_services, "SELECT balance FROM transactions WHERE customer_id = ? AND balance IS NOT NULL "
                               "ORDER BY ts DESC, transaction_id DESC LIMIT 1", customer)[0]
    call = await fake.ask(CHAT, CHAT, "/balance")
    assert format_inr(latest) in call.text


async def test_spending_shows_the_months_total_debits(linked, trained_services):
    fake, app, customer = linked
    month = data_of(app).services.insights.spending(customer).month
    total, count = sql(trained_services, "SELECT SUM(amount), COUNT(*) FROM transactions WHERE customer_id = ? "
                                     "AND txn_type = 'DEBIT' AND substr(txn_date, 1, 7) = ?", customer, month)
    call = await fake.ask(CHAT, CHAT, "/spending")
    assert format_inr(total) in call.text and f"{count} payments" in call.text


async def test_spending_for_a_named_month(linked, trained_services):
    fake, _, customer = linked
    month = sql(trained_services, "SELECT MIN(substr(txn_date, 1, 7)) FROM transactions WHERE customer_id = ?",
                customer)[0]
    total = sql(trained_services, "SELECT SUM(amount) FROM transactions WHERE customer_id = ? AND txn_type = 'DEBIT' "
                              "AND substr(txn_date, 1, 7) = ?", customer, month)[0]
    call = await fake.ask(CHAT, CHAT, f"/spending {month}")
    assert format_inr(total) in call.text


@pytest.mark.parametrize("command", ["/spending foo", "/report 2016-13", "/report last week"])
async def test_bad_arguments_get_a_usage_hint(linked, command):
    fake, _, _ = linked
    call = await fake.ask(CHAT, CHAT, command)
    assert call.text.startswith("Usage:")


async def test_budget_shows_the_facades_plan(linked):
    fake, app, customer = linked
    plan = data_of(app).services.insights.budget(customer)
    call = await fake.ask(CHAT, CHAT, "/budget")
    assert format_inr(plan.total_suggested) in call.text
    assert all(format_inr(line.suggested) in call.text for line in plan.lines[:8])


async def test_recommend_names_the_facades_products(linked):
    fake, app, customer = linked
    items = data_of(app).services.insights.recommendations(customer)
    call = await fake.ask(CHAT, CHAT, "/recommend")
    assert items and all(item.name in call.text for item in items)


async def test_profile_counts_the_customers_transactions(linked, trained_services):
    fake, _, customer = linked
    total, debits = sql(trained_services, "SELECT COUNT(*), SUM(txn_type = 'DEBIT') FROM transactions "
                                      "WHERE customer_id = ?", customer)
    call = await fake.ask(CHAT, CHAT, "/profile")
    assert f"Transactions: {total} ({debits} out" in call.text


async def test_report_sends_summary_text_and_a_chart_photo(linked, trained_services):
    fake, app, customer = linked
    month = data_of(app).services.insights.spending(customer).month  # the last complete month
    total = sql(trained_services, "SELECT SUM(amount) FROM transactions WHERE customer_id = ? AND txn_type = 'DEBIT' "
                              "AND substr(txn_date, 1, 7) = ?", customer, month)[0]
    since = fake.mark()
    text = await fake.ask(CHAT, CHAT, "/report")
    [photo] = await fake.wait_for("sendPhoto", lambda c: c.chat_id == CHAT, since=since)
    assert format_inr(total) in text.text
    upload = photo.params["photo"]
    assert isinstance(upload, UploadedFile) and upload.size > 1000


async def test_why_button_explains_the_change(linked):
    fake, app, customer = linked
    summary = data_of(app).services.insights.spending(customer)
    call = await fake.ask(CHAT, CHAT, "/spending")
    why = [d for d in call.button_data() if d.startswith("go:why:")]
    assert why, "a spending reply with changes offers a Why? button"
    since = fake.mark()
    fake.push_callback(CHAT, CHAT, fake.last_message_id(CHAT), why[0])
    [answer] = await fake.wait_for("sendMessage", lambda c: c.chat_id == CHAT, since=since)
    top = summary.changes[0]
    assert format_inr(top.current) in answer.text and format_inr(top.previous) in answer.text


async def test_help_and_the_menu_come_from_one_registry(linked):
    fake, _, _ = linked
    call = await fake.ask(CHAT, CHAT, "/help")
    public = [c.name for c in COMMANDS if not c.admin]
    assert all(f"/{name}" in call.text for name in public)
    assert not any(f"/{c.name}" in call.text for c in COMMANDS if c.admin)
    menus = fake.calls_of("setMyCommands")
    assert [c["command"] for c in menus[0].params["commands"]] == public


async def test_alert_buttons_toggle_the_stored_preferences(linked, trained_services):
    fake, _, _ = linked
    menu = await fake.ask(CHAT, CHAT, "/alerts")
    message_id = fake.last_message_id(CHAT)
    for data in ("al:t:offers", "al:thr:5000", "al:qh:2300-0700"):
        since = fake.mark()
        fake.push_callback(CHAT, CHAT, message_id, data)
        await fake.wait_for("editMessageText", lambda c: c.chat_id == CHAT, since=since)
    row = sql(trained_services, "SELECT offers, low_balance, low_balance_threshold, quiet_hours FROM alert_preferences "
                            "WHERE chat_id = ?", CHAT)
    assert tuple(row) == (0, 1, 5000.0, "23:00-07:00")
    buttons = [b["text"] for row in fake.message(CHAT, message_id)["reply_markup"]["inline_keyboard"] for b in row]
    assert "❌ Offers" in buttons and "• ₹5,000" in buttons
    assert all(len(d.encode()) <= 64 for d in menu.button_data())


async def test_free_text_is_answered(linked):
    fake, _, _ = linked
    call = await fake.ask(CHAT, CHAT, "how much did I spend last month?")
    assert call.text and "went wrong" not in call.text


async def test_unknown_command_points_to_help(linked):
    fake, _, _ = linked
    call = await fake.ask(CHAT, CHAT, "/frobnicate")
    assert "/help" in call.text


async def test_every_reply_fits_telegram_and_buttons_fit_callback_data(linked):
    fake, _, _ = linked
    for command in ("/balance", "/spending", "/budget", "/recommend", "/profile", "/alerts", "/help"):
        await fake.ask(CHAT, CHAT, command)
    for call in fake.calls_of("sendMessage"):
        assert 0 < len(call.text) < 4096
        assert call.params.get("parse_mode") == "HTML"
        assert all(1 <= len(d.encode()) <= 64 for d in call.button_data())


def test_dynamic_values_are_html_escaped():
    import datetime as dt

    from analytics.results import CustomerProfile, SegmentInfo

    profile = CustomerProfile("C1", 30, "26-35", "F", "<b>PUNE & CO</b>", dt.date(2016, 8, 1), dt.date(2016, 9, 1),
                              3, 2, 1, 100.0, 50.0, 50.0, 100.0, 3.0, 10, 3, 3, 3)
    text = formatting.profile_text(profile, SegmentInfo(1, "Saver <i>", "spends & saves"))
    assert "&lt;b&gt;PUNE &amp; CO&lt;/b&gt;" in text and "Saver &lt;i&gt;" in text and "spends &amp; saves" in text
    assert "<b>PUNE" not in text


def test_long_text_is_cut_below_the_limit():
    text = "\n".join(f"• line {i} " + "x" * 50 for i in range(200))
    assert len(formatting.fit(text)) < 4096
