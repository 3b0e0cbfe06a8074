"""Offline answers: templates filled from the facade, conversation context, refusals and clarifying questions."""

from __future__ import annotations

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


async def test_low_confidence_asks_with_suggestions(assistant) -> None:
    reply = await assistant.answer(OWN, "zxq blorp wibble", "c1")
    assert reply.intent == "unclear" and 2 <= len(reply.suggestions) <= 3
    assert "₹" not in reply.text


async def test_every_data_intent_answers_briefly(assistant) -> None:
    questions = ["balance?", "spent in aug", "how much on petrol", "compare aug and sep", "suggest a budget",
                 "how can I save", "any card for me", "anything strange on my account", "why is my balance low",
                 "can I afford a ₹1.5 lakh bike", "monthly report", "what kind of customer am I", "alert settings"]
    for q in questions:
        reply = await assistant.answer(OWN, q, "c1")
        assert reply.intent not in ("unclear", "out_of_scope"), q
        assert 0 < len(reply.text) < 1500, q
