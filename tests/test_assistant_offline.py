"""Offline answers: templates filled from the facade, conversation context, refusals and clarifying questions."""

from __future__ import annotations

import math

import pytest

from analytics.money import format_inr, format_percent
from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.nlu import trained_classifier
from tests.fakes.insights_fake import BALANCE, OTHER, OWN, SPEND, FakeInsights


@pytest.fixture
def insights() -> FakeInsights:
    return FakeInsights()


@pytest.fixture
def assistant(insights):
    return build_assistant(Config(), insights, classifier=trained_classifier())


async def test_balance_answer_quotes_the_facade_balance(assistant) -> None:
    reply = await assistant.answer(OWN, "mera balance batao", "c1")
    assert reply.intent == "balance" and reply.source == "offline"
    assert format_inr(BALANCE[OWN]) in reply.text


async def test_spending_last_month_gives_total_and_top_category(assistant) -> None:
    reply = await assistant.answer(OWN, "how much did I spend last month?", "c1")
    total, _, cats = SPEND[OWN]["2016-09"]
    assert format_inr(total) in reply.text
    assert f"{format_inr(cats['rent'][0])} ({format_percent(cats['rent'][0] / total)})" in reply.text


async def test_what_about_dining_follows_up_on_the_same_month(assistant) -> None:
    await assistant.answer(OWN, "how much did I spend last month?", "c1")
    reply = await assistant.answer(OWN, "what about dining?", "c1")
    assert reply.intent == "spending_category"
    assert format_inr(SPEND[OWN]["2016-09"][2]["dining"][0]) in reply.text and "September 2016" in reply.text


async def test_and_the_month_before_steps_back_one_month(assistant) -> None:
    await assistant.answer(OWN, "how much did I spend on dining last month?", "c1")
    reply = await assistant.answer(OWN, "and the month before?", "c1")
    assert reply.intent == "spending_category"
    assert format_inr(SPEND[OWN]["2016-08"][2]["dining"][0]) in reply.text and "August 2016" in reply.text


async def test_context_is_per_conversation(assistant) -> None:
    await assistant.answer(OWN, "how much did I spend on dining in August?", "c1")
    reply = await assistant.answer(OWN, "and the month before?", "c2")
    assert "August 2016" in reply.text          # c2 has no context: the month before the last complete month


async def test_food_means_dining_and_groceries(assistant) -> None:
    reply = await assistant.answer(OWN, "food spend in aug 2016", "c1")
    cats = SPEND[OWN]["2016-08"][2]
    assert format_inr(cats["dining"][0]) in reply.text and format_inr(cats["groceries"][0]) in reply.text
    assert format_inr(cats["dining"][0] + cats["groceries"][0]) in reply.text


async def test_affordability_asks_for_the_price_then_uses_it(assistant) -> None:
    first = await assistant.answer(OWN, "can I afford it?", "c1")
    assert "how much" in first.text.lower()
    second = await assistant.answer(OWN, "20k", "c1")
    assert second.intent == "affordability" and format_inr(20000) in second.text


async def test_unknown_month_lists_the_months_available(assistant) -> None:
    reply = await assistant.answer(OWN, "spending in 2015-01", "c1")
    assert "January 2015" in reply.text and "September 2016" in reply.text


async def test_other_customers_balance_is_refused_and_never_read(assistant, insights) -> None:
    reply = await assistant.answer(OWN, f"show me {OTHER}'s balance", "c1")
    assert reply.intent == "out_of_scope"
    assert format_inr(BALANCE[OTHER]) not in reply.text
    assert all(cid == OWN for _, cid in insights.calls)


async def test_weather_gets_a_polite_refusal_without_data(assistant, insights) -> None:
    reply = await assistant.answer(OWN, "will it rain tomorrow?", "c1")
    assert reply.intent == "out_of_scope" and "₹" not in reply.text
    assert insights.calls == []


async def test_low_confidence_asks_with_suggestions(assistant, insights) -> None:
    reply = await assistant.answer(OWN, "zxq blorp wibble", "c1")
    assert reply.intent == "unclear" and 2 <= len(reply.suggestions) <= 3
    assert reply.text.startswith("Sorry, I'm not sure what you mean.")
    assert all(f"• {suggestion}" in reply.text for suggestion in reply.suggestions)
    assert "₹" not in reply.text and insights.calls == []          # asking back reads no data
    tapped = await assistant.answer(OWN, reply.suggestions[0], "c1")   # a suggestion, tapped, is understood
    assert tapped.intent not in ("unclear", "out_of_scope") and insights.calls


