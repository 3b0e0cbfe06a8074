"""Customer profiles: one row of balance, activity, spend, demographics and RFM scores per customer."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics.results import CustomerProfile
from analytics.schema import CREDIT

log = logging.getLogger(__name__)

DAYS_PER_MONTH = 30.4375
AGE_BANDS = ((18, 25, "18-25"), (26, 35, "26-35"), (36, 50, "36-50"), (51, 65, "51-65"), (66, 200, "65+"))

PROFILE_COLUMNS = (
    "balance_now", "balance_change_30d", "balance_trend", "n_txn", "n_debits", "n_credits", "total_spend",
    "total_income", "avg_debit", "monthly_spend", "frequency_per_month", "first_seen", "last_seen",
    "recency_days", "tenure_days", "age", "age_band", "gender", "location", "rfm_recency", "rfm_frequency",
    "rfm_monetary",
)


def end_of_day(as_of: dt.date) -> pd.Timestamp:
    """The first instant after `as_of`: rows with ts < this belong to the analytics window."""
    return pd.Timestamp(as_of) + pd.Timedelta(days=1)


def age_band(age: float | None) -> str:
    """Contract bands; under-18s and unknown ages are "unknown" (the bank's data has minors' DOB errors)."""
    if age is None or not np.isfinite(age):
        return "unknown"
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "unknown"


def _age_bands(ages: np.ndarray) -> np.ndarray:
    out = np.full(len(ages), "unknown", dtype=object)
    for low, high, label in AGE_BANDS:
        out[(ages >= low) & (ages <= high)] = label
    return out


def rfm_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Quintile score 1..5 from the percentile rank; ties share a score, so heavy ties never break qcut."""
    if values.empty:
        return pd.Series([], dtype="int64", index=values.index)
    pct = values.rank(method="average", pct=True, ascending=higher_is_better)
    return np.ceil(pct * 5).clip(1, 5).astype("int64")


