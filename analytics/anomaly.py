"""Unusual transactions: named signals judged against the customer and customers like them, combined by
weights fitted on labelled data, with the reasons in plain sentences.

Reading order: `TransactionAnomalyDetector` (the estimator), `Rows` (a frame as arrays), the two views of a
history (`_history_raw` for rows that are their own history, `_stored_raw` for new rows against what was
fitted), `_signals` (the named signals of `analytics.anomaly_signals`), then scoring and the sentences.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from analytics import anomaly_signals as signals
from analytics.anomaly_calibration import (
    KINDS,
    Host,
    estimate_fraud_rate,
    fit_monotone_logistic,
    kind_balanced_weights,
    plant_fraud,
    threshold_for_precision,
)
from analytics.anomaly_history import (
    contains,
    hour_shares_of,
    hour_window_count,
    key_counts,
    largest_before,
    largest_other,
    novelty,
    robust_groups,
    value_ranks,
)
from analytics.anomaly_patterns import ConfirmedPatterns
from analytics.anomaly_rows import Rows, rows_from_frame, rows_from_records
from analytics.money import format_inr

log = logging.getLogger(__name__)

__all__ = ["FEATURES", "RECENT_KEPT", "ConfirmedPatterns", "TransactionAnomalyDetector"]

IQR_PER_SD_MAD = 1.4826          # MAD -> standard deviation of a normal distribution
RECENT_KEPT = 8                  # transactions a live scorer remembers per customer (bot/services/scoring.py)
BURST_WINDOW_S = 3600            # "within an hour"
NEW_VALUE_GRACE_S = 86400        # a place first used less than a day ago is still new (one spree, one surprise)
FIXED_POINT = 1000               # signals summed over neighbours in integer thousandths: exact sums
LEVEL_BINS, ACTIVITY_BINS = 5, 3  # cohorts of settled histories: usual amount level x activity
BALANCE_BINS = 8                 # peer groups of thin histories: balance band (quantiles; + one for unknown)
AGE_EDGES = (26.0, 36.0, 51.0, 66.0)   # ... x age band (analytics.profiles' bands; + one for unknown)
N_PEERS = (BALANCE_BINS + 1) * (len(AGE_EDGES) + 2)
PEER_ROWS_PRIOR = 30.0           # a peer group's amounts count as many debits beside the pooled thin ones
DAYS_PER_YEAR = 365.25
MIN_REGULAR = {"merchant": 3, "category": 4}  # own earlier payments there that can make a history regular
REGULAR_SPREAD = 0.35            # ... when their log amounts vary this little (about ±25%: rent, EMIs, fees)
MIN_REGULAR_SPREAD = 0.1         # a rent paid identically every month still allows a rise of about 10-20%
REASON_MIN_LOG_ODDS = 1.0        # a signal adding this much to the log-odds is worth a sentence
REASON_FAMILIES = ("amount", "tiny", "new_place", "new_merchant", "odd_hour", "burst")   # one sentence each
_FAMILY_TIE_RANK = np.array([sorted(REASON_FAMILIES, reverse=True).index(f) for f in REASON_FAMILIES])
EXPLAIN_ODDS_FRACTION = 0.25     # rows within 4x of the flag threshold's odds are explained, not flagged
LARGE_CREDIT_FACTOR = 2.0        # a credit this many times the largest earlier one gets an informational note
ONE_OFF_CREDIT_FACTOR = 1.25     # a credit above the customer's other credits by this much is one-off (not pay)
FUNDING_WINDOW_S = 7 * 86400     # a one-off credit explains a purchase of about its size within a week after it
MIN_SPLIT_CUSTOMERS = 40         # fewer customers than this: calibrate on all of them
MAX_NEGATIVES = 50_000           # genuine rows in the logistic fit (all of them choose the threshold)
FEATURES = ("amount", "times_usual", "beyond_largest", "tiny", "new_place", "new_merchant", "rare_category",
            "odd_hour", "burst", "burst_high", "burst_low", "burst_above")


# ------------------------------------------------------------------------------------------------ raw history
@dataclass
class _Raw:
    """Per row, what its customer's history says before any prior is applied (and, after a fit-mode pass,
    per customer, the summaries the cohorts and the stored state are made of)."""

    n_own: np.ndarray                 # the customer's other debits
    own_median: np.ndarray            # their median log amount (NaN: none)
    own_spread: np.ndarray            # their robust spread of log amounts
    regular: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]   # merchant / category: median, spread, n
    largest: np.ndarray               # the most the customer paid in one other debit
    place: tuple[np.ndarray, np.ndarray, np.ndarray]       # is_new, n_before, singletons_before
    merchant: tuple[np.ndarray, np.ndarray, np.ndarray]
    category: tuple[np.ndarray, np.ndarray]                # earlier debits in this category, earlier categorised debits
    hour_count: np.ndarray            # other rows in the 3-hour window around this row's hour
    hour_n: np.ndarray                # other rows
    debit_rows: np.ndarray            # rows that are debits (the burst windows are over these)
    window: tuple[np.ndarray, np.ndarray, np.ndarray]      # their order by customer and time, window lo, hi
    stored_neighbours: tuple[np.ndarray, ...]              # fixed-point signals of stored rows in the windows
    nearby: np.ndarray                # other debits within an hour
    usual_nearby: np.ndarray          # the customer's usual number of them (NaN: unknown)
    n_debit: np.ndarray               # the customer's debits (confidence in `usual_nearby`)
    credit_largest: np.ndarray        # largest other credit (0: none)
    credit_n: np.ndarray              # other credits
    funding: np.ndarray               # largest one-off credit of the customer in the week before (0: none)
    cohort: np.ndarray | None = None  # per row; None: from `customer` and the fitted bin edges
    category_prior: np.ndarray | None = None   # cohort's share of the row's category (None: fitted codes)
    customer: dict[str, Any] = field(default_factory=dict)


_NO_NEIGHBOURS = (np.zeros(0, np.int64),) * 3


def _after_signals(raw: _Raw) -> _Raw:
    """`raw` keeping only what a fit reads once the signals exist (per-customer summaries, debit rows, and
    the arrays the signals' facts share); the other per-row arrays (~180 MB on the real file) are let go
    before the weights are fitted. Memory only: nothing read later is dropped."""
    gone = np.zeros(0)
    return replace(raw, own_median=gone, own_spread=gone, regular={}, place=(gone, gone, gone),
                   merchant=(gone, gone, gone), category=(gone, gone), hour_count=gone, hour_n=gone,
                   window=(gone, gone, gone), usual_nearby=gone, n_debit=gone, funding=gone)


def _latest_known(cust: np.ndarray, order: np.ndarray, values: np.ndarray | None, n_cust: int) -> np.ndarray:
    """Per customer, the value of their latest row (in `order`: by customer and time) that has one (NaN: none)."""
    out = np.full(n_cust, np.nan)
    if values is None or len(order) == 0:
        return out
    known = order[np.isfinite(values[order])]
    if len(known):
        last = np.r_[cust[known][1:] != cust[known][:-1], True]
        out[cust[known][last]] = values[known][last]
    return out


def _window_bounds(cust: np.ndarray, secs: np.ndarray, both_sides: np.ndarray,
                   order: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Order of rows by (customer, time) (computed unless given) and each one's window [lo, hi) in that
    order: neighbours within BURST_WINDOW_S before it, and after it too where `both_sides`."""
    key = cust.astype(np.int64) * (1 << 33) + secs
    if order is None:
        order = np.argsort(key, kind="stable")
    key = key[order]
    lo = np.searchsorted(key, key - BURST_WINDOW_S, side="left")
    ahead = np.searchsorted(key, key + BURST_WINDOW_S, side="right")
    hi = np.where(both_sides[order], ahead, np.arange(len(key)) + 1)
    return order, lo, hi


def _window_total(window: tuple[np.ndarray, ...], values: np.ndarray) -> np.ndarray:
    """Sum of each row's neighbours' integer values (itself left out), in the input order."""
    order, lo, hi = window
    v = values[order]
    total = np.concatenate((np.zeros(1, np.int64), np.cumsum(v, dtype=np.int64)))
    out = np.empty(len(order), np.int64)
    out[order] = total[hi] - total[lo] - v
    return out


def _own_hour_window(cust: np.ndarray, hour: np.ndarray, n_rows: np.ndarray, hour_keys: np.ndarray,
                     hour_counts: np.ndarray) -> np.ndarray:
    """Each row's customer's rows in its 3-hour window (`n_rows`: rows per customer). A customer of one row
    has just that one; the others get a dense customer x hour table when it is small (a million searches
    cost more), else searches in the sorted (customer, hour) keys."""
    several = n_rows > 1
    n_several = int(several.sum())
    if n_several * 24 > 8_000_000:
        return hour_window_count(hour_keys, hour_counts, cust, hour)
    compact = np.cumsum(several) - 1   # index of a customer among those with several rows
    mine = several[cust]
    local = compact[cust[mine]]
    table = np.bincount(local * 24 + hour[mine], minlength=n_several * 24).reshape(n_several, 24)
    window = table + np.roll(table, 1, axis=1) + np.roll(table, -1, axis=1)
    out = np.ones(len(cust), np.int64)
    out[mine] = window[local, hour[mine]]
    return out


def _compact_counts(counts: np.ndarray) -> np.ndarray:
    """Per-customer counts in 32 bits, or nothing at all when every one is 0 (a bank without merchant or
    category columns: 884k customers of zeros are 3.5 MB of artifact each)."""
    return counts.astype(np.int32) if counts.any() else np.zeros(0, np.int32)


def _per_customer(counts: np.ndarray, stored: np.ndarray, known: np.ndarray) -> np.ndarray:
    """counts[stored] for known customers, 0 for unknown ones and for counts stored as nothing."""
    if len(counts) == 0:
        return np.zeros(len(stored), np.int64)
    return np.where(known, counts[stored], 0)


def _new_rate(distinct: np.ndarray, n_valued: np.ndarray, default: float = 0.05) -> float:
    """Pooled rate at which a history's next value is one it never used (first rows left out)."""
    tries = np.maximum(n_valued - 1, 0).sum()
    return float(np.maximum(distinct - 1, 0).sum() / tries) if tries > 0 else default


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def _lookup(index: pd.Index, values: np.ndarray) -> np.ndarray:
    """Codes of `values` in a fitted vocabulary (-1: unseen); a few values are looked up one by one (fast)."""
    if len(values) > 8:
        return index.get_indexer(values).astype(np.int64) if len(index) else np.full(len(values), -1, np.int64)
    out = np.full(len(values), -1, np.int64)
    for i, value in enumerate(values.tolist()):
        try:
            found = index.get_loc(value)
        except (KeyError, TypeError):
            continue
        if isinstance(found, int | np.integer):
            out[i] = int(found)
    return out


def _through(codes: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """mapping[codes] with -1 staying -1."""
    return np.where(codes >= 0, np.append(mapping, -1)[codes], -1)


def _table_at(table: tuple[np.ndarray, ...], query: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, ...]:
    """(median, spread, count) of a stored group table at each query key (count 0 where absent)."""
    keys, median, spread, count = table
    if len(keys) == 0:
        return np.full(len(query), np.nan), np.zeros(len(query)), np.zeros(len(query), np.int64)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    hit = valid & (keys[pos] == query)
    return (np.where(hit, median[pos], np.nan), np.where(hit, spread[pos], 0.0),
            np.where(hit, count[pos], 0).astype(np.int64))


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×".replace(".0×", "×")


def _clock(hour: int, minute: int) -> str:
    return f"{(hour % 12) or 12}:{minute:02d} {'am' if hour < 12 else 'pm'}"


# --------------------------------------------------------------------------------------------- the estimator
class TransactionAnomalyDetector(BaseEstimator):
    """Scores transactions 0..1 for how likely they are fraud for their customer, with the reasons in words.

    Twelve named signals (`FEATURES`, each a function in `analytics.anomaly_signals`) describe one row
    against its customer's history: an amount far above the customer's usual (unless the customer's own
    regular payments at that merchant or in that category explain it) or above the most they ever paid, a
    tiny probing amount, a new place or merchant (surprising in proportion to how settled the customer's
    places and merchants are), an odd hour for the customer, and several debits within an hour, with how
    unusual those neighbours were (far above the usual, tiny, or only somewhat above it but adding up).
    Every history borrows from its peer cohort with a weight that shrinks as its own length grows: a
    settled one from customers of a similar usual amount and activity, a thin one
    (fewer than `min_history` debits) from its peer group, customers of the same balance band and age band,
    so a ₹95,000 debit after one ₹300 row is judged by what customers like them pay. Credits are never
    flagged (money coming in is not a "Was this you?"); a large one gets an informational `note`.

    The signals are combined by a monotone logistic regression fitted in `fit` on labelled data the bank
    does not need to have: synthetic fraud planted into a held-out slice of its own customers (see
    `analytics.anomaly_calibration`), plus customers' answers when given. The flag threshold is the lowest
    score whose precision reaches `precision_target`: the fraud rate (estimated from how many of the bank's
    own debits score like planted fraud, never below 1 in 1,000, unless `fraud_rate` is set) x recall on the
    planted fraud (every planted kind weighted to the same share of the planted rows) over the share of the
    bank's own held-out debits it would flag; when no score reaches the target, the most precise one.

    Parameters
    ----------
    precision_target : precision the flag threshold must reach on the validation set.
    fraud_rate : share of the bank's debits taken to be fraud when estimating precision; None estimates it
        from how many of the bank's own debits score like planted fraud, at least `FRAUD_RATE_FLOOR` (1 in
        1,000: the estimate falls as the planted fraud separates better, and the threshold would rise with it).
    prior_strength : pseudo-observations of the cohort beside a customer's own history.
    min_history : debits a customer needs to belong to an amount cohort rather than a thin peer group.
    validation_share : share of customers held out for calibration (their histories host planted fraud).
    planted_share : planted rows per genuine debit of the held-out customers.
    random_state : seed of the hold-out split and of the planted fraud.

    Attributes
    ----------
    threshold_ : the flag threshold; `metrics_` : threshold, targets, validation precision and recall (the
    planted kinds weighted to equal shares of rows), recall per planted kind, alerts per 1,000 customers per month on the fitted data; `coef_`,
    `intercept_` : the fitted weights (log-odds per unit of each signal).

    Examples
    --------
    >>> det = TransactionAnomalyDetector(random_state=0).fit(history)            # doctest: +SKIP
    >>> det.metrics_["validation_precision"], det.threshold_                     # doctest: +SKIP
    >>> det.score_frame(new_txns, context=earlier)[["anomaly_score", "flagged", "reasons"]]  # doctest: +SKIP
    >>> det.score_one({"customer_id": "C1", "ts": ..., "amount": 50000.0})       # doctest: +SKIP
    """

    def __init__(self, precision_target: float = 0.8, fraud_rate: float | None = None,
                 prior_strength: float = 5.0, min_history: int = 5, validation_share: float = 0.25,
                 planted_share: float = 0.03, random_state: int | None = 0) -> None:
        self.precision_target = precision_target
        self.fraud_rate = fraud_rate
        self.prior_strength = prior_strength
        self.min_history = min_history
        self.validation_share = validation_share
        self.planted_share = planted_share
        self.random_state = random_state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A detector stored by an earlier version scores as it did: signals added since get weight 0."""
        super().__setstate__(state)
        coef = getattr(self, "coef_", None)
        if coef is not None and len(coef) < len(FEATURES):
            self.coef_ = np.r_[coef, np.zeros(len(FEATURES) - len(coef))]
        if hasattr(self, "recent_cust_") and not hasattr(self, "recent_above_"):
            self.recent_above_ = np.zeros(len(self.recent_cust_), np.int64)

    @property
    def threshold(self) -> float:
        """The fitted flag threshold (`threshold_`)."""
        check_is_fitted(self, "threshold_")
        return self.threshold_

    # ------------------------------------------------------------------------------------------------ fit
    def fit(self, txns: pd.DataFrame, y: Any = None, labels: Mapping[str, int] | None = None,
            ) -> TransactionAnomalyDetector:
        """Learn the baselines, cohorts, signal weights and threshold from `txns` (canonical frame).

        `labels` are customers' answers, transaction_id -> 1 (disputed: fraud) / 0 (confirmed: genuine); both
        join the planted fraud in the fit and in the validation, and confirmed ones become expected patterns.
        """
        self._fit(txns, labels)
        return self

    def fit_score_frame(self, txns: pd.DataFrame, labels: Mapping[str, int] | None = None) -> pd.DataFrame:
        """`fit(txns)` then `score_frame(txns, part_of_fit=True)`, with the history computed once."""
        return self._fit(txns, labels)

    def _fit(self, txns: pd.DataFrame, labels: Mapping[str, int] | None) -> pd.DataFrame:
        if len(txns) == 0:
            raise ValueError("cannot fit the anomaly detector on no transactions")
        rows = rows_from_frame(txns)
        self._set_vocabularies(rows)
        raw = self._history_raw(rows)
        rng = np.random.default_rng(self.random_state)
        n_customers = len(rows.cust_ids)
        held = rng.random(n_customers) < self.validation_share
        if n_customers < MIN_SPLIT_CUSTOMERS or held.all() or not held.any():
            held = np.ones(n_customers, bool)   # too few customers to hold some out: calibrate on all
        baseline = ~held if (~held).any() else held
        self._fit_cohorts(rows, raw, baseline)
        self._fit_priors(rows, raw, baseline)

        label_of = self._labels_per_row(txns, labels)
        features, facts = self._signals(rows, raw)
        raw = _after_signals(raw)
        self._fit_weights(rows, raw, features, held, label_of, rng)
        confirmed_rows = label_of == 0
        self.confirmed_ = (ConfirmedPatterns.from_frame(txns[confirmed_rows]) if confirmed_rows.any()
                           else ConfirmedPatterns())
        self._store_state(rows, raw, features, facts["above"])
        del raw, label_of  # scoring needs only rows, features and facts: free the history's other arrays first
        scored = self._score_frame(rows, (features, facts), self.confirmed_, txns.index)
        months = max(float(rows.secs.max() - rows.secs.min()) / (30.44 * 86400), 1.0)
        flagged = int(scored["flagged"].sum())
        self.metrics_.update({
            "flagged": flagged, "fitted_customers": n_customers, "fitted_months": round(months, 2),
            "alerts_per_1000_customers_month": round(flagged / (n_customers / 1000) / months, 3),
        })
        log.info("anomaly: threshold %.4f, validation precision %.3f, recall %.3f; %d flagged",
                 self.threshold_, self.metrics_["validation_precision"], self.metrics_["validation_recall"], flagged)
        return scored

    @staticmethod
    def _labels_per_row(txns: pd.DataFrame, labels: Mapping[str, int] | None) -> np.ndarray:
        """Each row's answer: 1 disputed, 0 confirmed, -1 none."""
        if not labels or "transaction_id" not in txns:
            return np.full(len(txns), -1, np.int64)
        answered = pd.Series(dict(labels), dtype="int64")
        return answered.reindex(txns["transaction_id"].to_numpy()).fillna(-1).to_numpy(np.int64)

    # ------------------------------------------------------------------------------------------ cohorts
    def _customer_cohort(self, n_debit: np.ndarray, median: np.ndarray, per_month: np.ndarray,
                         peer: np.ndarray) -> np.ndarray:
        """A thin history's peer group (0 .. N_PEERS - 1: balance band x age band), else N_PEERS + amount
        level bin x activity bin (bin edges fitted)."""
        level = np.searchsorted(self.level_edges_, signals.zero_nan(median))
        activity = np.searchsorted(self.activity_edges_, per_month)
        return np.where(n_debit >= self.min_history, N_PEERS + level * ACTIVITY_BINS + activity,
                        peer).astype(np.int16)

    def _peer_group(self, log_balance: np.ndarray, dob_days: np.ndarray) -> np.ndarray:
        """Balance band x age band of customers (or rows): who a thin history is judged beside. Unknown
        balance or age (or an age no customer has) is a band of its own."""
        balance_band = np.where(np.isfinite(log_balance), np.searchsorted(self.balance_edges_, log_balance),
                                BALANCE_BINS)
        age = (self.age_reference_days_ - dob_days) / DAYS_PER_YEAR
        plausible = np.isfinite(age) & (age >= 10) & (age <= 110)
        age_band = np.where(plausible, np.searchsorted(np.asarray(AGE_EDGES), np.where(plausible, age, 0.0),
                                                       side="right"), len(AGE_EDGES) + 1)
        return (balance_band * (len(AGE_EDGES) + 2) + age_band).astype(np.int16)

    def _fit_cohorts(self, rows: Rows, raw: _Raw, baseline: np.ndarray) -> None:
        c = raw.customer
        settled = baseline & (c["n_debit"] >= self.min_history)
        if settled.any():
            self.level_edges_ = np.quantile(c["median"][settled], np.linspace(0, 1, LEVEL_BINS + 1)[1:-1])
            self.activity_edges_ = np.quantile(c["per_month"][settled], np.linspace(0, 1, ACTIVITY_BINS + 1)[1:-1])
        else:
            self.level_edges_ = np.zeros(LEVEL_BINS - 1)
            self.activity_edges_ = np.zeros(ACTIVITY_BINS - 1)
        balances = c["log_balance"][baseline & np.isfinite(c["log_balance"])]
        self.balance_edges_ = (np.quantile(balances, np.linspace(0, 1, BALANCE_BINS + 1)[1:-1]) if len(balances)
                               else np.full(BALANCE_BINS - 1, np.inf))
        self.age_reference_days_ = float(rows.secs.max()) / 86400.0 if len(rows.secs) else 0.0

    def _cohorts_of(self, c: dict[str, Any]) -> np.ndarray:
        """Each customer's cohort from the per-customer summaries of a history pass (computed once per pass,
        the bin edges being fitted before it is first asked for, and kept in `c`)."""
        if "cohort" not in c:
            c["cohort"] = self._customer_cohort(c["n_debit"], c["median"], c["per_month"],
                                                self._peer_group(c["log_balance"], c["dob_days"]))
        return c["cohort"]

    def _fit_priors(self, rows: Rows, raw: _Raw, baseline: np.ndarray) -> None:
        """Per cohort, from the baseline customers only: usual amount level and spread (including how much
        customers differ), rate of new places and merchants, hour-of-day shares, usual debits per hour.

        Thin histories share one pooled prior for everything but the amount; their amount prior is their
        peer group's (balance band x age band), shrunk towards the pooled one by how few debits it has."""
        c = raw.customer
        cohort = self._cohorts_of(c)
        pooled_of = np.where(cohort < N_PEERS, 0, cohort - N_PEERS + 1)   # thin peer groups as one cohort
        n_pooled = 1 + LEVEL_BINS * ACTIVITY_BINS
        row_cohort = pooled_of[rows.cust]
        in_base = baseline[rows.cust]
        debit = rows.debit & in_base
        log_amount = rows.log_amount
        all_debits = log_amount[rows.debit]
        bank_centre = float(np.median(all_debits)) if len(all_debits) else 0.0
        bank_spread = (float(np.median(np.abs(all_debits - bank_centre))) * IQR_PER_SD_MAD
                       if len(all_debits) else 1.0)
        centre = np.full(n_pooled, bank_centre)
        spread = np.full(n_pooled, max(bank_spread, 0.1))
        place_rate = np.full(n_pooled, _new_rate(c["place_distinct"][baseline], c["place_n"][baseline]))
        merchant_rate = np.full(n_pooled, _new_rate(c["merchant_distinct"][baseline], c["merchant_n"][baseline]))
        # Per pooled cohort in one pass each (integer counts and sums: the same figures as cohort by cohort).
        hour_table = np.bincount(row_cohort[in_base] * 24 + rows.hour[in_base],
                                 minlength=n_pooled * 24).reshape(n_pooled, 24)
        hours = np.tile(hour_shares_of(hour_table.sum(axis=0)), (n_pooled, 1))
        nearby = np.full(n_pooled, _mean(raw.nearby[debit]))
        debit_cohort = row_cohort[debit]
        nearby_n = np.bincount(debit_cohort, minlength=n_pooled)
        nearby_sum = np.bincount(debit_cohort, weights=raw.nearby[debit], minlength=n_pooled)
        del debit_cohort
        for k in range(n_pooled):
            members = baseline & (pooled_of == k)
            if not members.any():
                continue
            if k == 0:  # thin histories: all their debits pooled (the centre is unknown for each)
                values = log_amount[debit & (row_cohort == 0)]
                if len(values):
                    centre[k] = float(np.median(values))
                    spread[k] = max(float(np.median(np.abs(values - centre[k]))) * IQR_PER_SD_MAD, 0.1)
            else:
                medians = c["median"][members]
                centre[k] = float(np.median(medians))
                between = float(np.median(np.abs(medians - centre[k]))) * IQR_PER_SD_MAD
                within = float(np.median(c["spread"][members]))
                spread[k] = max(float(np.hypot(between, within)), 0.1)
            place_rate[k] = _new_rate(c["place_distinct"][members], c["place_n"][members], place_rate[k])
            merchant_rate[k] = _new_rate(c["merchant_distinct"][members], c["merchant_n"][members], merchant_rate[k])
            hours[k] = hour_shares_of(hour_table[k])
            if nearby_n[k]:
                nearby[k] = float(nearby_sum[k] / nearby_n[k])
        n_categories = max(len(rows.category_names), 1)
        categorised = debit & (rows.category >= 0)
        shares = 1.0 + np.bincount(row_cohort[categorised] * n_categories + rows.category[categorised],
                                   minlength=n_pooled * n_categories).reshape(n_pooled, n_categories)
        expand = np.r_[np.zeros(N_PEERS, np.int64), np.arange(1, n_pooled)]   # cohort -> pooled cohort
        peer_centre, peer_spread = self._peer_amounts(rows, cohort, debit & (row_cohort == 0), centre[0], spread[0])
        self.prior_category_share_ = (shares / shares.sum(axis=1, keepdims=True))[expand]
        self.prior_centre_ = np.r_[peer_centre, centre[1:]]
        self.prior_spread_ = np.r_[peer_spread, spread[1:]]
        self.prior_place_rate_, self.prior_merchant_rate_ = place_rate[expand], merchant_rate[expand]
        self.prior_hour_share_, self.prior_nearby_ = hours[expand], nearby[expand]

    @staticmethod
    def _peer_amounts(rows: Rows, cohort: np.ndarray, thin_debits: np.ndarray, pooled_centre: float,
                      pooled_spread: float) -> tuple[np.ndarray, np.ndarray]:
        """Centre and spread of each thin peer group's log amounts (all its members' debits pooled), each
        shrunk as if PEER_ROWS_PRIOR more debits stood beside them: the centre towards the pooled thin
        prior's, the spread towards a typical group's. A group of a handful of customers says little, a
        group of thousands says what customers like them pay."""
        centre, spread = np.full(N_PEERS, pooled_centre), np.full(N_PEERS, pooled_spread)
        rows_peer = cohort[rows.cust]
        values, peer = rows.log_amount[thin_debits], rows_peer[thin_debits]
        if len(values) == 0:
            return centre, spread
        groups = robust_groups(peer.astype(np.int64), values)
        n = groups.count.astype(float)
        share = n / (n + PEER_ROWS_PRIOR)
        keys = groups.keys
        centre[keys] = share * groups.median + (1 - share) * pooled_centre
        own_spread = np.maximum(groups.spread, 0.1)
        # A small group's spread leans on a typical group's (not on the pooled one, which also holds how far
        # the groups' centres lie apart: the very difference the groups are there to take out).
        sizeable = n >= PEER_ROWS_PRIOR
        typical = float(np.median(own_spread[sizeable])) if sizeable.any() else pooled_spread
        spread[keys] = np.sqrt(share * own_spread ** 2 + (1 - share) * typical ** 2)
        return centre, spread

    # -------------------------------------------------------------------------------- history: own rows
    def _history_raw(self, rows: Rows) -> _Raw:
        """Each row against its customer's *other* rows in `rows` (the frame is its own history)."""
        n_cust = len(rows.cust_ids)
        n = len(rows.cust)
        cust, debit = rows.cust, rows.debit
        log_amount = rows.log_amount
        order, rank = rows.time_rank()
        d = np.flatnonzero(debit)
        ranks = value_ranks(log_amount)   # one sort of the amounts serves every group below
        # Debits in (customer, time) order: their places in the rows' own time order, kept in that order
        # (sorted by customer, they make every grouped sort below a short one).
        d_position = np.cumsum(debit) - 1
        time_debits = d_position[order[debit[order]]]
        amounts = robust_groups(cust[d], log_amount[d], ranks[d], near=time_debits)
        n_debit = np.bincount(cust[d], minlength=n_cust)
        median, spread = np.full(n_cust, np.nan), np.full(n_cust, np.nan)
        median[amounts.keys], spread[amounts.keys] = amounts.median, amounts.spread
        own_median, own_spread, n_own = median[cust], spread[cust], n_debit[cust]
        own_median[d], own_spread[d], n_own[d] = amounts.row_median_others, amounts.row_spread, amounts.row_others

        regular, tables = {}, {}
        for name, code, names in (("merchant", rows.merchant, rows.merchant_names),
                                  ("category", rows.category, rows.category_names)):
            g_median, g_spread, g_n = np.full(n, np.nan), np.zeros(n), np.zeros(n, np.int64)
            r = np.flatnonzero(debit & (code >= 0))
            valued = code[d] >= 0   # the debits' order by (customer, amount) is near the (customer, value) one
            near = (np.cumsum(valued) - 1)[amounts.order[valued[amounts.order]]]
            groups = robust_groups(cust[r] * np.int64(max(len(names), 1)) + code[r], log_amount[r], ranks[r],
                                   near=near)
            g_median[r], g_spread[r], g_n[r] = groups.row_median_others, groups.row_spread, groups.row_others
            regular[name] = (g_median, g_spread, g_n)
            tables[name] = (groups.keys, groups.median, groups.spread, groups.count)

        largest = np.zeros(n)
        largest[d] = largest_other(cust[d], rows.amount[d], order=amounts.order)
        max_debit = np.zeros(n_cust)
        np.maximum.at(max_debit, cust[d], rows.amount[d])
        credits = np.flatnonzero(~debit)
        credit_largest, credit_n = np.zeros(n), np.zeros(n, np.int64)
        n_credit = np.bincount(cust[credits], minlength=n_cust)
        credit_max = np.zeros(n_cust)
        if len(credits):
            time_credits = (np.cumsum(~debit) - 1)[order[~debit[order]]]   # sorted by customer: a short sort
            credit_largest[credits] = largest_other(cust[credits], rows.amount[credits], ranks[credits],
                                                    near=time_credits)
            credit_n[credits] = n_credit[cust[credits]] - 1
            np.maximum.at(credit_max, cust[credits], rows.amount[credits])
        one_off = credits[_one_off(rows.amount[credits], credit_largest[credits], credit_n[credits])]
        funding = np.zeros(n)
        funding[d] = largest_before(cust[one_off], rows.secs[one_off], rows.amount[one_off], cust[d], rows.secs[d],
                                    FUNDING_WINDOW_S)
        del amounts, groups, ranks  # memory only: what they hold per row is copied out above (~100 MB here)

        places = novelty(cust, rows.place, rows.secs, rank, n_cust, NEW_VALUE_GRACE_S)
        merchants = novelty(cust, rows.merchant, rows.secs, rank, n_cust, NEW_VALUE_GRACE_S)
        categories = novelty(cust, np.where(debit, rows.category, -1), rows.secs, rank, n_cust, 0)

        window = _window_bounds(cust[d], rows.secs[d], np.ones(len(d), bool), time_debits)
        nearby_d = np.empty(len(d), np.int64)
        nearby_d[window[0]] = window[2] - window[1] - 1
        nearby = np.zeros(n, np.int64)
        nearby[d] = nearby_d
        usual_nearby = np.bincount(cust[d], weights=nearby_d, minlength=n_cust) / np.maximum(n_debit, 1)

        hour_keys, hour_counts = key_counts(cust * 24 + rows.hour, near=order)
        n_rows = np.bincount(cust, minlength=n_cust)
        # The customer's other rows, leaving out this hour's debits (one burst at 3 am is not a habit).
        hour_count = _own_hour_window(cust, rows.hour, n_rows, hour_keys, hour_counts) - 1 - nearby
        hour_n = n_rows[cust] - 1 - nearby

        ordered = cust[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, np.int64)
        ends = np.r_[starts[1:], n] - 1
        span = np.zeros(n_cust)
        span[ordered[starts]] = (rows.secs[order][ends] - rows.secs[order][starts]) / (30.44 * 86400)
        customer = {
            "n_debit": n_debit, "median": median, "spread": spread, "per_month": n_debit / np.maximum(span, 1.0),
            "n_rows": n_rows, "usual_nearby": usual_nearby, "max_debit": max_debit,
            "credit_max": credit_max, "n_credit": n_credit,
            "place_distinct": places.distinct, "place_n": places.n_valued, "place_singletons": places.singletons,
            "merchant_distinct": merchants.distinct, "merchant_n": merchants.n_valued,
            "merchant_singletons": merchants.singletons, "n_categorised": categories.n_valued,
            "hour_keys": hour_keys, "hour_counts": hour_counts, "tables": tables,
            "log_balance": np.log1p(np.maximum(_latest_known(cust, order, rows.balance, n_cust), 0.0)),
            "dob_days": _latest_known(cust, order, rows.dob_days, n_cust),
            "time_order": order,   # the rows by (customer, time): the stored keys' sorts start from it
            "one_off_credits": one_off,
        }
        return _Raw(n_own=n_own, own_median=own_median, own_spread=own_spread, regular=regular, largest=largest,
                    place=(places.is_new, places.n_before, places.singletons_before),
                    merchant=(merchants.is_new, merchants.n_before, merchants.singletons_before),
                    category=(categories.uses_before, categories.n_before),
                    hour_count=hour_count, hour_n=hour_n, debit_rows=d, window=window,
                    stored_neighbours=_NO_NEIGHBOURS, nearby=nearby, usual_nearby=usual_nearby[cust],
                    n_debit=n_debit[cust], credit_largest=credit_largest, credit_n=credit_n, funding=funding,
                    customer=customer)

    # --------------------------------------------------------------------------- history: stored state
    def _stored_raw(self, rows: Rows) -> _Raw:
        """New rows against the customers' fitted histories; context rows (and the other new rows) add
        to bursts and to the places and merchants used since."""
        n = len(rows.cust)
        stored = _lookup(self.customers_, rows.cust_ids)[rows.cust] if n else np.zeros(0, np.int64)
        known = stored >= 0
        s = np.maximum(stored, 0)
        debit = rows.debit
        n_own = np.where(known, self.n_debit_[s], 0).astype(np.int64)
        own_median = np.where(known, self.median_log_[s], np.nan).astype(float)
        own_spread = np.where(known, self.spread_log_[s], np.nan).astype(float)
        cohort = np.where(known, self.cohort_[s], self._new_customer_peer(rows)).astype(np.int16)

        # Each text column's codes in the fitted vocabulary, and the (customer, value) keys stored for them.
        customer_base = s.astype(np.int64)
        fitted, keys = {}, {}
        for name, code, names, vocabulary in (("place", rows.place, rows.place_names, self.places_),
                                              ("merchant", rows.merchant, rows.merchant_names, self.merchants_),
                                              ("category", rows.category, rows.category_names, self.categories_)):
            fitted[name] = _through(code, _lookup(vocabulary, names))
            keys[name] = customer_base * max(len(vocabulary), 1) + np.maximum(fitted[name], 0)
        regular = {name: _table_at(getattr(self, f"{name}_table_"), keys[name], known & (fitted[name] >= 0) & debit)
                   for name in ("merchant", "category")}

        order, rank = rows.time_rank()
        n_local = len(rows.cust_ids)

        def novel(code: np.ndarray, prefix: str) -> tuple[np.ndarray, ...]:
            since = novelty(rows.cust, code, rows.secs, rank, n_local, NEW_VALUE_GRACE_S)
            seen = known & (fitted[prefix] >= 0) & contains(getattr(self, f"{prefix}_keys_"), keys[prefix])
            n_before = _per_customer(getattr(self, f"{prefix}_n_"), s, known) + since.n_before
            singles = _per_customer(getattr(self, f"{prefix}_singletons_"), s, known) + since.singletons_before
            return since.is_new & ~seen, n_before, singles

        place = novel(rows.place, "place")
        merchant = novel(rows.merchant, "merchant")
        since = novelty(rows.cust, np.where(debit, rows.category, -1), rows.secs, rank, n_local, 0)
        category = (regular["category"][2] + since.uses_before,
                    _per_customer(self.n_categorised_, s, known) + since.n_before)
        category_code = fitted["category"]
        category_prior = np.where(category_code >= 0, self.prior_category_share_[cohort, np.maximum(category_code, 0)],
                                  1.0 / (len(self.categories_) + 1))
        hour_count = np.where(known, hour_window_count(self.hour_keys_, self.hour_counts_, s, rows.hour), 0)
        hour_n = np.where(known, self.n_rows_[s], 0)

        # Bursts: the new and context rows' debits, and any stored debit from the fit's last hour.
        d = np.flatnonzero(debit)
        extra_local, extra_secs, *extra = self._recent_for(rows, stored)
        cust_w = np.concatenate((extra_local, rows.cust[d]))
        secs_w = np.concatenate((extra_secs, rows.secs[d]))
        window = _window_bounds(cust_w, secs_w, np.arange(len(cust_w)) >= len(extra_local))
        nearby_w = np.empty(len(cust_w), np.int64)
        nearby_w[window[0]] = window[2] - window[1] - 1
        nearby = np.zeros(n, np.int64)
        nearby[d] = nearby_w[len(extra_local):]

        credit_largest, credit_n = np.zeros(n), np.zeros(n, np.int64)
        if len(self.credit_customers_):
            pos = np.minimum(np.searchsorted(self.credit_customers_, s), len(self.credit_customers_) - 1)
            hit = known & (self.credit_customers_[pos] == s)
            credit_largest = np.where(hit, self.credit_max_[pos], 0.0)
            credit_n = np.where(hit, self.credit_n_[pos], 0)
        funding = self._stored_funding(rows, stored, credit_largest, credit_n)
        return _Raw(n_own=n_own, own_median=own_median, own_spread=own_spread, regular=regular,
                    largest=np.where(known, self.max_debit_[s], 0.0).astype(float), place=place, merchant=merchant,
                    category=category, category_prior=category_prior,
                    hour_count=hour_count, hour_n=hour_n, debit_rows=d, window=window,
                    stored_neighbours=tuple(extra), nearby=nearby,
                    usual_nearby=np.where(known, self.usual_nearby_[s], np.nan).astype(float),
                    n_debit=n_own, credit_largest=credit_largest, credit_n=credit_n, funding=funding, cohort=cohort)

    def _stored_funding(self, rows: Rows, stored: np.ndarray, credit_largest: np.ndarray,
                        credit_n: np.ndarray) -> np.ndarray:
        """Per row, the largest one-off credit of its customer in the week before it: the new and context rows'
        own (judged against the fitted credits) and those of the fit's last week."""
        credits = np.flatnonzero(~rows.debit & np.isfinite(rows.amount))
        one_off = credits[_one_off(rows.amount[credits], credit_largest[credits], credit_n[credits])]
        src_cust, src_secs, src_amount = rows.cust[one_off], rows.secs[one_off], rows.amount[one_off]
        fitted_cust = getattr(self, "funding_cust_", np.zeros(0, np.int64))   # a detector saved before these
        if len(fitted_cust) and len(stored):
            local_of = np.full(len(rows.cust_ids), -1, np.int64)
            local_of[rows.cust] = stored
            known = np.flatnonzero(local_of >= 0)
            by_stored = known[np.argsort(local_of[known], kind="stable")]
            fitted = local_of[by_stored]
            if len(fitted):
                pos = np.minimum(np.searchsorted(fitted, fitted_cust), len(fitted) - 1)
                hit = fitted[pos] == fitted_cust
                src_cust = np.r_[src_cust, by_stored[pos][hit]]
                src_secs = np.r_[src_secs, self.funding_secs_[hit]]
                src_amount = np.r_[src_amount, self.funding_amount_[hit]]
        d = np.flatnonzero(rows.debit)
        funding = np.zeros(len(rows.cust))
        funding[d] = largest_before(src_cust, src_secs, src_amount, rows.cust[d], rows.secs[d], FUNDING_WINDOW_S)
        return funding

    def _new_customer_peer(self, rows: Rows) -> np.ndarray:
        """Per row, the peer group of its customer from the rows at hand (for customers the fit never saw)."""
        order, _ = rows.time_rank()
        n_local = len(rows.cust_ids)
        balance = np.log1p(np.maximum(_latest_known(rows.cust, order, rows.balance, n_local), 0.0))
        return self._peer_group(balance, _latest_known(rows.cust, order, rows.dob_days, n_local))[rows.cust]

    def _recent_for(self, rows: Rows, stored: np.ndarray) -> tuple[np.ndarray, ...]:
        """The fit's last-hour debits of the customers in `rows`, as (local customer, secs, high, low, above)."""
        empty = np.zeros(0, np.int64)
        if len(self.recent_cust_) == 0 or len(stored) == 0:
            return (empty,) * 5
        local_of = np.full(len(rows.cust_ids), -1, np.int64)
        local_of[rows.cust] = stored
        known = np.flatnonzero(local_of >= 0)
        if len(known) == 0:
            return (empty,) * 5
        by_stored = known[np.argsort(local_of[known], kind="stable")]
        fitted = local_of[by_stored]
        pos = np.minimum(np.searchsorted(fitted, self.recent_cust_), len(fitted) - 1)
        hit = fitted[pos] == self.recent_cust_
        return (by_stored[pos][hit], self.recent_secs_[hit].astype(np.int64),
                self.recent_high_[hit].astype(np.int64), self.recent_low_[hit].astype(np.int64),
                self.recent_above_[hit].astype(np.int64))

    def _category_share(self, rows: Rows, cohort: np.ndarray) -> np.ndarray:
        """The cohort's share of each row's category, looked up by category name in the fitted vocabulary."""
        fitted = _through(rows.category, _lookup(self.categories_, rows.category_names))
        share = self.prior_category_share_[cohort, np.clip(fitted, 0, self.prior_category_share_.shape[1] - 1)]
        return np.where(fitted >= 0, share, 1.0 / (self.prior_category_share_.shape[1] + 1))

    # -------------------------------------------------------------------------------------------- signals
    def _signals(self, rows: Rows, raw: _Raw) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The named signals of every row (0 for credits), and the figures the sentences quote."""
        k = self.prior_strength
        if raw.cohort is not None:
            cohort = raw.cohort
        else:
            c = raw.customer
            cohort = self._cohorts_of(c)[rows.cust]
        centre, spread = signals.shrunk_baseline(raw.own_median, raw.own_spread, raw.n_own, self.prior_centre_[cohort],
                                                 self.prior_spread_[cohort], k)
        log_amount = rows.log_amount
        z_own = signals.robust_z(log_amount, centre, spread)
        # Only the customer's own *regular* payments explain a big amount: enough of them at this merchant
        # (or in this category), of about the same size. Other customers' habits never do.
        z_regular = np.full(len(z_own), np.inf)
        for name in ("merchant", "category"):
            g_median, g_spread, g_n = raw.regular[name]
            regular = (g_n >= MIN_REGULAR[name]) & (g_spread <= REGULAR_SPREAD)   # False where NaN
            z_g = (np.abs(log_amount - signals.zero_nan(g_median))
                   / np.maximum(signals.zero_nan(g_spread), MIN_REGULAR_SPREAD))
            z_regular = np.minimum(z_regular, np.where(regular, z_g, np.inf))
        z = np.minimum(z_own, z_regular)
        explained = z_regular < z_own
        debit = rows.debit
        priced = debit & np.isfinite(rows.amount)
        amount = np.where(priced, signals.amount_surprise(z), 0.0)
        unexplained = priced & ~(z_regular <= signals.UNUSUAL_SPREADS)
        times_usual = np.where(unexplained, signals.times_usual(log_amount - centre, raw.n_own, k), 0.0)
        above = np.where(unexplained, signals.above_usual(log_amount - centre, raw.n_own, k), 0.0)
        tiny = np.where(priced, signals.tiny_surprise(z_own), 0.0)
        del spread, z_g, z_own, z_regular, z  # memory only: not read below
        beyond = np.where(priced, signals.beyond_largest(signals.zero_nan(rows.amount), raw.largest, raw.n_own, k), 0.0)
        new_place = signals.novelty_surprise(*raw.place, self.prior_place_rate_[cohort], k)
        new_merchant = signals.novelty_surprise(*raw.merchant, self.prior_merchant_rate_[cohort], k)
        category_prior = (raw.category_prior if raw.category_prior is not None else
                          np.where(rows.category >= 0, self._category_share(rows, cohort), 1.0))
        rare_category = np.where(rows.category >= 0, signals.rarity_surprise(*raw.category, category_prior, k), 0.0)
        odd_hour = signals.hour_surprise(raw.hour_count, raw.hour_n, self.prior_hour_share_[cohort, rows.hour], k)
        n_d = raw.n_debit
        usual_nearby = (n_d * signals.zero_nan(raw.usual_nearby) + k * self.prior_nearby_[cohort]) / (n_d + k)
        burst = signals.burst_excess(raw.nearby, usual_nearby)
        # A lone daytime purchase at a place the customer uses, of about the size of a one-off credit a few
        # days before (a loan disbursed, a deposit matured): its size is what that money was for. Never a
        # transfer: sending a fresh loan on to someone is how pre-approved-loan scams end.
        transfer = np.isin(rows.category, np.flatnonzero(np.asarray(rows.category_names, dtype=object) == "transfers"))
        funded = (priced & signals.funded(signals.zero_nan(rows.amount), raw.funding) & ~raw.place[0]
                  & (raw.nearby == 0) & (odd_hour < signals.FUNDED_MAX_ODD_HOUR) & ~transfer)
        if funded.any():
            amount, times_usual, beyond, above = (np.where(funded, 0.0, v)
                                                  for v in (amount, times_usual, beyond, above))
        d = raw.debit_rows
        extra_high, extra_low, extra_above = raw.stored_neighbours
        n_extra = len(extra_high)
        high, low, above_near = np.zeros(len(debit)), np.zeros(len(debit)), np.zeros(len(debit))
        for target, own, extra in ((high, times_usual, extra_high), (low, tiny, extra_low),
                                   (above_near, above, extra_above)):
            fixed = np.concatenate((extra, np.round(own[d] * FIXED_POINT).astype(np.int64)))
            target[d] = np.minimum(_window_total(raw.window, fixed)[n_extra:] / FIXED_POINT, signals.SIGNAL_CAP)
        found = {"amount": amount, "times_usual": times_usual, "beyond_largest": beyond, "tiny": tiny, "new_place": new_place,
                 "new_merchant": new_merchant, "rare_category": rare_category, "odd_hour": odd_hour, "burst": burst, "burst_high": high,
                 "burst_low": low, "burst_above": above_near}
        # Memory only: `found` is the one holder of each signal, freed as its credits-zeroed copy is made.
        del amount, times_usual, beyond, tiny, new_place, new_merchant, rare_category, odd_hour, burst, high, low, own, target
        del above_near
        features = {name: np.where(debit, found.pop(name), 0.0) for name in FEATURES}
        # `above` (0 on credits) per row, not summed: the fit stores its last hour's for the next rows' windows.
        return features, {"centre": centre, "explained": explained, "n_own": raw.n_own, "largest": raw.largest,
                          "nearby": raw.nearby, "credit_largest": raw.credit_largest, "credit_n": raw.credit_n,
                          "above": above}

    # ------------------------------------------------------------------------------------ weights, threshold
    def _planted(self, rows: Rows, raw: _Raw, features: dict[str, np.ndarray], held: np.ndarray,
                 rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None:
        """Signals of the held-out customers' rows with synthetic fraud planted among them: (signals,
        planted kind per row (-1: genuine, -2: genuine but within the hour of planted fraud), each genuine
        row's position in `rows`).

        Only the customers who host planted rows need a second history pass: a customer's signals come
        from their own rows alone (bit for bit), so everyone else's are those of the bank's pass, `features`."""
        hosts = np.flatnonzero(rows.debit & held[rows.cust] & np.isfinite(rows.amount))
        if len(hosts) == 0:
            return None
        usual = np.expm1(raw.customer["median"])[rows.cust[hosts]]
        host = Host(rows.cust[hosts], rows.secs[hosts], usual, rows.place[hosts], rows.category[hosts])
        n_events = int(np.clip(round(self.planted_share * len(hosts) / 2.5), 60, 5000))
        planted = plant_fraud(host, n_events, len(rows.place_names), rng)
        keep = np.flatnonzero(held[rows.cust])
        hosting = np.zeros(len(rows.cust_ids), bool)
        hosting[planted.cust] = True
        in_pass = hosting[rows.cust[keep]]
        redo = keep[in_pass]
        n_merchants = len(rows.merchant_names)
        # Planted rows carry only what the bank's own rows carry: no payee where the bank has none.
        has_merchants = bool((rows.merchant >= 0).any())
        planted_merchant = np.where(planted.known_payee, rows.merchant[hosts][planted.host], n_merchants + planted.event)
        planted_merchant = planted_merchant if has_merchants else np.full(len(planted.cust), -1, np.int64)
        # A new payee's category is any of the bank's spending categories: fraud does not follow habits.
        spent_in = np.unique(rows.category[rows.debit & (rows.category >= 0)])
        any_category = (rng.choice(spent_in, len(planted.cust)) if len(spent_in)
                        else np.full(len(planted.cust), -1, np.int64))
        cal = Rows(
            cust=np.r_[rows.cust[redo], planted.cust], cust_ids=rows.cust_ids,
            secs=np.r_[rows.secs[redo], planted.secs], amount=np.r_[rows.amount[redo], planted.amount],
            debit=np.r_[rows.debit[redo], np.ones(len(planted.cust), bool)],
            place=np.r_[rows.place[redo], planted.place], place_names=rows.place_names,
            merchant=np.r_[rows.merchant[redo], planted_merchant],
            merchant_names=np.r_[rows.merchant_names, np.full(n_events, "NEW PAYEE", dtype=object)],
            category=np.r_[rows.category[redo], np.where(planted.known_payee, planted.category, any_category)],
            category_names=rows.category_names,
            scored=np.ones(len(redo) + len(planted.cust), bool),
            balance=None if rows.balance is None else np.r_[rows.balance[redo], np.full(len(planted.cust), np.nan)],
            dob_days=None if rows.dob_days is None else np.r_[rows.dob_days[redo], np.full(len(planted.cust), np.nan)])
        again, _ = self._signals(cal, self._history_raw(cal))
        out = {}
        for name in FEATURES:
            genuine = features[name][keep]      # a fresh array: the bank's own features stay as they are
            genuine[in_pass] = again[name][:len(redo)]
            out[name] = np.r_[genuine, again[name][len(redo):]]
        # A genuine payment within the hour of planted fraud is a burst's neighbour: its label is moot.
        planted_key = np.sort(planted.cust.astype(np.int64) * (1 << 33) + planted.secs)
        genuine_key = rows.cust[keep].astype(np.int64) * (1 << 33) + rows.secs[keep]
        near = (np.searchsorted(planted_key, genuine_key + BURST_WINDOW_S, side="right")
                - np.searchsorted(planted_key, genuine_key - BURST_WINDOW_S, side="left")) > 0
        kind = np.r_[np.where(near, -2, -1), planted.kind]
        return out, kind, keep

    def _fit_weights(self, rows: Rows, raw: _Raw, features: dict[str, np.ndarray], held: np.ndarray,
                     label_of: np.ndarray, rng: np.random.Generator) -> None:
        """Monotone logistic weights on planted fraud + customers' answers, and the flag threshold."""
        planted = self._planted(rows, raw, features, held, rng)
        answered = np.flatnonzero((label_of >= 0) & rows.debit)
        matrix = np.column_stack([features[name][answered] for name in FEATURES])
        pos_parts, neg_parts, kinds = [matrix[label_of[answered] == 1]], [matrix[label_of[answered] == 0]], []
        if planted is not None:
            cal_features, kind, keep = planted
            cal = np.column_stack([cal_features[name] for name in FEATURES])
            genuine = np.r_[rows.debit[keep] & (label_of[keep] < 0), np.zeros(int((kind >= 0).sum()), bool)] & (kind == -1)
            pos_parts.append(cal[kind >= 0])
            neg_parts.append(cal[genuine])
            kinds = kind[kind >= 0]
        positives, negatives = np.vstack(pos_parts), np.vstack(neg_parts)
        self.metrics_ = {"precision_target": self.precision_target, "fraud_rate": self.fraud_rate,
                         "labels_disputed": int((label_of == 1).sum()), "labels_confirmed": int((label_of == 0).sum()),
                         "validation_positives": len(positives), "validation_negatives": len(negatives)}
        if len(positives) == 0 or len(negatives) == 0:
            self.intercept_, self.coef_, self.prior_shift_ = -50.0, np.zeros(len(FEATURES)), 0.0
            self.threshold_, self.flag_log_odds_ = 1.0, np.inf
            self.metrics_.update({"threshold": 1.0, "validation_precision": float("nan"),
                                  "validation_recall": float("nan"), "target_met": False})
            return
        sample = negatives
        if len(negatives) > MAX_NEGATIVES:
            sample = negatives[rng.choice(len(negatives), MAX_NEGATIVES, replace=False)]
        X = np.vstack([positives, sample])
        y = np.r_[np.ones(len(positives)), np.zeros(len(sample))]
        weight = np.r_[np.full(len(positives), 0.5 / len(positives)), np.full(len(sample), 0.5 / len(sample))]
        self.intercept_, self.coef_ = fit_monotone_logistic(X, y, weight)
        self.prior_shift_ = 0.0
        pos_scores, neg_scores = self._probability(positives), self._probability(negatives)
        # Every planted kind the same share of the planted rows; customers' disputed answers count once each.
        pos_weight = np.r_[np.ones(len(positives) - len(kinds)), kind_balanced_weights(kinds)]
        point = threshold_for_precision(pos_scores, neg_scores, self.fraud_rate, self.precision_target,
                                        positive_weight=pos_weight)
        # Flags compare log-odds (exact for any number of rows); scores read as the probability of fraud at
        # the bank's fraud rate (the logistic fit saw fraud and genuine rows half and half).
        self.flag_log_odds_ = _logit(point.threshold)
        self.prior_shift_ = float(np.log(point.fraud_rate / (1 - point.fraud_rate)))
        self.threshold_ = float(1.0 / (1.0 + np.exp(-(self.flag_log_odds_ + self.prior_shift_))))
        flagged = pos_scores[len(pos_scores) - len(kinds):] >= point.threshold
        self.metrics_.update({
            "threshold": round(self.threshold_, 6), "fraud_rate_used": round(point.fraud_rate, 6),
            "fraud_rate_estimated": round(estimate_fraud_rate(pos_scores, neg_scores, bounds=(0.0, 1.0),
                                                              positive_weight=pos_weight), 6),
            "validation_precision": round(point.precision, 4),
            "validation_recall": round(point.recall, 4), "target_met": point.target_met,
            "validation_false_alarm_rate": round(float((neg_scores >= point.threshold).mean()), 6),
            "planted_recall": {KINDS[k]: round(float(flagged[kinds == k].mean()), 3)
                               for k in range(len(KINDS)) if (kinds == k).any()},
            "weights": {name: round(float(w), 4) for name, w in zip(FEATURES, self.coef_, strict=True)},
        })

    def _log_odds(self, columns: Sequence[np.ndarray]) -> np.ndarray:
        """intercept + sum of weight x signal, added in a fixed order (the same bits for any number of rows)."""
        total = np.full(len(columns[0]), self.intercept_)
        for weight, column in zip(self.coef_.tolist(), columns, strict=True):
            total = total + weight * column
        return total

    def _probability(self, matrix: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self._log_odds([matrix[:, j] for j in range(matrix.shape[1])])))

    # ----------------------------------------------------------------------------------------- stored state
    def _set_vocabularies(self, rows: Rows) -> None:
        """The fitted customers, places, merchants and categories: codes into these are what is stored."""
        self.customers_ = pd.Index(rows.cust_ids, dtype=object)
        self.places_ = pd.Index(rows.place_names, dtype=object)
        self.merchants_ = pd.Index(rows.merchant_names, dtype=object)
        self.categories_ = pd.Index(rows.category_names, dtype=object)

    def _store_state(self, rows: Rows, raw: _Raw, features: dict[str, np.ndarray], above: np.ndarray) -> None:
        """What new rows are judged against, in 32 bits where it is per customer (884k customers of the
        public file fit in a few tens of MB)."""
        c = raw.customer
        self.median_log_ = c["median"].astype(np.float32)
        self.spread_log_ = c["spread"].astype(np.float32)
        self.n_debit_ = c["n_debit"].astype(np.int32)
        self.n_rows_ = c["n_rows"].astype(np.int32)
        self.max_debit_ = c["max_debit"].astype(np.float32)
        self.usual_nearby_ = c["usual_nearby"].astype(np.float32)
        self.cohort_ = self._cohorts_of(c).astype(np.int8)
        for prefix, code, vocabulary in (("place", rows.place, self.places_), ("merchant", rows.merchant, self.merchants_)):
            valued = code >= 0
            near = (np.cumsum(valued) - 1)[c["time_order"][valued[c["time_order"]]]]
            keys, _ = key_counts(rows.cust[valued].astype(np.int64) * max(len(vocabulary), 1) + code[valued],
                                 near=near)
            setattr(self, f"{prefix}_keys_", keys)
            setattr(self, f"{prefix}_n_", _compact_counts(c[f"{prefix}_n"]))
            setattr(self, f"{prefix}_singletons_", _compact_counts(c[f"{prefix}_singletons"]))
        self.hour_keys_, self.hour_counts_ = c["hour_keys"], c["hour_counts"].astype(np.int32)
        self.n_categorised_ = _compact_counts(c["n_categorised"])
        for name in ("merchant", "category"):
            keys, median, spread, count = c["tables"][name]
            setattr(self, f"{name}_table_", (keys, median.astype(np.float32), spread.astype(np.float32),
                                             count.astype(np.int32)))
        credited = np.flatnonzero(c["n_credit"] > 0)
        self.credit_customers_ = credited.astype(np.int64)
        self.credit_max_ = c["credit_max"][credited].astype(np.float32)
        self.credit_n_ = c["n_credit"][credited].astype(np.int32)
        # One-off credits of the fit's last week: the purchase they were raised for may come in the new rows.
        funds = c["one_off_credits"]
        funds = funds[rows.secs[funds] > (rows.secs.max() if len(rows.secs) else 0) - FUNDING_WINDOW_S]
        funds = funds[np.argsort(rows.cust[funds], kind="stable")]
        self.funding_cust_ = rows.cust[funds].astype(np.int64)
        self.funding_secs_ = rows.secs[funds].astype(np.int64)
        self.funding_amount_ = rows.amount[funds].astype(np.float64)
        # Debits of the fit's last hour: a burst may run on into the first new rows.
        d = raw.debit_rows
        last = rows.secs.max() if len(rows.secs) else 0
        recent = d[rows.secs[d] > last - BURST_WINDOW_S]
        recent = recent[np.lexsort((rows.secs[recent], rows.cust[recent]))]
        self.recent_cust_ = rows.cust[recent].astype(np.int64)
        self.recent_secs_ = rows.secs[recent].astype(np.int64)
        self.recent_high_ = np.round(features["times_usual"][recent] * FIXED_POINT).astype(np.int64)
        self.recent_low_ = np.round(features["tiny"][recent] * FIXED_POINT).astype(np.int64)
        self.recent_above_ = np.round(above[recent] * FIXED_POINT).astype(np.int64)

    # ---------------------------------------------------------------------------------------------- score
    def _apply_confirmed(self, rows: Rows, features: dict[str, np.ndarray],
                         confirmed: ConfirmedPatterns) -> dict[str, np.ndarray]:
        """Zero the signals a customer's "Yes, it was me" answers make expected."""
        if not confirmed:
            return features
        customers = confirmed.customers()
        mine = np.flatnonzero(np.isin(rows.cust_ids, np.array(sorted(customers), dtype=object))[rows.cust] & rows.debit)
        if len(mine) == 0:
            return features
        out = {name: values.copy() for name, values in features.items()}
        for i in mine.tolist():
            merchant = rows.merchant_names[rows.merchant[i]] if rows.merchant[i] >= 0 else None
            place = rows.place_names[rows.place[i]] if rows.place[i] >= 0 else None
            merchant_ok, place_ok, amount_ok = confirmed.expected(rows.cust_ids[rows.cust[i]], merchant, place,
                                                                  float(np.nan_to_num(rows.amount[i])))
            if merchant_ok:
                out["new_merchant"][i] = 0.0
            if place_ok:
                out["new_place"][i] = 0.0
            if amount_ok:
                out["amount"][i] = out["times_usual"][i] = out["beyond_largest"][i] = 0.0
        return out

    def _score_arrays(self, rows: Rows, features: dict[str, np.ndarray], facts: dict[str, np.ndarray],
                      confirmed: ConfirmedPatterns) -> tuple[np.ndarray, ...]:
        """Scores, flags, reasons and notes of the scored rows (context rows left out)."""
        features = self._apply_confirmed(rows, features, confirmed)
        columns = [features[name] for name in FEATURES]
        log_odds = self._log_odds(columns)
        score = np.where(rows.debit, 1.0 / (1.0 + np.exp(-(log_odds + self.prior_shift_))), 0.0)
        flagged = rows.debit & (log_odds >= self.flag_log_odds_)
        explain_from = self.flag_log_odds_ + np.log(EXPLAIN_ODDS_FRACTION)
        worth = np.flatnonzero(rows.scored & rows.debit & (flagged | (log_odds >= explain_from)))
        reasons = np.empty(len(score), dtype=object)
        empty: tuple[str, ...] = ()
        reasons.fill(empty)
        for i, sentences in zip(worth.tolist(), self._reasons(worth, rows, columns, facts, flagged[worth]),
                                strict=True):
            reasons[i] = sentences
        notes = np.full(len(score), None, dtype=object)
        large = rows.scored & ~rows.debit & (facts["credit_n"] >= 2) & (
            signals.zero_nan(rows.amount) > LARGE_CREDIT_FACTOR * facts["credit_largest"])
        for i in np.flatnonzero(large).tolist():
            notes[i] = (f"{format_inr(float(rows.amount[i]))} received, more than {LARGE_CREDIT_FACTOR:g}× your "
                        f"largest earlier credit ({format_inr(float(facts['credit_largest'][i]))})")
        keep = rows.scored
        return score[keep], flagged[keep], reasons[keep], notes[keep]

    def _score_frame(self, rows: Rows, computed: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
                     confirmed: ConfirmedPatterns, index: pd.Index) -> pd.DataFrame:
        score, flagged, reasons, notes = self._score_arrays(rows, *computed, confirmed)
        return pd.DataFrame({"anomaly_score": score, "flagged": flagged, "reasons": reasons, "note": notes},
                            index=index)

    def score_frame(self, txns: pd.DataFrame, *, part_of_fit: bool = False, context: pd.DataFrame | None = None,
                    confirmed: ConfirmedPatterns | None = None) -> pd.DataFrame:
        """anomaly_score (0..1), flagged, reasons (tuple of sentences) and note per row of `txns`.

        By default rows are *new* transactions judged against the fitted histories; `context` holds the
        same customers' rows stored since the fit and before these (not scored: they carry bursts and newly
        used places across the batch boundary). `part_of_fit=True` scores rows as a history instead, each
        against its customer's other rows in `txns` (the same figures `fit_score_frame` gave, bit for bit).
        `confirmed` patterns are expected on top of those learned from labels in `fit`.
        """
        check_is_fitted(self, "threshold_")
        patterns = self.confirmed_.merged(confirmed)
        if part_of_fit:
            if context is not None and len(context):
                raise ValueError("context is for new rows; rows that are part of the fit are their own history")
            rows = rows_from_frame(txns)
            return self._score_frame(rows, self._signals(rows, self._history_raw(rows)), patterns, txns.index)
        rows = rows_from_frame(txns, context)
        return self._score_frame(rows, self._signals(rows, self._stored_raw(rows)), patterns, txns.index)

    def score_one(self, txn: Mapping[str, Any], recent: Sequence[dt.datetime | Mapping[str, Any]] = (),
                  confirmed: ConfirmedPatterns | None = None) -> tuple[float, bool, list[str]]:
        """Score one new transaction against the fitted histories in well under 2 ms.

        `recent` are the customer's transactions seen since the fit (the live scorer remembers them):
        mappings like `txn`, or bare timestamps (counted for bursts, amount unknown).
        """
        check_is_fitted(self, "threshold_")
        cid = txn["customer_id"]
        records = [dict(r, customer_id=r.get("customer_id", cid)) if isinstance(r, Mapping)
                   else {"customer_id": cid, "ts": r, "amount": None} for r in recent]
        records.append(txn)
        rows = rows_from_records(records, [False] * (len(records) - 1) + [True])
        raw = self._stored_raw(rows)
        features, facts = self._signals(rows, raw)
        score, flagged, reasons, _ = self._score_arrays(rows, features, facts, self.confirmed_.merged(confirmed))
        return float(score[0]), bool(flagged[0]), list(reasons[0])

    # ------------------------------------------------------------------------------------------ sentences
    def _reasons(self, worth: np.ndarray, rows: Rows, columns: Sequence[np.ndarray],
                 facts: Mapping[str, np.ndarray], flagged: np.ndarray) -> list[tuple[str, ...]]:
        """Plain sentences for the rows `worth`, strongest first: each signal (or family of signals) that adds
        at least REASON_MIN_LOG_ODDS to the odds; a flagged row always gets its strongest one. The ranking is
        done for all rows at once; only the sentences are written row by row."""
        part = {name: w * col[worth] for name, w, col in zip(FEATURES, self.coef_.tolist(), columns, strict=True)}
        value = np.column_stack([
            part["amount"] + part["times_usual"] + part["beyond_largest"], part["tiny"], part["new_place"],
            part["new_merchant"], part["odd_hour"], part["burst"] + part["burst_high"] + part["burst_low"]
            + part["burst_above"]])
        # Strongest first; equal strengths in reverse alphabetical order of the family's name.
        order = np.lexsort((np.broadcast_to(_FAMILY_TIE_RANK, value.shape), -value), axis=1)
        ranked = np.take_along_axis(value, order, axis=1)
        chosen = ranked >= REASON_MIN_LOG_ODDS
        fallback = ~chosen.any(axis=1) & flagged & (ranked[:, 0] > 0)
        chosen[:, 0] |= fallback
        beyond_wins = part["amount"] + part["times_usual"] < part["beyond_largest"]
        out: list[tuple[str, ...]] = []
        for j, i in enumerate(worth.tolist()):
            out.append(tuple(self._sentence(REASON_FAMILIES[f], i, rows, bool(beyond_wins[j]), facts)
                             for f in order[j][chosen[j]].tolist()))
        return out

    def _sentence(self, name: str, i: int, rows: Rows, beyond_wins: bool, facts: Mapping[str, np.ndarray]) -> str:
        amount = float(rows.amount[i])
        hour, minute = int(rows.hour[i]), int(rows.minute[i])
        if name == "amount":
            usual = float(np.expm1(facts["centre"][i]))
            if beyond_wins:
                return (f"{format_inr(amount)} is more than you ever paid at once before "
                        f"(your largest was {format_inr(float(facts['largest'][i]))})")
            times = _times(amount / max(usual, 1.0))
            if int(facts["n_own"][i]) >= self.min_history:
                return f"{format_inr(amount)} is {times} your usual amount"
            return (f"{format_inr(amount)} is {times} what customers like you usually pay (there is little "
                    "history of yours to compare with yet)")
        if name == "tiny":
            return (f"{format_inr(amount)} is far below your usual amount (tiny test payments often come before "
                    "card fraud)")
        if name == "new_place":
            return f"first transaction in {rows.place_names[rows.place[i]]}"
        if name == "new_merchant":
            return f"first payment to {rows.merchant_names[rows.merchant[i]]}"
        if name == "odd_hour":
            return f"at {_clock(hour, minute)}, outside your usual hours"
        night = " at night" if hour < 5 or hour >= 23 else ""
        return f"one of {int(facts['nearby'][i]) + 1} payments within an hour{night}"


def _one_off(amount: np.ndarray, largest_other: np.ndarray, n_other: np.ndarray) -> np.ndarray:
    """Credits unlike the customer's other credits (a loan disbursed, a deposit matured, a bonus): the
    first one, or well above every other. A regular salary is none of these, so a drain after pay day is
    never explained by it."""
    return np.isfinite(amount) & ((n_other == 0) | (amount > ONE_OFF_CREDIT_FACTOR * largest_other))


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return float(np.log(p / (1 - p)))
