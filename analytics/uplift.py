"""Treatment-versus-control comparison of a retention offer: share of customers active and activity per customer.

Pure arithmetic on per-customer transaction counts. Intervals are the usual normal approximations (a
difference of two proportions, and Welch's difference of two means), which is honest for groups of a few
dozen and more; below two customers in a group there is no interval.

>>> result = compare_groups([2, 0, 3, 1], [0, 0, 1, 0])
>>> round(result.active.difference, 2), round(result.per_customer.difference, 2)
(0.5, 1.25)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Difference:
    """treatment − control, with a two-sided confidence interval (None when a group is too small)."""

    treatment: float
    control: float
    difference: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class GroupComparison:
    n_treatment: int
    n_control: int
    active: Difference            # share of customers with at least one transaction
    per_customer: Difference      # transactions per customer
    confidence: float = 0.95


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _variance(values: Sequence[float]) -> float:
    """Sample variance (n − 1); 0 for fewer than two values."""
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _difference(treatment: Sequence[float], control: Sequence[float], variance_t: float, variance_c: float,
                z: float) -> Difference:
    mean_t, mean_c = _mean(treatment), _mean(control)
    diff = mean_t - mean_c
    if len(treatment) < 2 or len(control) < 2:
        return Difference(mean_t, mean_c, diff, None, None)
    half = z * math.sqrt(variance_t / len(treatment) + variance_c / len(control))
    return Difference(mean_t, mean_c, diff, diff - half, diff + half)


def compare_groups(treatment: Sequence[int], control: Sequence[int], z: float = Z_95) -> GroupComparison:
    """Compare per-customer transaction counts of the treatment (offer delivered) and control groups."""
    if any(c < 0 for c in (*treatment, *control)):
        raise ValueError("transaction counts cannot be negative")
    active_t = [1.0 if c > 0 else 0.0 for c in treatment]
    active_c = [1.0 if c > 0 else 0.0 for c in control]
    p_t, p_c = _mean(active_t), _mean(active_c)
    # Wald interval of a difference of proportions: p(1 - p) per group.
    active = _difference(active_t, active_c, p_t * (1 - p_t), p_c * (1 - p_c), z)
    if active.low is not None and active.high is not None:   # a difference of shares lies in [-1, 1]
        active = Difference(active.treatment, active.control, active.difference, max(active.low, -1.0),
                            min(active.high, 1.0))
    counts_t, counts_c = [float(c) for c in treatment], [float(c) for c in control]
    per_customer = _difference(counts_t, counts_c, _variance(counts_t), _variance(counts_c), z)
    return GroupComparison(len(treatment), len(control), active, per_customer)