def last_in_group(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Value of each group's last row (rows already sorted by group then time); NaN for empty groups."""
    out = np.full(n, np.nan)
    if len(codes):
        last = np.r_[codes[1:] != codes[:-1], True]
        out[codes[last]] = values[last]
    return out


def first_in_group(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if len(codes):
        first = np.r_[True, codes[1:] != codes[:-1]]
        out[codes[first]] = values[first]
    return out


def build_profiles(txns: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """One row per customer with any transaction on or before `as_of`, indexed by customer_id.

    Profile fields (age, gender, location) come from the customer's latest row: in the bank's data an ID is
    not one person, so the latest row is the best guess of who holds it now. Monthly figures divide by the
    span of the customer's history in months (at least one), so a single transaction is "one month".

    >>> import pandas as pd, datetime as dt
    >>> t = pd.DataFrame({"customer_id": ["C1", "C1"], "ts": pd.to_datetime(["2016-08-01", "2016-08-11"]),
    ...     "amount": [100.0, 50.0], "balance": [900.0, 850.0], "txn_type": ["DEBIT", "DEBIT"],
    ...     "location": ["PUNE", "PUNE"], "dob": pd.to_datetime(["1990-01-01"] * 2), "gender": ["F", "F"]})
    >>> row = build_profiles(t, dt.date(2016, 8, 31)).loc["C1"]
    >>> int(row.n_txn), float(row.total_spend), int(row.recency_days)
    (2, 150.0, 20)
    """
    in_window = (txns["ts"] < end_of_day(as_of)).to_numpy()
    window = txns if in_window.all() else txns[in_window]  # no copy of a million rows when nothing is cut
    codes, customers = pd.factorize(window["customer_id"])
    n = len(customers)
    ts_raw = window["ts"].to_numpy("datetime64[ns]").view("int64")
    # One sort by customer then time serves every "first", "last" and "latest known" figure below.
    order = np.lexsort((ts_raw, codes))
    codes = codes[order]
    ts_ns = ts_raw[order]
    starts = np.r_[True, codes[1:] != codes[:-1]] if n else np.zeros(0, dtype=bool)
    ends = np.r_[codes[1:] != codes[:-1], True] if n else np.zeros(0, dtype=bool)
    amount = window["amount"].to_numpy(float)[order]
    is_credit = (window["txn_type"] == CREDIT).to_numpy()[order]
    is_debit = ~is_credit

    n_txn = np.bincount(codes, minlength=n)
    n_credits = np.bincount(codes, weights=is_credit, minlength=n).astype(int)
    n_debits = n_txn - n_credits
    total_spend = np.bincount(codes, weights=np.where(is_debit, amount, 0.0), minlength=n)
    total_income = np.bincount(codes, weights=np.where(is_credit, amount, 0.0), minlength=n)

    first_ns = ts_ns[starts]
    last_ns = ts_ns[ends]
    first_seen = _midnight(first_ns)
    last_seen = _midnight(last_ns)
    as_of_ts = pd.Timestamp(as_of)
    span_months = np.maximum((last_ns - first_ns) / 86_400e9 / DAYS_PER_MONTH, 1.0)

    # Balance now, and about 30 days earlier (the latest balance on or before as_of - 30 days).
    balance = window["balance"].to_numpy(float)[order]
    has_bal = ~np.isnan(balance)
    balance_now = last_in_group(codes[has_bal], balance[has_bal], n)
    earlier = has_bal & (ts_ns < (end_of_day(as_of) - pd.Timedelta(days=30)).value)
    balance_then = last_in_group(codes[earlier], balance[earlier], n)
    change = balance_now - balance_then
    trend = np.full(n, "unknown", dtype=object)
    known = ~np.isnan(change)
    tolerance = np.maximum(np.abs(np.nan_to_num(balance_then)) * 0.05, 1.0)
    trend[known & (change > tolerance)] = "rising"
    trend[known & (change < -tolerance)] = "falling"
    trend[known & (np.abs(change) <= tolerance)] = "flat"

    last_rows = order[ends]  # positions in `window` of each customer's latest row
    dob = pd.DatetimeIndex(window["dob"].to_numpy("datetime64[ns]")[last_rows])
    age = _ages(dob, as_of)
    gender = window["gender"].to_numpy(object)[last_rows]
    location = window["location"].to_numpy(object)[last_rows]

    profiles = pd.DataFrame(
        {
            "balance_now": balance_now,
            "balance_change_30d": change,
            "balance_trend": trend,
            "n_txn": n_txn,
            "n_debits": n_debits,
            "n_credits": n_credits,
            "total_spend": total_spend,
            "total_income": total_income,
            "avg_debit": np.divide(total_spend, n_debits, out=np.zeros(n), where=n_debits > 0),
            "monthly_spend": total_spend / span_months,
            "frequency_per_month": n_txn / span_months,
            "first_seen": first_seen,
            "last_seen": last_seen,
            "recency_days": (as_of_ts - last_seen).days.to_numpy(),
            "tenure_days": (as_of_ts - first_seen).days.to_numpy(),
            "age": age,
            "age_band": _age_bands(age),
            "gender": gender,
            "location": location,
        },
        index=pd.Index(customers, name="customer_id"),
        copy=False,  # the arrays are this function's own: no second copy of them (~85 MB on the real file)
    )
    profiles["rfm_recency"] = rfm_score(profiles["recency_days"], higher_is_better=False)
    profiles["rfm_frequency"] = rfm_score(profiles["frequency_per_month"])
    profiles["rfm_monetary"] = rfm_score(profiles["total_spend"] + profiles["total_income"])
    return profiles


def _midnight(ns: np.ndarray) -> pd.DatetimeIndex:
    """`pd.to_datetime(ns).normalize()` of int64 nanoseconds, in integer arithmetic (to_datetime of a plain int
    array takes a per-element path: half a second for 884k customers)."""
    day = 86_400_000_000_000
    return pd.DatetimeIndex((ns - ns % day).astype("datetime64[ns]"))


def _ages(dob: pd.DatetimeIndex, as_of: dt.date) -> np.ndarray:
    """Whole years at `as_of`; NaN for unknown or implausible (negative or > 110) ages."""
    years = as_of.year - dob.year.to_numpy(float)
    before_birthday = (dob.month.to_numpy(float) > as_of.month) | (
        (dob.month.to_numpy(float) == as_of.month) & (dob.day.to_numpy(float) > as_of.day)
    )
    ages = years - before_birthday
    ages[(ages < 0) | (ages > 110)] = np.nan
    return ages


def profile_for(
    source: pd.Series | pd.DataFrame,
    as_of: dt.date,
    *,
    customer_id: str | None = None,
    rfm: tuple[int, int, int] | Mapping[str, int] | None = None,
) -> CustomerProfile:
    """A CustomerProfile from a `build_profiles` row or from one customer's own transactions.

    RFM scores rank a customer against everyone, so one customer's transactions cannot produce them: pass
    the stored scores (`rfm=(r, f, m)` or a customer_scores mapping); without them they are a neutral 3.
    Raises KeyError when the transactions hold nothing for the customer on or before `as_of`.
    """
    if isinstance(source, pd.DataFrame):
        txns = source if customer_id is None else source[source["customer_id"] == customer_id]
        table = build_profiles(txns, as_of)
        if table.empty:
            raise KeyError(customer_id)
        row = table.iloc[0]
        cid = str(table.index[0])
        if rfm is None:
            rfm = (3, 3, 3)
    else:
        row = source
        cid = str(customer_id if customer_id is not None else source.name)
    if isinstance(rfm, Mapping):
        rfm = (int(rfm["rfm_recency"]), int(rfm["rfm_frequency"]), int(rfm["rfm_monetary"]))
    r, f, m = rfm if rfm is not None else (int(row["rfm_recency"]), int(row["rfm_frequency"]), int(row["rfm_monetary"]))
    age = row["age"]
    gender = row["gender"]
    location = row["location"]
    return CustomerProfile(
        customer_id=cid,
        age=None if pd.isna(age) else int(age),
        age_band=str(row["age_band"]),
        gender=None if gender is None or pd.isna(gender) else str(gender),
        location=None if location is None or pd.isna(location) else str(location),
        first_seen=pd.Timestamp(row["first_seen"]).date(),
        last_seen=pd.Timestamp(row["last_seen"]).date(),
        n_transactions=int(row["n_txn"]),
        n_debits=int(row["n_debits"]),
        n_credits=int(row["n_credits"]),
        total_spend=float(row["total_spend"]),
        total_income=float(row["total_income"]),
        avg_debit=float(row["avg_debit"]),
        monthly_spend=float(row["monthly_spend"]),
        frequency_per_month=float(row["frequency_per_month"]),
        recency_days=int(row["recency_days"]),
        rfm_recency=int(r),
        rfm_frequency=int(f),
        rfm_monetary=int(m),
    )
