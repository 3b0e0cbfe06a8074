"""`train`: profiles, segments, anomaly and churn models over the whole store, written back in one transaction."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.anomaly import TransactionAnomalyDetector
from analytics.categorize import assign_categories, train_default_categorizer
from analytics.churn import ChurnModel, PreparedTxns
from analytics.profiles import build_profiles, end_of_day
from analytics.schema import UNCATEGORIZED
from analytics.segments import CustomerSegmenter
from bot.config import Config
from bot.services.errors import NoData
from bot.storage.database import Store
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SegmentSummary:
    segment: int
    persona: str
    description: str
    size: int


@dataclass(frozen=True)
class TrainReport:
    """The figures `finassist train` prints: what was learned and how well it did."""

    as_of: dt.date
    n_transactions: int
    n_customers: int
    k: int
    silhouette: dict[int, float]                 # criterion per k tried
    segments: tuple[SegmentSummary, ...]
    anomaly_flagged: int
    anomaly_scored: int
    churn_metrics: dict[str, float]              # auc, precision_at_k, base_rate, n_train, n_test, ...
    churn_levels: dict[str, int]                 # customers per level
    timings: dict[str, float] = field(default_factory=dict)   # seconds per stage

    @property
    def total_seconds(self) -> float:
        return sum(self.timings.values())


def _as_of(config: Config, txns: pd.DataFrame) -> dt.date:
    """Contract §2: a pinned date, else the latest transaction date."""
    pinned = config.analytics.pinned_as_of()
    return pinned if pinned is not None else pd.Timestamp(txns["ts"].max()).date()


def train(store: Store, config: Config, progress: Progress | None = None, random_state: int = 0) -> TrainReport:
    """Fit every model on the stored transactions up to as_of and store scores, segments and artifacts."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal clock
        if progress is not None:
            progress(name)
        clock = time.perf_counter()

    def done(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now
        log.info("train: %s took %.2fs", name, timings[name])

    stage("read")
    txns = TransactionRepository(store).all_frame()
    if txns.empty:
        raise NoData("the store holds no transactions: run `finassist ingest` first")
    as_of = _as_of(config, txns)
    in_window = (txns["ts"] < end_of_day(as_of)).to_numpy()
    if not in_window.all():  # only a pinned as_of cuts rows; don't copy a million rows otherwise
        txns = txns[in_window].reset_index(drop=True)
    if txns.empty:
        raise NoData(f"no transactions on or before as_of {as_of}")
    done("read")

    stage("categories")
    txns["category"] = _categories(txns)
    done("categories")

    stage("profiles")
    profiles = build_profiles(txns, as_of)
    done("profiles")

    stage("segments")
    segmenter = CustomerSegmenter(random_state=random_state).fit(profiles)
    labels = segmenter.predict(profiles)
    done("segments")

    stage("anomaly")
    detector = TransactionAnomalyDetector(random_state=random_state)
    scored = detector.fit_score_frame(txns)
    done("anomaly")

    stage("churn")
    prepared = PreparedTxns.from_frame(txns)
    churn = ChurnModel(random_state=random_state).fit(prepared, as_of)
    risk = churn.predict(prepared, as_of)
    del prepared
    done("churn")

    stage("write")
    customers = _customer_frame(profiles, labels, segmenter, risk)
    txn_scores = pd.DataFrame({
        "transaction_id": txns["transaction_id"], "customer_id": txns["customer_id"],
        "category": txns["category"], "anomaly_score": scored["anomaly_score"], "flagged": scored["flagged"],
        "reasons": scored["reasons"],
    })
    del txns, scored  # the scores frame above keeps what is written; free the rest before the bulk insert
    sizes = np.bincount(labels, minlength=segmenter.k_)
    segment_rows = [
        {"segment": s, "persona": segmenter.personas_[s][0], "description": segmenter.personas_[s][1],
         "size": int(sizes[s]), "centroid": segmenter.centroids_.loc[s].to_dict()}
        for s in range(segmenter.k_)
    ]
    scores = ScoreRepository(store)
    anomaly_metrics = {"flagged": int(txn_scores["flagged"].sum()), "scored": len(txn_scores),
                       "threshold": detector.threshold}
    with store.atomic():
        scores.write_transaction_scores(txn_scores)
        scores.write_customer_scores(customers, as_of=as_of)
        scores.write_segments(segment_rows)
        scores.save_artifact("anomaly", detector, anomaly_metrics, as_of)
        scores.save_artifact("segments", segmenter, {"k": segmenter.k_, "silhouette": segmenter.scores_}, as_of)
        scores.save_artifact("churn", churn, churn.metrics_, as_of)
    done("write")

    return TrainReport(
        as_of=as_of,
        n_transactions=anomaly_metrics["scored"],
        n_customers=len(profiles),
        k=segmenter.k_,
        silhouette=dict(segmenter.scores_),
        segments=tuple(SegmentSummary(r["segment"], r["persona"], r["description"], r["size"]) for r in segment_rows),
        anomaly_flagged=anomaly_metrics["flagged"],
        anomaly_scored=anomaly_metrics["scored"],
        churn_metrics=dict(churn.metrics_),
        churn_levels={level: int((customers["churn_level"] == level).sum()) for level in ("low", "medium", "high")},
        timings=timings,
    )


def _categories(txns: pd.DataFrame) -> np.ndarray:
    """Contract categories per row; the merchant classifier is trained only if some row needs it."""
    categories = assign_categories(txns, None).to_numpy(object)
    merchant = txns["merchant"]
    need = (categories == UNCATEGORIZED) & merchant.notna().to_numpy()
    if need.any():
        categories[need] = assign_categories(txns[need], train_default_categorizer()).to_numpy(object)
    return categories


def _customer_frame(profiles: pd.DataFrame, labels: np.ndarray, segmenter: CustomerSegmenter,
                    risk: pd.DataFrame) -> pd.DataFrame:
    """One row per profiled customer. Customers idle longer than the churn look-back are not scored by the
    model: they have already left by the label's definition, so their risk is 1 and the reason says why."""
    out = pd.DataFrame(index=profiles.index)
    out["segment"] = labels
    out["persona"] = [segmenter.personas_[s][0] for s in labels]
    joined = risk.reindex(profiles.index)
    idle = joined["churn_risk"].isna().to_numpy()
    out["churn_risk"] = joined["churn_risk"].fillna(1.0).to_numpy()
    out["churn_level"] = joined["level"].where(~idle, "high").to_numpy(object)
    reasons = joined["reasons"].tolist()
    recency = profiles["recency_days"].to_numpy()
    for i in np.flatnonzero(idle):
        reasons[i] = (f"no transaction for {int(recency[i])} days",)
    out["churn_reasons"] = reasons
    for column in ("rfm_recency", "rfm_frequency", "rfm_monetary", "balance_now", "monthly_spend",
                   "frequency_per_month", "recency_days", "n_txn", "age_band"):
        out[column] = profiles[column].to_numpy()
    return out
