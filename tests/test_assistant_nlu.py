"""The offline language understanding: intent accuracy on the held-out set, slots, clarifying questions."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from bot.llm.context import ConversationState
from bot.llm.nlu import load_examples, trained_classifier
from bot.llm.offline import OfflineAssistant
from bot.llm.slots import extract_slots, resolve_month
from tests.fakes.insights_fake import FakeInsights

EVAL = Path(__file__).resolve().parents[1] / "data" / "eval" / "intents_eval.csv"
AS_OF = dt.date(2016, 10, 21)   # the eval file's months are labelled for this analytics date


def _eval_rows() -> list[dict[str, str]]:
    with EVAL.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_eval_set_is_large_and_separate_from_training() -> None:
    rows = _eval_rows()
    train_texts, _ = load_examples()
    assert len(rows) >= 200
    assert not {r["text"].lower() for r in rows} & {t.lower() for t in train_texts}


def test_intent_accuracy_on_held_out_eval_set_is_at_least_93_percent() -> None:
    rows = _eval_rows()
    offline = OfflineAssistant(FakeInsights(), trained_classifier())
    correct = sum(offline.understand(r["text"]).intent == r["intent"] for r in rows)
    assert correct / len(rows) >= 0.93


@pytest.mark.parametrize("intent", ["income", "recent_transactions", "subscriptions", "handoff"])
def test_each_new_intent_has_its_own_held_out_questions_and_is_mostly_recognised(intent: str) -> None:
    rows = [r for r in _eval_rows() if r["intent"] == intent]
    offline = OfflineAssistant(FakeInsights(), trained_classifier())
    assert len(rows) >= 15
    assert sum(offline.understand(r["text"]).intent == intent for r in rows) / len(rows) >= 0.85


def test_the_clarify_threshold_is_five_times_chance() -> None:
    classifier = trained_classifier()
    assert classifier.threshold_ == pytest.approx(5 / len(classifier.classes_))


def test_month_slots_on_eval_set_are_at_least_90_percent_right() -> None:
    rows = [r for r in _eval_rows() if r["month"]]
    right = 0
    for r in rows:
        ref = extract_slots(r["text"]).month
        right += ref is not None and resolve_month(ref, AS_OF) == r["month"]
    assert right / len(rows) >= 0.90


@pytest.mark.parametrize("text, month", [
    ("how much did I spend last month", "2016-09"),
    ("kitna kharcha hua pichle mahine", "2016-09"),
    ("spending this month", "2016-10"),
    ("spent in aug", "2016-08"),
    ("in December", "2015-12"),
    ("aug 2016 expenses", "2016-08"),
    ("report for 2016-09", "2016-09"),
    ("09/2016 report", "2016-09"),
    ("two months ago", "2016-08"),
])
def test_month_mentions_resolve_on_the_analytics_clock(text: str, month: str) -> None:
    assert resolve_month(extract_slots(text).month, AS_OF) == month


def test_the_month_before_counts_back_from_the_conversation_month() -> None:
    assert resolve_month(extract_slots("and the month before?").month, AS_OF, "2016-08") == "2016-07"


def test_may_as_a_verb_is_not_a_month() -> None:
    assert extract_slots("may I know my balance").months == ()


@pytest.mark.parametrize("text, categories", [
    ("how much on food", ("dining", "groceries")),
    ("petrol this month", ("fuel",)),
    ("movies and netflix", ("entertainment",)),
    ("uber rides", ("travel",)),
    ("what's my balance", ()),
])
def test_category_words_map_to_contract_categories(text: str, categories: tuple[str, ...]) -> None:
    assert extract_slots(text).categories == categories


@pytest.mark.parametrize("text, amount", [
    ("can I afford a 20k phone", 20_000.0),
    ("₹1.5 lakh bike", 150_000.0),
    ("a 20,000 tv", 20_000.0),
    ("1.2 cr flat", 12_000_000.0),
    ("Rs. 999 headphones", 999.0),
    ("₹1,23,456.50", 123_456.5),
    ("top 3 categories", None),
    ("spending in aug 2016", None),
])
def test_amounts_are_read_in_indian_forms(text: str, amount: float | None) -> None:
    assert extract_slots(text).amount == amount


@pytest.mark.parametrize("text, kind", [
    ("any card for me", "credit_card"), ("should I open an FD", "fd"), ("start a sip", "sip"),
    ("need a loan", "personal_loan"), ("what's my balance", None),
])
def test_product_kinds(text: str, kind: str | None) -> None:
    assert extract_slots(text).kind == kind


def test_gibberish_gets_a_clarifying_question_with_suggestions() -> None:
    insights = FakeInsights()
    offline = OfflineAssistant(insights, trained_classifier())
    understood, answer = offline.respond("C1001", "zxq blorp wibble", ConversationState("C1001"))
    assert understood.intent == "unclear" and insights.calls == []        # asking back reads no data
    assert answer.text.startswith("Sorry, I'm not sure what you mean.")
    assert 2 <= len(answer.suggestions) <= 3 and len(set(answer.suggestions)) == len(answer.suggestions)
    for suggestion in answer.suggestions:
        assert f"• {suggestion}" in answer.text
        # a suggestion is only useful if the assistant itself understands it when it is tapped
        assert offline.understand(suggestion).intent not in ("unclear", "out_of_scope"), suggestion


def test_another_customers_id_is_refused_even_when_phrased_as_balance() -> None:
    offline = OfflineAssistant(FakeInsights(), trained_classifier())
    understood = offline.understand("what's the balance of C2002", customer_id="C1001")
    assert understood.refused and understood.intent == "out_of_scope"


def test_own_customer_id_is_not_refused() -> None:
    offline = OfflineAssistant(FakeInsights(), trained_classifier())
    understood = offline.understand("balance of C1001 please", customer_id="C1001")
    assert not understood.refused and understood.intent == "balance"
