"""Parses raw bank-transaction CSV files (contract §1) into the canonical frame, with a reject per unusable row.

Everything is vectorised: 1M rows are read as text (`dtype=str`) and each column is parsed with array operations;
dates are parsed once per distinct value, always with explicit day-first formats (pandas guesses month-first).
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

import numpy as np
import pandas as pd

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

_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})")
_DMY_DASH = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_WHITESPACE = re.compile(r"\s")
_UNKNOWN_DOB_TEXT = frozenset({"", "nan", "NAN", "NaN", "null", "NULL", "none", "None", "NA", "N/A"})
_OLDEST_PLAUSIBLE_DOB_YEAR = 1900  # `1/1/1800` is the data set's "unknown" marker


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


def read_transactions(paths: Sequence[Path | str]) -> ParsedBatch:
    """Read and validate CSV files (.csv or .csv.gz); later duplicates of a TransactionID are rejected."""
    frames: list[pd.DataFrame] = []
    rejects: list[Reject] = []
    rows_read = 0
    first_seen: dict[str, tuple[str, int]] = {}
    for index, path in enumerate(paths):
        raw, lines, structural = _read_raw(Path(path))
        rows_read += len(lines) + len(structural)
        frame, file_rejects = _parse(raw, lines, str(path))
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
    """Write the rejects report as CSV (file,line,transaction_id,reason)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "transaction_id", "reason"])
        for r in rejects:
            writer.writerow([r.file, r.line, r.transaction_id or "", r.reason])
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


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")
    return path.open("r", encoding="utf-8-sig", errors="replace", newline="")


