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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


_STARTS = pa.array(sorted(FORMULA_STARTS), type=pa.string())


def neutralize_column(values: Sequence[Any]) -> list[Any]:
    """`neutralize` of every cell of a column, as a list. A column of text is checked in Arrow (its first
    characters against FORMULA_STARTS), so only the few cells that start like a formula take the Python path;
    a column of numbers is left as it is; a mixed one goes cell by cell."""
    cells = values.tolist() if isinstance(values, np.ndarray) else list(values)
    try:
        array = pa.array(cells)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return [neutralize(v) for v in cells]
    if not pa.types.is_string(array.type):
        return cells if not pa.types.is_large_string(array.type) else [neutralize(v) for v in cells]
    hits = pc.is_in(pc.utf8_slice_codeunits(array, 0, 1), value_set=_STARTS).fill_null(False)
    for i in np.flatnonzero(hits.to_numpy(zero_copy_only=False)).tolist():
        cells[i] = neutralize(cells[i])
    return cells
