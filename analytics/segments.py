"""Customer segmentation: MiniBatchKMeans on scaled profile features, k by silhouette, personas from centroids."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import BaseEstimator
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import pairwise_distances_chunked, silhouette_score
from sklearn.preprocessing import RobustScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from analytics.money import format_inr
from analytics.personas import persona_gate

log = logging.getLogger(__name__)

FEATURES = ("log_balance", "log_monthly_spend", "log_frequency", "recency_days", "income_ratio", "age")

# Persona templates: a name and a one-line meaning. A template fits a centroid by a score in scaled units
# (0 is the median customer, +1 about one 10-90% range above) and only if the centroid passes its gate in
# real units, so a name is never absurd ("Retiree" for a segment aged 48). Assignment is one-to-one.
PERSONAS: tuple[tuple[str, str], ...] = (
    ("High-value saver", "keeps a high balance and spends modestly relative to it"),
    ("Frequent spender", "transacts often and spends more than most"),
    ("Low-balance customer", "runs a lower balance than most customers"),
    ("Salaried professional", "receives regular income and spends steadily"),
    ("Dormant customer", "has not transacted for a long time"),
    ("Young starter", "younger than most customers, with smaller balances and payments"),
    ("Retiree", "older than most customers"),
    ("Occasional customer", "banks only now and then"),
    ("Everyday banker", "close to the typical customer on every measure"),
)


def _persona_fit(z: dict[str, float], real: dict[str, float], median: dict[str, float]) -> list[float]:
    """Fit of one centroid to each template in PERSONAS (higher is better; -inf when its gate fails)."""
    bal, spend, freq, rec, inc, age = (z[f] for f in FEATURES)
    balance = float(np.expm1(real["log_balance"]))
    frequency = float(np.expm1(real["log_frequency"]))
    median_balance = float(np.expm1(median["log_balance"]))
    years = real["age"] if np.isfinite(real["age"]) else 40.0
    scores = [
        bal - 0.5 * max(spend - bal, 0.0),
        freq + 0.5 * spend,
        -bal,
        inc + 0.25 * spend,
        rec,
        -age - 0.25 * bal,
        age,
        -freq,
        -0.5 * sum(abs(v) for v in z.values()),
    ]
    return [
        score if persona_gate(name, balance=balance, frequency=frequency, recency_days=real["recency_days"],
                              income_ratio=real["income_ratio"], age=years, median_balance=median_balance)
        else -np.inf
        for (name, _), score in zip(PERSONAS, scores, strict=True)
    ]


def segment_features(profiles: pd.DataFrame) -> pd.DataFrame:
    """The unscaled clustering features (logs tame rupee amounts spanning five orders of magnitude)."""
    income = profiles["total_income"].to_numpy(float)
    spend = profiles["total_spend"].to_numpy(float)
    total = income + spend
    return pd.DataFrame(
        {
            "log_balance": np.log1p(profiles["balance_now"].clip(lower=0).to_numpy(float)),
            "log_monthly_spend": np.log1p(profiles["monthly_spend"].to_numpy(float)),
            "log_frequency": np.log1p(profiles["frequency_per_month"].to_numpy(float)),
            "recency_days": profiles["recency_days"].to_numpy(float),
            "income_ratio": np.divide(income, total, out=np.zeros(len(total)), where=total > 0),
            "age": profiles["age"].to_numpy(float),
        },
        index=profiles.index,
    )


class CustomerSegmenter(BaseEstimator):
    """Segments customers with MiniBatchKMeans; k is the silhouette-best value in `k_range`.

    The silhouette is measured on a random sample (`silhouette_sample` customers) because its cost is
    quadratic; the clustering itself is fitted on at most `fit_sample` customers and then assigns everyone.
    Segments are renumbered by centroid balance (0 = lowest), so the same data and seed always give the
    same numbers and persona names, and names follow the centroid, not the arbitrary k-means label.

    Parameters
    ----------
    k_range : smallest and largest k tried (inclusive).
    random_state : seed of sampling and k-means.

    Examples
    --------
    >>> seg = CustomerSegmenter(random_state=0).fit(profiles)       # doctest: +SKIP
    >>> seg.k_, seg.personas_[0]                                    # doctest: +SKIP
    (4, ('Low-balance customer', 'runs a low balance ...'))
    """

    def __init__(self, k_range: tuple[int, int] = (3, 8), random_state: int | None = 0,
                 silhouette_sample: int = 4000, fit_sample: int = 30_000, n_init: int = 3) -> None:
        self.k_range = k_range
        self.random_state = random_state
        self.silhouette_sample = silhouette_sample
        self.fit_sample = fit_sample
        self.n_init = n_init

    def _matrix(self, profiles: pd.DataFrame) -> np.ndarray:
        raw = segment_features(profiles).to_numpy(float)
        raw = np.where(np.isnan(raw), self.impute_, raw)
        return self.scaler_.transform(raw)

    def fit(self, profiles: pd.DataFrame, y: Any = None) -> CustomerSegmenter:
        """Choose k, fit the clusters and name them."""
        raw = segment_features(profiles).to_numpy(float)
        if len(raw) < self.k_range[0] + 1:
            raise ValueError(f"need more than {self.k_range[0]} customers to segment, got {len(raw)}")
        medians = np.nanmedian(raw, axis=0)
        self.impute_ = np.where(np.isnan(medians), 0.0, medians)
        raw = np.where(np.isnan(raw), self.impute_, raw)
        self.scaler_ = RobustScaler(quantile_range=(10.0, 90.0)).fit(raw)
        X = self.scaler_.transform(raw)
        rng = np.random.default_rng(self.random_state)
        train = X if len(X) <= self.fit_sample else X[rng.choice(len(X), self.fit_sample, replace=False)]
        probe = train if len(train) <= self.silhouette_sample else train[
            rng.choice(len(train), self.silhouette_sample, replace=False)]
        del raw, X  # every customer's features (two 40 MB matrices on the real file); the samples stay

        self.scores_: dict[int, float] = {}
        models: dict[int, MiniBatchKMeans] = {}
        probe_labels: dict[int, np.ndarray] = {}
        low, high = self.k_range
        for k in range(low, min(high, len(train) - 1) + 1):
            # One BLAS/OpenMP thread: on a busy 2-core box spinning worker threads made this 50x slower.
            with threadpool_limits(1):
                model = MiniBatchKMeans(n_clusters=k, random_state=self.random_state, n_init=self.n_init,
                                        batch_size=4096).fit(train)
            labels = model.predict(probe)
            if len(np.unique(labels)) < 2:
                continue
            models[k], probe_labels[k] = model, labels
        # The probe's distances are the same for every k: computed once (the way silhouette_score computes
        # them) instead of once per k, they were most of the fitting time. Computing them checked the probe
        # is finite, so the per-k scores skip that check of 16 million distances. They are computed after
        # the fits, so their 128 MB (4,000 x 4,000) live only while the scores are taken.
        if models:
            probe_distances = _pairwise_distances(probe)
            for k, labels in probe_labels.items():
                with config_context(assume_finite=True):
                    self.scores_[k] = float(silhouette_score(probe_distances, labels, metric="precomputed"))
            del probe_distances
        if not models:
            raise ValueError("the customers are too alike to form segments")
        self.k_ = max(self.scores_, key=lambda k: (self.scores_[k], -k))
        model = models[self.k_]

        # Canonical order: by centroid balance, ties by spend, so labels are reproducible and meaningful.
        centers = model.cluster_centers_
        order = np.lexsort((centers[:, 1], centers[:, 0]))
        self.kmeans_ = model
        self._relabel = np.empty(self.k_, dtype=int)
        self._relabel[order] = np.arange(self.k_)
        scaled = centers[order]
        self.centroids_ = pd.DataFrame(self.scaler_.inverse_transform(scaled), columns=list(FEATURES))
        self.centroids_.index.name = "segment"
        self.scaled_centroids_ = pd.DataFrame(scaled, columns=list(FEATURES))
        self.medians_ = dict(zip(FEATURES, self.impute_.tolist(), strict=True))
        self.median_balance_ = float(np.expm1(self.medians_["log_balance"]))
        self.personas_ = self._name(self.scaled_centroids_, self.centroids_, self.medians_)
        log.info("segmented into k=%d (silhouette %s)", self.k_, self.scores_)
        return self

    def predict(self, profiles: pd.DataFrame) -> np.ndarray:
        """Segment number (0..k-1, in canonical order) for each profile row."""
        check_is_fitted(self, "kmeans_")
        with threadpool_limits(1):
            return self._relabel[self.kmeans_.predict(self._matrix(profiles))]

    @staticmethod
    def _name(scaled: pd.DataFrame, centroids: pd.DataFrame, medians: dict[str, float]) -> dict[int, tuple[str, str]]:
        """Unique persona per segment: greedily the best (segment, template) fit, ties by order."""
        fit = np.array([_persona_fit(scaled.loc[s].to_dict(), centroids.loc[s].to_dict(), medians)
                        for s in scaled.index])
        names: dict[int, tuple[str, str]] = {}
        used: set[int] = set()
        while len(names) < len(scaled):
            best = None
            for s in scaled.index:
                if s in names:
                    continue
                for p in range(len(PERSONAS)):
                    if p in used:
                        continue
                    if np.isfinite(fit[s, p]) and (best is None or fit[s, p] > fit[best[0], best[1]]):
                        best = (s, p)
            if best is None:  # more segments than templates: number the rest
                for s in scaled.index:
                    if s not in names:
                        names[s] = (f"Customer group {s + 1}", "a mix of habits")
                break
            s, p = best
            used.add(p)
            name, meaning = PERSONAS[p]
            names[int(s)] = (name, _describe(meaning, centroids.loc[s]))
        return dict(sorted(names.items()))


def _pairwise_distances(X: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of X, computed exactly as `silhouette_score(X, ...)` computes
    them (in chunks; a few thousand rows are one chunk, used as it is rather than copied)."""
    chunks = list(pairwise_distances_chunked(X))
    return chunks[0] if len(chunks) == 1 else np.vstack(chunks)


def _describe(meaning: str, centroid: pd.Series) -> str:
    """One sentence from the centroid's typical values, so the persona says what it is based on."""
    balance = format_inr(float(np.expm1(centroid["log_balance"])), paise=False)
    spend = format_inr(float(np.expm1(centroid["log_monthly_spend"])), paise=False)
    frequency = float(np.expm1(centroid["log_frequency"]))
    text = (f"Typically {meaning}: balance about {balance}, spending about {spend} a month in about "
            f"{frequency:.1f} transactions a month, last active {centroid['recency_days']:.0f} days ago")
    if np.isfinite(centroid["age"]):
        text += f", aged about {centroid['age']:.0f}"
    return text + "."
