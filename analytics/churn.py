"""Churn risk: will a customer active before a date make no transaction in the 30 days after it?

Label: a customer with at least one transaction in the `lookback_days` before cutoff T churns when they have
none in (T, T + 30 days]. The hold-out is the latest cutoff whose 30 days are all seen (as_of - 30 days) and
the one `step_days` before it. A logistic regression is trained on rolling cutoffs before those, none of whose
labels reach into the hold-out; blended with a transparent recency and activity-decline score it is used only
if it beats that score on the hold-out. Otherwise the transparent score is the risk, and `method_` and
`method_sentence()` say why. Whichever scores is calibrated on the hold-out.

Levels mean a stated probability ("high": at least a 50% chance of no transaction in the next 30 days) when
the risk is calibrated and churn is the exception; they rank customers (the riskiest 5% are "high") when it
cannot be calibrated or churn is the norm in the data. Either way the share called "high" stays of the order
of the base rate and never most of the bank. Customers idle for the whole look-back are not scored: callers
call them "lapsed" (`LAPSED`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from analytics.money import format_date, format_inr, format_percent
from analytics.profiles import end_of_day
from analytics.schema import CREDIT

log = logging.getLogger(__name__)

HORIZON_DAYS = 30
DAY_NS = 86_400 * 10**9
LEVELS = ("low", "medium", "high")
LAPSED = "lapsed"          # idle longer than the look-back: already gone by the label's definition (set by callers)
HIGH_PROBABILITY = 0.5     # "high": at least this chance of no transaction in the next 30 days
MEDIUM_PROBABILITY = 0.2
MAX_HIGH_TO_BASE = 3.0     # "high" never covers more than this multiple of the hold-out base rate
NORM_BASE_RATE = 0.25      # from here on, no transaction in 30 days is the norm, not churn: levels rank
RANK_HIGH_SHARE = 0.05     # rank rule: the riskiest 5% are "high", the next 15% "medium"
RANK_MEDIUM_SHARE = 0.15
MIN_USEFUL_AUC = 0.6       # a supervised model below this on the hold-out is no better than chance
MIN_TRAIN_CHURNERS = 30    # fewer churners than this across the training cutoffs: no supervised model
MIN_HOLDOUT_CLASS = 10     # fewer churners (or stayers) in the hold-out: it can neither judge nor calibrate
SILENCE_SHAPE = 1.0        # transparent score: bursty habits, gamma-mixed Poisson of this shape (inf: Poisson)
PRIOR_LEFT = 0.05          # transparent score: share of active customers assumed gone before seeing their silence

MODEL_FEATURES = ("log_days_since_last", "log_missed", "log_txn_31d", "log_rate_before", "activity_change",
                  "long_change", "log_tenure", "spend_change", "income_change", "has_income_31d",
                  "balance_change", "log_balance", "balance_cover")


# "Recent" is the last 31 days: any 31 days hold one of every monthly payment, so a salary paid on the 1st is
# not "missing" on the 31st. Buckets of a row's time relative to the cutoff's end E: <E-180d, [E-180d,E-90d),
# [E-90d,E-31d), [E-31d,E), [E,E+30d), later. One searchsorted and a few bincounts give every windowed figure.
RECENT_DAYS = 31
MONTH_DAYS = 365.25 / 12
_EDGES_DAYS = (-180, -90, -RECENT_DAYS, 0, HORIZON_DAYS)
_NB = len(_EDGES_DAYS) + 1


@dataclass(frozen=True)
class PreparedTxns:
    """The few columns churn needs, as arrays sorted by customer then time (built once, cut many times)."""

    customers: pd.Index
    codes: np.ndarray        # customer code per row
    ts: np.ndarray           # int64 ns
    amount: np.ndarray
    credit: np.ndarray
    balance: np.ndarray
    starts: np.ndarray       # first row of each customer
    balance_known: np.ndarray  # the last reported balance at or before each row (NaN before the first)
    first_balance: np.ndarray  # each customer's earliest reported balance
    debit_amount: np.ndarray   # amount on debit rows, 0 on credits
    credit_amount: np.ndarray  # amount on credit rows, 0 on debits
    cell_base: np.ndarray      # codes * the number of time buckets, so a cutoff adds only each row's bucket

    @classmethod
    def from_frame(cls, txns: pd.DataFrame) -> PreparedTxns:
        codes, customers = pd.factorize(txns["customer_id"])
        ts = txns["ts"].to_numpy("datetime64[ns]").view("int64")
        order = np.lexsort((ts, codes))
        codes, ts = codes[order], ts[order]
        balance = txns["balance"].to_numpy(float)[order]
        n = len(customers)
        starts = np.searchsorted(codes, np.arange(n))
        # Forward-fill the balance within each customer: the index of the last reported one, reset per customer.
        rows = np.arange(len(codes))
        known_at = np.maximum.accumulate(np.where(np.isnan(balance), -1, rows)) if len(rows) else rows
        own = known_at >= starts[codes] if len(rows) else np.zeros(0, dtype=bool)
        balance_known = np.where(own, balance[np.maximum(known_at, 0)], np.nan) if len(rows) else balance
        has = ~np.isnan(balance)
        first_balance = np.full(n, np.nan)
        if has.any():
            first_rows = np.flatnonzero(has)
            first_of = np.r_[True, codes[first_rows][1:] != codes[first_rows][:-1]]
            first_balance[codes[first_rows[first_of]]] = balance[first_rows[first_of]]
        amount = txns["amount"].to_numpy(float)[order]
        credit = (txns["txn_type"] == CREDIT).to_numpy()[order]
        debit_amount = np.where(credit, 0.0, amount)
        return cls(pd.Index(customers), codes, ts, amount, credit, balance, starts, balance_known, first_balance,
                   debit_amount, amount - debit_amount, codes.astype(np.int64) * _NB)


@dataclass(frozen=True)
class _Window:
    """Per-customer facts at one cutoff, for the customers active in the look-back (arrays aligned)."""

    index: np.ndarray        # customer codes
    raw: dict[str, np.ndarray]
    label: np.ndarray | None  # 1 = no transaction in the 30 days after the cutoff; None past the data

    def __len__(self) -> int:
        return len(self.index)


def _window(p: PreparedTxns, cutoff: dt.date, lookback_days: int, with_label: bool) -> _Window:
    end = end_of_day(cutoff).value
    n = len(p.customers)
    edges = np.array([end + d * DAY_NS for d in _EDGES_DAYS], dtype=np.int64)
    cell = p.cell_base + np.searchsorted(edges, p.ts, side="right")

    def per_bucket(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(cell, weights=weights, minlength=n * _NB).reshape(n, _NB)

    counts = per_bucket()
    # Of money only buckets 2 and 3 (days 32-90, the last 31) are read: keep those two columns, not the table.
    spend = np.ascontiguousarray(per_bucket(p.debit_amount)[:, 2:4])
    income = np.ascontiguousarray(per_bucket(p.credit_amount)[:, 2:4])
    upto_end = counts[:, :4].sum(axis=1)
    active = upto_end > 0
    last_row = p.starts + upto_end - 1
    last_age = np.where(active, (end - p.ts[np.maximum(last_row, 0)]) / DAY_NS, np.inf)
    active &= last_age <= lookback_days
    idx = np.flatnonzero(active)
    if len(idx) == n:  # everyone active (short histories): slices instead of copies
        idx = slice(None)  # type: ignore[assignment]
    start, last = p.starts[idx], last_row[idx]
    c = counts[idx]
    before_90 = c[:, :2].sum(axis=1)           # rows older than 90 days
    then_row = start + before_90 - 1
    balance_then = np.where(before_90 > 0, p.balance_known[np.maximum(then_row, 0)], np.nan)
    # Nothing older than 90 days: the earliest balance seen is the best "before" figure there is.
    balance_then = np.where(np.isnan(balance_then), p.first_balance[idx], balance_then)
    raw = {
        "days_since_last": last_age[idx],
        "tenure_days": (end - p.ts[start]) / DAY_NS,
        "txn_31d": c[:, 3],
        "txn_32_90": c[:, 2],
        "txn_91_180": c[:, 1],
        "spend_31d": spend[idx, 1],
        "spend_32_90": spend[idx, 0],
        "income_31d": income[idx, 1],
        "income_32_90": income[idx, 0],
        "balance_now": p.balance_known[last],
        "balance_then": balance_then,
    }
    label = (c[:, 4] == 0).astype(int) if with_label else None
    # A column of a bucket table is a strided view that would keep the whole (customers x buckets) table
    # alive as long as the window: three 40 MB tables for 7 MB of figures on the real file. Copy it out.
    raw = {k: np.ascontiguousarray(v) for k, v in raw.items()}
    return _Window(np.arange(n) if isinstance(idx, slice) else idx, raw, label)


def _derived(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rates per month over the months actually observed, and the model features (log scale, bounded)."""
    tenure = raw["tenure_days"]
    n_recent = raw["txn_31d"]
    months_before = np.clip(tenure - RECENT_DAYS, 0, 90 - RECENT_DAYS) / MONTH_DAYS   # observed in days 32-90
    months_long = np.clip(tenure - 90, 0, 90) / MONTH_DAYS                          # observed in days 91-180
    has_before = months_before > 0
    # No history before the last 31 days: assume no change rather than invent a decline.
    rate_before = np.where(has_before, raw["txn_32_90"] / np.maximum(months_before, 0.5), n_recent)
    spend_before = np.where(has_before, raw["spend_32_90"] / np.maximum(months_before, 0.5), raw["spend_31d"])
    income_before = np.where(has_before, raw["income_32_90"] / np.maximum(months_before, 0.5), raw["income_31d"])
    rate_90 = (n_recent + raw["txn_32_90"]) / (RECENT_DAYS / MONTH_DAYS + months_before)
    rate_long = np.where(months_long >= 0.5, raw["txn_91_180"] / np.maximum(months_long, 0.5), rate_90)
    usual_per_day = (n_recent + raw["txn_32_90"]) / np.clip(tenure, RECENT_DAYS, 90)
    days = raw["days_since_last"]
    balance = np.nan_to_num(np.clip(raw["balance_now"], 0, None), nan=0.0)
    then = raw["balance_then"]
    change = np.divide(raw["balance_now"] - then, np.abs(then), out=np.zeros(len(days)),
                       where=np.abs(np.nan_to_num(then)) > 1.0)
    change = np.nan_to_num(change)
    out = {
        "rate_before": rate_before,
        "rate_90": rate_90,
        "rate_long": rate_long,
        "spend_before": spend_before,
        "usual_per_day": usual_per_day,
        "balance_change_pct": np.clip(change, -1.0, 5.0),
        "log_days_since_last": np.log1p(days),
        "log_missed": np.log1p(days * usual_per_day),     # transactions the usual pace would have made since
        "log_txn_31d": np.log1p(n_recent),
        "log_rate_before": np.log1p(rate_before),
        "activity_change": np.log1p(n_recent) - np.log1p(rate_before),
        "long_change": np.log1p(rate_90) - np.log1p(rate_long),
        "log_tenure": np.log1p(tenure),
        "spend_change": np.log1p(raw["spend_31d"]) - np.log1p(spend_before),
        "income_change": np.log1p(raw["income_31d"]) - np.log1p(income_before),
        "has_income_31d": (raw["income_31d"] > 0).astype(float),
        "balance_change": np.clip(change, -1.0, 1.0),
        "log_balance": np.log1p(balance),
        "balance_cover": np.log1p(balance) - np.log1p(spend_before),  # months of usual spending the balance covers
    }
    out["transparent"] = transparent_risk(days, usual_per_day, (n_recent + rate_before) / 2)
    return out


