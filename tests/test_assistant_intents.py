"""The income, last-N-transactions, subscriptions and handoff intents, and the true count of flagged
transactions, answered by the offline assistant from a hand-made store whose answers are worked out here."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.money import format_date, format_inr
from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.nlu import trained_classifier
from bot.llm.slots import extract_slots
from tests.assistant_history import Row, month_days, monthly, services_with

SALARIED, NO_INCOME, FLAGGED = "C500", "C600", "C700"
AS_OF = dt.date(2016, 10, 20)           # the latest row below: "last month" is September 2016


def history() -> list[Row]:
    rows = monthly(SALARIED, month_days(1, (2016, 6), (2016, 10)), 52_000, "CREDIT", "NEFT/SALARY ACME LTD", "income")
    rows += monthly(SALARIED, month_days(5, (2016, 6), (2016, 10)), 649, "DEBIT", "NETFLIX.COM", "entertainment")
    rows += monthly(SALARIED, month_days(3, (2016, 6), (2016, 10)), 15_000, "DEBIT", "LANDLORD RENT", "rent")
    rows.append(Row(SALARIED, dt.date(2016, 9, 14), 1_250, "CREDIT", "AMAZON REFUND", "income"))
    for day, amount, shop in [((2016, 6, 12), 2_310, "DMART"), ((2016, 7, 9), 1_870, "BIG BAZAAR"),
                              ((2016, 8, 23), 2_940, "DMART"), ((2016, 9, 17), 2_155, "NATURES BASKET"),
                              ((2016, 10, 11), 1_420, "BIG BAZAAR")]:
        rows.append(Row(SALARIED, dt.date(*day), amount, "DEBIT", shop, "groceries"))
    rows.append(Row(SALARIED, dt.date(2016, 10, 18), 780, "DEBIT", "INDIAN OIL", "fuel", time="93000"))
    rows.append(Row(SALARIED, AS_OF, 450, "DEBIT", "SWIGGY", "dining", time="201500"))
    # Debits only: nothing ever came in.
    rows += [Row(NO_INCOME, dt.date(2016, m, d), a, "DEBIT", "KIRANA STORE", "groceries", balance=900.0)
             for m, d, a in [(8, 4, 600), (9, 6, 700), (9, 21, 350), (10, 2, 500)]]
    # Twelve purchases, nine of which the test marks flagged in the store.
    rows += [Row(FLAGGED, dt.date(2016, 10, 1) + dt.timedelta(days=i), 1_000 + 100 * i, "DEBIT", f"SHOP {i}", "shopping")
             for i in range(12)]
    return rows


@pytest.fixture
def bank(tmp_path):
    services, named = services_with(tmp_path, history())
    flagged = [tid for tid, r in named if r.customer_id == FLAGGED][:9]
    with services.store.atomic():
        for tid in flagged:
            services.store.db.execute(
                "INSERT INTO transaction_scores (transaction_id, customer_id, category, anomaly_score, flagged,"
                " reasons, scored_at) VALUES (?, ?, 'shopping', 0.9, 1, ?, '2016-10-20T00:00:00')",
                [tid, FLAGGED, json.dumps(["an unusual shop for you"])])
    yield services, named
    services.close()


@pytest.fixture
def assistant(bank):
    services, _ = bank
    return build_assistant(Config(), services.insights, classifier=trained_classifier())


async def ask(assistant, customer: str, text: str, conversation: str = "c1"):
    return await assistant.answer(customer, text, conversation)


# ---- income ---------------------------------------------------------------------------------------------
async def test_money_in_last_month_is_every_credit_of_september(assistant, bank) -> None:
    _, named = bank
    september = [r for _, r in named if r.customer_id == SALARIED and r.kind == "CREDIT"
                 and (r.day.year, r.day.month) == (2016, 9)]
    reply = await ask(assistant, SALARIED, "how much money came in last month")
    assert reply.intent == "income"
    assert f"{format_inr(sum(r.amount for r in september))} came into your account over {len(september)} credits" \
        in reply.text
    for r in september:
        assert f"{format_date(r.day)}: {format_inr(r.amount)} from {r.merchant}" in reply.text


async def test_salary_kab_aayi_names_the_payer_day_and_last_and_next_dates(assistant) -> None:
    reply = await ask(assistant, SALARIED, "salary kab aayi")
    assert reply.intent == "income"
    assert (f"Your regular income is NEFT/SALARY ACME LTD: {format_inr(52_000)} monthly, usually on the 1st; "
            "the last one came on 1 Oct 2016 and the next is expected around 1 Nov 2016.") in reply.text


async def test_income_in_a_named_month_and_a_follow_up_month(assistant) -> None:
    august = await ask(assistant, SALARIED, "what was my income in august")
    assert "In August 2016, " + format_inr(52_000) + " came into your account over 1 credit:" in august.text
    july = await ask(assistant, SALARIED, "and july?")
    assert july.intent == "income" and "In July 2016, " + format_inr(52_000) in july.text


async def test_no_credits_at_all_is_said_plainly(assistant) -> None:
    reply = await ask(assistant, NO_INCOME, "what was my income last month")
    assert reply.intent == "income"
    assert "I don't see any money coming into your account in September 2016." in reply.text
    assert "There are no credits on your account at all" in reply.text


# ---- the last N transactions -----------------------------------------------------------------------------
def newest(named, customer: str, n: int, month: tuple[int, int] | None = None) -> list[Row]:
    rows = [r for _, r in named if r.customer_id == customer and (month is None or (r.day.year, r.day.month) == month)]
    return sorted(rows, key=lambda r: (r.day, int(r.time)), reverse=True)[:n]


def line(r: Row) -> str:
    sign = "+" if r.kind == "CREDIT" else ""
    verb = "received from" if r.kind == "CREDIT" else "paid to"
    return f"• {format_date(r.day)}: {sign}{format_inr(r.amount)} {verb} {r.merchant}"


async def test_last_three_transactions_are_the_three_newest_in_order(assistant, bank) -> None:
    _, named = bank
    reply = await ask(assistant, SALARIED, "show my last 3 transactions")
    assert reply.intent == "recent_transactions"
    expected = newest(named, SALARIED, 3)
    lines = [ln for ln in reply.text.splitlines() if ln.startswith("•")]
    assert len(lines) == 3
    for got, want in zip(lines, expected, strict=True):
        assert got.startswith(line(want))


async def test_without_a_number_five_are_shown(assistant, bank) -> None:
    _, named = bank
    reply = await ask(assistant, SALARIED, "my recent transactions")
    assert reply.text.startswith("Your latest 5 transactions:")
    assert [ln for ln in reply.text.splitlines() if ln.startswith("•")][0].startswith(line(newest(named, SALARIED, 1)[0]))


async def test_more_than_twenty_is_capped_and_says_so(assistant) -> None:
    reply = await ask(assistant, SALARIED, "show my last 100 transactions")
    assert reply.text.startswith("I show at most 20 at a time. Your latest 20:")
    assert sum(ln.startswith("•") for ln in reply.text.splitlines()) == 20


async def test_transactions_of_a_named_month_only(assistant, bank) -> None:
    _, named = bank
    august = newest(named, SALARIED, 50, (2016, 8))
    reply = await ask(assistant, SALARIED, "last 10 transactions in august")
    assert reply.text.startswith(f"There are only {len(august)} transactions in August 2016:")
    lines = [ln for ln in reply.text.splitlines() if ln.startswith("•")]
    assert [ln.split(":")[0] for ln in lines] == [f"• {format_date(r.day)}" for r in august]


@pytest.mark.parametrize("text, count", [("show my last 5 transactions", 5), ("last 10 txns", 10),
                                         ("latest five payments", 5), ("pichle 7 transaction dikhao", 7),
                                         ("my recent transactions", None), ("spending in the last 2 months", None)])
def test_the_count_slot(text: str, count: int | None) -> None:
    assert extract_slots(text).count == count


def test_a_count_of_transactions_is_not_money() -> None:
    assert extract_slots("show my last 100 transactions").amount is None
    assert extract_slots("can I afford a 100 rupees pen").amount == 100


# ---- subscriptions -------------------------------------------------------------------------------------
async def test_subscriptions_lists_each_regular_payment_with_its_next_date(assistant) -> None:
    reply = await ask(assistant, SALARIED, "what subscriptions do I have")
    assert reply.intent == "subscriptions"
    # Rent and Netflix repeat on the 3rd and 5th of five months; groceries, fuel and dining do not repeat.
    assert reply.text.startswith(f"You have 2 regular payments, about {format_inr(15_000 + 649)} a month together:")
    assert f"• LANDLORD RENT: {format_inr(15_000)} monthly (rent), next around 3 Nov 2016" in reply.text
    assert f"• NETFLIX.COM: {format_inr(649)} monthly (entertainment), next around 5 Nov 2016" in reply.text
    assert "DMART" not in reply.text and "SWIGGY" not in reply.text


async def test_no_regular_payments_explains_what_counts(assistant) -> None:
    reply = await ask(assistant, NO_INCOME, "list my subscriptions")
    assert reply.intent == "subscriptions" and reply.text.startswith("I don't see any regular payments")


# ---- fraud count -----------------------------------------------------------------------------------------
async def test_fraud_answer_gives_the_true_count_and_how_many_more(assistant, bank) -> None:
    services, named = bank
    flagged_rows = services.store.db.execute(
        "SELECT t.txn_date FROM transaction_scores s JOIN transactions t ON t.transaction_id = s.transaction_id"
        " WHERE s.customer_id = ? AND s.flagged = 1 ORDER BY t.ts DESC", [FLAGGED]).fetchall()
    assert len(flagged_rows) == 9
    reply = await ask(assistant, FLAGGED, "was there any fraud?")
    assert reply.intent == "unusual_transactions"
    assert reply.text.startswith("I flagged 9 transactions that look unusual for you. The latest 5:")
    listed = [ln for ln in reply.text.splitlines() if ln.startswith("•")]
    assert [ln.split(",")[0] for ln in listed] == [
        f"• {format_date(dt.date.fromisoformat(d))}" for (d,) in flagged_rows[:5]]
    assert "…and 4 older ones." in reply.text


def test_the_facade_counts_every_flag_beyond_the_limit(bank) -> None:
    services, _ = bank
    assert len(services.insights.anomalies(FLAGGED, limit=5)) == 5
    assert services.insights.anomaly_count(FLAGGED) == 9


# ---- handoff ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["talk to a human", "customer care se baat karni hai", "agent please"])
async def test_asking_for_a_person_is_a_handoff_action(assistant, text: str) -> None:
    reply = await ask(assistant, SALARIED, text)
    assert reply.intent == "handoff" and reply.action == "handoff"
    assert "/human" in reply.text          # outside Telegram the text says where a person can be reached


async def test_two_failures_in_a_row_offer_a_person_once(assistant) -> None:
    first = await ask(assistant, SALARIED, "zxq blorp wibble")
    assert first.intent == "unclear" and not first.offer_handoff
    second = await ask(assistant, SALARIED, "what's the weather")
    assert second.offer_handoff and "send /human" in second.text
    third = await ask(assistant, SALARIED, "tell me a joke")      # the count starts again after an offer
    assert not third.offer_handoff


async def test_an_answered_question_resets_the_count(assistant) -> None:
    await ask(assistant, SALARIED, "zxq blorp wibble")
    await ask(assistant, SALARIED, "what's my balance")
    after = await ask(assistant, SALARIED, "what's the weather")
    assert not after.offer_handoff
