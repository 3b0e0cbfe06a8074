"""The grounding check: every amount, percentage and date in a model's reply must come from this turn's tools."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
           "nov": 11, "dec": 12}
_MON = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = (
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[ t]\d{2}:\d{2}(?::\d{2})?)?\b"), "ymd"),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON},?\s+(\d{{4}})\b", re.I), "dmy"),
    (re.compile(rf"\b{_MON}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), "mdy"),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), "dmy_num"),
)
_MONTH_PATTERNS = (
    (re.compile(rf"\b{_MON},?\s+(\d{{4}})\b", re.I), "my"),
    (re.compile(r"\b(\d{4})-(0[1-9]|1[0-2])\b"), "ym"),
)
_MULT = {"k": 1e3, "thousand": 1e3, "lakh": 1e5, "lakhs": 1e5, "lac": 1e5, "l": 1e5, "crore": 1e7, "crores": 1e7,
         "cr": 1e7}
_NUMBER = re.compile(
    r"(?P<cur>₹|\brs\.?|\binr)?\s*(?P<sign>[-+−])?(?P<num>\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s*(?P<mult>lakhs?|lac|crores?|cr|thousand|k|l)\b)?(?P<pct>\s*%| percent)?",
    re.IGNORECASE,
)
SMALL_COUNT = 31   # bare integers up to this are counts, days, list positions: not checked


@dataclass
class Facts:
    """Every number, date and month a tool returned this turn (plus numbers the customer typed)."""

    numbers: list[float] = field(default_factory=list)
    dates: set[dt.date] = field(default_factory=set)
    months: set[tuple[int, int]] = field(default_factory=set)

    def add(self, value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int | float):
            self.numbers.append(float(value))
        elif isinstance(value, str):
            self._add_text(value)
        elif isinstance(value, dict):
            for v in value.values():
                self.add(v)
        elif isinstance(value, list | tuple):
            for v in value:
                self.add(v)

    def _add_text(self, text: str) -> None:
        for day in find_dates(text)[0]:
            self.dates.add(day)
            self.months.add((day.year, day.month))
        for ym in find_months(text)[0]:
            self.months.add(ym)
        for value, _tol, _pct in find_numbers(text):
            self.numbers.append(value)


def collect(results: Iterable[Any], user_text: str = "") -> Facts:
    facts = Facts()
    for r in results:
        facts.add(r)
    facts.add(user_text)
    return facts


def _date(kind: str, groups: tuple[str, ...]) -> dt.date | None:
    try:
        if kind == "ymd":
            return dt.date(int(groups[0]), int(groups[1]), int(groups[2]))
        if kind == "dmy":
            return dt.date(int(groups[2]), _MONTHS[groups[1][:3].lower()], int(groups[0]))
        if kind == "mdy":
            return dt.date(int(groups[2]), _MONTHS[groups[0][:3].lower()], int(groups[1]))
        return dt.date(int(groups[2]), int(groups[1]), int(groups[0]))
    except (ValueError, KeyError):
        return None


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for s, e in spans:
        text = text[:s] + " " * (e - s) + text[e:]
    return text


def find_dates(text: str) -> tuple[list[dt.date], str]:
    """Dates in the text, and the text with them blanked out."""
    found, spans = [], []
    for pattern, kind in _DATE_PATTERNS:
        for m in pattern.finditer(_blank(text, spans)):
            day = _date(kind, m.groups())
            if day is not None:
                found.append(day)
                spans.append(m.span())
    return found, _blank(text, spans)


def find_months(text: str) -> tuple[list[tuple[int, int]], str]:
    found, spans = [], []
    for pattern, kind in _MONTH_PATTERNS:
        for m in pattern.finditer(_blank(text, spans)):
            if kind == "my":
                found.append((int(m.group(2)), _MONTHS[m.group(1)[:3].lower()]))
            else:
                found.append((int(m.group(1)), int(m.group(2))))
            spans.append(m.span())
    return found, _blank(text, spans)


def find_numbers(text: str) -> list[tuple[float, float, bool]]:
    """(value, tolerance from the precision shown, is_percentage) for every number in the text."""
    out = []
    for m in _NUMBER.finditer(text):
        raw = m.group("num").replace(",", "")
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        unit = 10.0 ** -decimals
        value = float(raw)
        mult = (m.group("mult") or "").lower()
        if mult:
            value *= _MULT[mult]
            unit *= _MULT[mult]
        if m.group("pct"):
            tolerance = (unit / 2 if decimals else 0.5) + 1e-9      # "30%" covers 29.5-30.5%
        else:
            tolerance = max(unit / 2, 0.5) + 1e-9                    # rounding to the rupee is fine
        out.append((value, tolerance, bool(m.group("pct"))))
    return out


def _currency_marked(text: str) -> set[int]:
    return {m.start("num") for m in _NUMBER.finditer(text) if m.group("cur") or m.group("mult")}


def ungrounded(reply: str, facts: Facts) -> list[str]:
    """The amounts, percentages and dates in `reply` that no tool returned; [] means the reply is grounded."""
    problems: list[str] = []
    days, rest = find_dates(reply)
    problems += [d.isoformat() for d in days if d not in facts.dates]
    months, rest = find_months(rest)
    problems += [f"{y:04d}-{m:02d}" for y, m in months if (y, m) not in facts.months]
    marked = _currency_marked(rest)
    fact_years = {d.year for d in facts.dates} | {y for y, _ in facts.months}
    for m in _NUMBER.finditer(rest):
        (value, tolerance, is_pct), = find_numbers(m.group(0).strip()) or [(0.0, 0.5, False)]
        if value == 0:
            continue
        if is_pct:
            if not any(abs(value - 100 * v) <= tolerance or abs(value - v) <= tolerance for v in facts.numbers):
                problems.append(m.group(0).strip())
            continue
        is_money = m.start("num") in marked or "," in m.group("num")
        if not is_money and float(value).is_integer():
            if value <= SMALL_COUNT or int(value) in fact_years:
                continue
        if not any(abs(abs(value) - abs(v)) <= tolerance for v in facts.numbers):
            problems.append(m.group(0).strip())
    return problems
