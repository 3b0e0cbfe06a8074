"""End to end over the trained synthetic bank: every figure in an offline answer equals one computed with SQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from analytics.money import format_inr
from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.nlu import trained_classifier


def _q(services, sql: str, *params):
    return services.store.db.execute(sql, params).fetchone()


def _month(day: dt.date, back: int) -> str:
    index = day.year * 12 + day.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@pytest.fixture
def bank(trained_services):
    """(services, assistant, busiest customer, as_of) for the trained synthetic bank."""
    cid = _q(trained_services, "SELECT customer_id FROM transactions GROUP BY customer_id "
                               "ORDER BY count(*) DESC, customer_id LIMIT 1")[0]
    as_of = dt.date.fromisoformat(_q(trained_services, "SELECT max(txn_date) FROM transactions")[0])
    assistant = build_assistant(Config(), trained_services.insights, classifier=trained_classifier())
    return trained_services, assistant, cid, as_of


def _debits(services, cid: str, month: str, category: str | None = None) -> tuple[float, int]:
    sql = ("SELECT coalesce(sum(t.amount), 0), count(*) FROM transactions t "
           "LEFT JOIN transaction_scores s USING (transaction_id) "
           "WHERE t.customer_id = ? AND t.txn_type = 'DEBIT' AND substr(t.txn_date, 1, 7) = ?")
    params: list = [cid, month]
    if category:
        sql += " AND coalesce(t.category, s.category) = ?"
        params.append(category)
    total, count = _q(services, sql, *params)
    return round(total, 2), count


async def test_balance_is_the_latest_stored_balance(bank) -> None:
    services, assistant, cid, _ = bank
    (expected,) = _q(services, "SELECT balance FROM transactions WHERE customer_id = ? AND balance IS NOT NULL "
                               "ORDER BY ts DESC LIMIT 1", cid)
    reply = await assistant.answer(cid, "what's my balance?", "t")
    assert format_inr(expected) in reply.text


async def test_last_month_spending_matches_sql(bank) -> None:
    services, assistant, cid, as_of = bank
    total, count = _debits(services, cid, _month(as_of, 1))
    previous, _ = _debits(services, cid, _month(as_of, 2))
    reply = await assistant.answer(cid, "how much did I spend last month?", "t")
    assert format_inr(total) in reply.text and f"{count} payments" in reply.text
    assert format_inr(previous) in reply.text


async def test_category_spending_and_follow_up_match_sql(bank) -> None:
    services, assistant, cid, as_of = bank
    (category,) = _q(services, "SELECT coalesce(t.category, s.category) c FROM transactions t "
                               "LEFT JOIN transaction_scores s USING (transaction_id) WHERE t.customer_id = ? "
                               "AND t.txn_type = 'DEBIT' AND substr(t.txn_date, 1, 7) = ? AND c != 'rent' "
                               "GROUP BY c ORDER BY sum(t.amount) DESC LIMIT 1", cid, _month(as_of, 1))
    reply = await assistant.answer(cid, f"how much did I spend on {category} last month?", "t")
    assert format_inr(_debits(services, cid, _month(as_of, 1), category)[0]) in reply.text
    before = await assistant.answer(cid, "and the month before?", "t")
    amount = _debits(services, cid, _month(as_of, 2), category)[0]
    assert (format_inr(amount) if amount else "nothing") in before.text


async def test_monthly_report_money_in_and_out_match_sql(bank) -> None:
    services, assistant, cid, as_of = bank
    month = _month(as_of, 1)
    (money_in,) = _q(services, "SELECT coalesce(sum(amount), 0) FROM transactions WHERE customer_id = ? AND "
                               "txn_type = 'CREDIT' AND substr(txn_date, 1, 7) = ?", cid, month)
    reply = await assistant.answer(cid, f"monthly report for {month}", "t")
    assert f"Money in: {format_inr(money_in)}" in reply.text
    assert f"Money out: {format_inr(_debits(services, cid, month)[0])}" in reply.text


async def test_budget_average_matches_three_month_sql_average(bank) -> None:
    services, assistant, cid, as_of = bank
    months = [_month(as_of, k) for k in (1, 2, 3)]
    reply = await assistant.answer(cid, "suggest a budget", "t")
    first = next(line for line in reply.text.splitlines() if line.startswith("•"))
    category = first[2:].split(":")[0].lower()
    average = round(sum(_debits(services, cid, m, category)[0] for m in months) / 3, 2)
    assert f"you average {format_inr(average)}" in first


async def test_profile_counts_match_sql(bank) -> None:
    services, assistant, cid, _ = bank
    (count,) = _q(services, "SELECT count(*) FROM transactions WHERE customer_id = ?", cid)
    reply = await assistant.answer(cid, "what kind of customer am I?", "t")
    assert f"{count} transactions" in reply.text


async def test_affordability_quotes_balance_and_price(bank) -> None:
    services, assistant, cid, _ = bank
    (balance,) = _q(services, "SELECT balance FROM transactions WHERE customer_id = ? AND balance IS NOT NULL "
                              "ORDER BY ts DESC LIMIT 1", cid)
    price = round(balance * 10, -3)
    reply = await assistant.answer(cid, f"can I afford a car for ₹{price:,.0f}?", "t")
    assert reply.text.startswith("Not comfortably") and format_inr(balance) in reply.text
    assert format_inr(price) in reply.text


async def test_unusual_transactions_are_the_flagged_ones(bank) -> None:
    services, assistant, _, _ = bank
    row = _q(services, "SELECT customer_id FROM transaction_scores WHERE flagged = 1 GROUP BY customer_id "
                       "ORDER BY count(*) DESC LIMIT 1")
    if row is None:
        pytest.skip("training flagged nothing in this synthetic bank")
    cid = row[0]
    flagged = {round(a, 2) for (a,) in services.store.db.execute(
        "SELECT t.amount FROM transactions t JOIN transaction_scores s USING (transaction_id) "
        "WHERE t.customer_id = ? AND s.flagged = 1", [cid]).fetchall()}
    reply = await assistant.answer(cid, "anything strange on my account?", "t")
    listed = [line for line in reply.text.splitlines() if line.startswith("•")]
    assert listed
    for line in listed:
        amount = float(re.search(r"₹([\d,]+\.\d\d)", line).group(1).replace(",", ""))
        assert amount in flagged
