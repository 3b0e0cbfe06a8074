"""Every customer command over the real Application: replies carry the store's figures, escaped, in limits."""

from __future__ import annotations

import re

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


def last_complete_month(services) -> str:
    """The month before the store's latest date (the analytics clock, `as_of = "auto"`), from SQL."""
    latest = sql(services, "SELECT MAX(txn_date) FROM transactions")[0]
    year, month = int(latest[:4]), int(latest[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


# A hand-made customer whose figures are worked out by hand below (bank-local dates, d/m/yy).
HAND_CUSTOMER, HAND_CHAT = "C100", 2100
HAND_ROWS = [  # (date, amount, type, merchant, category, balance after)
    ("1/9/16", 15000, "DEBIT", "LANDLORD RENT", "rent", 545000),
    ("5/9/16", 5000, "DEBIT", "BIG BAZAAR", "groceries", 540000),
    ("10/9/16", 3000, "DEBIT", "MAINLAND CHINA", "dining", 537000),
    ("1/10/16", 15000, "DEBIT", "LANDLORD RENT", "rent", 522000),
    ("5/10/16", 5000, "DEBIT", "BIG BAZAAR", "groceries", 517000),
    ("10/10/16", 3000, "DEBIT", "MAINLAND CHINA", "dining", 514000),
    ("1/11/16", 15000, "DEBIT", "LANDLORD RENT", "rent", 499000),
    ("5/11/16", 5000, "DEBIT", "BIG BAZAAR", "groceries", 494000),
    ("10/11/16", 6000, "DEBIT", "MAINLAND CHINA", "dining", 488000),
    ("5/12/16", 1000, "DEBIT", "BIG BAZAAR", "groceries", 487000),     # as_of = 5 Dec 2016: last month = Nov
]


@pytest.fixture
async def hand_linked(tmp_path):
    """A running bot over a store holding only HAND_ROWS (ingested from CSV, not trained), linked to HAND_CHAT."""
    from bot.config import Config
    from bot.container import build_services
    from bot.services.ingestion import ingest_files

    csv_path = tmp_path / "hand.csv"
    lines = ["TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
             "TransactionTime,TransactionAmount (INR),TransactionType,Merchant,Category"]
    for n, (date, amount, kind, merchant, category, balance) in enumerate(HAND_ROWS, start=1):
        lines.append(f"H{n},{HAND_CUSTOMER},1/1/50,F,PUNE,{balance},{date},120000,{amount},{kind},{merchant},"
                     f"{category}")
    csv_path.write_text("\n".join(lines) + "\n")
    services = build_services(Config().with_db(tmp_path / "hand.db"))
    try:
        assert ingest_files(services.store, [csv_path]).inserted == len(HAND_ROWS)
        async with FakeTelegramServer() as fake, running_bot(services, fake) as app:
            await fake.ask(HAND_CHAT, HAND_CHAT, f"/start {data_of(app).linking.issue_code(HAND_CUSTOMER).code}")
            yield fake
    finally:
        services.close()


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
    fake, _, customer = linked
    month = last_complete_month(trained_services)
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


async def test_budget_follows_the_rule_worked_by_hand(hand_linked):
    # Sep-Nov: rent 15,000 each month (essential: its average); groceries 5,000 each month (the average);
    # dining 3,000 / 3,000 / 6,000: average 4,000, median 3,000 (one unusual month) -> 3,000, less the 15%
    # discretionary trim -> 2,550. Total 22,550; saving 4,000 - 2,550 = 1,450 a month.
    call = await hand_linked.ask(HAND_CHAT, HAND_CHAT, "/budget")
    assert "from 3 months of spending" in call.text
    assert "Rent: ₹15,000.00 (average ₹15,000.00)" in call.text
    assert "Groceries: ₹5,000.00 (average ₹5,000.00)" in call.text
    assert "Dining: ₹2,550.00 (average ₹4,000.00)" in call.text
    assert "Total: ₹22,550.00 · possible saving ₹1,450.00 a month" in call.text


async def test_recommend_offers_only_products_the_catalog_allows(hand_linked):
    # The customer is 66 (born 1950), holds ₹4,87,000, has no income and no churn score (not trained). By the
    # catalog's hard rules only the two savings accounts and the two fixed deposits are open to them (SIPs,
    # cards, the loan and the overdraft need income or a churn score). Fixed deposits fit best (a large idle
    # balance), one product per kind comes first: 1-Year FD, Savings Max, then the Senior Citizen FD (60+).
    call = await hand_linked.ask(HAND_CHAT, HAND_CHAT, "/recommend")
    names = re.findall(r"\n<b>([^<]+)</b>\n", call.text)
    assert names == ["1-Year Fixed Deposit", "Savings Max Account", "Senior Citizen Fixed Deposit"]
    assert not any(other in call.text for other in ("SIP", "Credit Card", "Personal Loan", "Overdraft"))


async def test_profile_counts_the_customers_transactions(linked, trained_services):
    fake, _, customer = linked
    total, debits = sql(trained_services, "SELECT COUNT(*), SUM(txn_type = 'DEBIT') FROM transactions "
                                      "WHERE customer_id = ?", customer)
    call = await fake.ask(CHAT, CHAT, "/profile")
    assert f"Transactions: {total} ({debits} out" in call.text


async def test_report_sends_summary_text_and_a_chart_photo(linked, trained_services):
    fake, _, customer = linked
    month = last_complete_month(trained_services)
    total = sql(trained_services, "SELECT SUM(amount) FROM transactions WHERE customer_id = ? AND txn_type = 'DEBIT' "
                              "AND substr(txn_date, 1, 7) = ?", customer, month)[0]
    since = fake.mark()
    text = await fake.ask(CHAT, CHAT, "/report")
    [photo] = await fake.wait_for("sendPhoto", lambda c: c.chat_id == CHAT, since=since)
    assert format_inr(total) in text.text
    upload = photo.params["photo"]
    assert isinstance(upload, UploadedFile) and upload.size > 1000


async def test_why_button_explains_the_change_worked_by_hand(hand_linked):
    # November against October: dining 3,000 -> 6,000 (+100%); rent and groceries did not change.
    fake = hand_linked
    call = await fake.ask(HAND_CHAT, HAND_CHAT, "/spending")
    assert "go:why:2016-11" in call.button_data()
    since = fake.mark()
    fake.push_callback(HAND_CHAT, HAND_CHAT, fake.last_message_id(HAND_CHAT), "go:why:2016-11")
    [answer] = await fake.wait_for("sendMessage", lambda c: c.chat_id == HAND_CHAT, since=since)
    assert "What changed vs October 2016" in answer.text
    assert "Dining: ₹3,000.00 → ₹6,000.00, +₹3,000.00 (100%)" in answer.text
    assert "Rent: ₹15,000.00 → ₹15,000.00, ₹0.00" in answer.text


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


async def test_free_text_is_answered_with_the_months_spending(hand_linked):
    # November's debits: 15,000 + 5,000 + 6,000.
    call = await hand_linked.ask(HAND_CHAT, HAND_CHAT, "how much did I spend last month?")
    assert "₹26,000.00" in call.text and "November 2016" in call.text


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