def _affordability(price: float) -> tuple[float, int]:
    """The shortfall and months to save for `price`, by hand from the fake's profile (one month of spending
    kept as a cushion; income per month over the same span as spending)."""
    balance, monthly_spend, total_spend, total_income = BALANCE[OWN], 31250.0, 87500.0, 150000.0
    shortfall = price + monthly_spend - balance
    surplus = total_income * monthly_spend / total_spend - monthly_spend
    return round(shortfall, 2), math.ceil(shortfall / surplus)


SHORTFALL, MONTHS_TO_SAVE = _affordability(150_000)
AUG, SEP, OCT = (SPEND[OWN][m] for m in ("2016-08", "2016-09", "2016-10"))


@pytest.mark.parametrize("question, intent, expected", [
    ("balance?", "balance", [f"Your balance is {format_inr(BALANCE[OWN])} (as of 20 Oct 2016)",
                             f"down {format_inr(4321.5)} over the last 30 days"]),
    ("spent in aug", "spending_summary", [
        f"In August 2016 you spent {format_inr(AUG[0])} across {sum(n for _, n in AUG[2].values())} payments",
        f"Rent: {format_inr(12000)} ({round(100 * 12000 / AUG[0])}%)"]),
    ("how much on petrol", "spending_category", [
        f"Fuel: {format_inr(SEP[2]['fuel'][0])} in September 2016 over {SEP[2]['fuel'][1]} payments, "
        f"{round(100 * SEP[2]['fuel'][0] / SEP[0])}% of your spending",
        f"{round(100 * (SEP[2]['fuel'][0] / AUG[2]['fuel'][0] - 1))}% more on fuel than in August 2016"]),
    ("compare aug and sep", "compare_months", [f"August 2016: {format_inr(AUG[0])} spent.",
                                               f"September 2016: {format_inr(SEP[0])} spent."]),
    ("suggest a budget", "budget_advice", [f"a monthly budget of {format_inr(16100)}",
                                           f"• Dining: {format_inr(6400)} (you average {format_inr(7500)})",
                                           f"save about {format_inr(1400)} a month"]),
    ("how can I save", "saving_tips", [
        f"• Dining: bring it from {format_inr(7500)} to {format_inr(6400)}, saving {format_inr(1100)}\n"
        f"• Entertainment: bring it from {format_inr(1500)} to {format_inr(1200)}, saving {format_inr(300)}"]),
    ("any card for me", "recommendations", ["DineMore Credit Card: 5% back on restaurants"]),
    ("anything strange on my account", "unusual_transactions", [
        "I flagged 1 transaction that looks unusual", f"14 Sep 2016, {format_inr(48000)} at LUXE WATCHES MUMBAI"]),
    ("why is my balance low", "low_balance_explanation", [
        f"you spent {format_inr(OCT[0])}, mostly on rent ({format_inr(12000)})",
        f"• 3 Oct 2016: {format_inr(12000)} at LANDLORD\n• 9 Oct 2016: {format_inr(2500)} at SWIGGY"]),
    ("can I afford a ₹1.5 lakh bike", "affordability", [
        f"paying {format_inr(150000)}", f"needs {format_inr(SHORTFALL)} more", f"in about {MONTHS_TO_SAVE} months"]),
    ("monthly report", "monthly_report", [f"Money in: {format_inr(SEP[1])}", f"Money out: {format_inr(SEP[0])}",
                                          f"Net savings: {format_inr(SEP[1] - SEP[0])}"]),
    ("what kind of customer am I", "profile", ["57 transactions", f"about {format_inr(31250)} spent a month"]),
    ("alert settings", "alert_settings", [f"falls below {format_inr(2000)}", "/alerts"]),
])
async def test_every_data_intent_answers_with_the_facade_figures(assistant, question: str, intent: str,
                                                                 expected: list[str]) -> None:
    reply = await assistant.answer(OWN, question, f"q:{question}")
    assert reply.intent == intent
    for phrase in expected:
        assert phrase in reply.text
    assert len(reply.text) < 1500
