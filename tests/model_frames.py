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
