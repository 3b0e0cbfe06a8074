"""What may leave for an external LLM: personal details become placeholders in every outgoing message.

With `share_personal_data = false` the LLM client passes every request through one `Redactor` just before it
is sent: the system prompt, the conversation history (offline answers included), the customer's new text and
every tool result. It hides the customer's ID, dates of birth, the places on their rows (and any place word a
reason sentence or a statement line names) and the names of people they pay or are paid by, which banks write
into the merchant text (`UPI-TO RAHUL SHARMA`, `NEFT/N1234/PRIYA MEHTA`, `IMPS-6123-ANIL KUMAR`). Merchant
brands (SWIGGY, AMAZON PAY) stay: they carry the meaning and identify nobody.

Placeholders are numbered per turn (`[place 1]`, `[name 2]`), so the model can still tell two payees apart,
and `restore` puts the real words back into the reply the customer reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from analytics.categorize import DEFAULT_MERCHANTS_PATH, PLACE_WORDS
from analytics.results import PersonalDetails
from analytics.schema import CATEGORIES

# Result keys that are personal in themselves: dropped from tool results (product "name"s are not personal).
PERSONAL_KEYS = frozenset({"customer_id", "location", "age", "age_band", "gender", "dob", "customer_name"})

_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
# Words that appear around payees but name nobody: rails, relations, products, months, categories.
_GENERIC = frozenset("""
TO FROM BY FOR OF THE AND AT IN ON VIA CR DR P2P P2A P2M MMT TRANSFER TRANSFERS TRANSFERRED TRF TFR SENT PAID
PAYMENT PAYMENTS PAY FUND FUNDS SELF OWN ACCOUNT ACC AC A/C SAVINGS SAVING RD FD SIP MUTUAL DEPOSIT RECURRING
INSTALLMENT INSTALMENT WALLET LOAD TOPUP ADD FAMILY MOM DAD MOTHER FATHER WIFE HUSBAND SON DAUGHTER BROTHER
SISTER FRIEND PARENTS HOME LOAN EMI CARD CREDIT DEBIT BILL BANK BANKING INTERNET MOBILE NET UPI IMPS NEFT RTGS
REF TXN ORDER ONLINE POS ATM CASH SALARY REFUND INTEREST CHARGES CHARGE FEE FEES SUPPORT INR RS RENT MR MRS MS
SMT SHRI OTHER OTHERS UNKNOWN NA RECEIVED COLLECT REQUEST REVERSAL
""".split()) | {m.upper() for m in _MONTH_NAMES} | {m[:3].upper() for m in _MONTH_NAMES} | {
    c.upper() for c in CATEGORIES}
_PERSON_TITLES = frozenset({"MR", "MRS", "MS", "SMT", "SHRI", "KUM", "MISS"})
# Place words banks append to statement lines (two-letter state codes and "NEW"/"NAVI" alone say nothing).
_PLACES = frozenset(w for w in PLACE_WORDS if len(w) >= 3 and w not in {"IND", "NEW", "NAVI", "INDIA"})

_UPPER_WORD = r"[A-Z][A-Z.'&]*[A-Z]"
_NAME_RUN = rf"{_UPPER_WORD}(?:\s+{_UPPER_WORD}){{0,3}}"
# A rail token and the upper-case statement text that follows it (stops at lower case, ':', ',', '(' ...).
_RAIL_SPAN = re.compile(r"\b(?:UPI|IMPS|NEFT|RTGS|MMT)\b[A-Z0-9 /*@._&'-]*")
# "TO RAHUL SHARMA", "FROM PRIYA", "MR SHARMA" in upper-case statement text.
_MARKED_NAME = re.compile(rf"\b(?P<marker>TO|FROM|MR|MRS|MS|SMT|SHRI)\.?[ /:-]+(?P<name>{_NAME_RUN})")
# Prose: "sent ₹5,000 to Rahul Sharma", "received money from Priya".
_PROSE_NAME = re.compile(
    r"\b(?i:sent|send|sending|paid|pay|paying|transferred|transfer|transferring|gave|give|received|got|owe|lent)"
    r"\b[^.\n]{0,40}?\b(?:to|from)\s+(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})\b")
# Reason sentences name places in capitals: "first transaction in DUBAI", "... at 2:05 AM in NEW DELHI is".
_PLACE_AFTER_IN = re.compile(rf"\b[Ii]n\s+(?P<name>{_NAME_RUN})\b")
_CUSTOMER_ID = re.compile(r"\b[Cc]\d{3,}\b")
_CONTACT = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z][\w-]*(?:\.[\w-]+)*")   # starts at a token: linear
_PHONE = re.compile(r"(?<![\d,.])(?:\+91[\s-]?)?[6-9]\d{9}(?![\d,])")
_DATE_WORDS = r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+\d{2,4}|" \
              r"[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{2,4}"
_BIRTH = re.compile(rf"\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?)\b\s*"
                    rf"(?:is|was|:|-)?\s*(?P<name>{_DATE_WORDS})", re.IGNORECASE)
_TITLE_NAME = r"[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}"
_MY_NAME = re.compile(rf"\b(?i:my\s+name\s+is|mera\s+naam|i\s+am\s+called)\s+(?P<name>{_TITLE_NAME})")
# "I live in Sitamarhi", "we moved to Pune": a home town in prose, which no list can know.
_HOME_PLACE = re.compile(rf"\b(?i:live|living|stay|staying|based|moved|shifted|relocated|born|hometown|native)"
                         rf"\b[^.\n]{{0,20}}?\b(?:in|to|at|from|of)\s+(?P<name>{_TITLE_NAME})\b")
PLACEHOLDER = re.compile(r"\[(?:name|place|customer ID|date of birth|contact|phone) \d+\]", re.IGNORECASE)


@functools.lru_cache(maxsize=2)
def brand_prefixes(path: Path = DEFAULT_MERCHANTS_PATH) -> frozenset[tuple[str, ...]]:
    """Known merchant brands as their first one or two words ("SWIGGY", "AMAZON PAY", "RAJ MEDICALS").

    Two words where the brand has two, so a payee "RAJ KUMAR" is not mistaken for the shop "RAJ MEDICALS";
    the person entries of the merchant list ("TO RAHUL SHARMA", "SENT TO MOM") are no brands.
    """
    prefixes: set[tuple[str, ...]] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            words = _words(row.get("merchant") or "")
            if not words or words[0] in ("TO", "SENT", "FROM") or _PERSON_TITLES & set(words):
                continue
            signal = [w for w in words if w not in _GENERIC and not w.isdigit()]
            if signal:
                prefixes.add(tuple(signal[:2]))
    return frozenset(prefixes)


def _is_brand(words: list[str]) -> bool:
    """Do these words start with a known brand ("ZERODHA", "RAJ MEDICALS"; generic words ignored)?"""
    signal = [w for w in words if w not in _GENERIC and not w.isdigit()]
    known = brand_prefixes()
    return bool(signal) and (tuple(signal[:1]) in known or tuple(signal[:2]) in known)


def _words(text: str) -> list[str]:
    return re.sub(r"[^A-Z0-9 ]+", " ", text.upper()).split()


def person_words(segment: str) -> str | None:
    """The personal part of one piece of a transfer line ("TO RAHUL SHARMA" -> "RAHUL SHARMA"), if any."""
    words = [w for w in _words(segment) if 2 * sum(c.isdigit() for c in w) < len(w)]
    while words and words[0] in _GENERIC:
        words = words[1:]
    while words and words[-1] in _GENERIC | _PLACES:
        words = words[:-1]
    if not words or _is_brand(words) or all(w in _GENERIC | _PLACES for w in words):
        return None
    return " ".join(words)


def payee_names(merchant: str) -> list[str]:
    """Names of people in a merchant text: after a rail (UPI/NEFT/IMPS/RTGS), TO/FROM or a title (MR, SMT)."""
    text = merchant.upper()
    found: list[str] = []
    for m in _MARKED_NAME.finditer(text):
        name = m.group("name")
        if m.group("marker") in _PERSON_TITLES:
            words = [w for w in _words(name) if w not in _GENERIC]
            if words:
                found.append(" ".join(words))
        elif (person := person_words(name)) is not None:
            found.append(person)
    for m in _RAIL_SPAN.finditer(text):
        span = re.sub(r"@[A-Z0-9.]+", " ", m.group(0))               # the bank's UPI handle (@YBL) is no name
        for segment in re.split(r"[/*|-]+", span):       # "NEFT", "N1234", "PRIYA MEHTA"
            if (person := person_words(segment)) is not None:
                found.append(person)
    return list(dict.fromkeys(found))


def dob_forms(day: dt.date) -> list[str]:
    """The ways a date of birth gets written: 10/1/94, 10-01-1994, 1994-01-10, 10 Jan 1994, January 10, 1994."""
    d, m, y, yy = day.day, day.month, day.year, f"{day.year % 100:02d}"
    month = _MONTH_NAMES[m - 1].capitalize()
    forms = [day.isoformat()]
    for sep in "/-.":
        for first, second in ((d, m), (m, d)):
            for a, b in ((str(first), str(second)), (f"{first:02d}", f"{second:02d}")):
                forms += [f"{a}{sep}{b}{sep}{yy}", f"{a}{sep}{b}{sep}{y}"]
    for name in (month, month[:3]):
        forms += [f"{d} {name} {y}", f"{d} {name}, {y}", f"{name} {d}, {y}", f"{name} {d} {y}", f"{d} {name} {yy}"]
    return list(dict.fromkeys(forms))


_CARD_NUMBER = re.compile(r"(?<![\d.])(?<!\d,)(?:\d[ -]?){11,18}\d(?!\d|,\d)")


def remove_birth_dates(text: str, dobs: Iterable[dt.date] = ()) -> str:
    """Text with dates of birth and card or account numbers taken out, for people inside the bank.

    A date of birth is the answer to identity questions, so it never goes into a shared staff chat: every
    written form of the customer's own DOBs (`dob_forms`) and any date after "dob", "born", "birthday" become
    "[date of birth removed]". Runs of 12-19 digits (a card or account number) keep only their last four.
    """
    forms = sorted({f for day in dobs for f in dob_forms(day)}, key=len, reverse=True)
    if forms:
        known = "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in forms)
        text = re.sub(rf"(?<![\w/.-])(?:{known})(?![\w/-]|\.\d)", "[date of birth removed]", text, flags=re.I)
    text = _BIRTH.sub(lambda m: m.group(0)[: m.start("name") - m.start(0)] + "[date of birth removed]", text)
    return _CARD_NUMBER.sub(lambda m: "[number ending " + re.sub(r"\D", "", m.group(0))[-4:] + "]", text)


class Redactor:
    """Replaces one customer's personal details with numbered placeholders; `restore` undoes it for a reply.

    Known details (from the store: the ID, dates of birth, places on their rows, payee names in their merchant
    texts, plus `extra_terms` the conversation hid before) are scrubbed wherever they appear, in any case.
    Patterns catch what the store cannot know: customer IDs, payees on statement lines and in prose, places in
    reason sentences and "I live in ...", "born on ...", "my name is ...", phone numbers, e-mail / UPI addresses.
    """

    def __init__(self, details: PersonalDetails | None, customer_id: str,
                 extra_terms: Iterable[tuple[str, str]] = ()) -> None:
        self._placeholders: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}
        self._known: dict[str, str] = {}          # lower-cased term -> kind
        self.hidden: dict[str, str] = {}          # every value replaced so far -> kind (the conversation keeps it)
        self._pattern: re.Pattern[str] | None = None
        for place in _PLACES:
            self._add(place, "place")
        self._add(customer_id, "customer ID")
        for term, kind in extra_terms:
            self._add(term, kind)
        if details is not None:
            for place in details.locations:
                self._add(place, "place")
                for word in _words(place):
                    if word in _PLACES:
                        self._add(word, "place")
            for day in details.dobs:
                for form in dob_forms(day):
                    self._add(form, "date of birth")
            names = [n for merchant in details.merchants for n in payee_names(merchant)]
            names += [n for merchant in details.transfer_merchants if (n := person_words(merchant))]
            for name in names:
                self._add_name(name)
        self._compile()

    def _add_name(self, name: str) -> None:
        """A payee's whole name, and its longer words alone ("did Rahul pay me back?")."""
        self._add(name, "name")
        for word in name.split():
            if len(word) >= 4 and word not in _GENERIC and word not in _PLACES:
                self._add(word, "name")

    def _add(self, term: str | None, kind: str) -> None:
        term = re.sub(r"\s+", " ", (term or "").strip())
        if len(term) >= 3 and not term.isdigit() and not PLACEHOLDER.fullmatch(term):
            self._known.setdefault(term.lower(), kind)

    def _compile(self) -> None:
        """One pattern for words (names, places, IDs) and one for dates, whose edges are digits: "10/1/94" must
        not match inside "110/1/945", but "PRIYA" must match after the "/" of "NEFT/N4455/PRIYA"."""
        terms = sorted(self._known, key=len, reverse=True)
        words = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in terms if t[0].isalpha() and t[-1].isalnum())
        dates = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in terms if not (t[0].isalpha() and t[-1].isalnum()))
        parts = ([rf"(?<!\w)(?:{words})(?!\w)"] if words else []) + \
            ([rf"(?<![\w/.-])(?:{dates})(?![\w/-]|\.\d)"] if dates else [])
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def learn(self, terms: Iterable[tuple[str, str]]) -> None:
        """More (value, kind) pairs to hide everywhere, e.g. a city found under a tool result's `location`."""
        before = len(self._known)
        for term, kind in terms:
            if kind == "name":
                self._add_name(term)
            else:
                self._add(term, kind)
        if len(self._known) != before:
            self._compile()

    # ---- placeholders ----------------------------------------------------------------------------------
    def _placeholder(self, original: str, kind: str) -> str:
        original = re.sub(r"\s+", " ", original.strip())
        key = (kind, original.lower())
        placeholder = self._placeholders.get(key)
        if placeholder is None:
            number = 1 + sum(1 for k, _ in self._placeholders if k == kind)
            placeholder = f"[{kind} {number}]"
            self._placeholders[key] = placeholder
            self._originals[placeholder.lower()] = original
        self.hidden.setdefault(original, kind)
        return placeholder

    def restore(self, text: str) -> str:
        """The reply with the real words back in place of the placeholders the model repeated."""
        if not self._originals:
            return text
        return PLACEHOLDER.sub(lambda m: self._originals.get(m.group(0).lower(), m.group(0)), text)

    # ---- text ------------------------------------------------------------------------------------------
    def text(self, value: str) -> str:
        """Free text with every personal detail replaced (idempotent: placeholders are left alone)."""
        if self._pattern is not None:
            value = self._pattern.sub(lambda m: self._placeholder(m.group(0), self._kind(m.group(0))), value)
        value = _BIRTH.sub(lambda m: self._swap(m, "date of birth"), value)
        value = _CONTACT.sub(self._contact, value)
        value = _PHONE.sub(lambda m: self._placeholder(m.group(0), "phone"), value)
        value = _CUSTOMER_ID.sub(lambda m: self._placeholder(m.group(0), "customer ID"), value)
        value = self._statement_names(value)
        value = _PROSE_NAME.sub(lambda m: self._swap(m, "name", check=True), value)
        value = _MY_NAME.sub(lambda m: self._swap(m, "name"), value)
        value = _HOME_PLACE.sub(lambda m: self._swap(m, "place", check=True), value)
        return _PLACE_AFTER_IN.sub(self._place_after_in, value)

    def _kind(self, matched: str) -> str:
        return self._known.get(re.sub(r"\s+", " ", matched).lower(), "name")

    def _swap(self, m: re.Match[str], kind: str, check: bool = False) -> str:
        name = m.group("name")
        if check and person_words(name) is None:
            return m.group(0)
        start, end = m.start("name") - m.start(0), m.end("name") - m.start(0)
        whole = m.group(0)
        return whole[:start] + self._placeholder(name, kind) + whole[end:]

    def _contact(self, m: re.Match[str]) -> str:
        local = m.group(0).split("@", 1)[0]
        if _is_brand(_words(local)):
            return m.group(0)                      # swiggy@icici, UPI-ZOMATO-1234@YBL: a shop's address
        return self._placeholder(m.group(0), "contact")

    def _statement_names(self, value: str) -> str:
        names: set[str] = set()
        for span in _RAIL_SPAN.finditer(value):
            names.update(payee_names(span.group(0)))
        for m in _MARKED_NAME.finditer(value):
            names.update(payee_names(m.group(0)))
        if not names:
            return value
        body = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(names, key=len, reverse=True))
        return re.sub(rf"(?<!\w)(?:{body})(?!\w)", lambda m: self._placeholder(m.group(0), "name"), value)

    def _place_after_in(self, m: re.Match[str]) -> str:
        words = _words(m.group("name"))
        if not words or all(w in _GENERIC for w in words) or _is_brand(words):
            return m.group(0)
        return self._swap(m, "place")

    # ---- structured values -----------------------------------------------------------------------------
    def value(self, value: Any) -> Any:
        """A copy without personal keys; values seen under them (a transaction's city, the person a transfer
        went to) are scrubbed everywhere."""
        self.learn(_personal_strings(value))
        return self._scrub(value)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items() if k not in PERSONAL_KEYS}
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def message(self, message: dict[str, Any]) -> dict[str, Any]:
        """One outgoing chat message with everything personal replaced (tool results parsed as JSON)."""
        out = dict(message)
        content = out.get("content")
        if isinstance(content, str):
            if out.get("role") == "tool":
                try:
                    out["content"] = json.dumps(self.value(json.loads(content)), ensure_ascii=False)
                except json.JSONDecodeError:
                    out["content"] = self.text(content)
            else:
                out["content"] = self.text(content)
        if out.get("tool_calls"):
            out["tool_calls"] = [
                {**call, "function": {**call["function"], "arguments": self.text(call["function"]["arguments"] or "")}}
                for call in out["tool_calls"]]
        return out

    def messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The whole outgoing conversation, redacted: what `LLMClient` sends when sharing is off.

        Tool results are read for personal values first, so a city that only a tool named this turn is
        scrubbed from the history before it as well.
        """
        for m in messages:
            if m.get("role") == "tool" and isinstance(m.get("content"), str):
                try:
                    self.learn(_personal_strings(json.loads(m["content"])))
                except json.JSONDecodeError:
                    pass
        return [self.message(m) for m in messages]


_KEY_KINDS = {"customer_id": "customer ID", "location": "place", "dob": "date of birth", "customer_name": "name"}


def drop_personal(value: Any) -> Any:
    """A copy without the personal keys (text untouched): what the grounding check may count as the tools' facts."""
    if isinstance(value, dict):
        return {k: drop_personal(v) for k, v in value.items() if k not in PERSONAL_KEYS}
    if isinstance(value, list):
        return [drop_personal(v) for v in value]
    return value


def _personal_strings(value: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        merchant = value.get("merchant")
        if value.get("category") == "transfers" and isinstance(merchant, str) and (name := person_words(merchant)):
            found.append((name, "name"))              # a transfer to a plain "ANITA DESAI"
        for k, v in value.items():
            if k in _KEY_KINDS and isinstance(v, str):
                found.append((v, _KEY_KINDS[k]))
            elif isinstance(v, dict | list):
                found += _personal_strings(v)
    elif isinstance(value, list):
        for v in value:
            found += _personal_strings(v)
    return found
