"""Parses raw bank-transaction CSV files (contract §1) into the canonical frame, with a reject per unusable row.

Everything is vectorised: pyarrow reads 1M rows as text columns on every core, and each column is parsed with
array operations. Dates, times and categories are parsed once per distinct value of the column's arrow dictionary,
always with explicit day-first formats (pandas guesses month-first). Only the cells the canonical frame holds
become Python objects.

One record is one physical line: a quoted field that runs past the end of its line is never legitimate in this
format (it is an unterminated quote, and it would swallow the following rows into one cell). Files pyarrow
refuses (a ragged row, bytes that are not UTF-8) or where a cell holds a line break are read again line by line:
the line with the open quote is rejected and every other line is parsed on its own, so nothing else is lost.

Rows dated more than FUTURE_TOLERANCE after now are rejected too: one of them would move the analytics clock
(`as_of = "auto"`, the latest transaction date) for every customer.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from analytics.csv_safety import neutralize_row
from analytics.schema import (
    CREDIT,
    DEBIT,
    RAW_REQUIRED_COLUMNS,
    TXN_COLUMNS,
    normalize_category,
)

log = logging.getLogger(__name__)

AMOUNT_COLUMN = "TransactionAmount (INR)"
# Text columns of the canonical frame are object dtype holding Python str, missing = None.
TEXT_COLUMNS = ("transaction_id", "customer_id", "txn_type", "merchant", "category", "channel", "location", "gender")
FIRST_DATA_LINE = 2  # the header is line 1
BANK_TIMEZONE = "Asia/Kolkata"  # stored times are bank-local; the default of [scheduler] timezone
# How far after now a transaction may be dated: clock skew between the bank's systems and ours, and time zones.
FUTURE_TOLERANCE = dt.timedelta(days=1)
UNTERMINATED_QUOTE = "has an unterminated quote (a quoted field must close on its own line)"

_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})")
_DMY_DASH = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_UNKNOWN_DOB_TEXT = frozenset({"", "nan", "NAN", "NaN", "null", "NULL", "none", "None", "NA", "N/A"})


class IngestFormatError(ValueError):
    """A file cannot be ingested at all (empty, unreadable or missing required columns)."""


@dataclass(frozen=True)
class Reject:
    """One unusable row: where it is (1-based physical line, header = line 1) and why."""

    file: str
    line: int
    transaction_id: str | None
    reason: str

    def __str__(self) -> str:
        return f"{Path(self.file).name} line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ParsedBatch:
    """The accepted rows as a canonical frame (TXN_COLUMNS), the rejects, and how many data rows were read."""

    frame: pd.DataFrame
    rejects: tuple[Reject, ...]
    rows_read: int

    @property
    def accepted(self) -> int:
        return len(self.frame)


def latest_accepted_time(now: dt.datetime | None = None, timezone: str = BANK_TIMEZONE) -> dt.datetime:
    """The latest bank-local (naive) time a new transaction may carry: now plus FUTURE_TOLERANCE.

    `now` may be timezone-aware (converted to `timezone`) or naive bank-local; None reads the clock.
    """
    zone = ZoneInfo(timezone)
    if now is None:
        now = dt.datetime.now(zone)
    local = now.astimezone(zone).replace(tzinfo=None) if now.tzinfo is not None else now
    return local + FUTURE_TOLERANCE


def read_transactions(paths: Sequence[Path | str], *, not_after: dt.datetime | None = None) -> ParsedBatch:
    """Read and validate CSV files (.csv or .csv.gz); later duplicates of a TransactionID are rejected.

    Rows dated after `not_after` (naive bank-local; default `latest_accepted_time()`) are rejected.
    """
    limit = latest_accepted_time() if not_after is None else not_after
    frames: list[pd.DataFrame] = []
    rejects: list[Reject] = []
    rows_read = 0
    first_seen: dict[str, tuple[str, int]] = {}
    for index, path in enumerate(paths):
        raw, lines, structural = _read_raw(Path(path))
        rows_read += len(lines) + len(structural)
        frame, file_rejects = _parse(raw, lines, str(path), limit)
        more_files = index < len(paths) - 1
        frame, dup_rejects = _drop_duplicates(frame, str(path), first_seen, remember=more_files)
        rejects.extend(sorted([*structural, *file_rejects, *dup_rejects], key=lambda r: r.line))
        frames.append(frame.drop(columns="_line"))
    if not frames:
        frame = empty_frame()
    elif len(frames) == 1:
        frame = frames[0]
    else:
        frame = pd.concat(frames, ignore_index=True)
    log.info("parsed %d rows: %d accepted, %d rejected", rows_read, len(frame), len(rejects))
    return ParsedBatch(frame=frame, rejects=tuple(rejects), rows_read=rows_read)


def write_rejects(rejects: Sequence[Reject], path: Path | str) -> Path:
    """Write the rejects report as CSV (file,line,transaction_id,reason); a rejected row's text that a
    spreadsheet would run as a formula is neutralised (analytics.csv_safety)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "transaction_id", "reason"])
        for r in rejects:
            writer.writerow(neutralize_row([r.file, r.line, r.transaction_id or "", r.reason]))
    return path