def _read_raw(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, list[Reject]]:
    """Every cell as a Python str (object arrays by column), the physical line of each row, structural rejects."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        raw = pd.read_csv(
            path,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            encoding_errors="replace",
        )
    except pd.errors.EmptyDataError as exc:
        raise IngestFormatError(f"{path}: the file is empty (no header line)") from exc
    except pd.errors.ParserError:
        # A row with more fields than the header: the csv module finds every such row with its line.
        log.info("%s: falling back to the row-by-row reader", path)
        return _read_raw_slow(path)
    except (UnicodeDecodeError, OSError) as exc:
        raise IngestFormatError(f"{path}: cannot read the file: {exc}") from exc
    header = [str(c).strip() for c in raw.columns]
    _check_header(path, header)
    columns = {name: raw.iloc[:, i].to_numpy(dtype=object) for i, name in enumerate(header)}
    del raw
    n = len(next(iter(columns.values())))
    lines = FIRST_DATA_LINE + np.arange(n, dtype=np.int64)
    # A quoted field spanning several physical lines shifts the line numbers of the rows after it.
    extra = np.zeros(n, dtype=np.int64)
    for values in columns.values():
        if "\n" in "".join(values):  # one C-level scan; the per-cell count runs only when needed
            extra += np.fromiter((v.count("\n") for v in values), dtype=np.int64, count=n)
    if extra.any():
        lines = lines + np.concatenate([[0], np.cumsum(extra)[:-1]])
    blank = np.ones(n, dtype=bool)
    for values in columns.values():
        blank &= values == ""
        if not blank.any():
            break
    if blank.any():
        columns = {name: values[~blank] for name, values in columns.items()}
        lines = lines[~blank]
    return columns, lines, []


def _read_raw_slow(path: Path) -> tuple[pd.DataFrame, np.ndarray, list[Reject]]:
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = [c.strip() for c in next(reader, [])]
        if not header:
            raise IngestFormatError(f"{path}: the file is empty (no header line)")
        _check_header(path, header)
        width = len(header)
        start = reader.line_num + 1
        for row in reader:
            if row and any(cell.strip() for cell in row):
                if len(row) > width:
                    tid = row[0].strip() or None
                    rejects.append(Reject(str(path), start, tid, f"has {len(row)} fields, expected {width}"))
                else:
                    rows.append(row + [""] * (width - len(row)))
                    lines.append(start)
            start = reader.line_num + 1
    columns = {name: np.empty(len(rows), dtype=object) for name in header}
    for i, name in enumerate(header):
        columns[name][:] = [row[i] for row in rows]
    return columns, np.asarray(lines, dtype=np.int64), rejects


def _check_header(path: Path, columns: list[str]) -> None:
    missing = [c for c in RAW_REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise IngestFormatError(f"{path}: missing required column(s): {', '.join(missing)}")


# ---------------------------------------------------------------------------------------------- parsing


def _parse(raw: dict[str, np.ndarray], lines: np.ndarray, file: str) -> tuple[pd.DataFrame, list[Reject]]:
    """Parse the text columns; return accepted rows (with `_line`) and the rejects of this file."""
    n = len(lines)
    problems: list[tuple[np.ndarray, Callable[[int], str]]] = []

    transaction_id = _strip(raw["TransactionID"])
    customer_id = _strip(raw["CustomerID"])
    problems.append((transaction_id == "", lambda i: "TransactionID is empty"))
    problems.append((customer_id == "", lambda i: "CustomerID is empty"))

    date_text = raw["TransactionDate"]
    txn_date = _map_unique(date_text, _parse_date, "datetime64[s]")
    problems.append(
        (np.isnat(txn_date), lambda i: _describe("TransactionDate", date_text[i], "is not a date (d/m/yy)"))
    )

    time_text = raw["TransactionTime"]
    seconds = _map_unique(time_text, _parse_hhmmss, np.int64)
    problems.append((seconds < 0, lambda i: _describe("TransactionTime", time_text[i], "is not an HHMMSS time")))

    amount_text = raw[AMOUNT_COLUMN]
    amount, amount_empty = _to_float(amount_text)
    amount_nan = ~np.isfinite(amount) & ~amount_empty
    amount_negative = np.isfinite(amount) & (amount < 0)
    problems.append((amount_empty, lambda i: f"{AMOUNT_COLUMN} is empty"))
    problems.append((amount_nan, lambda i: _describe(AMOUNT_COLUMN, amount_text[i], "is not a number")))
    problems.append((amount_negative, lambda i: _describe(AMOUNT_COLUMN, amount_text[i], "is negative")))

    if "TransactionType" in raw:
        type_text = raw["TransactionType"]
        # An empty type in a file that has the column means the default, like a missing column.
        txn_type = _map_unique(type_text, lambda v: {"": DEBIT, DEBIT: DEBIT, CREDIT: CREDIT}.get(v.strip().upper()), object)
        problems.append(
            (txn_type == None, lambda i: _describe("TransactionType", type_text[i], "is not DEBIT or CREDIT"))  # noqa: E711
        )
    else:
        txn_type = np.full(n, DEBIT, dtype=object)

    bad = np.zeros(n, dtype=bool)
    for mask, _ in problems:
        bad |= mask
    rejects = []
    for i in np.flatnonzero(bad):
        reasons = [describe(i) for mask, describe in problems if mask[i]]
        rejects.append(Reject(file, int(lines[i]), transaction_id[i] or None, "; ".join(reasons)))

    keep = ~bad if bad.any() else slice(None)
    balance, _ = _to_float(raw["CustAccountBalance"])
    ts = txn_date[keep] + seconds[keep].astype("timedelta64[s]")
    frame = pd.DataFrame(
        {
            "transaction_id": pd.Series(transaction_id[keep], dtype=object),
            "customer_id": pd.Series(customer_id[keep], dtype=object),
            "ts": ts.astype("datetime64[ns]"),
            "amount": amount[keep],
            "balance": balance[keep],
            "txn_type": pd.Series(txn_type[keep], dtype=object),
            "merchant": pd.Series(_optional_text(raw, "Merchant", str.strip)[keep], dtype=object),
            "category": pd.Series(_optional_text(raw, "Category", normalize_category)[keep], dtype=object),
            "channel": pd.Series(_optional_text(raw, "Channel", _upper)[keep], dtype=object),
            "location": pd.Series(_optional_text(raw, "CustLocation", _upper)[keep], dtype=object),
            "dob": _parse_dob(raw["CustomerDOB"], txn_date)[keep],
            "gender": pd.Series(_map_unique(raw["CustGender"], _gender, object)[keep], dtype=object),
            "_line": lines[keep],
        }
    )
    return frame, rejects


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


def _strip(values: np.ndarray) -> np.ndarray:
    if not _WHITESPACE.search("".join(values)):  # IDs rarely carry spaces: skip the per-cell pass
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = [v.strip() for v in values]
    return out


def _to_float(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers (NaN where not a number) and the mask of empty cells; numpy's fast path, pandas' when it fails."""
    empty = values == ""
    out = np.full(len(values), np.nan)
    filled = values[~empty]
    try:
        out[~empty] = filled.astype(np.float64)
    except ValueError:
        out[~empty] = pd.to_numeric(pd.Series(filled, dtype=object), errors="coerce").to_numpy(np.float64, na_value=np.nan)
    return out, empty