def transparent_risk(days_since_last: np.ndarray, usual_per_day: np.ndarray,
                     monthly_pace: np.ndarray, prior_left: float = PRIOR_LEFT,
                     shape: float | None = None) -> np.ndarray:
    """The transparent activity-decline + recency score: P(no transaction in the next 30 days).

    A customer is either gone or still transacting at their usual pace. Habits are bursty (paydays, trips),
    so counts are taken as gamma-mixed Poisson of `shape` (1 by default): someone still there with a usual
    rate of u a day stays silent for d days with probability (1 + u d / shape)^-shape (a Poisson clock,
    e^-ud, would make one silent week of a daily payer near-proof of leaving). By Bayes' rule from a prior
    `prior_left` of having gone, P(still there) = (1-prior) q / ((1-prior) q + prior). Someone still there
    makes no transaction in 30 days with probability (1 + pace / shape)^-shape, where pace is the mean of the
    last 31 days' count and the monthly rate before them (a decline lowers it). Risk = 1 - P(there)(1 - that).
    Nothing is fitted: every term is a fact about the customer that a person can check.
    """
    shape = SILENCE_SHAPE if shape is None else shape
    quiet = _no_event(usual_per_day * days_since_last, shape)
    stay = (1 - prior_left) * quiet
    there = stay / (stay + prior_left)
    return 1.0 - there * (1.0 - _no_event(monthly_pace, shape))