def empty_frame() -> pd.DataFrame:
    """A canonical frame with no rows."""
    return to_canonical(pd.DataFrame({c: [] for c in TXN_COLUMNS}))


def to_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with exactly TXN_COLUMNS in order and the canonical dtypes.

    Text columns become object dtype holding str, None when missing; ts/dob datetime64[ns] (ISO strings are
    accepted); amount/balance float64. A missing txn_type means DEBIT; other missing columns mean unknown.
    """
    n = len(frame)
    values = frame.reset_index(drop=True)
    out: dict[str, object] = {}
    for column in TXN_COLUMNS:
        if column not in values:
            series = pd.Series([DEBIT if column == "txn_type" else None] * n, dtype=object)
        else:
            series = values[column]
        if column in ("ts", "dob"):
            if not pd.api.types.is_datetime64_any_dtype(series):
                series = pd.to_datetime(series, format="ISO8601")
            out[column] = series.astype("datetime64[ns]")
        elif column in ("amount", "balance"):
            out[column] = pd.to_numeric(series).astype("float64")
        else:
            out[column] = pd.Series(series.to_numpy(dtype=object, na_value=None), dtype=object)
    return pd.DataFrame(out, columns=list(TXN_COLUMNS))


# ---------------------------------------------------------------------------------------------- reading

# Raw text columns by header name; every cell a non-null string, "" when empty.
_RawColumns = dict[str, pa.ChunkedArray]


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")
    return path.open("r", encoding="utf-8-sig", errors="replace", newline="")


def _read_raw(path: Path) -> tuple[_RawColumns, np.ndarray, list[Reject]]:
    """Every cell as text (arrow columns by name), the physical line of each row, structural rejects."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    header = _read_header(path)
    try:
        table = _read_arrow(path, len(header))
    except (pa.ArrowException, OSError) as exc:
        # A row with more or fewer fields than the header, bytes that are not UTF-8, ...: reading line by line
        # finds every such row with its line.
        log.info("%s: falling back to the line-by-line reader (%s)", path, exc)
        return _read_raw_by_line(path)
    if _holds_line_break(table.columns):
        log.info("%s: a quoted field runs past its line (an unterminated quote): reading line by line", path)
        return _read_raw_by_line(path)
    columns: _RawColumns = {}
    for name, column in zip(header, table.columns, strict=True):
        columns.setdefault(name, column)  # a repeated header name: the first column counts
    lines = FIRST_DATA_LINE + np.arange(table.num_rows, dtype=np.int64)  # no cell spans lines (checked above)
    blank = _blank_rows(table.columns)
    if blank is not None:
        columns = {name: column.filter(pc.invert(blank)) for name, column in columns.items()}
        lines = lines[~blank.to_numpy(zero_copy_only=False)]
    return columns, lines, []


def _read_header(path: Path) -> list[str]:
    """The stripped column names, checked for the required ones before the whole file is read."""
    try:
        with _open_text(path) as handle:
            header = [c.strip() for c in next(csv.reader(handle), [])]
    except (UnicodeDecodeError, OSError) as exc:
        raise IngestFormatError(f"{path}: cannot read the file: {exc}") from exc
    if not header:
        raise IngestFormatError(f"{path}: the file is empty (no header line)")
    _check_header(path, header)
    return header


