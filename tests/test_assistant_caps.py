"""A hostile or broken LLM endpoint cannot freeze the bot: response size caps, one time budget for the whole turn,
and the grounding check off the event loop. Outcomes are events and counts, never wall-clock thresholds."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

import bot.llm.assistant as assistant_module
from analytics.money import format_inr
from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.client import MAX_RESPONSE_BYTES, MAX_TOOL_CALLS
from bot.llm.nlu import trained_classifier
from tests.fakes.insights_fake import BALANCE, OTHER, OWN, FakeInsights
from tests.fakes.openai_server import FakeOpenAI

TWENTY_MB = 20 * 1024 * 1024
OWN_BALANCE = f"Your balance is {format_inr(BALANCE[OWN])}"
OTHER_BALANCE = f"Your balance is {format_inr(BALANCE[OTHER])}"


@pytest.fixture
async def server():
    async with FakeOpenAI() as fake:
        yield fake
        fake.release.set()


@pytest.fixture
def insights() -> FakeInsights:
    return FakeInsights()


def _assistant(server: FakeOpenAI, insights: FakeInsights, timeout_s: float = 30.0):
    llm = dataclasses.replace(Config().llm, provider="openai", base_url=server.base_url, model="fake-model",
                              timeout_s=timeout_s)
    return build_assistant(dataclasses.replace(Config(), llm=llm), insights, classifier=trained_classifier())


async def test_huge_streamed_reply_is_refused_before_it_is_read(server, insights) -> None:
    # 20 MB without a Content-Length; the server stops after 1 MB until released, which never happens here:
    # a client that read on would wait out its 30 s budget and report a timeout instead.
    server.push_huge(TWENTY_MB, pause_after=1024 * 1024)
    reply = await _assistant(server, insights).answer(OWN, "what's my balance?", "c1")
    assert reply.fallback == "response too large"
    assert reply.source == "offline" and OWN_BALANCE in reply.text
    assert server.streams_finished == 0 and not server.release.is_set()
    assert server.bytes_sent <= 1024 * 1024 + 64 * 1024


async def test_huge_declared_length_is_refused_at_the_headers(server, insights) -> None:
    server.push_huge(TWENTY_MB, pause_after=MAX_RESPONSE_BYTES // 2, content_length=True)
    reply = await _assistant(server, insights).answer(OWN, "what's my balance?", "c1")
    assert reply.fallback == "response too large" and OWN_BALANCE in reply.text
    assert server.streams_finished == 0


async def test_dripping_server_is_cut_by_the_turn_budget_while_others_are_served(server, insights) -> None:
    server.push_drip()
    turn = asyncio.create_task(_assistant(server, insights, timeout_s=2.0).answer(OWN, "what's my balance?", "c1"))
    await server.streaming.wait()                   # the hostile turn is now stuck reading the drip
    other = await build_assistant(Config(), insights, classifier=trained_classifier()).answer(
        OTHER, "what's my balance?", "c2")          # another customer's /balance on the same loop
    assert OTHER_BALANCE in other.text
    assert not turn.done()                          # served while the hostile turn was still in progress
    reply = await turn
    assert reply.fallback == "timeout" and OWN_BALANCE in reply.text
    assert server.streams_finished == 0


async def test_the_budget_covers_every_tool_round(server, insights) -> None:
    # each answer takes 0.6 s, under the per-request timeout of 1 s; three of them exceed the turn's 1 s
    server.script.clear()
    server.push_tool_call("get_balance", {})
    server.script[-1].delay_s = 0.6
    server.push_tool_call("get_spending", {"month": "2016-09"})
    server.script[-1].delay_s = 0.6
    server.push_text(f"{OWN_BALANCE}.", delay_s=0.6)
    reply = await _assistant(server, insights, timeout_s=1.0).answer(OWN, "what's my balance?", "c1")
    assert reply.fallback == "timeout" and OWN_BALANCE in reply.text
    assert len(server.requests) == 2 and server.answered == 1    # the third request was never sent


async def test_grounding_check_runs_off_the_event_loop(server, insights, monkeypatch) -> None:
    """While the check of one reply runs, another customer's answer completes on the same loop."""
    loop = asyncio.get_running_loop()
    checking, other_done = asyncio.Event(), threading.Event()
    order: list[str] = []
    threads: list[threading.Thread] = []
    real_check = assistant_module.check_grounding

    def gated_check(*args):
        threads.append(threading.current_thread())
        loop.call_soon_threadsafe(checking.set)
        other_done.wait(timeout=10)        # on the loop, this would stall every coroutine for 10 s
        order.append("check")
        return real_check(*args)

    monkeypatch.setattr(assistant_module, "check_grounding", gated_check)
    server.push_tool_call("get_balance", {})
    server.push_text(f"{OWN_BALANCE}.")
    turn = asyncio.create_task(_assistant(server, insights).answer(OWN, "what's my balance?", "c1"))
    await checking.wait()
    other = await build_assistant(Config(), insights, classifier=trained_classifier()).answer(
        OTHER, "what's my balance?", "c2")
    order.append("other customer answered")
    other_done.set()
    reply = await turn
    assert order == ["other customer answered", "check"]
    assert threads[0] is not threading.main_thread()
    assert OTHER_BALANCE in other.text and reply.source == "llm"


async def test_reply_longer_than_a_message_is_refused(server, insights) -> None:
    server.push_tool_call("get_balance", {})
    server.push_text(f"{OWN_BALANCE}. " + "Really. " * 600)       # about 5,000 characters, far under the byte cap
    reply = await _assistant(server, insights).answer(OWN, "what's my balance?", "c1")
    assert reply.fallback == "unusable reply" and reply.text.startswith(OWN_BALANCE)


async def test_too_many_tool_calls_in_one_message_run_none(server, insights) -> None:
    server.push_tool_call("get_balance", {}, *[("get_balance", {})] * MAX_TOOL_CALLS)
    reply = await _assistant(server, insights).answer(OWN, "what's my balance?", "c1")
    assert reply.fallback == "unusable reply" and OWN_BALANCE in reply.text
    offline_reads = [m for m, _ in insights.calls]
    assert offline_reads.count("balance") == 1            # only the offline answer read the balance
    assert len(server.requests) == 1
