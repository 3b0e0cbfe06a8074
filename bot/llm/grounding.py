"""The grounding check: every figure in a model's reply must be a value of the same kind a tool returned this turn.

A figure is an amount (₹36,000, 36k, 1.5 lakh, "thirty-six thousand rupees"), a percentage, a count ("9
payments"), a multiple ("12×"), a date (with or without its year), a month, a year or a clock time. Each binds
only to a tool value of its own kind: a percentage to a share or rate, an amount to an amount (within the
rounding the reply shows), a count to a count or a list's length. Numbers the customer typed ground nothing.
Where a tool value has a sign (a change, net savings, a surplus), the reply's words must not flip it: "up" or
"saved" for a negative value, "down" or "overspent" for a positive one, fail.

Everything runs in one left-to-right pass over the tokens with bounded look-around, so the check is linear in
the reply's length; the assistant still runs it in a worker thread and caps the reply's size first.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_MONTH_WORDS = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
                "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
                "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12}
_MONTH_CUES = frozenset({"in", "for", "of", "during", "since", "from", "to", "until", "till", "and", "vs", "by",
                         "between", "through", "or", "last", "this", "next", "early", "late", "mid", "end"})
_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}
_SCALES = {"hundred": 100.0, "thousand": 1e3, "lakh": 1e5, "lakhs": 1e5, "lac": 1e5, "lacs": 1e5, "crore": 1e7,
           "crores": 1e7, "million": 1e6, "billion": 1e9}
_SUFFIX_MULT = {"k": 1e3, "l": 1e5, "cr": 1e7, "mn": 1e6, "bn": 1e9, **_SCALES}
_CURRENCY_BEFORE = frozenset({"₹", "rs", "inr", "rupees", "rupee"})
_CURRENCY_AFTER = frozenset({"rupees", "rupee", "rs", "inr"})
_COUNT_NOUNS = frozenset("""
transaction transactions payment payments purchase purchases debit debits credit credits month months day days
week weeks year years categories category product products offer offers alert alerts visit visits order orders
item items deposit deposits withdrawal withdrawals transfer transfers bill bills subscription subscriptions charge
charges account accounts card cards minute minutes hour hours second seconds time entries entry merchant merchants
""".split())
_TIMES_WORDS = frozenset({"times", "x", "×", "fold"})
_UP = frozenset("up rose risen rise rising increase increased increasing grew grown higher more saved save saving "
                "savings surplus gained gain climbed jumped added".split())
_DOWN = frozenset("down fell fallen fall falling decrease decreased decreasing dropped drop lower less overspent "
                  "overspend deficit lost loss declined shrank negative short".split())
_STOP = frozenset({".", ";", "!", "?", "\n", "•", "(", ")"})
_ORDINAL = frozenset({"st", "nd", "rd", "th"})
_RANK_WORDS = frozenset({"top", "first", "biggest", "largest", "main", "highest", "latest", "recent", "newest"})

# Tool result keys by kind; any other number is an amount. Signed keys keep their sign for the direction check.
PERCENT_KEYS = frozenset({"share", "change", "score", "rate", "risk", "probability", "ratio", "pct", "percent"})
COUNT_KEYS = frozenset({"count", "months_used", "months_to_save", "recency_days", "frequency_per_month", "segment",
                        "rfm_recency", "rfm_frequency", "rfm_monetary", "limit", "age"})


def _key_kind(key: str) -> str:
    if key in PERCENT_KEYS or key.endswith(("_share", "_rate", "_pct", "_percent")):
        return "percent"
    if key in COUNT_KEYS or key.startswith(("n_", "months_", "num_")) or key.endswith(("_count", "_days", "_months")):
        return "count"
    return "amount"


def _signed_key(key: str) -> bool:
    return "change" in key or key.startswith("net_") or "surplus" in key or key in ("balance_after", "delta", "net")


_TOKEN = re.compile(r"(?P<num>\d+(?:,\d+)*(?:\.\d+)?)|(?P<word>[^\W\d_]+)|(?P<sym>[^\s\w])|(?P<nl>\n)")


@dataclass(frozen=True)
class _Tok:
    kind: str        # "num", "word", "sym", "nl"
    text: str        # lower-cased for words
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "sym"
        raw = m.group(0)
        out.append(_Tok("sym" if kind == "nl" else kind, raw.lower() if kind == "word" else raw, m.start(), m.end()))
    return out


@dataclass(frozen=True)
class Figure:
    """One figure as written: its kind, value, the rounding its display allows and the direction its words state."""

    kind: str                 # amount percent count rank number multiple date month year time day
    value: Any                # float; (year|None, month, day); (year|None, month); int; (hour, minute)
    tolerance: float = 0.0
    sign: int = 0             # +1 / -1 when the text states a direction or a sign, else 0
    text: str = ""


class _Parser:
    """One pass over the tokens of a text, turning runs of them into figures."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.figures: list[Figure] = []

    # ---- token helpers ---------------------------------------------------------------------------------
    def tok(self, i: int) -> _Tok | None:
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def is_(self, i: int, *texts: str) -> bool:
        t = self.tok(i)
        return t is not None and t.text in texts

    def adjacent(self, i: int) -> bool:
        """Token i starts where token i-1 ends (no space between)."""
        a, b = self.tok(i - 1), self.tok(i)
        return a is not None and b is not None and a.end == b.start

    def num(self, i: int, digits: tuple[int, int] = (1, 99)) -> int | None:
        t = self.tok(i)
        if t is None or t.kind != "num" or not t.text.isdigit() or not digits[0] <= len(t.text) <= digits[1]:
            return None
        return int(t.text)

    def month_word(self, i: int) -> int | None:
        t = self.tok(i)
        if t is None or t.kind != "word":
            return None
        return _MONTH_WORDS.get(t.text)

    # ---- the pass --------------------------------------------------------------------------------------
    def run(self) -> list[Figure]:
        i = 0
        while i < len(self.toks):
            t = self.toks[i]
            if t.kind == "num":
                i = self._numeric(i)
            elif t.kind == "word" and self.month_word(i) is not None:
                i = self._month_first(i)
            elif t.kind == "word" and (t.text in _UNITS or t.text in _TENS or t.text in _SCALES
                                       or (t.text == "a" and self.is_(i + 1, *_SCALES))):
                i = self._number_words(i)
            else:
                i += 1
        return self.figures

    def add(self, kind: str, value: Any, first: int, last: int, tolerance: float = 0.0, sign: int = 0) -> None:
        self.figures.append(Figure(kind, value, tolerance, sign,
                                   self.text[self.toks[first].start:self.toks[last].end]))

    def _year(self, i: int) -> int | None:
        year = self.num(i, (4, 4))
        return year if year is not None and 1900 <= year <= 2099 else None

    def _numeric(self, i: int) -> int:
        prev = self.tok(i - 1)
        if prev is not None and self.adjacent(i) and (prev.kind == "word" or (
                prev.text in ("-", "/") and self.adjacent(i - 1) and self.tok(i - 2) is not None
                and self.tok(i - 2).kind == "word")):
            return i + 1          # part of a name or ID: C1001, T20, COVID-19, DREAM11
        # 2016-09-14 [14:32[:00]] and 2016-09
        year = self._year(i)
        if year is not None and self.is_(i + 1, "-") and self.adjacent(i + 1) and self.adjacent(i + 2):
            month = self.num(i + 2, (1, 2))
            if month is not None and 1 <= month <= 12:
                day = self.num(i + 4, (1, 2)) if self.is_(i + 3, "-") and self.adjacent(i + 3) and self.adjacent(i + 4) \
                    else None
                if day is not None:
                    self._date(year, month, day, i, i + 4)
                    j = i + 5
                    if self.is_(j, "t") and self.adjacent(j):
                        j += 1
                    return self._time(j) or j
                self.add("month", (year, month), i, i + 2)
                return i + 3
        # 14/9/2016, 14/09/16 and 09/2016
        if self.is_(i + 1, "/") and self.adjacent(i + 1) and self.adjacent(i + 2) and self.num(i, (1, 2)) is not None:
            first, second = self.num(i), self.num(i + 2, (1, 4))
            if second is not None and self.is_(i + 3, "/") and self.adjacent(i + 3) and self.adjacent(i + 4):
                year = self.num(i + 4, (2, 4))
                if year is not None and second <= 12:
                    year = year if year >= 100 else (2000 + year if year < 50 else 1900 + year)
                    self._date(year, second, first, i, i + 4)
                    return i + 5
            if second is not None and second >= 1900 and first is not None and 1 <= first <= 12:
                self.add("month", (second, first), i, i + 2)
                return i + 3
        # 2:05 [pm]
        after_time = self._time(i)
        if after_time:
            return after_time
        # 14 Sep [2016], 14th of September, 3rd Oct
        day = self.num(i, (1, 2))
        j = i + 1
        if day is not None and self.is_(j, *_ORDINAL) and self.adjacent(j):
            j += 1
        if day is not None and self.is_(j, "of"):
            j += 1
        month = self.month_word(j)
        if day is not None and 1 <= day <= 31 and month is not None:
            k = j + 1
            if self.is_(k, ".") and self.adjacent(k):
                k += 1
            comma = self.is_(k, ",")
            year = self._year(k + 1 if comma else k)
            if year is not None:
                last = k + 1 if comma else k
                self._date(year, month, day, i, last)
                return last + 1
            self._date(None, month, day, i, j)
            return j + 1
        if day is not None and self.is_(i + 1, *_ORDINAL) and self.adjacent(i + 1):
            # a bare ordinal: "on the 14th" is a day of a month; "your 2nd biggest" is a rank, not a figure
            if self.is_(i - 1, "the") and self.is_(i - 2, "on"):
                self.add("day", day, i, i + 1)
            return i + 2
        return self._quantity(i)

    def _time(self, i: int) -> int | None:
        """The index after a clock time at i (2:05, 14:32:00, 2:05 AM), or None when there is none."""
        hour, minute = self.num(i, (1, 2)), self.num(i + 2, (2, 2))
        if hour is None or minute is None or not (self.is_(i + 1, ":") and self.adjacent(i + 1)
                                                   and self.adjacent(i + 2)) or hour > 23 or minute > 59:
            return None
        j = i + 3
        if self.is_(j, ":") and self.adjacent(j) and self.num(j + 1, (2, 2)) is not None:
            j += 2
        if self.is_(j, "am", "pm", "a", "p") and hour <= 12:
            hour = hour % 12 + (12 if self.toks[j].text[0] == "p" else 0)
            j += 1
            while self.is_(j, ".", "m") and self.adjacent(j):
                j += 1
        self.add("time", (hour, minute), i, j - 1)
        return j

    def _date(self, year: int | None, month: int, day: int, first: int, last: int) -> None:
        try:
            dt.date(year or 2000, month, day)
        except ValueError:
            return
        self.add("date", (year, month, day), first, last)

    def _month_first(self, i: int) -> int:
        month = self.month_word(i)
        assert month is not None
        j = i + 1
        if self.is_(j, ".") and self.adjacent(j):
            j += 1
        day = self.num(j, (1, 2))
        if day is not None and 1 <= day <= 31 and not self.is_(j + 1, ":", "%", *_COUNT_NOUNS):
            k = j + 1
            if self.is_(k, *_ORDINAL) and self.adjacent(k):
                k += 1
            comma = self.is_(k, ",")
            year = self._year(k + 1 if comma else k)
            if year is not None:
                last = k + 1 if comma else k
                self._date(year, month, day, i, last)
                return last + 1
            self._date(None, month, day, i, k - 1)
            return k
        k = j + 1 if self.is_(j, ",", "'") else j
        year = self._year(k)
        if year is not None:
            self.add("month", (year, month), i, k)
            return k + 1
        word = self.toks[i].text
        if word in ("may", "mar", "march") and not self.is_(i - 1, *_MONTH_CUES):
            return i + 1          # "you may want to", "don't mar": a verb, not a month
        self.add("month", (None, month), i, i)
        return i + 1

    def _line_start(self, i: int) -> bool:
        before = self.text[:self.toks[i].start]
        cut = max(before.rfind("\n"), -1)
        return before[cut + 1:].strip() in ("", "-", "*", "•")

    def _quantity(self, i: int) -> int:
        t = self.toks[i]
        raw = t.text.replace(",", "")
        value = float(raw)
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        unit = 10.0 ** -decimals
        j = i + 1
        # a numbered list: "1. ", "2) " at the start of a line
        if decimals == 0 and self.is_(j, ".", ")") and self.adjacent(j) and self._line_start(i):
            return j + 1
        mult = self.tok(j)
        if mult is not None and mult.kind == "word" and mult.text in _SUFFIX_MULT and (
                self.adjacent(j) or mult.text in _SCALES or mult.text == "cr"):
            value *= _SUFFIX_MULT[mult.text]
            unit *= _SUFFIX_MULT[mult.text]
            j += 1
        return self._classify(i, j, value, unit, scaled=j > i + 1, grouped="," in t.text)

    def _number_words(self, i: int) -> int:
        """ "one crore", "five lakh", "twenty-five thousand", "one point five lakh", "a lakh", "ten percent"."""
        total, current, part_unit, unit, scaled, j = 0.0, 0.0, 1.0, 1.0, False, i
        smallest_scale, part_start, end_before, unit_before_part = float("inf"), i, None, 1.0
        if self.is_(j, "a"):
            current, j = 1.0, j + 1
        while (t := self.tok(j)) is not None:
            if current == 0 and t.kind == "word" and t.text != "and":
                part_start, unit_before_part = j, unit
            if t.text == "-" and self.adjacent(j) and self.is_(j + 1, *_UNITS) and self.adjacent(j + 1):
                j += 1
                continue
            if t.kind != "word":
                break
            if t.text in _UNITS or t.text in _TENS:
                current += _UNITS.get(t.text, _TENS.get(t.text, 0))
                part_unit = unit = 1.0
            elif t.text == "point" and self.is_(j + 1, *_UNITS):
                digits = 0
                while self.is_(j + 1, *_UNITS) and _UNITS[self.toks[j + 1].text] < 10:
                    digits += 1
                    current += _UNITS[self.toks[j + 1].text] / 10 ** digits
                    j += 1
                part_unit = unit = 10.0 ** -digits
            elif t.text == "hundred":
                current = max(current, 1.0) * 100
                part_unit = unit = 100.0 if part_unit >= 1 else 100 * part_unit
                scaled = True
            elif t.text in _SCALES:
                if _SCALES[t.text] >= smallest_scale:       # "five thousand and twelve thousand": two numbers
                    end_before = part_start
                    break
                smallest_scale = _SCALES[t.text]
                total += max(current, 1.0) * _SCALES[t.text]
                unit = part_unit * _SCALES[t.text]
                current, part_unit, scaled = 0.0, 1.0, True
            elif not (t.text == "and" and j > i and self.is_(j + 1, *_UNITS, *_TENS)):
                break
            j += 1
        if end_before is not None:
            j = end_before - 1 if self.is_(end_before - 1, "and") else end_before
            current, unit = 0.0, unit_before_part
        if j == i:
            return i + 1
        return self._classify(i, j, total + current, unit, scaled=scaled, grouped=False, words=True)

    def _classify(self, first: int, j: int, value: float, unit: float, scaled: bool, grouped: bool,
                  words: bool = False) -> int:
        """Decide what the number starting at `first` (ending before token j) is, from what surrounds it."""
        start = first
        sign = 0
        prev = self.tok(first - 1)
        currency = False
        # ₹ -5,000 / -₹5,000 / Rs. 5,000 / INR 5,000
        k = first - 1
        if prev is not None and prev.text in ("-", "−", "+") and self.adjacent(first):
            sign = -1 if prev.text != "+" else 1
            k -= 1
        if self.is_(k, ".") and self.is_(k - 1, "rs"):
            k -= 1
        if self.is_(k, *_CURRENCY_BEFORE):
            currency = True
            start = k
            if sign == 0 and self.is_(k - 1, "-", "−") and self.adjacent(k):
                sign, start = -1, k - 1
        elif sign:
            start = first - 1
        kind = None
        end = j - 1
        if self.is_(j, "%"):
            kind, end = "percent", j
        elif self.is_(j, "percent", "pct") or (self.is_(j, "per") and self.is_(j + 1, "cent")):
            kind, end = "percent", j + (1 if self.is_(j, "per") else 0)
        elif self.is_(j, *_TIMES_WORDS) and (self.adjacent(j) or self.is_(j, "times", "fold")):
            kind, end = "multiple", j
        elif self.is_(j, *_CURRENCY_AFTER) or (self.is_(j, "/") and self.is_(j + 1, "-")):
            kind, end = "amount", j + (1 if self.is_(j, "/") else 0)
        elif currency:
            kind = "amount"
        if kind is None:
            noun = next((n for n in range(j, j + 3) if self.is_(n, *_COUNT_NOUNS)), None)
            if noun is not None and all(self.tok(x).kind == "word" for x in range(j, noun)):
                # "top 3 categories", "your 2 biggest payments": how many of a list are shown, not a figure
                ranked = self.is_(first - 1, *_RANK_WORDS) or self.is_(j, *_RANK_WORDS)
                kind = "rank" if ranked else "count"
            elif scaled:
                kind = "amount"               # "five lakh", "20k", "twenty thousand": money in this chat
            elif words:
                return j               # "one of these", "the two of us": prose, not a figure
            elif not grouped and float(value).is_integer() and 1900 <= value <= 2099:
                kind = "year"
            else:
                kind = "number"
        if kind == "amount":
            tolerance = min(unit / 2, max(0.5, 0.05 * abs(value))) if unit > 1 else max(unit / 2, 0.005)
        else:
            tolerance = unit / 2
        if sign == 0 and kind in ("amount", "percent", "number"):
            sign = self._direction(start, end)
        value = int(value) if kind == "year" else value
        self.add(kind, value, start, end, tolerance + 1e-9, sign)
        return end + 1

    def _direction(self, first: int, last: int) -> int:
        """+1 / -1 from the nearest direction word in the clause around the figure ("down ₹500", "12% less")."""
        best: tuple[int, int] | None = None
        words = 0
        i = first - 1
        while i >= 0 and words < 4 and self.toks[i].text not in _STOP and self.toks[i].kind != "num":
            word = self.toks[i].text
            if self.toks[i].kind == "word":
                words += 1
                if (word in _UP or word in _DOWN) and not self.is_(i + 1, "to"):
                    best = (first - i, 1 if word in _UP else -1)
                    break
            i -= 1
        i, words = last + 1, 0
        while i < len(self.toks) and words < 2 and self.toks[i].text not in _STOP and self.toks[i].kind != "num":
            word = self.toks[i].text
            if self.toks[i].kind == "word":
                words += 1
                if word in _UP or word in _DOWN:
                    if best is None or i - last < best[0]:
                        best = (i - last, 1 if word in _UP else -1)
                    break
            i += 1
        return best[1] if best else 0


