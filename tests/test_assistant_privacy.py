"""Nothing personal reaches the LLM with share_personal_data = false, proven on the wire: every request body the
loopback OpenAI-compatible server received, across conversations that mix offline fallbacks and LLM turns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from analytics.money import format_inr
from analytics.results import AnomalyFlag, PersonalDetails, TransactionBrief
from bot.config import Config
from bot.container import build_services
from bot.llm.assistant import build_assistant
from bot.llm.nlu import trained_classifier
from bot.llm.privacy import Redactor, payee_names
from bot.services.ingestion import ingest_files
from bot.storage.database import Store
from tests.fakes.insights_fake import OWN, FakeInsights
from tests.fakes.openai_server import FakeOpenAI

DOB = dt.date(1994, 1, 10)
# Everything here is personal; none of it may appear in any request, in any case or spelling.
SECRETS = ("KOLKATA", "SITAMARHI", "JAMSHEDPUR", "RAHUL", "SHARMA", "PRIYA", "MEHTA", "ANIL", "KUMAR", "ANITA",
           "DESAI", OWN,
           "10/1/94", "1994-01-10", "10 Jan 1994", "9876543210")


class PersonalInsights(FakeInsights):
    """The fake facade with what real statements carry: payees in merchant text, cities in reasons, a DOB."""

    def anomalies(self, cid, limit=5, include_answered=False):
        self._check("anomalies", cid)
        return (AnomalyFlag("T9", dt.datetime(2016, 9, 14, 2, 5), 48000.0, "UPI-TO RAHUL SHARMA", "KOLKATA", 0.93,
                            ("first transaction in KOLKATA", "₹48,000.00 is 12× your usual amount")),
                AnomalyFlag("T8", dt.datetime(2016, 9, 2, 23, 40), 9000.0, "SWIGGY", None, 0.71,
                            ("first transaction in SITAMARHI",)))

    def transactions(self, cid, month=None, limit=None):
        self._check("transactions", cid)
        rows = (TransactionBrief("T31", dt.datetime(2016, 10, 18, 9, 0), 15000.0, "DEBIT", "transfers",
                                 "NEFT/N4455/PRIYA MEHTA", "KOLKATA"),
                TransactionBrief("T30", dt.datetime(2016, 10, 12, 19, 0), 8000.0, "DEBIT", "transfers",
                                 "IMPS-612345678901-ANIL KUMAR", "JAMSHEDPUR"),
                TransactionBrief("T29", dt.datetime(2016, 10, 9, 20, 0), 2500.0, "DEBIT", "dining", "SWIGGY", None),
                TransactionBrief("T28", dt.datetime(2016, 10, 5, 11, 0), 1999.0, "DEBIT", "shopping", "AMAZON PAY",
                                 None),
                TransactionBrief("T27", dt.datetime(2016, 10, 4, 8, 0), 3000.0, "DEBIT", "transfers", "ANITA DESAI",
                                 None))
        return rows[:limit] if limit else rows

    def personal_details(self, cid):
        rows = self.transactions(cid) + self.anomalies(cid)
        return PersonalDetails(cid, tuple(sorted({r.location for r in rows if r.location})), (DOB,),
                               tuple(sorted({r.merchant for r in rows if r.merchant})),
                               tuple(sorted({r.merchant for r in self.transactions(cid) if r.category == "transfers"})))


@pytest.fixture
async def server():
    async with FakeOpenAI() as fake:
        yield fake


def _config(base_url: str, share: bool = False) -> Config:
    llm = dataclasses.replace(Config().llm, provider="openai", base_url=base_url, model="fake-model",
                              timeout_s=5.0, share_personal_data=share)
    return dataclasses.replace(Config(), llm=llm)


def _leaks(server: FakeOpenAI) -> list[str]:
    sent = server.sent_text().upper()
    return [s for s in SECRETS if s.upper() in sent]


def _tool_bodies(request: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in request["messages"] if m["role"] == "tool"]


async def test_multi_turn_conversation_sends_no_city_payee_id_or_dob(server) -> None:
    insights = PersonalInsights()
    assistant = build_assistant(_config(server.base_url), insights, classifier=trained_classifier())

    # 1. The model is down: the offline answer (with the payee and the city in it) goes into the history.
    server.push_error(500)
    first = await assistant.answer(OWN, "any unusual transactions?", "c1")
    assert first.source == "offline" and first.fallback == "http 500"
    assert "UPI-TO RAHUL SHARMA" in first.text and "first transaction in KOLKATA" in first.text   # the customer sees it

    # 2. An LLM turn with transaction tools; the customer types their DOB, ID and phone number. The model names
    #    the newest payee by the placeholder it was sent, and the customer reads the real name.
    server.push_tool_call("get_transactions", {"limit": 5}, ("get_unusual_transactions", {}))

    def newest_payee(request: dict) -> str:
        merchant = _tool_bodies(request)[0]["transactions"][0]["merchant"]
        placeholder = re.search(r"\[name \d+\]", merchant).group(0)
        return f"Your latest payment, ₹15,000.00, went to {placeholder}."
    server.push_reply(newest_payee)
    second = await assistant.answer(OWN, f"I am {OWN}, born on 10/1/94, call me on 9876543210. My last payments?",
                                    "c1")
    assert second.source == "llm", second.fallback
    assert second.text == "Your latest payment, ₹15,000.00, went to PRIYA MEHTA."

    # 3. The customer names payees in lower case; 4. offline again (429) with payees in "Largest payments".
    server.push_text("I can only see what the tools return.")
    await assistant.answer(OWN, "did rahul sharma pay me back? and anita?", "c1")
    server.push_error(429, "slow down", "rate_limit_exceeded")
    fourth = await assistant.answer(OWN, "why is my balance low?", "c1")
    assert fourth.source == "offline" and "NEFT/N4455/PRIYA MEHTA" in fourth.text

    # 5. A last LLM turn carries the whole history (offline answers and the restored reply) once more.
    server.push_text("You're welcome!")
    await assistant.answer(OWN, "thanks", "c1")
    history = [m["content"] for m in server.requests[-1]["messages"]]
    assert len(history) == 1 + 2 * 4 + 1                      # system, four remembered turns, the new question

    assert len(server.requests) == 6
    assert _leaks(server) == []
    sent = server.sent_text()
    # What is not personal still flows: brands, amounts, dates, the reasons' wording.
    assert "SWIGGY" in sent and "AMAZON PAY" in sent and "first transaction in [place" in sent
    tool = _tool_bodies(server.requests[2])
    assert [t["amount"] for t in tool[0]["transactions"]] == [15000.0, 8000.0, 2500.0, 1999.0, 3000.0]
    assert not {"location", "customer_id"} & set(tool[0]["transactions"][0])


async def test_redaction_keeps_two_payees_apart(server) -> None:
    insights = PersonalInsights()
    server.push_tool_call("get_transactions", {"limit": 2})
    server.push_text("Done.")
    await build_assistant(_config(server.base_url), insights, classifier=trained_classifier()).answer(
        OWN, "my last two payments?", "c1")
    merchants = [t["merchant"] for t in _tool_bodies(server.requests[1])[0]["transactions"]]
    names = [re.search(r"\[name \d+\]", m).group(0) for m in merchants]
    assert merchants[0].startswith("NEFT/N4455/") and merchants[1].startswith("IMPS-612345678901-")
    assert names[0] != names[1]


async def test_everything_is_sent_when_sharing_is_on(server) -> None:
    server.push_tool_call("get_transactions", {"limit": 1})
    server.push_text("Done.")
    await build_assistant(_config(server.base_url, share=True), PersonalInsights(),
                          classifier=trained_classifier()).answer(OWN, "my last payment?", "c1")
    sent = server.sent_text()
    assert OWN in sent and "PRIYA MEHTA" in sent and "KOLKATA" in sent


@pytest.mark.parametrize("merchant, person", [
    ("UPI-TO RAHUL SHARMA", "RAHUL SHARMA"),
    ("NEFT/N123456789/PRIYA MEHTA", "PRIYA MEHTA"),
    ("IMPS-612345678901-ANIL KUMAR", "ANIL KUMAR"),
    ("IMPS CR FROM SURESH PATEL", "SURESH PATEL"),
    ("UPI/RAJ KUMAR/1234", "RAJ KUMAR"),            # not the shop "RAJ ..." of the merchant list
    ("RENT MR SHARMA", "SHARMA"),
    ("TO PRIYA SINGH", "PRIYA SINGH"),
    ("UPI/9812345678@YBL/VIKRAM REDDY", "VIKRAM REDDY"),
])
def test_payee_names_are_found_in_statement_text(merchant: str, person: str) -> None:
    assert payee_names(merchant) == [person]


@pytest.mark.parametrize("merchant", ["UPI/SWIGGY/4829", "UPI-ZOMATO-1234@YBL", "AMAZON PAY WALLET LOAD",
                                      "NEFT TRANSFER", "SENT TO MOM", "TRANSFER TO SAVINGS", "ZERODHA FUND TRANSFER",
                                      "SIP MUTUAL FUND", "POS 4456 DMART THANE", "SALARY INFOSYS LTD"])
def test_brands_and_generic_transfers_are_no_payees(merchant: str) -> None:
    assert payee_names(merchant) == []


def test_places_in_reasons_and_prose_are_hidden_and_restored() -> None:
    redactor = Redactor(None, OWN)
    text = redactor.text("first transaction in DUBAI; I live in Sitamarhi; ₹2,500.00 at SWIGGY BANGALORE")
    assert "DUBAI" not in text and "Sitamarhi" not in text and "BANGALORE" not in text and "SWIGGY" in text
    assert redactor.restore(text) == "first transaction in DUBAI; I live in Sitamarhi; ₹2,500.00 at SWIGGY BANGALORE"


def test_ordinary_words_survive_redaction() -> None:
    redactor = Redactor(None, OWN)
    text = ("In September 2016 you spent ₹36,000.00; the trend is unknown. Earns 4% a year, with free NEFT/IMPS "
            "and a platinum debit card. You may want to send money to Savings.")
    assert redactor.text(text) == text


# ---- the real facade over a real store -----------------------------------------------------------------
ROWS = """TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,TransactionTime,TransactionAmount (INR),TransactionType,Merchant,Category
T1,C5841053,10/1/94,F,KOLKATA,90000,2/9/16,101500,50000,CREDIT,SALARY INFOSYS LTD,income
T2,C5841053,10/1/94,F,KOLKATA,88800,9/9/16,111500,1200,DEBIT,SWIGGY BANGALORE,dining
T3,C5841053,10/1/94,F,KOLKATA,78800,3/10/16,121500,10000,DEBIT,UPI-TO RAHUL SHARMA,transfers
T4,C5841053,12/2/90,M,SITAMARHI,63800,15/10/16,131500,15000,DEBIT,NEFT/N4455/PRIYA MEHTA,transfers
T5,C5841053,12/2/90,M,SITAMARHI,61800,20/10/16,141500,2000,DEBIT,AMAZON PAY,shopping
T6,C5841053,12/2/90,M,SITAMARHI,58800,21/10/16,151500,3000,DEBIT,ANITA DESAI,transfers
"""


@pytest.fixture
def store_services(tmp_path: Path):
    csv_path = tmp_path / "tx.csv"
    csv_path.write_text(ROWS, encoding="utf-8")
    store = Store(tmp_path / "p.db")
    try:
        ingest_files(store, [csv_path], rejects_path=tmp_path / "rejects.csv")
    finally:
        store.close()
    services = build_services(Config().with_db(tmp_path / "p.db"))
    yield services
    services.close()


def test_facade_personal_details_match_the_rows(store_services) -> None:
    db = store_services.store.db
    details = store_services.insights.personal_details("C5841053")
    assert set(details.locations) == {r[0] for r in db.execute(
        "SELECT DISTINCT location FROM transactions WHERE customer_id = 'C5841053'")} == {"KOLKATA", "SITAMARHI"}
    assert set(details.dobs) == {dt.date(1994, 1, 10), dt.date(1990, 2, 12)}
    assert len(details.merchants) == 6 and "NEFT/N4455/PRIYA MEHTA" in details.merchants
    assert set(details.transfer_merchants) == {r[0] for r in db.execute(
        "SELECT merchant FROM transactions WHERE customer_id = 'C5841053' AND category = 'transfers'")}


async def test_real_store_conversation_sends_nothing_personal(server, store_services) -> None:
    cid = "C5841053"
    assistant = build_assistant(_config(server.base_url), store_services.insights, classifier=trained_classifier())
    server.push_error(503)
    offline = await assistant.answer(cid, "why is my balance low?", "t1")
    assert offline.source == "offline" and format_inr(58800) in offline.text
    assert "NEFT/N4455/PRIYA MEHTA" in offline.text and "UPI-TO RAHUL SHARMA" in offline.text
    server.push_tool_call("get_transactions", {"limit": 5}, ("get_profile", {}))
    server.push_text("You made 6 transactions.")
    reply = await assistant.answer(cid, "I was born on 12/2/90 in Sitamarhi. What did I pay?", "t1")
    assert reply.source == "llm", reply.fallback
    sent = server.sent_text().upper()
    for secret in ("KOLKATA", "SITAMARHI", "RAHUL", "SHARMA", "PRIYA", "MEHTA", "ANITA", "DESAI", cid, "12/2/90",
                   "1990-02-12",
                   "10/1/94", "1994-01-10"):
        assert secret.upper() not in sent, secret
    assert "SWIGGY" in sent and "AMAZON PAY" in sent and "15000" in sent

