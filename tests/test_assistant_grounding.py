"""The grounding check, case by case over HTTP: the real openai client, the loopback server, the fake facade.

Each figure in a reply must bind to a tool value of its own kind returned in that turn; a reply that fails is
replaced by the offline answer. Expected figures are written from the fake's constants, not from the code.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from analytics.money import format_inr
from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.grounding import collect, figures, ungrounded
from bot.llm.nlu import trained_classifier
from tests.fakes.insights_fake import BALANCE, OWN, SPEND, FakeInsights
from tests.fakes.openai_server import FakeOpenAI

SEP_TOTAL, SEP_IN, SEP_CATS = SPEND[OWN]["2016-09"]
SEP_PAYMENTS = sum(n for _, n in SEP_CATS.values())             # 9 + 7 + 4 + 1 + 2 = 23
BALANCE_QUESTION = "what's my balance?"
SPENDING_QUESTION = "how much did I spend last month?"
UNUSUAL_QUESTION = "anything unusual on my account?"
REPORT_QUESTION = "my monthly report for last month"


@pytest.fixture
async def server():
    async with FakeOpenAI() as fake:
        yield fake


async def _ask(server: FakeOpenAI, question: str, tool: tuple[str, dict], reply: str):
    llm = dataclasses.replace(Config().llm, provider="openai", base_url=server.base_url, model="fake-model",
                              timeout_s=5.0)
    assistant = build_assistant(dataclasses.replace(Config(), llm=llm), FakeInsights(),
                                classifier=trained_classifier())
    server.push_tool_call(*tool)
    server.push_text(reply)
    return await assistant.answer(OWN, question, "g")


def _offline_balance(text: str) -> bool:
    return f"Your balance is {format_inr(BALANCE[OWN])} (as of 20 Oct 2016)" in text


# ---- replies that must fall back ------------------------------------------------------------------------
async def test_spelled_out_crore_is_not_grounded(server) -> None:
    reply = await _ask(server, BALANCE_QUESTION, ("get_balance", {}), "Your balance is one crore rupees.")
    assert reply.fallback == "ungrounded" and _offline_balance(reply.text) and "crore" not in reply.text


async def test_spelled_out_lakh_is_not_grounded(server) -> None:
    reply = await _ask(server, SPENDING_QUESTION, ("get_spending", {"month": "2016-09"}),
                       "You spent five lakh in September 2016.")
    assert reply.fallback == "ungrounded"
    assert f"In September 2016 you spent {format_inr(SEP_TOTAL)} across {SEP_PAYMENTS} payments." in reply.text


async def test_spelled_out_thousands_are_checked(server) -> None:
    reply = await _ask(server, BALANCE_QUESTION, ("get_balance", {}), "You have about twenty thousand rupees.")
    assert reply.fallback == "ungrounded" and _offline_balance(reply.text)


async def test_number_the_customer_typed_grounds_nothing(server) -> None:
    reply = await _ask(server, "can I afford a ₹45,678 phone?", ("get_balance", {}),
                       f"Yes, ₹45,678 is fine with your balance of {format_inr(BALANCE[OWN])}.")
    assert reply.fallback == "ungrounded"
    # the offline answer: ₹12,345.67 cannot pay ₹45,678 and keep a month of spending
    assert reply.text.startswith("Not comfortably yet.") and format_inr(45678) in reply.text


async def test_percentage_binds_only_to_a_share_not_to_a_count(server) -> None:
    # fuel: 4 payments, ₹4,000 of ₹36,000 = 11%. "4%" matched the count 4 before.
    reply = await _ask(server, SPENDING_QUESTION, ("get_spending", {"month": "2016-09"}),
                       "Fuel was 4% of your spending in September 2016.")
    assert reply.fallback == "ungrounded" and "4%" not in reply.text
    assert f"Rent: {format_inr(12000)} (33%)" in reply.text            # 12,000 / 36,000, from the fake's table


async def test_flipped_balance_direction_is_caught(server) -> None:
    # the balance fell ₹4,321.50 over 30 days (change_30d = -4321.5)
    reply = await _ask(server, BALANCE_QUESTION, ("get_balance", {}),
                       f"Your balance is {format_inr(BALANCE[OWN])}, up ₹4,321.50 over the last 30 days.")
    assert reply.fallback == "ungrounded"
    assert "down ₹4,321.50 over the last 30 days" in reply.text


async def test_flipped_savings_sign_is_caught(server) -> None:
    # September: ₹50,000 in, ₹36,000 out: saved ₹14,000
    reply = await _ask(server, REPORT_QUESTION, ("get_monthly_report", {"month": "2016-09"}),
                       "In September 2016 you overspent by ₹14,000.00.")
    assert reply.fallback == "ungrounded"
    assert f"Net savings: {format_inr(SEP_IN - SEP_TOTAL)}" in reply.text


async def test_small_bare_count_is_checked(server) -> None:
    reply = await _ask(server, SPENDING_QUESTION, ("get_spending", {"month": "2016-09"}),
                       "You made 17 payments in September 2016.")
    assert reply.fallback == "ungrounded" and f"across {SEP_PAYMENTS} payments" in reply.text


async def test_date_without_year_is_checked(server) -> None:
    reply = await _ask(server, UNUSUAL_QUESTION, ("get_unusual_transactions", {}),
                       "On 15 Sep you paid ₹48,000.00 at LUXE WATCHES.")
    assert reply.fallback == "ungrounded"
    assert "14 Sep 2016, ₹48,000.00 at LUXE WATCHES MUMBAI" in reply.text


async def test_date_with_the_wrong_year_is_caught(server) -> None:
    reply = await _ask(server, UNUSUAL_QUESTION, ("get_unusual_transactions", {}),
                       "On 14 Sep 2015 you paid ₹48,000.00 at LUXE WATCHES.")
    assert reply.fallback == "ungrounded"


async def test_month_no_tool_mentioned_is_caught(server) -> None:
    reply = await _ask(server, BALANCE_QUESTION, ("get_balance", {}),
                       f"In March your balance was {format_inr(BALANCE[OWN])}.")
    assert reply.fallback == "ungrounded" and _offline_balance(reply.text)


# ---- replies that pass --------------------------------------------------------------------------------
@pytest.mark.parametrize("question, tool, text", [
    (BALANCE_QUESTION, ("get_balance", {}),
     "Your balance is ₹12,346 as of 20 Oct, down ₹4,321.50 over the last 30 days."),
    (SPENDING_QUESTION, ("get_spending", {"month": "2016-09"}),
     f"In September 2016 you spent thirty-six thousand rupees over {SEP_PAYMENTS} payments; dining was 25% of it, "
     "up 50% on August."),
    (UNUSUAL_QUESTION, ("get_unusual_transactions", {}),
     "On 14 Sep at 2:05 AM, ₹48,000.00 at LUXE WATCHES MUMBAI was 12 times your usual amount."),
    (REPORT_QUESTION, ("get_monthly_report", {"month": "2016-09"}),
     "In September 2016 you saved ₹14,000.00: ₹50k came in and ₹36,000.00 went out."),
])
async def test_grounded_replies_of_every_kind_pass(server, question: str, tool: tuple, text: str) -> None:
    reply = await _ask(server, question, tool, text)
    assert reply.source == "llm", reply.fallback
    assert reply.text == text


# ---- the reader, without the wire ---------------------------------------------------------------------
@pytest.mark.parametrize("text, kind, value", [
    ("one crore rupees", "amount", 1e7),
    ("five lakh", "amount", 5e5),
    ("₹1.5 lakh", "amount", 1.5e5),
    ("one point five lakh", "amount", 1.5e5),
    ("twenty thousand", "amount", 2e4),
    ("twelve thousand three hundred forty-five rupees", "amount", 12345),
    ("one lakh and twenty thousand", "amount", 120000),
    ("20k", "amount", 2e4),
    ("Rs. 999", "amount", 999),
    ("₹1,23,456.50", "amount", 123456.5),
    ("ten percent", "percent", 10),
    ("12.5%", "percent", 12.5),
    ("two payments", "count", 2),
    ("12×", "multiple", 12),
])
def test_figures_are_read_in_words_and_indian_forms(text: str, kind: str, value: float) -> None:
    (figure,) = figures(text)
    assert (figure.kind, figure.value) == (kind, value)


@pytest.mark.parametrize("text", ["one of these", "you may want to", "1. Dining", "C1001", "your 2nd biggest"])
def test_prose_and_ids_are_not_figures(text: str) -> None:
    assert figures(text) == []


def test_direction_words_set_the_sign() -> None:
    signs = [f.sign for f in figures("down ₹500, up 3%, ₹200 less, -₹40, you saved ₹90, fell to ₹10")]
    assert signs == [-1, 1, -1, -1, 1, 0]


def test_the_check_takes_linear_time() -> None:
    """Ten times the reply costs about ten times the CPU (a quadratic check would cost a hundred times)."""
    facts = collect([{"amount": 1234.5, "share": 0.25, "count": 3, "ts": "2016-09-14 02:05:00"}])
    unit = "On 14 Sep 2016 at 2:05 AM you paid ₹1,234.50, 25% of it, over 3 payments; up 12% " * 40

    def cpu(text: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.thread_time()
            ungrounded(text, facts)
            best = min(best, time.thread_time() - start)
        return best

    small, large = cpu(unit), cpu(unit * 10)
    assert large < 30 * small