def _read_arrow(path: Path, width: int) -> pa.Table:
    """The data rows as string columns (the header row is dropped); blank lines stay, as rows of empty cells."""
    names = [f"column_{i}" for i in range(width)]
    table = pa_csv.read_csv(
        path,  # pyarrow decompresses .gz itself
        read_options=pa_csv.ReadOptions(column_names=names),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    return table.slice(1)


def _holds_line_break(columns: Sequence[pa.ChunkedArray]) -> bool:
    """Whether any cell holds a line break, i.e. a quoted field ran past the end of its line.

    One byte search over each chunk's character data (cells are stored back to back) settles the usual case;
    the buffer may hold bytes outside the rows, so a hit is confirmed on the cells themselves.
    """
    for column in columns:
        for chunk in column.chunks:
            data = chunk.buffers()[2]
            if data is None:
                continue
            raw = data.to_pybytes()
            if (b"\n" in raw or b"\r" in raw) and pc.any(pc.match_substring_regex(chunk, "[\r\n]")).as_py():
                return True
    return False


def _blank_rows(columns: Sequence[pa.ChunkedArray]) -> pa.ChunkedArray | None:
    """The mask of rows whose every cell is empty (blank lines: skipped but counted), or None if there are none."""
    blank: pa.ChunkedArray | None = None
    for column in columns:
        empty = pc.equal(column, "")
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            return None
    return blank


def _read_raw_by_line(path: Path) -> tuple[_RawColumns, np.ndarray, list[Reject]]:
    """Each physical line parsed on its own (one record a line): a ragged line or an open quote is rejected
    with its line number, and cannot take the lines after it along."""
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    try:
        with _open_text(path) as handle:
            header: list[str] = []
            for number, text in enumerate(handle, start=1):
                if number == 1:
                    header = [c.strip() for c in (_split_line(text) or [])]
                    if not header:
                        raise IngestFormatError(f"{path}: the file is empty (no header line)")
                    _check_header(path, header)
                    width = len(header)
                    continue
                if not text.strip():
                    continue  # a blank line: skipped, but it still counts for the line numbers after it
                row = _split_line(text)
                if row is None:
                    rejects.append(Reject(str(path), number, text.split(",", 1)[0].strip() or None,
                                          UNTERMINATED_QUOTE))
                elif not any(cell.strip() for cell in row):
                    continue
                elif len(row) > width:
                    tid = row[0].strip() or None
                    rejects.append(Reject(str(path), number, tid, f"has {len(row)} fields, expected {width}"))
                else:
                    rows.append(row + [""] * (width - len(row)))
                    lines.append(number)
    except (UnicodeDecodeError, OSError) as exc:
        raise IngestFormatError(f"{path}: cannot read the file: {exc}") from exc
    if not header:
        raise IngestFormatError(f"{path}: the file is empty (no header line)")
    columns: _RawColumns = {}
    for i, name in enumerate(header):
        columns.setdefault(name, pa.chunked_array([pa.array([row[i] for row in rows], type=pa.string())]))
    return columns, np.asarray(lines, dtype=np.int64), rejects


def _split_line(text: str) -> list[str] | None:
    """The fields of one physical line, read as pyarrow reads them (a quote after a closing quote is kept);
    None when a quoted field is still open at the end of the line.

    A file's last line without a line break ends at the end of the file, which closes an open quote (pyarrow
    does the same, and nothing follows that could be swallowed).
    """
    body = text.rstrip("\r\n")
    if '"' not in body:
        return body.split(",")
    ended = len(body) < len(text)
    row = next(csv.reader([body + "\n" if ended else body]), [])
    if ended and row and row[-1].endswith("\n"):
        return None  # the newline landed inside a quoted field: it never closed on this line
    return row


def _check_header(path: Path, columns: list[str]) -> None:
    missing = [c for c in RAW_REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise IngestFormatError(f"{path}: missing required column(s): {', '.join(missing)}")


# ---------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Distinct:
    """A text column as its distinct values and one code per row: each value is parsed once, then broadcast."""

    values: np.ndarray  # object array of str
    codes: np.ndarray

    @classmethod
    def of(cls, column: pa.ChunkedArray) -> _Distinct:
        encoded = column.combine_chunks().dictionary_encode()
        return cls(encoded.dictionary.to_numpy(zero_copy_only=False), encoded.indices.to_numpy())

    def text(self, row: int) -> str:
        return self.values[self.codes[row]]

    def map(self, parse: Callable[[str], object]) -> np.ndarray:
        """`parse` of every row's text as an object array."""
        parsed = np.empty(len(self.values), dtype=object)
        parsed[:] = [parse(v) for v in self.values]
        return parsed[self.codes]


def _parse(raw: _RawColumns, lines: np.ndarray, file: str,
           not_after: dt.datetime) -> tuple[pd.DataFrame, list[Reject]]:
    """Parse the text columns; return accepted rows (with `_line`) and the rejects of this file."""
    n = len(lines)
    problems: list[tuple[np.ndarray, Callable[[int], str]]] = []

    transaction_id = _stripped(raw["TransactionID"])
    customer_id = _stripped(raw["CustomerID"])
    problems.append((_empty(transaction_id), lambda i: "TransactionID is empty"))
    problems.append((_empty(customer_id), lambda i: "CustomerID is empty"))
    transaction_id_text = _objects(transaction_id)

    date_text = _Distinct.of(raw["TransactionDate"])
    txn_date = _as_datetimes([_parse_date(v) for v in date_text.values])[date_text.codes]
    problems.append(
        (np.isnat(txn_date), lambda i: _describe("TransactionDate", date_text.text(i), "is not a date (d/m/yy)"))
    )

    time_text = raw["TransactionTime"]
    seconds = _seconds_of_day(time_text)
    problems.append(
        (seconds < 0, lambda i: _describe("TransactionTime", time_text[i].as_py(), "is not an HHMMSS time"))
    )
    limit = np.datetime64(not_after.replace(tzinfo=None), "s")
    future = ~np.isnat(txn_date) & (txn_date + np.maximum(seconds, 0).astype("timedelta64[s]") > limit)
    late = f"is in the future (after {not_after:%Y-%m-%d %H:%M}, now plus {_tolerance_text()})"
    problems.append((future, lambda i: _describe("TransactionDate", date_text.text(i), late)))

    amount_text = raw[AMOUNT_COLUMN]
    amount, amount_empty = _to_float(amount_text)
    amount_nan = ~np.isfinite(amount) & ~amount_empty
    amount_negative = np.isfinite(amount) & (amount < 0)
    problems.append((amount_empty, lambda i: f"{AMOUNT_COLUMN} is empty"))
    problems.append((amount_nan, lambda i: _describe(AMOUNT_COLUMN, amount_text[i].as_py(), "is not a number")))
    problems.append((amount_negative, lambda i: _describe(AMOUNT_COLUMN, amount_text[i].as_py(), "is negative")))

    if "TransactionType" in raw:
        type_text = _Distinct.of(raw["TransactionType"])
        # An empty type in a file that has the column means the default, like a missing column.
        txn_type = type_text.map(lambda v: {"": DEBIT, DEBIT: DEBIT, CREDIT: CREDIT}.get(v.strip().upper()))
        problems.append(
            (txn_type == None, lambda i: _describe("TransactionType", type_text.text(i), "is not DEBIT or CREDIT"))  # noqa: E711
        )
    else:
        txn_type = np.full(n, DEBIT, dtype=object)

    bad = np.zeros(n, dtype=bool)
    for mask, _ in problems:
        bad |= mask
    rejects = []
    for i in np.flatnonzero(bad).tolist():
        reasons = [describe(i) for mask, describe in problems if mask[i]]
        rejects.append(Reject(file, int(lines[i]), transaction_id_text[i] or None, "; ".join(reasons)))

    keep = ~bad if bad.any() else slice(None)
    balance, _ = _to_float(raw["CustAccountBalance"])
    ts = txn_date[keep] + seconds[keep].astype("timedelta64[s]")
    frame = pd.DataFrame(
        {
            "transaction_id": pd.Series(transaction_id_text[keep], dtype=object),
            "customer_id": pd.Series(_objects(customer_id)[keep], dtype=object),
            "ts": ts.astype("datetime64[ns]"),
            "amount": amount[keep],
            "balance": balance[keep],
            "txn_type": pd.Series(txn_type[keep], dtype=object),
            "merchant": pd.Series(_optional_stripped(raw, "Merchant", n)[keep], dtype=object),
            "category": pd.Series(_optional_text(raw, "Category", normalize_category, n)[keep], dtype=object),
            "channel": pd.Series(_optional_text(raw, "Channel", _upper, n)[keep], dtype=object),
            "location": pd.Series(_optional_text(raw, "CustLocation", _upper, n)[keep], dtype=object),
            "dob": _parse_dob(_Distinct.of(raw["CustomerDOB"]), txn_date)[keep],
            "gender": pd.Series(_Distinct.of(raw["CustGender"]).map(_gender)[keep], dtype=object),
            "_line": lines[keep],
        }
    )
    return frame, rejects


def _tolerance_text() -> str:
    hours = int(FUTURE_TOLERANCE.total_seconds() // 3600)
    return "1 day" if hours == 24 else f"{hours} hours"


def _drop_duplicates(
    frame: pd.DataFrame, file: str, first_seen: dict[str, tuple[str, int]], *, remember: bool
) -> tuple[pd.DataFrame, list[Reject]]:
    """Reject repeats of a TransactionID already accepted earlier in this batch (this file or an earlier one)."""
    ids = frame["transaction_id"]
    repeated = ids.duplicated(keep="first").to_numpy().copy()
    if first_seen:
        repeated = repeated | ids.isin(list(first_seen)).to_numpy()
    rejects = []
    if repeated.any():
        first_line = dict(zip(ids[~repeated], frame["_line"][~repeated], strict=True))
        for tid, line in zip(ids[repeated], frame["_line"][repeated], strict=True):
            if tid in first_seen:
                seen_file, seen_line = first_seen[tid]
                where = f"line {seen_line}" + ("" if seen_file == file else f" of {Path(seen_file).name}")
            else:
                where = f"line {first_line[tid]}"
            rejects.append(Reject(file, int(line), tid, f"duplicate TransactionID {tid}, first seen on {where}"))
        frame = frame[~repeated]
    if remember:
        first_seen.update(zip(frame["transaction_id"], zip([file] * len(frame), frame["_line"].tolist(), strict=True), strict=True))
    return frame.reset_index(drop=True), rejects


def _stripped(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cells without surrounding whitespace; arrow trims exactly the characters `str.strip` does (a test checks)."""
    return pc.utf8_trim_whitespace(column)


def _empty(column: pa.ChunkedArray) -> np.ndarray:
    return pc.equal(column, "").to_numpy(zero_copy_only=False)


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """An object array of Python str: the canonical frame's text cells (pandas would otherwise pick its str dtype)."""
    return column.to_numpy(zero_copy_only=False)


def _to_float(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers (NaN where not a number) and the mask of empty cells.

    Arrow's cast reads every text it accepts exactly as Python's `float` does. A cell it refuses or reads as NaN
    sends the column to the per-distinct-value path with `float`'s wider grammar and pandas' lenient fallback.
    """
    empty_cells = pc.equal(column, "")
    empty = empty_cells.to_numpy(zero_copy_only=False)
    try:
        numbers = pc.cast(pc.if_else(empty_cells, None, column), pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        return _to_float_distinct(column), empty
    if np.count_nonzero(np.isnan(numbers)) != np.count_nonzero(empty):
        return _to_float_distinct(column), empty
    return numbers, empty


def _to_float_distinct(column: pa.ChunkedArray) -> np.ndarray:
    """Python's `float` on each distinct text (numpy's fast path), pandas' lenient parse when one fails; NaN if empty."""
    text = _Distinct.of(column)
    filled = text.values != ""
    parsed = np.full(len(text.values), np.nan)
    try:
        parsed[filled] = text.values[filled].astype(np.float64)
    except ValueError:
        lenient = pd.to_numeric(pd.Series(text.values[filled], dtype=object), errors="coerce")
        parsed[filled] = lenient.to_numpy(np.float64, na_value=np.nan)
    return parsed[text.codes]


def _describe(column: str, value: str, problem: str) -> str:
    return f"{column} {value.strip()!r} {problem}" if value.strip() != "" else f"{column} is empty"


# Dates are parsed to days since 1970-01-01 (None when invalid): numpy turns a list of them into datetime64 in C,
# far faster than building one np.datetime64 per distinct value.
_Days = int | None
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_OLDEST_PLAUSIBLE_DOB = dt.date(1900, 1, 1).toordinal() - _EPOCH_ORDINAL  # `1/1/1800` is the "unknown" marker


def _ymd(year: int, month: int, day: int) -> _Days:
    try:
        return dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None


def _as_datetimes(days: Sequence[_Days]) -> np.ndarray:
    """datetime64[s] midnights (NaT for None)."""
    return np.array(days, dtype="datetime64[D]").astype("datetime64[s]")


def _parse_date(value: str) -> _Days:
    """`d/m/yy` (two-digit years are 20yy), `d/m/yyyy`, `dd-mm-yyyy` or ISO `yyyy-mm-dd`; None otherwise."""
    value = value.strip()
    if m := _DMY.fullmatch(value):
        day, month, year = int(m[1]), int(m[2]), m[3]
        return _ymd(2000 + int(year) if len(year) == 2 else int(year), month, day)
    if m := _DMY_DASH.fullmatch(value):
        return _ymd(int(m[3]), int(m[2]), int(m[1]))
    if m := _ISO.fullmatch(value):
        return _ymd(int(m[1]), int(m[2]), int(m[3]))
    return None


def _dob_candidates(value: str) -> tuple[_Days, _Days]:
    """(date as 20yy or as written, the same date in the 1900s when the year had two digits else None)."""
    value = value.strip()
    if value in _UNKNOWN_DOB_TEXT:
        return None, None
    if (m := _DMY.fullmatch(value)) and len(m[3]) == 2:
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        return _ymd(2000 + year, month, day), _ymd(1900 + year, month, day)
    parsed = _parse_date(value)
    if parsed is not None and parsed < _OLDEST_PLAUSIBLE_DOB:
        parsed = None
    return parsed, None


def _parse_dob(dob_text: _Distinct, txn_date: np.ndarray) -> np.ndarray:
    """Dates of birth; a two-digit year that would put the birth in the future belongs to the 1900s."""
    pairs = [_dob_candidates(v) for v in dob_text.values]
    dob = _as_datetimes([p[0] for p in pairs])[dob_text.codes]
    older = _as_datetimes([p[1] for p in pairs])[dob_text.codes]
    # "The future" is judged against the row's own transaction date (nobody is born after paying) and today.
    today = np.datetime64(dt.date.today(), "s")
    reference = np.where(np.isnat(txn_date), today, np.minimum(txn_date, today))
    use_older = ~np.isnat(older) & (np.isnat(dob) | (dob > reference))
    return np.where(use_older, older, dob).astype("datetime64[ns]")


def _seconds_of_day(column: pa.ChunkedArray) -> np.ndarray:
    """Seconds after midnight from HHMMSS integers without leading zeros (`5` is 00:00:05); -1 where invalid.

    A time is 1-6 ASCII digits once stripped; tens of thousands of distinct values, so arrow works on every cell.
    """
    text = _stripped(column)
    digits = pc.and_(pc.ascii_is_decimal(text), pc.less_equal(pc.binary_length(text), 6))
    number = pc.cast(pc.if_else(digits, text, "0"), pa.int64()).to_numpy()
    hours, minutes, seconds = number // 10000, number // 100 % 100, number % 100
    valid = digits.to_numpy(zero_copy_only=False) & (hours <= 23) & (minutes <= 59) & (seconds <= 59)
    return np.where(valid, hours * 3600 + minutes * 60 + seconds, -1)


def _upper(value: str) -> str:
    return value.strip().upper()


def _optional_text(raw: _RawColumns, column: str, clean: Callable[[str], str | None], n: int) -> np.ndarray:
    """A cleaned text column (None when empty), or all None when the file lacks the column."""
    if column not in raw:
        return np.full(n, None, dtype=object)
    return _Distinct.of(raw[column]).map(lambda v: clean(v) or None)


def _optional_stripped(raw: _RawColumns, column: str, n: int) -> np.ndarray:
    """A stripped text column (None when empty) without a dictionary: merchants are nearly all distinct."""
    if column not in raw:
        return np.full(n, None, dtype=object)
    stripped = _stripped(raw[column])
    values = _objects(stripped)
    values[_empty(stripped)] = None
    return values


_GENDERS = {"M": "M", "F": "F", "MALE": "M", "FEMALE": "F"}


def _gender(value: str) -> str | None:
    return _GENDERS.get(value.strip().upper())
