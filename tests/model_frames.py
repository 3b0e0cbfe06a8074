"""Canonical transaction frames for the model tests: hand-made rows and a synthetic bank read through ingest."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.ingest import read_transactions
from analytics.schema import TXN_COLUMNS
from analytics.synth import generate_bank


def frame(rows: list[dict]) -> pd.DataFrame:
    """A canonical frame from dicts; missing columns get neutral values."""
    defaults = {"txn_type": "DEBIT", "merchant": None, "category": "groceries", "channel": None,
                "location": "MUMBAI", "dob": None, "gender": "F", "balance": np.nan}
    out = pd.DataFrame([{**defaults, **r} for r in rows])
    if "transaction_id" not in out:
        out["transaction_id"] = [f"T{i}" for i in range(len(out))]
    out["ts"] = pd.to_datetime(out["ts"])
    out["dob"] = pd.to_datetime(out["dob"])
    out["amount"] = out["amount"].astype(float)
    out["balance"] = out["balance"].astype(float)
    return out[list(TXN_COLUMNS)]


@dataclass(frozen=True)
class CanonicalBank:
    transactions: pd.DataFrame        # canonical columns, as analytics.ingest reads them
    txn_labels: pd.DataFrame          # TransactionID, is_fraud, fraud_kind, fraud_signals
    customer_labels: pd.DataFrame     # CustomerID, persona, churned, churn_date
    as_of: dt.date


@lru_cache(maxsize=4)
def synth_bank(customers: int = 1500, months: int = 12, seed: int = 7) -> CanonicalBank:
    """A synthetic bank written in the raw format and read back through the real ingest (cached per run)."""
    bank = generate_bank(customers, months, seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.csv"
        bank.transactions.to_csv(path, index=False)
        txns = read_transactions([path]).frame
    return CanonicalBank(txns, bank.txn_labels, bank.customer_labels, pd.Timestamp(txns["ts"].max()).date())


def steady_bank(customers: int = 300, days: int = 180, seed: int = 0) -> pd.DataFrame:
    """A bank of ordinary customers whose answers are easy to reason about: each pays 3-6 times a week
    about their own usual amount (±30%, now and then 2-4x for a bigger purchase) at a handful of their own
    shops in their home city, between 9 am and 9 pm (a tenth of them are night owls who also pay between
    midnight and 4 am), receives a monthly salary, and a fifth of them also spend now and then in a second
    city. No fraud."""
    rng = np.random.default_rng(seed)
    cities = ["PUNE", "MUMBAI", "DELHI", "CHENNAI", "KOLKATA", "JAIPUR", "LUCKNOW", "BHOPAL"]
    rows = []
    start = pd.Timestamp("2016-01-01")
    for c in range(customers):
        cid = f"S{c:04d}"
        usual = float(np.exp(rng.normal(6.5, 0.5)))
        home = cities[c % len(cities)]
        second = cities[(c + 3) % len(cities)] if rng.random() < 0.2 else None
        night_owl = rng.random() < 0.1
        shops = [f"SHOP {c % 40}-{k}" for k in range(5)]
        n = int(days / 7 * rng.uniform(3, 6))
        day = np.sort(rng.integers(0, days, n))
        minute = np.where(night_owl & (rng.random(n) < 0.3), rng.integers(0, 4 * 60, n), rng.integers(9 * 60, 21 * 60, n))
        bigger = np.where(rng.random(n) < 0.05, rng.uniform(2, 4, n), 1.0)
        for d, m, b in zip(day.tolist(), minute.tolist(), bigger.tolist(), strict=True):
            place = second if second is not None and rng.random() < 0.1 else home
            rows.append({"customer_id": cid, "ts": start + pd.Timedelta(days=d, minutes=m),
                         "amount": round(usual * b * float(np.exp(rng.normal(0, 0.3))), 2), "location": place,
                         "merchant": shops[int(rng.integers(5))], "category": "groceries"})
        for month in range(days // 30):
            rows.append({"customer_id": cid, "ts": start + pd.Timedelta(days=30 * month + 1, hours=9),
                         "amount": round(usual * 40, 2), "txn_type": "CREDIT", "location": home,
                         "merchant": "SALARY ACME", "category": "income"})
    return frame(rows)
