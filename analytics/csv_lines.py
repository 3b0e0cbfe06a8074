"""CSV text of a chunk of rows given column by column, built in Arrow: the same bytes as `csv.writer` (default
dialect: `,`, minimal quoting with doubled quotes, `\\r\\n` line ends; None an empty cell, floats as `repr`,
ints as `str`) without a Python call per cell.

Each column becomes one Arrow string array; the few cells Arrow would not write as Python does (floats that
Python writes in exponent form or as `1.0`, text that needs quotes, values of other types) take the Python path.
Formula-looking text is neutralised first (analytics.csv_safety), exactly as for the cell-by-cell writer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analytics.csv_safety import FORMULA_STARTS, neutralize

_NEEDS_QUOTES = r'[,"\r\n]'
_STARTS = pa.array(sorted(FORMULA_STARTS), type=pa.string())


def _python_cell(value: Any) -> str:
    """One cell exactly as csv.writer writes it (the slow, always-right path)."""
    if value is None:
        return ""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([value, ""])  # two cells: a lone "" would be quoted
    return buffer.getvalue()[:-3]  # the "," and "\r\n" after it


def _fix(texts: pa.Array, cells: Any, positions: np.ndarray) -> pa.Array:
    if len(positions) == 0:
        return texts
    out = texts.to_numpy(zero_copy_only=False).astype(object)
    for i in positions.tolist():
        out[i] = _python_cell(cells[i])
    return pa.array(out, type=pa.string())


def _float_texts(array: pa.Array, cells: Any) -> pa.Array:
    values = array.to_numpy(zero_copy_only=False)  # nulls as NaN
    texts = pc.cast(array, pa.string()).fill_null("")
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        odd = ~np.isfinite(values) | (magnitude >= 1e16) | ((magnitude < 1e-4) & (values != 0))
    # Arrow switches to exponents at other magnitudes than Python: those go cell by cell
    odd |= pc.match_substring(texts, "e").to_numpy(zero_copy_only=False)
    odd &= array.is_valid().to_numpy(zero_copy_only=False)
    # and writes a whole number as "1" where Python writes "1.0" (also "0.0" and "-0.0")
    whole = pc.and_(array.is_valid(), pc.invert(pc.match_substring(texts, ".")))
    whole = pc.and_(whole, pa.array(~odd))
    texts = pc.if_else(whole, pc.binary_join_element_wise(texts, pa.scalar(".0"), ""), texts)
    return _fix(texts, cells, np.flatnonzero(odd))


class _ArrowCells:
    """The Python values of an Arrow array, made one at a time: only the few cells the Python path writes."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array
        self._replaced: dict[int, Any] = {}

    def __getitem__(self, i: int) -> Any:
        return self._replaced[i] if i in self._replaced else self.array[i].as_py()

    def __setitem__(self, i: int, value: Any) -> None:
        self._replaced[i] = value

    def __len__(self) -> int:
        return len(self.array)


def column_texts(values: Sequence[Any] | pa.Array | pa.ChunkedArray) -> pa.Array:
    """The CSV cell text of every value (neutralised, quoted where csv.writer quotes), as an Arrow string array.

    An Arrow array (dictionary-encoded too) gives the same text as the list of its Python values
    (`to_pylist()`), without making them."""
    cells: Any
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        # a cell's text depends on its value alone: each distinct value is written once, then looked up
        return pc.take(column_texts(values.dictionary), values.indices).fill_null("")
    if isinstance(values, pa.Array):
        array, cells = values, _ArrowCells(values)
        if not (pa.types.is_null(array.type) or pa.types.is_float64(array.type) or pa.types.is_int64(array.type)
                or pa.types.is_string(array.type)):
            return _python_texts(array.to_pylist())
    else:
        cells = values.tolist() if isinstance(values, np.ndarray) else list(values)
        try:
            array = pa.array(cells)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return _python_texts(cells)
    kind = array.type
    if pa.types.is_null(kind):
        return pa.array([""] * len(cells), type=pa.string())
    if pa.types.is_float64(kind):
        return _float_texts(array, cells)
    if pa.types.is_int64(kind):
        return pc.cast(array, pa.string()).fill_null("")
    if pa.types.is_string(kind):
        # only cells that start like a formula (analytics.csv_safety) or need quotes take the Python path
        odd = pc.or_(pc.is_in(pc.utf8_slice_codeunits(array, 0, 1), value_set=_STARTS),
                     pc.match_substring_regex(array, _NEEDS_QUOTES)).fill_null(False)
        positions = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
        for i in positions.tolist():
            cells[i] = neutralize(cells[i])
        return _fix(array.fill_null(""), cells, positions)
    return _python_texts(cells)


def _python_texts(cells: list[Any]) -> pa.Array:
    return pa.array([_python_cell(neutralize(v)) for v in cells], type=pa.string())


def csv_chunk(columns: Sequence[Sequence[Any] | pa.Array | pa.ChunkedArray]) -> bytes:
    """The UTF-8 CSV lines (each ending `\\r\\n`) of the rows given column by column."""
    if not columns or len(columns[0]) == 0:
        return b""
    texts = [column_texts(column) for column in columns]
    lines = pc.binary_join_element_wise(*texts, ",")
    lines = pc.binary_join_element_wise(lines, pa.scalar("\r\n"), "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    _, offsets, data = lines.buffers()
    ends = np.frombuffer(offsets, dtype=np.int32)[lines.offset: lines.offset + len(lines) + 1]
    return data.to_pybytes()[int(ends[0]):int(ends[-1])]