def _describe(column: str, value: str, problem: str) -> str:
    return f"{column} {value.strip()!r} {problem}" if value.strip() != "" else f"{column} is empty"


def _map_unique(values: np.ndarray, parse: Callable[[str], object], dtype: object) -> np.ndarray:
    """Apply `parse` once per distinct value (a few thousand among a million rows) and broadcast it back."""
    codes, uniques = pd.factorize(values, sort=False)
    parsed = np.empty(len(uniques), dtype=dtype) if dtype is object else None
    if parsed is not None:
        parsed[:] = [parse(v) for v in uniques]
    else:
        parsed = np.array([parse(v) for v in uniques], dtype=dtype)
    return parsed[codes]  # factorize gives no -1 codes: every cell is a str


def _ymd(year: int, month: int, day: int) -> np.datetime64:
    try:
        return np.datetime64(dt.date(year, month, day), "s")
    except ValueError:
        return np.datetime64("NaT")


def _parse_date(value: str) -> np.datetime64:
    """`d/m/yy` (two-digit years are 20yy), `d/m/yyyy`, `dd-mm-yyyy` or ISO `yyyy-mm-dd`; NaT otherwise."""
    value = value.strip()
    if m := _DMY.fullmatch(value):
        day, month, year = int(m[1]), int(m[2]), m[3]
        return _ymd(2000 + int(year) if len(year) == 2 else int(year), month, day)
    if m := _DMY_DASH.fullmatch(value):
        return _ymd(int(m[3]), int(m[2]), int(m[1]))
    if m := _ISO.fullmatch(value):
        return _ymd(int(m[1]), int(m[2]), int(m[3]))
    return np.datetime64("NaT")


def _dob_candidates(value: str) -> tuple[np.datetime64, np.datetime64]:
    """(date as 20yy or as written, the same date in the 1900s when the year had two digits else NaT)."""
    value = value.strip()
    if value in _UNKNOWN_DOB_TEXT:
        return np.datetime64("NaT"), np.datetime64("NaT")
    if (m := _DMY.fullmatch(value)) and len(m[3]) == 2:
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        return _ymd(2000 + year, month, day), _ymd(1900 + year, month, day)
    parsed = _parse_date(value)
    if not np.isnat(parsed) and parsed.astype(dt.date).year < _OLDEST_PLAUSIBLE_DOB_YEAR:
        parsed = np.datetime64("NaT")
    return parsed, np.datetime64("NaT")


def _parse_dob(dob_text: np.ndarray, txn_date: np.ndarray) -> np.ndarray:
    """Dates of birth; a two-digit year that would put the birth in the future belongs to the 1900s."""
    codes, uniques = pd.factorize(dob_text, sort=False)
    pairs = [_dob_candidates(v) for v in uniques]
    dob = np.array([p[0] for p in pairs], dtype="datetime64[s]")[codes]
    older = np.array([p[1] for p in pairs], dtype="datetime64[s]")[codes]
    # "The future" is judged against the row's own transaction date (nobody is born after paying) and today.
    today = np.datetime64(dt.date.today(), "s")
    reference = np.where(np.isnat(txn_date), today, np.minimum(txn_date, today))
    use_older = ~np.isnat(older) & (np.isnat(dob) | (dob > reference))
    return np.where(use_older, older, dob).astype("datetime64[ns]")


def _parse_hhmmss(value: str) -> int:
    """Seconds after midnight from an HHMMSS integer without leading zeros (`5` is 00:00:05); -1 if invalid."""
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 6):
        return -1
    number = int(value)
    hours, minutes, seconds = number // 10000, number // 100 % 100, number % 100
    if hours > 23 or minutes > 59 or seconds > 59:
        return -1
    return hours * 3600 + minutes * 60 + seconds


def _upper(value: str) -> str:
    return value.strip().upper()


def _optional_text(raw: dict[str, np.ndarray], column: str, clean: Callable[[str], str | None]) -> np.ndarray:
    """A cleaned text column (None when empty), or all None when the file lacks the column."""
    if column not in raw:
        return np.full(len(next(iter(raw.values()))), None, dtype=object)
    return _map_unique(raw[column], lambda v: clean(v) or None, object)


_GENDERS = {"M": "M", "F": "F", "MALE": "M", "FEMALE": "F"}


def _gender(value: str) -> str | None:
    return _GENDERS.get(value.strip().upper())
