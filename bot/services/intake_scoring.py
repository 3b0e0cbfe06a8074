"""Scores every transaction stored after the last training run against the stored detector (one intake path).

Whatever put the rows in the store — `finassist ingest` of a daily file, `POST /transactions`, another tool —
the rows after the intake mark (bot/storage/intake.py) are categorised and scored here, in stored order, and
their score rows are written with the mark in one transaction. Each row is judged against the customer's
baselines from training plus the customer's rows that arrived since (so a burst split across two files, or
across an API call and a file, still adds up). Nothing here sends anything: the caller queues the alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.anomaly import TransactionAnomalyDetector
from analytics.anomaly_patterns import ConfirmedPatterns
from analytics.categorize import assign_categories, train_default_categorizer
from analytics.results import AnomalyFlag
from bot.storage.database import Store
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.intake import IntakeMark
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository

if TYPE_CHECKING:
    from analytics.merchant_model import MerchantCategorizer

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000          # rows scored per transaction (a big post-training file commits in steps)
# Earlier rows of the same customers that still count: for velocity and newly used places (a day), and a
# one-off credit that explains a purchase of its size (analytics.anomaly.FUNDING_WINDOW_S, a week).
CONTEXT = dt.timedelta(days=7)


@dataclass(frozen=True)
class FlaggedRow:
    """A newly scored transaction the detector flagged, with what the "Was this you?" question needs."""

    customer_id: str
    flag: AnomalyFlag


@dataclass(frozen=True)
class IntakeScoring:
    """What one pass did. `trained` is False when no model exists yet: nothing is scored, rows wait."""

    trained: bool
    scored: int
    flagged: tuple[FlaggedRow, ...] = ()
    model_trained_at: str | None = None


@dataclass(frozen=True)
class _Model:
    detector: TransactionAnomalyDetector
    last_rowid: int          # the rows training itself scored end here
    created_at: str


class IntakeScorer:
    """Holds the stored detector (reloaded after a retrain) and scores what waits after the intake mark."""

    def __init__(self, store: Store, *, chunk_rows: int = CHUNK_ROWS,
                 categorizer_factory: Callable[[], MerchantCategorizer] = train_default_categorizer) -> None:
        self.store = store
        self.chunk_rows = chunk_rows
        self.transactions = TransactionRepository(store)
        self.scores = ScoreRepository(store)
        self.mark = IntakeMark(store)
        self.fraud_checks = FraudCheckRepository(store)
        self._categorizer_factory = categorizer_factory
        self._categorizer: MerchantCategorizer | None = None
        self._model: _Model | None = None
        self._lock = threading.Lock()   # one pass at a time in this process; the store serialises processes

    # ---------------------------------------------------------------------------------------- the model
    def _current_model(self) -> _Model | None:
        info = self.scores.artifact_info("anomaly")
        if info is None:
            return None
        if self._model is None or self._model.created_at != info["created_at"]:
            detector = self.scores.load_artifact("anomaly")
            if detector is None:
                return None
            self._model = _Model(detector, int(info["metrics"].get("last_rowid", 0)), info["created_at"])
        return self._model

    def _categorizer_once(self) -> MerchantCategorizer:
        if self._categorizer is None:
            self._categorizer = self._categorizer_factory()
        return self._categorizer

    # ---------------------------------------------------------------------------------------- scoring
    def score_pending(self, now: dt.datetime | None = None) -> IntakeScoring:
        """Score every row stored after the intake mark; returns the flagged ones (already committed)."""
        now = now or dt.datetime.now(dt.UTC)
        with self._lock:
            model = self._current_model()
            if model is None:
                return IntakeScoring(trained=False, scored=0)
            scored = 0
            flagged: list[FlaggedRow] = []
            while True:
                with self.store.atomic(immediate=True):
                    start = max(self.mark.get() or 0, model.last_rowid)
                    frame, rowids = self.transactions.frame_after(start, self.chunk_rows)
                    if frame.empty:
                        if (self.mark.get() or 0) < start:
                            self.mark.set(start)
                        break
                    result = self._score_chunk(model, frame, start)
                    self.scores.write_transaction_scores(
                        result, replace_all=False, scored_at=now.astimezone(dt.UTC).isoformat(timespec="seconds"))
                    self.mark.set(int(rowids[-1]))
                scored += len(frame)
                flagged.extend(_flagged_rows(frame, result))
                if len(frame) < self.chunk_rows:
                    break
            if scored:
                log.info("intake: scored %d new transactions, %d flagged", scored, len(flagged))
            return IntakeScoring(trained=True, scored=scored, flagged=tuple(flagged),
                                 model_trained_at=model.created_at)

    def _score_chunk(self, model: _Model, frame: pd.DataFrame, start: int) -> pd.DataFrame:
        """Score `frame` (rows after rowid `start`) against the stored detector, with the customers' rows that
        arrived since training as context and what customers confirmed ("Yes, it was me") as expected."""
        since = pd.Timestamp(frame["ts"].min()).to_pydatetime() - CONTEXT
        customers = frame["customer_id"].unique().tolist()
        context = self.transactions.context_for(customers, model.last_rowid, start, since)
        frame = frame.reset_index(drop=True)
        frame = frame.assign(category=assign_categories(frame, self._categorizer_once).to_numpy(dtype=object))
        if len(context):
            context = context.assign(
                category=assign_categories(context, self._categorizer_once).to_numpy(dtype=object))
        scored = model.detector.score_frame(frame, context=context if len(context) else None,
                                            confirmed=self._confirmed(customers))
        return pd.DataFrame({
            "transaction_id": frame["transaction_id"].to_numpy(dtype=object),
            "customer_id": frame["customer_id"].to_numpy(dtype=object),
            "category": frame["category"].to_numpy(dtype=object),
            "anomaly_score": scored["anomaly_score"].to_numpy(float),
            "flagged": scored["flagged"].to_numpy(bool),
            "reasons": scored["reasons"].to_numpy(dtype=object),
        })

    def _confirmed(self, customers: list[str]) -> ConfirmedPatterns | None:
        """The batch's customers' confirmed transactions, as patterns the detector must now expect."""
        wanted = set(customers)
        rows = [r for r in self.fraud_checks.confirmed_transactions() if r["customer_id"] in wanted]
        return ConfirmedPatterns.from_frame(pd.DataFrame(rows)) if rows else None


def _flagged_rows(frame: pd.DataFrame, result: pd.DataFrame) -> list[FlaggedRow]:
    hits = np.flatnonzero(result["flagged"].to_numpy(bool))
    out = []
    for i in hits.tolist():
        row: Any = frame.iloc[i]
        out.append(FlaggedRow(str(row["customer_id"]), AnomalyFlag(
            transaction_id=str(row["transaction_id"]), ts=pd.Timestamp(row["ts"]).to_pydatetime(),
            amount=round(float(row["amount"]), 2),
            merchant=row["merchant"] if isinstance(row["merchant"], str) else None,
            location=row["location"] if isinstance(row["location"], str) else None,
            score=round(float(result["anomaly_score"].iloc[i]), 3),
            reasons=tuple(result["reasons"].iloc[i]))))
    return out
