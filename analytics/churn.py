"""Churn risk: will a customer active before a date make no transaction in the 30 days after it?

Label: a customer with at least one transaction in the `lookback_days` before cutoff T churns when they
have none in (T, T + 30 days]. Time-based split: train on features up to T1 = as_of - 60 days (labels from
(T1, T1 + 30]), test on features up to T2 = as_of - 30 days (labels from (T2, as_of]); the model that is
kept is refitted on both windows and scores everyone with features up to as_of.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from analytics.money import format_inr, format_percent
from analytics.profiles import end_of_day, first_in_group, last_in_group
from analytics.schema import CREDIT

log = logging.getLogger(__name__)

HORIZON_DAYS = 30
MODEL_FEATURES = ("log_days_since_last", "log_txn_30d", "log_rate_before", "activity_change", "log_tenure",
                  "balance_change", "log_balance", "has_income_30d", "log_spend_30d")


@dataclass(frozen=True)
class PreparedTxns:
    """The few columns churn needs, as arrays sorted by customer then time (built once, cut many times)."""

    customers: pd.Index
    codes: np.ndarray        # customer code per row
    ts: np.ndarray           # int64 ns
    amount: np.ndarray
    credit: np.ndarray
    balance: np.ndarray

    @classmethod
    def from_frame(cls, txns: pd.DataFrame) -> PreparedTxns:
        codes, customers = pd.factorize(txns["customer_id"])
        ts = txns["ts"].to_numpy("datetime64[ns]").view("int64")
        order = np.lexsort((ts, codes))
        return cls(pd.Index(customers), codes[order], ts[order], txns["amount"].to_numpy(float)[order],
                   (txns["txn_type"] == CREDIT).to_numpy()[order], txns["balance"].to_numpy(float)[order])


def churn_features(txns: pd.DataFrame | PreparedTxns, cutoff: dt.date, lookback_days: int = 90) -> pd.DataFrame:
    """Raw and model features per customer active in the `lookback_days` up to and including `cutoff`."""
    p = txns if isinstance(txns, PreparedTxns) else PreparedTxns.from_frame(txns)
    end = end_of_day(cutoff).value
    keep = p.ts < end
    codes, ts, amount, credit, balance = (p.codes[keep], p.ts[keep], p.amount[keep], p.credit[keep], p.balance[keep])
    n = len(p.customers)
    age_days = (end - ts) / 86_400e9  # 0 < age_days; "in the last 30 days" means <= 30
    recent = age_days <= 30
    before = (age_days > 30) & (age_days <= 90)

    last_age = last_in_group(codes, age_days, n)
    first_age = first_in_group(codes, age_days, n)
    n_30 = np.bincount(codes, weights=recent, minlength=n)
    n_before = np.bincount(codes, weights=before, minlength=n)
    spend_30 = np.bincount(codes, weights=np.where(recent & ~credit, amount, 0.0), minlength=n)
    income_30 = np.bincount(codes, weights=np.where(recent & credit, amount, 0.0), minlength=n)

    has_bal = ~np.isnan(balance)
    bal_now = last_in_group(codes[has_bal], balance[has_bal], n)
    old = has_bal & (age_days > 90)
    bal_then = last_in_group(codes[old], balance[old], n)
    # If nothing is older than 90 days, the earliest balance seen is the best "before" figure we have.
    earliest = first_in_group(codes[has_bal], balance[has_bal], n)
    bal_then = np.where(np.isnan(bal_then), earliest, bal_then)
    change = np.divide(bal_now - bal_then, np.abs(bal_then), out=np.zeros(n),
                       where=np.abs(np.nan_to_num(bal_then)) > 1.0)
    active = last_age <= lookback_days  # NaN (no rows before cutoff) compares False

    frame = pd.DataFrame(
        {
            "days_since_last": np.floor(last_age[active]).astype(int),
            "txn_30d": n_30[active].astype(int),
            "rate_before": n_before[active] / 2.0,   # transactions a month in the two months before the last
            "tenure_days": np.floor(first_age[active]).astype(int),
            "balance_now": bal_now[active],
            "balance_then": bal_then[active],
            "balance_change_pct": np.clip(change[active], -1.0, 5.0),
            "spend_30d": spend_30[active],
            "income_30d": income_30[active],
        },
        index=pd.Index(p.customers[active], name="customer_id"),
    )
    frame["log_days_since_last"] = np.log1p(frame["days_since_last"])
    frame["log_txn_30d"] = np.log1p(frame["txn_30d"])
    frame["log_rate_before"] = np.log1p(frame["rate_before"])
    frame["activity_change"] = frame["log_txn_30d"] - frame["log_rate_before"]
    frame["log_tenure"] = np.log1p(frame["tenure_days"])
    frame["balance_change"] = frame["balance_change_pct"].clip(-1.0, 1.0)
    frame["log_balance"] = np.log1p(frame["balance_now"].clip(lower=0).fillna(0.0))
    frame["has_income_30d"] = (frame["income_30d"] > 0).astype(float)
    frame["log_spend_30d"] = np.log1p(frame["spend_30d"])
    return frame


def churn_labels(txns: pd.DataFrame | PreparedTxns, customers: pd.Index, cutoff: dt.date,
                 horizon_days: int = HORIZON_DAYS) -> np.ndarray:
    """1 where the customer has no transaction in (cutoff, cutoff + horizon]."""
    p = txns if isinstance(txns, PreparedTxns) else PreparedTxns.from_frame(txns)
    start = end_of_day(cutoff).value
    stop = start + horizon_days * 86_400 * 10**9
    seen = np.zeros(len(p.customers), dtype=bool)
    seen[p.codes[(p.ts >= start) & (p.ts < stop)]] = True
    active = p.customers[seen]
    return (~customers.isin(active)).astype(int)


def precision_at_k(y_true: np.ndarray, score: np.ndarray, fraction: float = 0.1) -> float:
    """Share of churners among the `fraction` of customers with the highest risk."""
    k = max(1, int(round(len(score) * fraction)))
    top = np.argsort(-score, kind="stable")[:k]
    return float(np.mean(np.asarray(y_true)[top]))


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


class ChurnModel(BaseEstimator):
    """Logistic regression on recency, activity change, balance change, tenure and income features.

    Logistic regression rather than boosting: its per-feature contributions (coefficient x standardised
    value) are the reasons shown to people, and it loses nothing: on a 1M-row synthetic bank (9,200
    customers, seed 7) the time-split test AUC was 0.998 for this model and 0.998 for a depth-3
    HistGradientBoosting model on the same features. `metrics_` holds the held-out evaluation.

    Parameters
    ----------
    lookback_days : a customer counts as active at a cutoff if they transacted in this many days before it.
    C : inverse regularisation strength of the logistic regression.
    max_train_rows : the regression is fitted on at most this many customers (a random sample); nine
        coefficients do not need a million rows, and evaluation still uses every test customer.
    high, medium : risk thresholds of the "high" and "medium" levels.

    Examples
    --------
    >>> model = ChurnModel().fit(txns, as_of)                    # doctest: +SKIP
    >>> model.metrics_["auc"], model.predict(txns, as_of).head()  # doctest: +SKIP
    """

    def __init__(self, lookback_days: int = 90, C: float = 1.0, high: float = 0.6, medium: float = 0.3,
                 max_train_rows: int = 200_000, random_state: int | None = 0) -> None:
        self.lookback_days = lookback_days
        self.max_train_rows = max_train_rows
        self.C = C
        self.high = high
        self.medium = medium
        self.random_state = random_state

    def _xy(self, txns: PreparedTxns, cutoff: dt.date) -> tuple[pd.DataFrame, np.ndarray]:
        feats = churn_features(txns, cutoff, self.lookback_days)
        return feats, churn_labels(txns, feats.index, cutoff)

    def _sample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(y) <= self.max_train_rows:
            return X, y
        rows = np.random.default_rng(self.random_state).choice(len(y), self.max_train_rows, replace=False)
        return X[rows], y[rows]

    def _new_model(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, max_iter=500, random_state=self.random_state)

    def fit(self, txns: pd.DataFrame | PreparedTxns, as_of: dt.date, y: Any = None) -> ChurnModel:
        """Evaluate on the time split, then refit on both windows for scoring."""
        t1 = as_of - dt.timedelta(days=2 * HORIZON_DAYS)
        t2 = as_of - dt.timedelta(days=HORIZON_DAYS)
        txns = txns if isinstance(txns, PreparedTxns) else PreparedTxns.from_frame(txns)
        train_x, train_y = self._xy(txns, t1)
        test_x, test_y = self._xy(txns, t2)
        self.metrics_: dict[str, float] = {
            "n_train": int(len(train_y)), "n_test": int(len(test_y)),
            "base_rate": float(test_y.mean()) if len(test_y) else float("nan"),
            "train_base_rate": float(train_y.mean()) if len(train_y) else float("nan"),
            "auc": float("nan"), "precision_at_k": float("nan"),
        }
        self.base_rate_ = float(np.mean(np.r_[train_y, test_y])) if len(train_y) + len(test_y) else 0.0
        if len(np.unique(train_y)) < 2:
            log.warning("churn: the training window has one class only; risk falls back to the base rate")
            self.scaler_, self.model_ = None, None
            return self
        fit_x, fit_y = self._sample(train_x[list(MODEL_FEATURES)].to_numpy(), train_y)
        scaler = StandardScaler().fit(fit_x)
        model = self._new_model().fit(scaler.transform(fit_x), fit_y)
        if len(test_y) and len(np.unique(test_y)) == 2:
            risk = model.predict_proba(scaler.transform(test_x[list(MODEL_FEATURES)].to_numpy()))[:, 1]
            self.metrics_["auc"] = float(roc_auc_score(test_y, risk))
            self.metrics_["precision_at_k"] = precision_at_k(test_y, risk, 0.1)
        both_x, both_y = self._sample(
            np.vstack([train_x[list(MODEL_FEATURES)].to_numpy(), test_x[list(MODEL_FEATURES)].to_numpy()]),
            np.r_[train_y, test_y])
        self.scaler_ = StandardScaler().fit(both_x)
        self.model_ = self._new_model().fit(self.scaler_.transform(both_x), both_y)
        return self

    def predict(self, txns: pd.DataFrame | PreparedTxns, as_of: dt.date) -> pd.DataFrame:
        """churn_risk (0..1), level and reasons (tuple of sentences, empty when risk is low) for every customer
        active in the look-back before `as_of`."""
        check_is_fitted(self, "metrics_")
        feats = churn_features(txns, as_of, self.lookback_days)
        if self.model_ is None:
            risk = np.full(len(feats), self.base_rate_)
            contrib = np.zeros((len(feats), len(MODEL_FEATURES)))
        else:
            z = self.scaler_.transform(feats[list(MODEL_FEATURES)].to_numpy())
            risk = self.model_.predict_proba(z)[:, 1]
            contrib = z * self.model_.coef_[0]
        level = np.where(risk >= self.high, "high", np.where(risk >= self.medium, "medium", "low"))
        reasons = self._reasons(feats, contrib, risk >= self.medium)
        return pd.DataFrame({"churn_risk": risk, "level": level, "reasons": reasons}, index=feats.index)

    @staticmethod
    def _reasons(feats: pd.DataFrame, contrib: np.ndarray, worth: np.ndarray) -> np.ndarray:
        """Up to three plain sentences per customer for the features pushing risk up most, each only when
        the fact is true; an empty tuple where risk is not worth explaining. Vectorised: a million customers
        at high risk (the public data) must not take a Python loop over every candidate sentence."""
        n = len(feats)
        out = np.empty(n, dtype=object)
        out.fill(())
        if n == 0 or not worth.any():
            return out
        by = dict(zip(MODEL_FEATURES, contrib.T, strict=True))
        days = feats["days_since_last"].to_numpy()
        n_before = np.round(feats["rate_before"].to_numpy() * 2).astype(np.int64)
        now = feats["txn_30d"].to_numpy()
        change = feats["balance_change_pct"].to_numpy()
        tenure = feats["tenure_days"].to_numpy()
        balance = feats["balance_now"].to_numpy(float)
        # Sentence makers take row positions and write each distinct sentence once; they run only for the
        # cells that made a customer's top three.
        activity_key = n_before * 1_000_000 + now
        candidates = [
            (days >= 14, by["log_days_since_last"],
             lambda rows: _by_value(days[rows], lambda d: f"no transaction for {d} days")),
            (np.round(n_before / 2) > now, by["activity_change"] + by["log_txn_30d"],
             lambda rows: _by_value(activity_key[rows], lambda k: f"activity fell from {k // 1_000_000 / 2:.0f} to "
                                                                  f"{k % 1_000_000} transactions a month")),
            (change <= -0.2, by["balance_change"],
             lambda rows: _by_value(np.round(-change[rows] * 100).astype(np.int64),
                                    lambda p: f"balance down {format_percent(p / 100)} in 3 months")),
            (feats["income_30d"].to_numpy() == 0, by["has_income_30d"],
             lambda rows: np.full(len(rows), "no income credited in the last 30 days", dtype=object)),
            (tenure < 60, by["log_tenure"],
             lambda rows: _by_value(tenure[rows], lambda t: f"a new customer ({t} days with the bank)")),
            (np.isfinite(balance) & (balance < 2000), by["log_balance"],
             lambda rows: _by_value(np.round(balance[rows], 2), lambda b: f"a low balance of {format_inr(b)}")),
        ]
        rows = np.flatnonzero(worth)
        weights = np.column_stack([np.where(applies[rows] & (w[rows] > 0.05), w[rows], -np.inf)
                                   for applies, w, _ in candidates])
        top = np.argsort(-weights, axis=1, kind="stable")[:, :3]
        valid = np.isfinite(np.take_along_axis(weights, top, axis=1))
        picked = np.empty(top.shape, dtype=object)
        for k, (_, _, make) in enumerate(candidates):
            r, c = np.nonzero((top == k) & valid)
            if len(r):
                picked[r, c] = make(rows[r])
        for i, texts, k in zip(rows.tolist(), picked.tolist(), valid.sum(axis=1).tolist(), strict=True):
            out[i] = tuple(texts[:k])  # element by element: numpy would turn equal-length tuples into a 2-D block
        return out
