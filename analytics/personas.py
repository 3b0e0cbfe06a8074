"""The rule each segment persona's name states, for a segment's centroid and for one customer alike.

Kept apart from `segments` (which needs scikit-learn) so the facade can check a customer cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def persona_gate(name: str, *, balance: float, frequency: float, recency_days: float, income_ratio: float,
                 age: float, median_balance: float) -> bool:
    """The hard condition a persona's name states, in real units (rupees, transactions a month, days, years).

    Used twice: a segment's centroid must pass it to be named so, and a customer shown that name must pass
    it too, or be told the name is the group's ("Low-balance customer" said to someone with 5× the group's
    balance is wrong about them).
    """
    gates = {
        "High-value saver": balance >= max(100_000.0, 2 * median_balance),
        "Frequent spender": frequency >= 6.0,
        "Low-balance customer": balance < median_balance,
        "Salaried professional": income_ratio >= 0.3 and 25 <= age <= 58,
        "Dormant customer": recency_days >= 60,
        "Young starter": age <= 30,
        "Retiree": age >= 55,
        "Occasional customer": frequency <= 1.5,
    }
    return gates.get(name, True)   # "Everyday banker" and numbered groups claim nothing a customer can fail


def persona_fits(name: str, own: Mapping[str, float | None], median_balance: float | None) -> bool | None:
    """Whether one customer's own figures pass `persona_gate` (None when a figure it needs is unknown).

    `own`: balance, frequency_per_month, recency_days, income_ratio, age (None or NaN = unknown).
    """
    values = {key: own.get(key) for key in ("balance", "frequency_per_month", "recency_days", "income_ratio",
                                            "age")}
    needed = {"High-value saver": ("balance",), "Low-balance customer": ("balance",),
              "Frequent spender": ("frequency_per_month",), "Occasional customer": ("frequency_per_month",),
              "Salaried professional": ("income_ratio", "age"), "Dormant customer": ("recency_days",),
              "Young starter": ("age",), "Retiree": ("age",)}.get(name, ())
    unknown = [k for k in needed if values[k] is None or not np.isfinite(float(values[k]))]  # type: ignore[arg-type]
    if unknown or (name in ("High-value saver", "Low-balance customer") and median_balance is None):
        return None
    number = {k: float(v) if v is not None and np.isfinite(float(v)) else float("nan") for k, v in values.items()}
    return persona_gate(name, balance=number["balance"], frequency=number["frequency_per_month"],
                        recency_days=number["recency_days"], income_ratio=number["income_ratio"],
                        age=number["age"], median_balance=float(median_balance or 0.0))
