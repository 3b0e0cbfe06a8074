"""Security review of the LLM tools: no age (not even its band) goes to the model unless sharing is on."""

from __future__ import annotations

import json

from bot.llm.tools import BoundTools, Redactor
from tests.fakes.insights_fake import OWN, FakeInsights


def test_profile_tool_sends_no_age_band_when_sharing_is_off():
    tools = BoundTools(FakeInsights(), OWN, Redactor((OWN,)))
    body = json.loads(tools.call("get_profile", "{}"))
    text = json.dumps(body)
    assert "age_band" not in text and "26-35" not in text
    assert "n_transactions" in body["profile"]          # the rest of the profile still goes


def test_dropped_age_band_value_is_not_scrubbed_from_other_text():
    redactor = Redactor((OWN,))
    redactor.value({"age_band": "unknown"})
    assert redactor.text("trend unknown") == "trend unknown"


def test_profile_tool_keeps_age_band_when_sharing_is_on():
    body = json.loads(BoundTools(FakeInsights(), OWN, None).call("get_profile", "{}"))
    assert body["profile"]["age_band"] == "26-35"


def test_product_names_reach_the_model_when_sharing_is_off():
    body = json.loads(BoundTools(FakeInsights(), OWN, Redactor((OWN,))).call("get_recommendations", "{}"))
    assert [p["name"] for p in body["products"]] == ["DineMore Credit Card", "1-year FD"]
    assert OWN not in json.dumps(body)
