"""The LLM path for the new tools over the real openai client and a loopback server: income, recurring
payments and the flagged count are grounded and redacted like every other tool; a handoff never reaches it."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from analytics.money import format_inr
from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.nlu import trained_classifier
from tests.fakes.insights_fake import INCOME, OWN, PRICE_RISE, RECURRING, SPEND, FakeInsights
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def server():
    fake = FakeOpenAI()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def assistant(server):
    llm = dataclasses.replace(Config().llm, provider="openai", base_url=server.base_url, model="fake-model",
                              timeout_s=5.0)
    return build_assistant(dataclasses.replace(Config(), llm=llm), FakeInsights(), classifier=trained_classifier())


def tool_results(request: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in request["messages"] if m["role"] == "tool"]


async def test_income_tool_grounds_a_salary_answer(server, assistant) -> None:
    september_in = SPEND[OWN]["2016-09"][1]
    server.push_tool_call("get_income", {"month": "2016-09"})
    server.push_text(f"In September 2016, {format_inr(september_in)} came in over 1 credit. Your salary usually "
                     "arrives on the 1st; the next is expected around 1 Nov 2016.")
    reply = await assistant.answer(OWN, "how much money came in last month", "c1")
    assert reply.source == "llm", reply.fallback
    [result] = tool_results(server.requests[1])
    assert (result["total_in"], result["n_credits"]) == (september_in, 1)
    assert result["regular_income"]["amount"] == INCOME[OWN].amount
    assert result["regular_income"]["next_expected"] == "2016-11-01"


async def test_an_invented_salary_is_refused_and_answered_offline(server, assistant) -> None:
    server.push_tool_call("get_income", {"month": "2016-09"})
    server.push_text(f"Your salary of {format_inr(55_000)} arrives on the 1st.")
    reply = await assistant.answer(OWN, "what was my income last month", "c1")
    assert reply.source == "offline" and reply.fallback == "ungrounded"
    assert reply.intent == "income" and format_inr(INCOME[OWN].amount) in reply.text and "55,000" not in reply.text


async def test_recurring_payments_are_grounded_and_the_payee_never_leaves(server, assistant) -> None:
    payments = RECURRING[OWN]
    monthly = sum(p.monthly_equivalent for p in payments)
    server.push_tool_call("get_recurring_payments", {})

    def compose(request: dict) -> str:
        [result] = tool_results(request)
        tutor = next(p for p in result["payments"] if p["amount"] == 3000.0)
        placeholder = re.search(r"\[name \d+\]", tutor["label"]).group(0)
        return (f"You have {len(payments)} regular payments, about {format_inr(monthly)} a month: "
                f"{format_inr(3000)} to {placeholder}, and NETFLIX.COM went from {format_inr(PRICE_RISE.previous_amount)}"
                f" to {format_inr(PRICE_RISE.amount)}.")

    server.push_reply(compose)
    reply = await assistant.answer(OWN, "what subscriptions do I have", "c1")
    assert reply.source == "llm", reply.fallback
    assert f"{format_inr(3000)} to RAJESH KUMAR" in reply.text           # restored for the customer
    sent = json.dumps(server.requests, ensure_ascii=False)
    assert "RAJESH" not in sent and "KUMAR" not in sent
    [result] = tool_results(server.requests[1])
    assert result["n_payments"] == len(payments) and result["monthly_total"] == round(monthly, 2)


async def test_a_wrong_subscription_price_is_refused(server, assistant) -> None:
    server.push_tool_call("get_recurring_payments", {})
    server.push_text(f"NETFLIX.COM costs {format_inr(699)} a month.")
    reply = await assistant.answer(OWN, "what subscriptions do I have", "c1")
    assert reply.source == "offline" and reply.fallback == "ungrounded"
    assert f"NETFLIX.COM: {format_inr(649)} monthly" in reply.text


async def test_unusual_tool_says_how_many_are_flagged_in_all(server, assistant) -> None:
    server.push_tool_call("get_unusual_transactions", {})
    server.push_text("I flagged 1 transaction, on 14 Sep 2016.")
    reply = await assistant.answer(OWN, "was there any fraud?", "c1")
    assert reply.source == "llm", reply.fallback
    [result] = tool_results(server.requests[1])
    assert (result["n_flagged"], result["n_not_shown"], len(result["flagged"])) == (1, 0, 1)


async def test_a_handoff_never_reaches_the_model(server, assistant) -> None:
    reply = await assistant.answer(OWN, "talk to a human", "c1")
    assert reply.action == "handoff" and reply.source == "offline"
    assert server.requests == []
