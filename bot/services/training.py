"""`train`: profiles, segments, anomaly and churn models over the whole store, written back in one transaction."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from analytics.anomaly import TransactionAnomalyDetector
from analytics.categorize import assign_categories, train_default_categorizer
from analytics.churn import LAPSED, LEVELS, ChurnModel, PreparedTxns
from analytics.money import format_date
from analytics.profiles import build_profiles, end_of_day
from analytics.segments import CustomerSegmenter
from bot.config import Config
from bot.services.errors import NoData
from bot.services.memory import return_freed_memory, unmap_large_blocks
from bot.services.trained_scores import row_scores
from bot.storage.database import Store
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.intake import IntakeMark
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository

log = logging.getLogger(__name__)

# From this many customers `train` maps its large arrays on their own (bot/services/memory.py), so the real
# file's 884k customers stay under 1.5 GB; a bank of a few thousand customers keeps the faster default heap.
UNMAP_FROM_CUSTOMERS = 100_000

Progress = Callable[[str], None]
T = TypeVar("T")


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
    churn_metrics: dict[str, Any]                # auc, precision_at_k, brier, base_rate, method, ... (ChurnModel)
    churn_levels: dict[str, int]                 # customers per level: low, medium, high, lapsed
    timings: dict[str, float] = field(default_factory=dict)   # seconds per stage (anomaly overlaps others)
    anomaly_metrics: dict[str, Any] = field(default_factory=dict)  # threshold, targets, validation P/R, alert rate
    alert_answers: dict[str, int] = field(default_factory=dict)    # customers' answers so far: confirmed, disputed
    wall_seconds: float | None = None                          # start to finish

    @property
    def total_seconds(self) -> float:
        return self.wall_seconds if self.wall_seconds is not None else sum(self.timings.values())


def _as_of(config: Config, txns: pd.DataFrame) -> dt.date:
    """Contract §2: a pinned date, else the latest transaction date."""
    pinned = config.analytics.pinned_as_of()
    return pinned if pinned is not None else pd.Timestamp(txns["ts"].max()).date()


def train(store: Store, config: Config, progress: Progress | None = None, random_state: int = 0) -> TrainReport:
    """Fit every model on the stored transactions up to as_of and store scores, segments and artifacts.

    Categories and the anomaly detector (which uses them) run on a second thread while profiles, segments
    and churn (which do not) are computed: most of each stage is numpy or sklearn work that releases the
    GIL, which lets a two-core machine do both at once. Both threads only read `txns`.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    # Two threads of million-row arrays: freed ones must go back to the system, not wait in the heap beside
    # the other thread's (bot/services/memory.py has the figures). What an ingest before us left goes too.
    # Mapping every large array on its own costs page faults (measured alone-ish, 3 pairs: synth 9,000
    # customers 1.1-2.0 s of a 5.4-6.0 s train for ~190 MB; real file 884,219 customers 0.5-1 s for ~450 MB,
    # its peak 1.77-1.85 GB without it): worth it only where per-customer arrays make the peak.
    if TransactionRepository(store).customer_count() >= UNMAP_FROM_CUSTOMERS:
        unmap_large_blocks()
    store.release_memory()
    return_freed_memory()

    def timed(name: str, work: Callable[..., T], *args: Any) -> T:
        if progress is not None:
            progress(name)
        clock = time.perf_counter()
        result = work(*args)
        timings[name] = round(time.perf_counter() - clock, 3)
        log.info("train: %s took %.2fs", name, timings[name])
        return result

    txns, last_rowid = timed("read", _read_until_as_of, store, config)
    store.release_memory()  # the pages the read went through: nothing reads the store again until the write
    return_freed_memory()   # and what building the frame used and freed (together ~150 MB on the real file)
    as_of = _as_of(config, txns)
    model_category = (txns["category"].isna() & txns["merchant"].notna()).to_numpy()
    answers = FraudCheckRepository(store)
    fraud_labels = dict(answers.labels())   # "No, it wasn't me" = fraud, "Yes, it was me" = genuine

    def categorise_and_score(frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        # The merchant classifier is trained only if some row has merchant text but no category.
        categories = timed("categories", assign_categories, frame, train_default_categorizer)
        return categories, timed("anomaly", detector.fit_score_frame, frame.assign(category=categories), fraud_labels)

    detector = TransactionAnomalyDetector(random_state=random_state)
    segmenter = CustomerSegmenter(random_state=random_state)
    churn = ChurnModel(random_state=random_state)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="anomaly") as pool:
        anomaly = pool.submit(categorise_and_score, txns)
        risk = timed("churn", _fit_predict_churn, churn, txns, as_of)
        profiles = timed("profiles", build_profiles, txns, as_of)
        labels = timed("segments", _fit_predict_segments, segmenter, profiles)
        categories, scored = anomaly.result()
    txns["category"] = categories
    return_freed_memory()

    if progress is not None:
        progress("writing scores")
    clock = time.perf_counter()
    customers = _customer_frame(profiles, labels, segmenter, risk, churn.lookback_days)
    churn_levels = {level: int((customers["churn_level"] == level).sum()) for level in (*LEVELS, LAPSED)}
    churn.metrics_["levels"] = churn_levels
    # Only rows with something to say are stored: flagged or explained ones, and categories the merchant
    # model inferred. Every other score is exactly what the stored detector gives again for the same rows
    # (`bot/services/trained_scores.py` recomputes them for `export` and the API).
    reasons = scored["reasons"].to_numpy(dtype=object)
    explained = np.fromiter(map(len, reasons), dtype=np.int64, count=len(reasons)) > 0
    keep = np.flatnonzero(scored["flagged"].to_numpy() | explained | model_category)
    txn_scores = pd.DataFrame({
        "transaction_id": txns["transaction_id"].iloc[keep].to_numpy(dtype=object),
        "customer_id": txns["customer_id"].iloc[keep].to_numpy(dtype=object),
        "category": txns["category"].iloc[keep].to_numpy(dtype=object),
        "anomaly_score": scored["anomaly_score"].to_numpy()[keep], "flagged": scored["flagged"].to_numpy()[keep],
        "reasons": reasons[keep],
    })
    n_scored, n_flagged = len(txns), int(scored["flagged"].sum())
    # Every row's score and category, compact (8 bytes and a category code a row): `export` reads them back
    # instead of re-scoring a million quiet rows with the detector (bot/services/trained_scores.py).
    every_score = row_scores(txns, scored)
    del txns, scored  # the scores frame above keeps what is written; free the rest before the bulk insert
    sizes = np.bincount(labels, minlength=segmenter.k_)
    segment_rows = [
        {"segment": s, "persona": segmenter.personas_[s][0], "description": segmenter.personas_[s][1],
         "size": int(sizes[s]), "centroid": segmenter.centroids_.loc[s].to_dict()}
        for s in range(segmenter.k_)
    ]
    scores = ScoreRepository(store)
    anomaly_metrics = {**detector.metrics_, "flagged": n_flagged, "scored": n_scored, "stored": len(txn_scores),
                       "threshold": detector.threshold, "last_rowid": last_rowid}
    with store.atomic(bulk=True):
        scores.write_transaction_scores(txn_scores)
        scores.write_customer_scores(customers, as_of=as_of)
        scores.write_segments(segment_rows)
        scores.save_artifact("anomaly", detector, anomaly_metrics, as_of)
        scores.save_artifact("anomaly_rows", every_score, {"rows": n_scored, "last_rowid": last_rowid}, as_of)
        scores.save_artifact("segments", segmenter, {"k": segmenter.k_, "silhouette": segmenter.scores_,
                                                     "median_balance": segmenter.median_balance_}, as_of)
        scores.save_artifact("churn", churn, churn.metrics_, as_of)
        IntakeMark(store).set(last_rowid)  # rows after it (stored while training ran) are scored at intake
    timings["write"] = round(time.perf_counter() - clock, 3)
    log.info("train: write took %.2fs", timings["write"])

    return TrainReport(
        as_of=as_of,
        n_transactions=anomaly_metrics["scored"],
        n_customers=len(profiles),
        k=segmenter.k_,
        silhouette=dict(segmenter.scores_),
        segments=tuple(SegmentSummary(r["segment"], r["persona"], r["description"], r["size"]) for r in segment_rows),
        anomaly_flagged=anomaly_metrics["flagged"],
        anomaly_scored=anomaly_metrics["scored"],
        anomaly_metrics=anomaly_metrics,
        alert_answers={status: n for status, n in answers.counts_by_status().items() if status != "pending"},
        churn_metrics=dict(churn.metrics_),
        churn_levels=churn_levels,
        timings=timings,
        wall_seconds=round(time.perf_counter() - started, 3),
    )


