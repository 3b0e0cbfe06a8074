"""Neutralises spreadsheet formulas in CSV cells we write (OWASP "CSV injection"), keeping numbers numbers.

A bank's analyst opens `export` and the rejects report in a spreadsheet; a merchant text or ID such as
`=HYPERLINK("http://evil","click")` would run there as a formula. OWASP's advice: a text cell that starts
with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading single quote, which spreadsheets show as
text. Numbers are written as numbers (a negative balance stays `-1250.5`), and a text cell that is just a
number (`-12.50`) is left alone too: it cannot hold a formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralize(value: Any) -> Any:
    """`value` as it is safe to write to a CSV cell.

    >>> neutralize('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralize(-1250.5), neutralize("-12.50"), neutralize("SWIGGY")
    (-1250.5, '-12.50', 'SWIGGY')
    """
    if value.__class__ is not str or not value or value[0] not in FORMULA_STARTS:
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralize_row(row: Sequence[Any]) -> Sequence[Any]:
    """The row itself when no cell needs a change (the common case, checked cheaply), else a fixed copy."""
    for value in row:
        if value.__class__ is str and value[:1] in FORMULA_STARTS:
            return [neutralize(v) for v in row]
    return row


def neutralize_rows(rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    return (neutralize_row(row) for row in rows)
