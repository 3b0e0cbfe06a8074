"""The fraud detector's named signals: small pure functions of a row and its customer's history, each >= 0.

Every signal says how surprising one aspect of a transaction is for *this* customer, with a thin history
borrowing from the customer's peer cohort (empirical Bayes: `prior_strength` pseudo-observations of the
cohort stand beside the customer's own `n`). None of them knows about fraud; `analytics.anomaly` combines
them with weights fitted on labelled data. All take and return numpy arrays (one value per row).
"""

from __future__ import annotations

import numpy as np

UNUSUAL_SPREADS = 2.0     # an amount is "unusual" beyond two robust spreads of the customer's usual
UNUSUAL_TIMES = 3.0       # ... or beyond three times the customer's usual amount
SIGNAL_CAP = 10.0         # no single signal grows without bound (one absurd amount must not drown the rest)
FUNDED_SHARE = (0.5, 1.25)   # a debit of half to 1.25x a recent one-off credit spends that credit
FUNDED_MAX_ODD_HOUR = 1.0    # ... when made at an hour no rarer than e times a uniform one for the customer


def zero_nan(values: np.ndarray) -> np.ndarray:
    """NaN (no history) as 0 (np.nan_to_num costs several times more on the one-row path)."""
    return np.where(values != values, 0.0, values)


def shrunk_baseline(own_median: np.ndarray, own_spread: np.ndarray, n_own: np.ndarray, prior_median: np.ndarray,
                    prior_spread: np.ndarray, prior_strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre and spread of a customer's log amounts, shrunk towards the cohort's by how little history there is.

    With `n_own` earlier debits the customer's own median counts n / (n + k) and the cohort's prior the rest
    (k = `prior_strength`); the spread mixes the two variances the same way. No history (n = 0) gives the
    cohort's centre and its wide spread (which includes how much customers differ from each other), so a new
    customer's large payment is judged with low confidence instead of against the whole bank.
    """
    n = np.asarray(n_own, dtype=float)
    own_share = n / (n + prior_strength)
    centre = own_share * zero_nan(own_median) + (1.0 - own_share) * prior_median
    variance = own_share * zero_nan(own_spread) ** 2 + (1.0 - own_share) * prior_spread ** 2
    return centre, np.sqrt(variance)


def robust_z(log_amount: np.ndarray, centre: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """How many (shrunk, robust) spreads the log amount lies from the customer's usual."""
    return (log_amount - centre) / np.maximum(spread, 1e-6)


def amount_surprise(z: np.ndarray) -> np.ndarray:
    """Spreads above the usual beyond the first two. `z` is the smaller of the z against the customer's
    usual and the z against their own regular payments at that merchant or in that category (monthly rent
    of the same size is not surprising; a one-off 25x transfer is, whatever other customers transfer)."""
    return np.clip(z - UNUSUAL_SPREADS, 0.0, SIGNAL_CAP)


def times_usual(log_ratio: np.ndarray, n_own: np.ndarray, prior_strength: float) -> np.ndarray:
    """How many times the customer's usual amount this is, beyond the first three (log units), weighted by
    confidence n/(n+k). Unlike the z it ignores how widely the customer's payments vary: bills and rent
    make most histories wide, yet 25x the usual is remarkable for anyone."""
    return above_usual(log_ratio - np.log(UNUSUAL_TIMES), n_own, prior_strength)


def above_usual(log_ratio: np.ndarray, n_own: np.ndarray, prior_strength: float) -> np.ndarray:
    """How far above the customer's usual amount this is (log units, 0 at or below it), weighted by confidence
    n/(n+k). Summed over the hour's other debits: one payment at 2x the usual is ordinary, but four of 2x to 6x
    within the hour (a scammer's "fees", a card emptied in steps under its limit) add up."""
    n = np.asarray(n_own, dtype=float)
    return np.clip(log_ratio, 0.0, SIGNAL_CAP) * n / (n + prior_strength)


def tiny_surprise(z: np.ndarray) -> np.ndarray:
    """Spreads *below* the usual beyond the first two (card testers start with tiny payments)."""
    return np.clip(-z - UNUSUAL_SPREADS, 0.0, SIGNAL_CAP)


def beyond_largest(amount: np.ndarray, largest_other: np.ndarray, n_own: np.ndarray,
                   prior_strength: float) -> np.ndarray:
    """Log of how far the amount exceeds the most the customer ever paid, weighted by confidence n/(n+k)."""
    n = np.asarray(n_own, dtype=float)
    ratio = np.log(np.maximum(amount, 1.0) / np.maximum(largest_other, 1.0))
    return np.where(n > 0, np.clip(ratio, 0.0, SIGNAL_CAP) * n / (n + prior_strength), 0.0)


def novelty_surprise(is_new: np.ndarray, n_before: np.ndarray, singletons_before: np.ndarray,
                     prior_new_rate: np.ndarray, prior_strength: float) -> np.ndarray:
    """-log P(a new place / merchant) for a value the customer has not used before, 0 otherwise.

    P(new) is the Good-Turing estimate, the share of the history made of values seen exactly once
    (`singletons_before` / `n_before`), shrunk towards the cohort's rate of new values. A customer who has
    used one city for a hundred payments makes a new city very surprising; a shared or roaming ID with many
    one-off places makes it ordinary; the first transaction of a history (n = 0) has nothing to surprise.
    """
    n = np.asarray(n_before, dtype=float)
    p_new = (singletons_before + prior_strength * prior_new_rate) / (n + prior_strength)
    return np.where(is_new & (n > 0), -np.log(np.clip(p_new, 1e-9, 1.0)), 0.0)


def rarity_surprise(uses_before: np.ndarray, n_before: np.ndarray, prior_share: np.ndarray,
                    prior_strength: float) -> np.ndarray:
    """-log of the share of the customer's earlier payments in this category, smoothed towards the cohort's
    share (a first electronics purchase is rarer for a customer who only ever bought groceries)."""
    n = np.asarray(n_before, dtype=float)
    share = (uses_before + prior_strength * prior_share) / (n + prior_strength)
    return np.clip(-np.log(np.clip(share, 1e-9, 1.0)), 0.0, SIGNAL_CAP)


def hour_surprise(count_in_window: np.ndarray, n_history: np.ndarray, prior_window_share: np.ndarray,
                  prior_strength: float) -> np.ndarray:
    """How much rarer than a uniform hour this time of day is for the customer (log ratio, >= 0).

    The window is the hour itself and its two neighbours; the share of the customer's history in it is
    smoothed towards the cohort's share, so a night owl's 2 am is ordinary and a thin history falls back on
    what customers like them do.
    """
    n = np.asarray(n_history, dtype=float)
    share = (count_in_window + prior_strength * prior_window_share) / (n + prior_strength)
    return np.clip(np.log((3.0 / 24.0) / np.clip(share, 1e-9, None)), 0.0, SIGNAL_CAP)


def funded(amount: np.ndarray, funding: np.ndarray) -> np.ndarray:
    """Whether a payment is of about the size of a recent one-off credit (`funding`, 0: none): a consumer
    loan then the dealer's bill, a matured deposit then the purchase it was saved for. The caller decides
    where this may explain the amount (never at a new place, at night, or in a burst)."""
    return (funding > 0) & (amount >= FUNDED_SHARE[0] * funding) & (amount <= FUNDED_SHARE[1] * funding)


def burst_excess(n_nearby: np.ndarray, usual_nearby: np.ndarray) -> np.ndarray:
    """Debits within the hour around this one beyond the customer's usual number (busy people pay often)."""
    return np.clip(n_nearby - usual_nearby, 0.0, SIGNAL_CAP)
