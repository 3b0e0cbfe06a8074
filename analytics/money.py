"""Formats rupees the Indian way (₹1,23,456.50) and dates as `5 Aug 2016`: one helper for every channel."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal


def group_indian(integer_digits: str) -> str:
    """Insert lakh-style separators: last three digits, then groups of two (12345678 -> 1,23,45,678)."""
    if len(integer_digits) <= 3:
        return integer_digits
    head, tail = integer_digits[:-3], integer_digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join(groups + [tail])


def format_inr(amount: float | int | Decimal, *, paise: bool = True, sign: bool = False) -> str:
    """`₹1,23,456.50`; `paise=False` rounds to whole rupees (`₹1,23,457`); negatives read `-₹500.00`.

    >>> format_inr(123456.5)
    '₹1,23,456.50'
    """
    value = Decimal(str(amount)).quantize(Decimal("0.01") if paise else Decimal("1"), rounding=ROUND_HALF_UP)
    negative = value < 0
    text = f"{abs(value):.2f}" if paise else f"{abs(value):.0f}"
    integer, _, fraction = text.partition(".")
    body = "₹" + group_indian(integer) + (f".{fraction}" if paise else "")
    if negative and value != 0:
        return "-" + body
    return ("+" + body) if sign and value > 0 else body


def format_date(day: dt.date | dt.datetime) -> str:
    """`5 Aug 2016` (no leading zero)."""
    return f"{day.day} {day.strftime('%b %Y')}"


def format_month(year: int, month: int) -> str:
    """`August 2016`."""
    return dt.date(year, month, 1).strftime("%B %Y")


def format_percent(fraction: float, digits: int = 0) -> str:
    """0.304 -> `30%` (one rule for every channel, so numbers agree)."""
    return f"{fraction * 100:.{digits}f}%"