def _no_event(expected: np.ndarray, shape: float) -> np.ndarray:
    """P(no transaction) when `expected` are due: Poisson, or gamma-mixed Poisson of `shape` (bursty habits)."""
    if not np.isfinite(shape):
        return np.exp(-expected)
    return (1.0 + expected / shape) ** -shape


def churn_features(txns: pd.DataFrame | PreparedTxns, cutoff: dt.date, lookback_days: int = 90) -> pd.DataFrame:
    """Raw and model features per customer active in the `lookback_days` up to and including `cutoff`."""
    p = txns if isinstance(txns, PreparedTxns) else PreparedTxns.from_frame(txns)
    w = _window(p, cutoff, lookback_days, with_label=False)
    frame = pd.DataFrame({**w.raw, **_derived(w.raw)}, index=pd.Index(p.customers[w.index], name="customer_id"))
    frame["days_since_last"] = np.floor(frame["days_since_last"]).astype(int)
    frame["tenure_days"] = np.floor(frame["tenure_days"]).astype(int)
    return frame


def churn_labels(txns: pd.DataFrame | PreparedTxns, customers: pd.Index, cutoff: dt.date,
                 horizon_days: int = HORIZON_DAYS) -> np.ndarray:
    """1 where the customer has no transaction in (cutoff, cutoff + horizon]."""
    p = txns if isinstance(txns, PreparedTxns) else PreparedTxns.from_frame(txns)
    start = end_of_day(cutoff).value
    stop = start + horizon_days * DAY_NS
    seen = np.zeros(len(p.customers), dtype=bool)
    seen[p.codes[(p.ts >= start) & (p.ts < stop)]] = True
    active = p.customers[seen]
    return (~customers.isin(active)).astype(int)


def precision_at_k(y_true: np.ndarray, score: np.ndarray, fraction: float = 0.1) -> float:
    """Share of churners among the `fraction` of customers with the highest risk."""
    k = max(1, int(round(len(score) * fraction)))
    top = np.argsort(-score, kind="stable")[:k]
    return float(np.mean(np.asarray(y_true)[top]))


