"""Security review of the LLM tools, on the wire: no age (not even its band) goes to the model unless sharing is
on, and dropping a personal field never scrubs its value out of unrelated text."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.config import Config
from bot.llm.assistant import build_assistant
from bot.llm.nlu import trained_classifier
from bot.llm.privacy import Redactor
from tests.fakes.insights_fake import OWN, FakeInsights
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def server():
    async with FakeOpenAI() as fake:
        yield fake


async def _tool_result(server: FakeOpenAI, tool: str, share: bool) -> dict:
    llm = dataclasses.replace(Config().llm, provider="openai", base_url=server.base_url, model="fake-model",
                              share_personal_data=share)
    assistant = build_assistant(dataclasses.replace(Config(), llm=llm), FakeInsights(),
                                classifier=trained_classifier())
    server.push_tool_call(tool, {})
    server.push_text("Done.")
    await assistant.answer(OWN, "tell me about my account", "s")
    (message,) = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    return json.loads(message["content"])


async def test_profile_tool_sends_no_age_band_when_sharing_is_off(server) -> None:
    body = await _tool_result(server, "get_profile", share=False)
    text = json.dumps(body)
    assert "age_band" not in text and "26-35" not in text and '"age"' not in text and '"gender"' not in text
    assert body["profile"]["n_transactions"] == 57          # the rest of the profile still goes


async def test_profile_tool_keeps_age_band_when_sharing_is_on(server) -> None:
    body = await _tool_result(server, "get_profile", share=True)
    assert body["profile"]["age_band"] == "26-35" and body["profile"]["location"] == "JAMSHEDPUR"


async def test_product_names_reach_the_model_when_sharing_is_off(server) -> None:
    body = await _tool_result(server, "get_recommendations", share=False)
    assert [p["name"] for p in body["products"]] == ["DineMore Credit Card", "1-year FD"]
    assert OWN not in json.dumps(body)


def test_dropped_age_band_value_is_not_scrubbed_from_other_text() -> None:
    redactor = Redactor(None, OWN)
    redactor.value({"age_band": "unknown", "gender": "F"})
    assert redactor.text("trend unknown, F grade") == "trend unknown, F grade"
