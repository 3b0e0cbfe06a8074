"""Pulls the details out of a question: which month, which spending categories, what amount, what product."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from analytics import periods
from analytics.schema import CATEGORIES

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))


@dataclass(frozen=True)
class MonthRef:
    """A month as the customer said it; resolved against the analytics clock and the conversation later.

    kind: "absolute" (year may be None: the latest such month), "last" (the last complete month),
    "this" (the current, partial month), "ago" (`offset` months before the current one),
    "before" (the month before the one the conversation was about).
    """

    kind: str
    year: int | None = None
    month: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class Slots:
    months: tuple[MonthRef, ...] = ()
    categories: tuple[str, ...] = ()
    amount: float | None = None
    kind: str | None = None            # product kind, as in Recommendation.kind
    count: int | None = None           # how many items were asked for ("my last 10 transactions")

    @property
    def month(self) -> MonthRef | None:
        return self.months[0] if self.months else None

    def is_empty(self) -> bool:
        return not (self.months or self.categories or self.amount is not None or self.kind
                    or self.count is not None)


# --- months -------------------------------------------------------------------------------------------

_RELATIVE = [
    (re.compile(r"\b(?:the\s+)?(?:month\s+before(?:\s+that)?|previous\s+one|one\s+before(?:\s+that)?|"
                r"(?:usse|us\s+se|uske)\s+pehle(?:\s+wala)?(?:\s+mahin[ae])?)\b"), MonthRef("before")),
    (re.compile(r"\b(?:last|previous|prev|past|pichh?le|pichla|pichhle)\s+(?:month|mahin[ae]|mnth|mon)\b"),
     MonthRef("last")),
    (re.compile(r"\blast\s*mo\b|\blastmonth\b"), MonthRef("last")),
    (re.compile(r"\b(?:this|current|is|iss|present)\s+(?:month|mahin[ae]|mnth)\b|\bmonth\s+so\s+far\b|"
                r"\bso\s+far\s+this\s+month\b|\bthismonth\b"), MonthRef("this")),
]
_AGO = re.compile(r"\b(\d|two|three|four|five|six)\s+months?\s+(?:ago|back|pehle)\b")
_WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_ISO_MONTH = re.compile(r"\b(20\d\d|19\d\d)[-/](0?[1-9]|1[0-2])\b(?![-/]\d)")
_NUMERIC_MONTH = re.compile(r"\b(0?[1-9]|1[0-2])[-/](20\d\d|\d\d)\b")
_NAMED_MONTH = re.compile(rf"\b({_MONTH_NAMES})\b\.?(?:\s*[,']?\s*(20\d\d|19\d\d|'?\d\d)\b)?")


def _named_month_ok(text: str, match: re.Match[str]) -> bool:
    """'may' and 'mar' are also ordinary words: accept them only with a year or after in/for/of/during."""
    word = match.group(1)
    if word not in ("may", "mar") or match.group(2):
        return True
    before = text[: match.start()].split()
    return bool(before) and before[-1] in ("in", "for", "of", "during", "since", "and", "vs", "to", "se")


def extract_months(text: str) -> tuple[tuple[MonthRef, ...], list[tuple[int, int]]]:
    """Month mentions in reading order, plus the character spans they used (so amounts skip years)."""
    found: list[tuple[int, MonthRef]] = []
    spans: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in spans)

    for pattern, ref in _RELATIVE:
        for m in pattern.finditer(text):
            if free(*m.span()):
                found.append((m.start(), ref))
                spans.append(m.span())
    for m in _AGO.finditer(text):
        if free(*m.span()):
            n = m.group(1)
            found.append((m.start(), MonthRef("ago", offset=_WORD_NUMBERS.get(n) or int(n))))
            spans.append(m.span())
    for m in _ISO_MONTH.finditer(text):
        if free(*m.span()):
            found.append((m.start(), MonthRef("absolute", int(m.group(1)), int(m.group(2)))))
            spans.append(m.span())
    for m in _NUMERIC_MONTH.finditer(text):
        if free(*m.span()):
            year = int(m.group(2))
            found.append((m.start(), MonthRef("absolute", year if year > 99 else 2000 + year, int(m.group(1)))))
            spans.append(m.span())
    for m in _NAMED_MONTH.finditer(text):
        if free(*m.span()) and _named_month_ok(text, m):
            year_text = (m.group(2) or "").lstrip("'")
            year = None if not year_text else (int(year_text) if len(year_text) == 4 else 2000 + int(year_text))
            found.append((m.start(), MonthRef("absolute", year, _MONTHS[m.group(1)])))
            spans.append(m.span())
    found.sort(key=lambda item: item[0])
    return tuple(ref for _, ref in found), spans


def months_before(month: str, n: int) -> str:
    """The month `n` months before `month` ('2016-09', 2 -> '2016-07')."""
    for _ in range(n):
        month = periods.previous_month(month)
    return month


def resolve_month(ref: MonthRef, as_of: dt.date, context_month: str | None = None) -> str:
    """YYYY-MM for a mention, on the analytics clock; "the month before" counts back from the month the
    conversation was last about (else from the last complete month)."""
    current = periods.this_month(as_of)
    if ref.kind == "this":
        return current
    if ref.kind == "last":
        return periods.last_complete_month(as_of)
    if ref.kind == "ago":
        return months_before(current, ref.offset)
    if ref.kind == "before":
        return periods.previous_month(context_month or periods.last_complete_month(as_of))
    assert ref.month is not None
    if ref.year is not None:
        return f"{ref.year:04d}-{ref.month:02d}"
    year = as_of.year if ref.month <= as_of.month else as_of.year - 1   # the latest such month
    return f"{year:04d}-{ref.month:02d}"


# --- categories ---------------------------------------------------------------------------------------

# Everyday words for the contract's categories ("food" is both eating out and groceries).
_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "food": ("dining", "groceries"), "khana": ("dining", "groceries"), "khane": ("dining", "groceries"),
    "eating out": ("dining",), "dining": ("dining",), "dine": ("dining",), "restaurant": ("dining",),
    "restaurants": ("dining",), "swiggy": ("dining",), "zomato": ("dining",), "takeaway": ("dining",),
    "food delivery": ("dining",), "cafe": ("dining",), "cafes": ("dining",), "coffee": ("dining",),
    "groceries": ("groceries",), "grocery": ("groceries",), "grocries": ("groceries",), "kirana": ("groceries",),
    "sabzi": ("groceries",), "supermarket": ("groceries",), "vegetables": ("groceries",),
    "bigbasket": ("groceries",), "ration": ("groceries",),
    "petrol": ("fuel",), "diesel": ("fuel",), "fuel": ("fuel",), "gas station": ("fuel",), "cng": ("fuel",),
    "movies": ("entertainment",), "movie": ("entertainment",), "netflix": ("entertainment",),
    "entertainment": ("entertainment",), "ott": ("entertainment",),
    "cinema": ("entertainment",), "games": ("entertainment",),
    "shopping": ("shopping",), "clothes": ("shopping",), "amazon": ("shopping",), "flipkart": ("shopping",),
    "myntra": ("shopping",), "electronics": ("shopping",),
    "travel": ("travel",), "trips": ("travel",), "flights": ("travel",), "flight": ("travel",),
    "uber": ("travel",), "ola": ("travel",), "cab": ("travel",), "cabs": ("travel",), "taxi": ("travel",),
    "hotel": ("travel",), "hotels": ("travel",), "train tickets": ("travel",), "transport": ("travel",),
    "utilities": ("utilities",), "utility": ("utilities",), "bills": ("utilities",), "electricity": ("utilities",),
    "bijli": ("utilities",), "phone bill": ("utilities",), "mobile bill": ("utilities",),
    "recharge": ("utilities",), "internet": ("utilities",), "broadband": ("utilities",),
    "rent": ("rent",), "kiraya": ("rent",), "housing": ("rent",),
    "health": ("health",), "medical": ("health",), "medicine": ("health",), "medicines": ("health",),
    "doctor": ("health",), "hospital": ("health",), "pharmacy": ("health",), "dawai": ("health",),
    "education": ("education",), "school fees": ("education",), "fees": ("education",),
    "tuition": ("education",), "college": ("education",), "school": ("education",), "courses": ("education",),
    "cash": ("cash",), "atm": ("cash",), "withdrawals": ("cash",), "withdrawal": ("cash",),
    "transfers": ("transfers",), "transfer": ("transfers",), "upi transfers": ("transfers",),
    "sent to friends": ("transfers",),
    "other": ("other",), "misc": ("other",), "miscellaneous": ("other",),
}
for _name in CATEGORIES:
    _CATEGORY_WORDS.setdefault(_name, (_name,))
_CATEGORY_RE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(_CATEGORY_WORDS, key=len, reverse=True)) + r")\b"
)


def extract_categories(text: str) -> tuple[str, ...]:
    """Contract categories mentioned, in order, without repeats ('food' gives dining and groceries)."""
    out: list[str] = []
    for m in _CATEGORY_RE.finditer(text):
        if m.group(1) == "income":
            continue   # "income" is a question about credits, not a spending category
        for cat in _CATEGORY_WORDS[m.group(1)]:
            if cat not in out:
                out.append(cat)
    return tuple(out)


# --- amounts ------------------------------------------------------------------------------------------

_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "hazar": 1e3, "hazaar": 1e3, "l": 1e5, "lakh": 1e5, "lakhs": 1e5,
                "lac": 1e5, "lacs": 1e5, "lk": 1e5, "cr": 1e7, "crore": 1e7, "crores": 1e7, "m": 1e6, "mn": 1e6,
                "million": 1e6}
_AMOUNT = re.compile(
    r"(?P<cur>₹|rs\.?|inr|rupees?)?\s*(?P<num>\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<mult>k|thousand|hazaa?r|lakhs?|lacs?|lk|l|crores?|cr|million|mn|m)?\b\s*(?P<cur2>rupees?|rs|inr|/-)?",
)


def extract_amount(text: str, skip: list[tuple[int, int]] | None = None) -> float | None:
    """The first money amount: '20k', '₹1.5 lakh', '20,000', '1.2 cr', 'Rs 999'. Bare small numbers are not money."""
    skip = skip or []
    for m in _AMOUNT.finditer(text):
        start, end = m.span("num")
        if any(start < e and end > s for s, e in skip):
            continue
        if start > 0 and text[start - 1].isalpha():     # 'c123', 'h1b'
            continue
        if not (m.group("cur") or m.group("cur2") or m.group("mult")) and _COUNTED.match(text, m.end("num")):
            continue                                      # 'my last 100 transactions': a count, not money
        value = float(m.group("num").replace(",", ""))
        mult = m.group("mult")
        if mult:
            value *= _MULTIPLIERS[mult]
        elif not (m.group("cur") or m.group("cur2") or "," in m.group("num") or value >= 100):
            continue
        return value
    return None


# --- counts ("my last 10 transactions") ---------------------------------------------------------------

_COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "teen": 3,
                "paanch": 5, "panch": 5, "das": 10}
_COUNT_NUMBER = r"\d{1,4}|" + "|".join(sorted(_COUNT_WORDS, key=len, reverse=True))
_ITEMS = r"(?:transactions?|transaction|txns?|trxns?|trans|payments?|entries|entry|debits?|credits?|spends?|items?)"
# A number just before the things counted ("10 transactions", "5 most recent payments").
_COUNTED = re.compile(rf"\s*(?:most\s+)?(?:recent\s+|latest\s+|last\s+|new(?:est)?\s+)?{_ITEMS}\b")
_COUNT_BEFORE_ITEMS = re.compile(rf"\b({_COUNT_NUMBER})\s+(?:most\s+)?(?:recent\s+|latest\s+|last\s+|"
                                 rf"new(?:est)?\s+)?{_ITEMS}\b")
# "last 10", "latest five", "pichle 5" (not "last 2 months": that is a period).
_COUNT_AFTER_LAST = re.compile(rf"\b(?:last|latest|recent|past|pichh?le|aakhri|akhri)\s+({_COUNT_NUMBER})\b"
                               r"(?!\s*(?:months?|mahin[ae]|weeks?|days?|years?|hours?|mnths?))")


def extract_count(text: str) -> int | None:
    """How many items the customer asked for, if they said ("last 10 transactions", "latest five payments")."""
    for pattern in (_COUNT_BEFORE_ITEMS, _COUNT_AFTER_LAST):
        m = pattern.search(text)
        if m:
            word = m.group(1)
            return int(word) if word.isdigit() else _COUNT_WORDS[word]
    return None


# --- product kinds ------------------------------------------------------------------------------------

_KINDS = [
    (re.compile(r"\bcredit\s*cards?\b|\bcards?\b|\bcc\b"), "credit_card"),
    (re.compile(r"\bfixed\s+deposits?\b|\bfds?\b|\bterm\s+deposits?\b"), "fd"),
    (re.compile(r"\bsips?\b|\bmutual\s+funds?\b|\bmf\b|\binvest(?:ment|ments|ing)?\b"), "sip"),
    (re.compile(r"\boverdraft\b|\bod\s+facility\b"), "overdraft"),
    (re.compile(r"\b(?:personal\s+)?loans?\b|\bkarz\b|\bborrow\b"), "personal_loan"),
    (re.compile(r"\bsavings?\s+(?:account|a/c|acct)\b"), "savings"),
]


def extract_kind(text: str) -> str | None:
    for pattern, kind in _KINDS:
        if pattern.search(text):
            return kind
    return None


def normalize(text: str) -> str:
    """Lower case, single spaces, curly quotes straightened: what both the slots and the classifier see."""
    text = text.replace("’", "'").replace("‘", "'").lower()
    return re.sub(r"\s+", " ", text).strip()


def extract_slots(text: str) -> Slots:
    clean = normalize(text)
    months, spans = extract_months(clean)
    return Slots(
        months=months,
        categories=extract_categories(clean),
        amount=extract_amount(clean, spans),
        kind=extract_kind(clean),
        count=extract_count(clean),
    )