@dataclass(frozen=True)
class LevelRule:
    """How risk becomes a level: by stated probabilities, or by rank when probabilities cannot say it."""

    kind: str                 # "probability" or "rank"
    high_cap: float           # most of the scored customers "high" may cover (a share)
    sentence: str

    def apply(self, risk: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, bool]:
        """Levels for `risk` (calibrated where possible) ranked by `score`; True when the cap had to bind."""
        n = len(risk)
        level = np.full(n, "low", dtype=object)
        if n == 0:
            return level, False
        if self.kind == "rank":
            flagged = _top(score, int(np.floor(n * (RANK_HIGH_SHARE + RANK_MEDIUM_SHARE))))
            level[flagged] = "medium"
            level[flagged[_top(score[flagged], int(np.floor(n * RANK_HIGH_SHARE)))]] = "high"
            return level, False
        level[risk >= MEDIUM_PROBABILITY] = "medium"
        high = risk >= HIGH_PROBABILITY
        cap = int(np.ceil(n * self.high_cap))
        capped = int(high.sum()) > cap
        if capped:  # the calibration no longer fits today's customers: keep "high" to the riskiest few
            high = np.zeros(n, dtype=bool)
            high[_top(score, cap)] = True
        level[high] = "high"
        return level, capped


def _top(score: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores (a partial sort: a million customers need no full one)."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k >= len(score):
        return np.arange(len(score))
    return np.argpartition(-score, k - 1)[:k]


def _probability_rule(base_rate: float) -> LevelRule:
    return LevelRule(
        "probability", min(1.0, MAX_HIGH_TO_BASE * base_rate),
        f"high = at least a {format_percent(HIGH_PROBABILITY)} chance of no transaction in the next "
        f"{HORIZON_DAYS} days, medium = at least {format_percent(MEDIUM_PROBABILITY)} (probabilities calibrated "
        f"on the hold-out, where {format_percent(base_rate)} of active customers churned; high never covers "
        f"more than {MAX_HIGH_TO_BASE:.0f}× that share)")


def _rank_rule(why: str) -> LevelRule:
    return LevelRule(
        "rank", RANK_HIGH_SHARE,
        f"high = the riskiest {format_percent(RANK_HIGH_SHARE)} of active customers, medium the next "
        f"{format_percent(RANK_MEDIUM_SHARE)}, because {why}: the levels rank customers, they do not state "
        "a probability")


def _by_value(keys: np.ndarray, make: Any) -> np.ndarray:
    """make(key) for each row, calling `make` once per distinct key (a lookup table for small integers)."""
    if len(keys) == 0:
        return np.empty(0, dtype=object)
    if keys.dtype.kind in "iu" and keys.max() - keys.min() < 100_000:
        low = int(keys.min())
        table = np.array([make(v) for v in range(low, int(keys.max()) + 1)], dtype=object)
        return table[keys - low]
    uniques, inverse = np.unique(keys, return_inverse=True)
    texts = np.array([make(k.item()) for k in uniques], dtype=object)
    return texts[inverse.reshape(-1)]


def _by_pair(first: np.ndarray, second: np.ndarray, make: Any) -> np.ndarray:
    """make(a, b) for each row's pair, calling `make` once per distinct pair."""
    if len(first) == 0:
        return np.empty(0, dtype=object)
    pairs, inverse = np.unique(np.column_stack([first, second]), axis=0, return_inverse=True)
    texts = np.array([make(int(a), int(b)) for a, b in pairs], dtype=object)
    return texts[inverse.reshape(-1)]


def _pair(first: float, second: float) -> str:
    """Two AUCs "a against b", with a fourth digit when three would make them look equal."""
    digits = 3 if round(first, 3) != round(second, 3) else 4
    return f"{first:.{digits}f} against {second:.{digits}f}"


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class _Calibrator:
    """Platt (a logistic curve on the score's log-odds) or isotonic, whichever has the lower out-of-fold
    Brier score on the hold-out; probabilities are then what the hold-out's churn rates say."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def fit(self, score: np.ndarray, y: np.ndarray) -> _Calibrator:
        if self.kind == "platt":
            self.model_ = LogisticRegression(C=1e4, max_iter=1000).fit(score.reshape(-1, 1), y)
        else:
            self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, y)
        return self

    def transform(self, score: np.ndarray) -> np.ndarray:
        if self.kind == "platt":
            return self.model_.predict_proba(score.reshape(-1, 1))[:, 1]
        return np.asarray(self.model_.predict(score), dtype=float)


def _cross_fitted(score: np.ndarray, y: np.ndarray, groups: np.ndarray, kind: str, seed: int | None) -> np.ndarray:
    """Out-of-fold calibrated probabilities (two folds of customers, so one customer's windows stay together):
    the hold-out figures are not graded on the calibration fitted to them."""
    fold = np.random.default_rng(seed).permutation(int(groups.max()) + 1 if len(groups) else 0)[groups] % 2
    out = np.empty(len(y))
    for k in (0, 1):
        fit, apply = fold != k, fold == k
        if len(np.unique(y[fit])) < 2:
            out[apply] = y[fit].mean() if fit.any() else 0.0
        else:
            out[apply] = _Calibrator(kind).fit(score[fit], y[fit]).transform(score[apply])
    return out


class ChurnModel(BaseEstimator):
    """Churn risk from rolling cutoffs, with a transparent fallback and calibration on the latest window.

    The trained model is a logistic regression on recency (days, and days times the customer's usual pace),
    activity change over the last month and over the last six, spending, income and balance changes and
    tenure. Logistic rather than boosting: its per-feature contributions (coefficient x standardised value)
    are the reasons shown to people. It is used blended with `transparent_risk` (the two log-odds, each standardised on the hold-out,
    added): on small banks the blend ranked the next month's churners better than either alone, and it is
    kept only if it beats the transparent score on the hold-out. `metrics_` holds the hold-out evaluation,
    `method_` says which scored ("blend" or "transparent").

    Parameters
    ----------
    lookback_days : a customer counts as active at a cutoff if they transacted in this many days before it.
    step_days : training cutoffs are this many days apart, from 30 days before the hold-out cutoff backwards.
    max_cutoffs : at most this many training cutoffs (the latest ones).
    min_history_days : a cutoff needs this much history before it to be used.
    C : inverse regularisation strength of the logistic regression.
    max_train_rows : the regression is fitted on at most this many customer-windows (a random sample spread
        evenly over the cutoffs); thirteen coefficients do not need millions of rows.
    max_holdout_rows : the hold-out is judged and calibrated on at most this many customers (a random sample).

    Examples
    --------
    >>> model = ChurnModel().fit(txns, as_of)                    # doctest: +SKIP
    >>> model.method_, model.metrics_["auc"]                     # doctest: +SKIP
    >>> model.predict(txns, as_of).head()                        # doctest: +SKIP
    """

    def __init__(self, lookback_days: int = 90, step_days: int = 15, max_cutoffs: int = 12,
                 min_history_days: int = 21, C: float = 1.0, max_train_rows: int = 60_000,
                 max_holdout_rows: int = 100_000, random_state: int | None = 0) -> None:
        self.lookback_days = lookback_days
        self.step_days = step_days
        self.max_cutoffs = max_cutoffs
        self.min_history_days = min_history_days
        self.C = C
        self.max_train_rows = max_train_rows
        self.max_holdout_rows = max_holdout_rows
        self.random_state = random_state

    # ---- fitting --------------------------------------------------------------------------------------
    def cutoffs(self, first: dt.date, as_of: dt.date) -> tuple[list[dt.date], list[dt.date]]:
        """The hold-out cutoffs (the latest whose 30 days are all seen, and `step_days` before it when the
        history allows: two phases of the month, so calibration does not hinge on where paydays fall) and the
        training cutoffs, latest first, whose label windows end on or before the earliest hold-out cutoff."""
        latest = as_of - dt.timedelta(days=HORIZON_DAYS)
        earliest = first + dt.timedelta(days=self.min_history_days)
        holdout = [c for c in (latest, latest - dt.timedelta(days=self.step_days)) if c >= earliest]
        if not holdout:
            return [], []
        train: list[dt.date] = []
        cutoff = holdout[-1] - dt.timedelta(days=HORIZON_DAYS)
        while cutoff >= earliest and len(train) < self.max_cutoffs:
            train.append(cutoff)
            cutoff -= dt.timedelta(days=self.step_days)
        return holdout, train

    def _matrix(self, derived: dict[str, np.ndarray]) -> np.ndarray:
        return np.column_stack([derived[f] for f in MODEL_FEATURES])

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.random_state)

    def fit(self, txns: pd.DataFrame | PreparedTxns, as_of: dt.date, y: Any = None) -> ChurnModel:
        """Train on the rolling cutoffs, choose the method on the hold-out, calibrate it there."""
        # These regressions are small (13 columns, or 1 for Platt): multi-threaded BLAS only spin-waits on
        # them, and on a busy two-core machine that made each fit several times slower.
        with threadpool_limits(1, user_api="blas"):
            return self._fit(txns, as_of)

    def _fit(self, txns: pd.DataFrame | PreparedTxns, as_of: dt.date) -> ChurnModel:
        p = txns if isinstance(txns, PreparedTxns) else PreparedTxns.from_frame(txns)
        self.scaler_: StandardScaler | None = None
        self.model_: LogisticRegression | None = None
        self.calibrator_: _Calibrator | None = None
        self.blend_scale_: tuple[float, float, float, float] | None = None
        first = pd.Timestamp(int(p.ts.min())).date() if len(p.ts) else as_of
        holdout_cutoffs, train_cutoffs = self.cutoffs(first, as_of)
        self.holdout_cutoffs_, self.train_cutoffs_ = holdout_cutoffs, train_cutoffs
        nan = float("nan")
        m: dict[str, Any] = {
            "method": "transparent", "n_train": 0, "n_train_churners": 0, "n_cutoffs": len(train_cutoffs),
            "cutoffs": [c.isoformat() for c in train_cutoffs],
            "holdout_cutoffs": [c.isoformat() for c in holdout_cutoffs],
            "n_test": 0, "base_rate": nan, "train_base_rate": nan, "auc": nan, "auc_transparent": nan,
            "auc_supervised": nan, "auc_blend": nan, "precision_at_k": nan, "brier": nan,
            "brier_base_rate": nan, "calibration": "none", "holdout_levels": {}, "holdout_high_churn_rate": nan,
        }
        self.metrics_ = m
        why_not = self._fit_supervised(p, train_cutoffs, m)

        if not holdout_cutoffs:
            self._settle("transparent", why_not or "the history is too short for a labelled 30-day window",
                         _rank_rule("there is no labelled 30-day window to calibrate on"))
            return self
        test = self._holdout(p, holdout_cutoffs)
        y_test = test.label if test.label is not None else np.zeros(0, dtype=int)
        m["n_test"] = int(len(y_test))
        churners = int(y_test.sum())
        if len(y_test):
            m["base_rate"] = float(y_test.mean())
        if churners < MIN_HOLDOUT_CLASS or len(y_test) - churners < MIN_HOLDOUT_CLASS:
            self._settle("transparent", why_not or (
                f"the hold-out windows hold {churners:,} churners and {len(y_test) - churners:,} stayers (at least "
                f"{MIN_HOLDOUT_CLASS} of each are needed to judge a model)"),
                _rank_rule("the hold-out windows cannot calibrate the risk"))
            return self
        derived = _derived(test.raw)
        transparent = _logit(derived["transparent"])
        m["auc_transparent"] = float(roc_auc_score(y_test, transparent))
        method, score = "transparent", transparent
        if self.model_ is not None:
            supervised = self._decision(derived)
            m["auc_supervised"] = auc = float(roc_auc_score(y_test, supervised))
            self.blend_scale_ = (float(supervised.mean()), float(supervised.std()) or 1.0,
                                 float(transparent.mean()), float(transparent.std()) or 1.0)
            blend = self._blend(supervised, transparent)
            m["auc_blend"] = float(roc_auc_score(y_test, blend))
            if auc < MIN_USEFUL_AUC:
                why_not = (f"the trained model's hold-out AUC {auc:.3f} is below {MIN_USEFUL_AUC}: no better "
                           "than chance")
            elif m["auc_blend"] <= m["auc_transparent"]:
                why_not = ("blending in the trained model does not beat the transparent score alone on the hold-out "
                           f"(AUC {_pair(m['auc_blend'], m['auc_transparent'])})")
            else:
                method, score = "blend", blend
        m["auc"] = float(roc_auc_score(y_test, score))
        m["precision_at_k"] = precision_at_k(y_test, score, 0.1)
        self._calibrate(score, y_test, test.index, m)
        base = m["base_rate"]
        rule = (_probability_rule(base) if base < NORM_BASE_RATE else _rank_rule(
            f"no transaction in 30 days is the norm here ({format_percent(base)} of active customers in the "
            "hold-out windows), so it says more about how often the data has rows than about leaving"))
        self._settle(method, why_not, rule)
        self._holdout_levels(score, y_test, m)
        return self

    def _holdout(self, p: PreparedTxns, cutoffs: list[dt.date]) -> _Window:
        """The hold-out cutoffs' windows stacked (a customer may appear once per cutoff), sampled to size."""
        share = self.max_holdout_rows // len(cutoffs)
        rng = self._rng()
        parts = []
        for cutoff in cutoffs:
            w = _window(p, cutoff, self.lookback_days, with_label=True)
            if len(w) > share:
                keep = np.sort(rng.choice(len(w), share, replace=False))
                w = _Window(w.index[keep], {k: v[keep] for k, v in w.raw.items()}, w.label[keep])
            parts.append(w)
        return _Window(np.concatenate([w.index for w in parts]),
                       {k: np.concatenate([w.raw[k] for w in parts]) for k in parts[0].raw},
                       np.concatenate([w.label for w in parts if w.label is not None]))

    def _fit_supervised(self, p: PreparedTxns, cutoffs: list[dt.date], m: dict[str, Any]) -> str | None:
        """Fit the logistic regression on the training cutoffs; the reason it could not be, or None."""
        if not cutoffs:
            return "the history is too short for a training window before the hold-out"
        rng = self._rng()
        per_cutoff = max(1, self.max_train_rows // len(cutoffs))
        parts_x, parts_y = [], []
        for cutoff in cutoffs:
            w = _window(p, cutoff, self.lookback_days, with_label=True)
            keep = slice(None) if len(w) <= per_cutoff else np.sort(rng.choice(len(w), per_cutoff, replace=False))
            parts_x.append(self._matrix(_derived({k: v[keep] for k, v in w.raw.items()})))
            parts_y.append(w.label[keep] if w.label is not None else np.zeros(0, dtype=int))
        x, y_train = np.vstack(parts_x), np.concatenate(parts_y)
        m["n_train"], m["n_train_churners"] = int(len(y_train)), int(y_train.sum())
        m["train_base_rate"] = float(y_train.mean()) if len(y_train) else float("nan")
        churners, stayers = int(y_train.sum()), int(len(y_train) - y_train.sum())
        if min(churners, stayers) < MIN_TRAIN_CHURNERS:
            one_class = "only one class" if min(churners, stayers) == 0 else "too few of one class"
            return (f"the training windows hold {one_class} ({churners:,} churners, {stayers:,} stayers; at least "
                    f"{MIN_TRAIN_CHURNERS} of each are needed)")
        self.scaler_ = StandardScaler().fit(x)
        self.model_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state).fit(
            self.scaler_.transform(x), y_train)
        return None

    def _decision(self, derived: dict[str, np.ndarray]) -> np.ndarray:
        assert self.scaler_ is not None and self.model_ is not None
        return self.model_.decision_function(self.scaler_.transform(self._matrix(derived)))

    def _blend(self, supervised: np.ndarray, transparent: np.ndarray) -> np.ndarray:
        assert self.blend_scale_ is not None
        mu_s, sd_s, mu_t, sd_t = self.blend_scale_
        return (supervised - mu_s) / sd_s + (transparent - mu_t) / sd_t

    def _calibrate(self, score: np.ndarray, y: np.ndarray, groups: np.ndarray, m: dict[str, Any]) -> None:
        best: tuple[float, str, np.ndarray] | None = None
        for kind in ("platt", "isotonic"):
            oof = _cross_fitted(score, y, groups, kind, self.random_state)
            brier = float(brier_score_loss(y, oof))
            if best is None or brier < best[0]:
                best = (brier, kind, oof)
        assert best is not None
        m["brier"], m["calibration"] = best[0], best[1]
        m["brier_base_rate"] = float(brier_score_loss(y, np.full(len(y), y.mean())))
        self.calibrator_ = _Calibrator(best[1]).fit(score, y)
        self._holdout_oof = best[2]

    def _holdout_levels(self, score: np.ndarray, y: np.ndarray, m: dict[str, Any]) -> None:
        """Level counts and the churn rate of "high" on the hold-out, from out-of-fold probabilities."""
        level, _ = self.level_rule_.apply(self._holdout_oof, score)
        m["holdout_levels"] = {lv: int((level == lv).sum()) for lv in LEVELS}
        high = level == "high"
        m["holdout_high_churn_rate"] = float(y[high].mean()) if high.any() else float("nan")
        del self._holdout_oof

    def _settle(self, method: str, why_not: str | None, rule: LevelRule) -> None:
        self.method_ = method
        self.level_rule_ = rule
        m = self.metrics_
        m["method"] = method
        m["level_rule"] = rule.sentence
        if method == "blend":
            m["method_reason"] = (
                f"a logistic regression trained on {m['n_cutoffs']} rolling cutoffs ({m['n_train']:,} customer-"
                f"windows, {m['n_train_churners']:,} churners) blended with the transparent recency and activity-"
                f"decline score, which it beats on the hold-out (AUC {_pair(m['auc_blend'], m['auc_transparent'])})")
        else:
            m["method_reason"] = f"the transparent recency and activity-decline score, not a trained model: {why_not}"
            self.scaler_, self.model_, self.blend_scale_ = None, None, None
        m["method_sentence"] = self.method_sentence()

    def method_sentence(self) -> str:
        """What `train`, `insights` and admin `/segments` say about how churn risk was made."""
        check_is_fitted(self, "method_")
        m = self.metrics_
        windows = " and ".join(format_date(dt.date.fromisoformat(c)) for c in sorted(m["holdout_cutoffs"]))
        calibration = ("There is no labelled window to calibrate it on." if m["calibration"] == "none" else
                       f"It is calibrated ({m['calibration']}) on what customers did in the 30 days after {windows}.")
        weak = ("" if not m["auc"] < MIN_USEFUL_AUC else
                f" It ranks the hold-out little better than chance (AUC {m['auc']:.2f}): treat it as unreliable.")
        return f"Churn risk comes from {m['method_reason']}. {calibration}{weak} Levels: {m['level_rule']}."

    # ---- scoring --------------------------------------------------------------------------------------
    def predict(self, txns: pd.DataFrame | PreparedTxns, as_of: dt.date) -> pd.DataFrame:
        """churn_risk (0..1), level and reasons (tuple of sentences, empty when the level is low) for every
        customer active in the look-back before `as_of`. Updates `metrics_["levels"]` with the counts."""
        check_is_fitted(self, "method_")
        p = txns if isinstance(txns, PreparedTxns) else PreparedTxns.from_frame(txns)
        w = _window(p, as_of, self.lookback_days, with_label=False)
        derived = _derived(w.raw)
        transparent = _logit(derived["transparent"])
        by = self._transparent_weights(w.raw, derived)
        score = transparent
        if self.method_ == "blend":
            assert self.scaler_ is not None and self.model_ is not None and self.blend_scale_ is not None
            z = self.scaler_.transform(self._matrix(derived))
            score = self._blend(self.model_.decision_function(z), transparent)
            _, sd_s, _, sd_t = self.blend_scale_
            trained = dict(zip(MODEL_FEATURES, (z * self.model_.coef_[0]).T, strict=True))
            by = {f: trained[f] / sd_s + by[f] / sd_t for f in MODEL_FEATURES}
            del z, trained  # two (customers x 13) matrices, no longer read
        risk = self.calibrator_.transform(score) if self.calibrator_ is not None else derived["transparent"]
        level, capped = self.level_rule_.apply(risk, score)
        if capped:
            log.warning("churn: more customers than %.0f× the base rate reach the high probability today; "
                        "high is kept to the riskiest of them", MAX_HIGH_TO_BASE)
        self.metrics_["levels"] = {lv: int((level == lv).sum()) for lv in LEVELS}
        self.metrics_["high_capped"] = bool(capped)
        # The sentences read five of the twenty derived figures: the others (7 MB each on the real file) go first.
        derived = {k: derived[k] for k in ("rate_before", "rate_long", "rate_90", "spend_before", "balance_change_pct")}
        reasons = _reasons(w.raw, derived, by, level != "low")
        index = pd.Index(p.customers[w.index], name="customer_id")
        return pd.DataFrame({"churn_risk": risk, "level": level, "reasons": reasons}, index=index)

    @staticmethod
    def _transparent_weights(raw: dict[str, np.ndarray], derived: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """How much each fact raises the transparent score, on the regression's feature names: the silence's
        log-odds against still being there, the fall in activity, and a pace too low for a monthly habit."""
        zero = np.zeros(len(raw["days_since_last"]))
        weights = dict.fromkeys(MODEL_FEATURES, zero)
        weights["log_missed"] = raw["days_since_last"] * derived["usual_per_day"]
        weights["activity_change"] = np.maximum(0.0, -derived["activity_change"])
        weights["log_rate_before"] = np.exp(-(raw["txn_31d"] + derived["rate_before"]) / 2)
        return weights


def _reasons(raw: dict[str, np.ndarray], derived: dict[str, np.ndarray], by: dict[str, np.ndarray],
             worth: np.ndarray) -> np.ndarray:
    """Up to three plain sentences per customer for the facts pushing risk up most, each only when it is
    true; an empty tuple where risk is not worth explaining. Vectorised: hundreds of thousands of customers
    at medium or high risk must not take a Python loop over every candidate sentence."""
    n = len(raw["days_since_last"])
    out = np.empty(n, dtype=object)
    out.fill(())
    if n == 0 or not worth.any():
        return out
    days = np.floor(raw["days_since_last"]).astype(np.int64)
    before = np.round(derived["rate_before"]).astype(np.int64)
    now = raw["txn_31d"].astype(np.int64)
    recent = now + raw["txn_32_90"].astype(np.int64)
    long_before = np.round(derived["rate_long"]).astype(np.int64)
    long_now = np.round(derived["rate_90"]).astype(np.int64)
    spend_before = np.round(derived["spend_before"]).astype(np.int64)
    spend_now = np.round(raw["spend_31d"]).astype(np.int64)
    change = derived["balance_change_pct"]
    tenure = np.floor(raw["tenure_days"]).astype(np.int64)
    balance = raw["balance_now"]
    # Sentence makers take row positions and write each distinct sentence once; they run only for the cells
    # that made a customer's top three.
    candidates = [
        (days >= 14, by["log_days_since_last"] + by["log_missed"],
         lambda rows: _by_value(days[rows], lambda d: f"no transaction for {d} days")),
        ((before > now) & (raw["txn_32_90"] >= 2), by["activity_change"] + by["log_txn_31d"],
         lambda rows: _by_pair(before[rows], now[rows],
                               lambda b, a: f"activity fell from {b} to {a} transactions a month")),
        ((long_before > long_now) & (raw["txn_91_180"] >= 2), by["long_change"],
         lambda rows: _by_pair(long_before[rows], long_now[rows],
                               lambda b, a: f"activity fell from {b} transactions a month three to six months ago "
                                            f"to {a} in the last three")),
        ((spend_now < 0.5 * spend_before) & (spend_before > 0), by["spend_change"],
         lambda rows: _by_pair(spend_before[rows], spend_now[rows],
                               lambda b, a: f"spending fell from {format_inr(b, paise=False)} to "
                                            f"{format_inr(a, paise=False)} a month")),
        (change <= -0.2, by["balance_change"] + by["balance_cover"],
         lambda rows: _by_value(np.round(-change[rows] * 100).astype(np.int64),
                                lambda pct: f"balance down {format_percent(pct / 100)} in 3 months")),
        (raw["income_31d"] == 0, by["has_income_31d"] + by["income_change"],
         lambda rows: np.full(len(rows), "no income credited in the last 31 days", dtype=object)),
        (tenure < 60, by["log_tenure"],
         lambda rows: _by_value(tenure[rows], lambda t: f"a new customer ({t} days with the bank)")),
        (recent <= 6, by["log_rate_before"] + by["log_txn_31d"],
         lambda rows: _by_value(recent[rows], lambda k: f"only {k} transaction{'s' if k != 1 else ''} in the last "
                                                        "90 days")),
        (np.isfinite(balance) & (balance < 2000), by["log_balance"],
         lambda rows: _by_value(np.round(balance[rows], 2), lambda b: f"a low balance of {format_inr(b)}")),
    ]
    rows = np.flatnonzero(worth)
    weights = np.column_stack([np.where(applies[rows] & (w[rows] > 0.05), w[rows], -np.inf)
                               for applies, w, _ in candidates])
    # Where no fact weighs in clearly, the one true fact that weighs most still explains the level.
    none = ~np.isfinite(weights).any(axis=1)
    if none.any():
        weak = np.column_stack([np.where(applies[rows[none]], w[rows[none]], -np.inf) for applies, w, _ in candidates])
        best = np.argmax(weak, axis=1)
        fill = np.full(weak.shape, -np.inf)
        fill[np.arange(len(best)), best] = weak[np.arange(len(best)), best]
        weights[none] = fill
    top = np.argsort(-weights, axis=1, kind="stable")[:, :3]
    valid = np.isfinite(np.take_along_axis(weights, top, axis=1))
    picked = np.empty(top.shape, dtype=object)
    for k, (_, _, make) in enumerate(candidates):
        r, c = np.nonzero((top == k) & valid)
        if len(r):
            picked[r, c] = make(rows[r])
    n_reasons = valid.sum(axis=1)
    for k in (1, 2, 3):
        sel = np.flatnonzero(n_reasons == k)
        if len(sel):
            # fromiter keeps each tuple one object; an array of equal-length tuples would become a 2-D block
            tuples = zip(*(picked[sel, j] for j in range(k)), strict=True)
            out[rows[sel]] = np.fromiter(tuples, dtype=object, count=len(sel))
    return out