def _fit_predict_segments(segmenter: CustomerSegmenter, profiles: pd.DataFrame) -> np.ndarray:
    return segmenter.fit(profiles).predict(profiles)


def _fit_predict_churn(churn: ChurnModel, txns: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    prepared = PreparedTxns.from_frame(txns)
    return churn.fit(prepared, as_of).predict(prepared, as_of)


def _read_until_as_of(store: Store, config: Config) -> tuple[pd.DataFrame, int]:
    """The stored transactions up to the end of as_of (contract §2), and the last rowid the read saw."""
    txns, last_rowid = TransactionRepository(store).all_frame_and_last_rowid()
    if txns.empty:
        raise NoData("the store holds no transactions: run `finassist ingest` first")
    as_of = _as_of(config, txns)
    in_window = (txns["ts"] < end_of_day(as_of)).to_numpy()
    if not in_window.all():  # only a pinned as_of cuts rows; don't copy a million rows otherwise
        txns = txns[in_window].reset_index(drop=True)
    if txns.empty:
        raise NoData(f"no transactions on or before as_of {as_of}")
    return txns, last_rowid


def _customer_frame(profiles: pd.DataFrame, labels: np.ndarray, segmenter: CustomerSegmenter,
                    risk: pd.DataFrame, lookback_days: int) -> pd.DataFrame:
    """One row per profiled customer. Customers idle longer than the churn look-back are not scored by the
    model: they have already left by the label's definition, so their risk is 1, their level "lapsed" (kept
    apart from "high", which is about customers still active, and targetable on its own) and the reason
    says why."""
    out = pd.DataFrame(index=profiles.index)
    out["segment"] = labels
    names = np.empty(segmenter.k_, dtype=object)
    names[:] = [segmenter.personas_[s][0] for s in range(segmenter.k_)]
    out["persona"] = names[labels]
    joined = risk.reindex(profiles.index)
    idle = joined["churn_risk"].isna().to_numpy()
    out["churn_risk"] = joined["churn_risk"].fillna(1.0).to_numpy()
    out["churn_level"] = joined["level"].where(~idle, LAPSED).to_numpy(object)
    reasons = joined["reasons"].tolist()
    last_seen = profiles["last_seen"].to_numpy("datetime64[D]")
    for i in np.flatnonzero(idle):
        when = format_date(last_seen[i].astype(dt.date))
        reasons[i] = (f"no transaction since {when}, more than {lookback_days} days: already lapsed",)
    out["churn_reasons"] = reasons
    for column in ("rfm_recency", "rfm_frequency", "rfm_monetary", "balance_now", "monthly_spend",
                   "frequency_per_month", "recency_days", "n_txn", "age_band"):
        out[column] = profiles[column].to_numpy()
    return out
