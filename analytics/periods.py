"""Calendar-month arithmetic for the analytics clock (contract §2): months are `YYYY-MM` strings."""

from __future__ import annotations

import calendar
import datetime as dt
import re

_MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTH_ABBRS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}


def _format(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _split(month: str) -> tuple[int, int]:
    return int(month[:4]), int(month[5:7])


def parse_month(text: str) -> str:
    """Read `2016-08`, `2016-8`, `08/2016`, `August 2016` or `aug 2016` as `2016-08`; ValueError otherwise."""
    raw = str(text).strip()
    match = _MONTH_RE.match(raw)
    year = month = None
    if match:
        year, month = int(match.group(1)), int(match.group(2))
    else:
        slash = re.fullmatch(r"(\d{1,2})[/-](\d{4})", raw)
        words = re.fullmatch(r"([A-Za-z]+)\.?,?\s+(\d{4})", raw)
        if slash:
            month, year = int(slash.group(1)), int(slash.group(2))
        elif words:
            key = words.group(1).lower()
            month = _MONTH_NAMES.get(key) or _MONTH_ABBRS.get(key[:3])
            year = int(words.group(2))
    if year is None or month is None or not 1 <= month <= 12 or year < 1900:
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2016-08")
    return _format(year, month)


def month_of(day: dt.date) -> str:
    """The `YYYY-MM` a date falls in."""
    return _format(day.year, day.month)


def this_month(as_of: dt.date) -> str:
    """The month containing `as_of` (it runs from its first day to `as_of`)."""
    return month_of(as_of)


def previous_month(month: str) -> str:
    year, mon = _split(parse_month(month))
    return _format(year - 1, 12) if mon == 1 else _format(year, mon - 1)


def next_month(month: str) -> str:
    year, mon = _split(parse_month(month))
    return _format(year + 1, 1) if mon == 12 else _format(year, mon + 1)


def last_complete_month(as_of: dt.date) -> str:
    """The last calendar month that ended before `as_of`.

    A month whose last day is `as_of` itself still counts as in progress: the day is not over.
    """
    return previous_month(this_month(as_of))


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of a month."""
    year, mon = _split(parse_month(month))
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def is_complete(month: str, as_of: dt.date) -> bool:
    """True when the whole month lies before `as_of`."""
    return month_bounds(month)[1] < as_of


def month_label(month: str) -> str:
    """`2016-08` -> `August 2016`."""
    year, mon = _split(parse_month(month))
    return dt.date(year, mon, 1).strftime("%B %Y")