def figures(text: str) -> list[Figure]:
    """Every figure in the text, left to right."""
    return _Parser(text).run()


# ---- what the tools returned ---------------------------------------------------------------------------
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::\d{2})?)?$")
_ISO_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_KEY_NUMBER = re.compile(r"(\d+)")


@dataclass
class Facts:
    """Every value a tool returned this turn, by kind (plus the analytics clock the system prompt states)."""

    numbers: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: {
        "amount": [], "percent": [], "count": [], "number": [], "multiple": []})
    dates: set[tuple[int, int, int]] = field(default_factory=set)
    months: set[tuple[int, int]] = field(default_factory=set)
    times: set[tuple[int, int]] = field(default_factory=set)
    _sorted: dict[str, tuple[list[float], list[int]]] = field(default_factory=dict)
    _lists: list[Any] = field(default_factory=list)

    def add_number(self, kind: str, value: float, signed: bool = False) -> None:
        self.numbers[kind].append((abs(float(value)), (1 if value > 0 else -1 if value < 0 else 0) if signed else 0))
        self._sorted.pop(kind, None)

    def add_date(self, day: dt.date | dt.datetime) -> None:
        self.dates.add((day.year, day.month, day.day))
        self.months.add((day.year, day.month))
        if isinstance(day, dt.datetime):
            self.times.add((day.hour, day.minute))

    def add(self, value: Any, key: str = "") -> None:
        """A tool result (JSON-ready: dicts, lists, numbers, ISO strings, text)."""
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int | float):
            kind = _key_kind(key)
            self.add_number(kind, value, signed=_signed_key(key))
            if kind == "percent":
                self.add_number(kind, 100 * value, signed=_signed_key(key))
        elif isinstance(value, dt.date):
            self.add_date(value)
        elif isinstance(value, str):
            self._add_text(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                for digits in _KEY_NUMBER.findall(str(k)):      # "change_30d": the tool said 30 days
                    self.add_number("count", int(digits))
                self.add(v, str(k))
        elif isinstance(value, list | tuple):
            self.add_number("count", len(value))
            self._lists.append(value)
            for v in value:
                self.add(v, key)

    def _add_text(self, text: str) -> None:
        m = _ISO_DATE.match(text)
        if m:
            y, mo, d, hh, mm = m.groups()
            try:
                self.add_date(dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0)) if hh
                              else dt.date(int(y), int(mo), int(d)))
            except ValueError:
                pass
            return
        m = _ISO_MONTH.match(text)
        if m:
            self.months.add((int(m.group(1)), int(m.group(2))))
            return
        for f in figures(text):
            if f.kind in self.numbers:
                self.add_number(f.kind, f.value)
            elif f.kind == "date" and f.value[0] is not None:
                self.dates.add(f.value)
                self.months.add(f.value[:2])
            elif f.kind == "month" and f.value[0] is not None:
                self.months.add(f.value)
            elif f.kind == "time":
                self.times.add(f.value)

    # ---- look-ups --------------------------------------------------------------------------------------
    def _index(self, kind: str) -> tuple[list[float], list[int]]:
        if kind not in self._sorted:
            pairs = sorted(self.numbers[kind])
            self._sorted[kind] = ([v for v, _ in pairs], [s for _, s in pairs])
        return self._sorted[kind]

    def match(self, kinds: Iterable[str], value: float, tolerance: float, sign: int) -> str:
        """"ok", "sign" (a value of that size exists, with the opposite sign) or "missing"."""
        size, found_other_sign = abs(value), False
        for kind in kinds:
            values, signs = self._index(kind)
            lo = bisect.bisect_left(values, size - tolerance)
            hi = bisect.bisect_right(values, size + tolerance)
            for s in signs[lo:hi]:
                if sign == 0 or s == 0 or s == sign:
                    return "ok"
                found_other_sign = True
        return "sign" if found_other_sign else "missing"

    @property
    def longest_list(self) -> int:
        return max((len(v) for v in self._lists), default=0)

    @property
    def years(self) -> set[int]:
        return {y for y, _ in self.months}


