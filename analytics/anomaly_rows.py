"""Transactions as arrays for the fraud detector: codes instead of text, seconds instead of timestamps.

A frame (or, for one new transaction, a few dicts, without pandas) becomes `Rows`; customers, places,
merchants and categories are codes into the rows' own distinct values, so one customer's rows give the
same figures whether they come alone or with the whole bank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analytics.anomaly_signals import zero_nan
from analytics.schema import CREDIT

EPOCH = np.datetime64("2000-01-01T00:00:00", "s")


@dataclass
class Rows:
    """Transactions as arrays: customers, places, merchants and categories as codes into the rows' own
    distinct values (-1 = missing); `scored` is False for context rows (judged, never reported)."""

    cust: np.ndarray
    cust_ids: np.ndarray
    secs: np.ndarray
    amount: np.ndarray
    debit: np.ndarray
    place: np.ndarray
    place_names: np.ndarray
    merchant: np.ndarray
    merchant_names: np.ndarray
    category: np.ndarray
    category_names: np.ndarray
    scored: np.ndarray
    balance: np.ndarray | None = None      # reported balance (NaN: none); None: the frame has no balances
    dob_days: np.ndarray | None = None     # date of birth, days since EPOCH (NaN: unknown); None: no column

    @cached_property
    def log_amount(self) -> np.ndarray:
        return np.log1p(zero_nan(self.amount))

    @cached_property
    def hour(self) -> np.ndarray:
        return (self.secs % 86400) // 3600

    @cached_property
    def minute(self) -> np.ndarray:
        return (self.secs % 3600) // 60

    def time_rank(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows ordered by (customer, time), ties in row order; and each row's place in that order."""
        order = np.argsort(self.cust.astype(np.int64) * (1 << 33) + self.secs, kind="stable")
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        return order, rank


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes in order of first appearance (-1: missing) and the distinct values as Python objects. A
    string column is factorised as it is (pyarrow's: 7x quicker than turning it into objects first)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(values.array, use_na_sentinel=True)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def text_or_none(value: Any) -> Any:
    """None for a missing text value (None or NaN), else the value."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def rows_from_frame(frame: pd.DataFrame, context: pd.DataFrame | None = None) -> Rows:
    n_context = 0 if context is None else len(context)
    if n_context:
        columns = [c for c in ("customer_id", "ts", "amount", "txn_type", "merchant", "category", "location",
                                   "balance", "dob")
                   if c in frame or c in context]
        frame = pd.concat([context.reindex(columns=columns), frame.reindex(columns=columns)], ignore_index=True)
    n = len(frame)
    cust, cust_ids = _codes(frame["customer_id"])
    missing = np.full(n, -1, np.int64), np.empty(0, dtype=object)
    place = _codes(frame["location"]) if "location" in frame else missing
    merchant = _codes(frame["merchant"]) if "merchant" in frame else missing
    category = _codes(frame["category"]) if "category" in frame else missing
    secs = (frame["ts"].to_numpy("datetime64[s]") - EPOCH).astype(np.int64)
    debit = (frame["txn_type"] != CREDIT).to_numpy() if "txn_type" in frame else np.ones(n, bool)
    scored = np.r_[np.zeros(n_context, bool), np.ones(n - n_context, bool)]
    balance = frame["balance"].to_numpy(float) if "balance" in frame else None
    dob_days = _days(frame["dob"]) if "dob" in frame else None
    return Rows(cust, cust_ids, secs, frame["amount"].to_numpy(float), debit, place[0], place[1], merchant[0],
                 merchant[1], category[0], category[1], scored, balance, dob_days)


def _days(dates: pd.Series) -> np.ndarray:
    """Dates as days since EPOCH, NaN where missing (a date column of any resolution or of objects)."""
    values = pd.to_datetime(dates, errors="coerce").to_numpy("datetime64[s]")
    days = (values - EPOCH).astype("timedelta64[s]").astype(np.int64) / 86400.0
    return np.where(np.isnat(values), np.nan, days)


def rows_from_records(records: Sequence[Mapping[str, Any]], scored: Sequence[bool]) -> Rows:
    """The same arrays for a handful of dicts (one transaction and the ones just before it), without pandas."""
    def codes(name: str) -> tuple[np.ndarray, np.ndarray]:
        found: dict[Any, int] = {}
        out = []
        for r in records:
            value = text_or_none(r.get(name))
            out.append(-1 if value is None else found.setdefault(value, len(found)))
        return np.array(out, dtype=np.int64), np.array(list(found), dtype=object)

    cust, cust_ids = codes("customer_id")
    secs = np.array([int((np.datetime64(pd.Timestamp(r["ts"]).to_datetime64(), "s") - EPOCH).astype(np.int64))
                     for r in records], dtype=np.int64)
    amount = np.array([float(r["amount"]) if text_or_none(r.get("amount")) is not None else np.nan for r in records])
    debit = np.array([r.get("txn_type", "DEBIT") != CREDIT for r in records])
    place, merchant, category = codes("location"), codes("merchant"), codes("category")
    balance = np.array([float(r["balance"]) if text_or_none(r.get("balance")) is not None else np.nan
                        for r in records])
    dob = [r.get("dob") for r in records]
    dob_days = np.array([np.nan if text_or_none(d) is None or pd.isna(d) else
                         float((np.datetime64(pd.Timestamp(d).to_datetime64(), "s") - EPOCH).astype(np.int64)) / 86400.0
                         for d in dob])
    return Rows(cust, cust_ids, secs, amount, debit, place[0], place[1], merchant[0], merchant[1], category[0],
                 category[1], np.asarray(scored, bool), balance, dob_days)