def collect(results: Iterable[Any], clock: Iterable[dt.date | str] = ()) -> Facts:
    """The facts of one turn: what the tools returned, and the clock dates/months the system prompt gave."""
    facts = Facts()
    for r in results:
        facts.add(r)
    for c in clock:
        if isinstance(c, dt.date):
            facts.add_date(c)
        else:
            facts.add(c)
    return facts


# The kinds of tool value each kind of figure in a reply may bind to.
_BINDS = {"amount": ("amount",), "percent": ("percent",), "count": ("count", "number"),
          "multiple": ("multiple", "number"), "number": ("amount", "count", "number", "multiple")}


def ungrounded(reply: str, facts: Facts) -> list[str]:
    """The figures in `reply` that no tool value of the same kind supports; [] means the reply is grounded."""
    problems: list[str] = []
    month_days = {(m, d) for _, m, d in facts.dates}
    month_numbers = {m for _, m in facts.months}
    days = {d for _, _, d in facts.dates}
    for f in figures(reply):
        if f.kind in _BINDS:
            if f.value == 0:
                continue                              # "₹0", "0%": nothing, not an invented figure
            verdict = facts.match(_BINDS[f.kind], f.value, f.tolerance, f.sign)
            if verdict == "sign":
                problems.append(f"{f.text} (the tool's value has the opposite sign)")
            elif verdict == "missing":
                problems.append(f.text)
        elif f.kind == "date":
            year, month, day = f.value
            if (year is not None and f.value not in facts.dates) or (year is None and (month, day) not in month_days):
                problems.append(f.text)
        elif f.kind == "month":
            year, month = f.value
            if (year is not None and f.value not in facts.months) or (year is None and month not in month_numbers):
                problems.append(f.text)
        elif f.kind == "year":
            if f.value not in facts.years and facts.match(_BINDS["number"], f.value, 0.5, 0) != "ok":
                problems.append(f.text)
        elif f.kind == "time":
            if f.value not in facts.times:
                problems.append(f.text)
        elif f.kind == "rank":
            if not 1 <= f.value <= max(facts.longest_list, 1):
                problems.append(f.text)
        elif f.kind == "day" and f.value not in days:
            problems.append(f.text)
    return problems
