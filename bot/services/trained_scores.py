"""Anomaly score and category of any trained transaction: the stored row if there is one, else recomputed.

`train` stores a score row only where there is something to say (flagged or explained transactions, and
categories the merchant model inferred): writing a million quiet rows was a third of its time. A quiet row's
score is fully determined by the stored detector and the rows the training run saw (the table is
append-only and the run records the last rowid it read), and the detector scores those rows again exactly
(`score_frame(part_of_fit=True)`: the same numbers, bit for bit, as during training). So `export` and the
REST API recompute them on demand, and every channel still gives the same figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from analytics.anomaly import TransactionAnomalyDetector
from analytics.categorize import assign_categories, train_default_categorizer
from analytics.profiles import end_of_day
from bot.storage.database import Store
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository

ExportRow = tuple[str, str, str, float, int, str]


class TrainedScores:
    """Reads stored score rows and recomputes the quiet ones with the detector of the last `train`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.scores = ScoreRepository(store)
        self.transactions = TransactionRepository(store)

    def _trained(self) -> tuple[TransactionAnomalyDetector, int, dt.date, str] | None:
        """The stored detector, the last rowid its training read, its as_of and when it was trained."""
        info = self.scores.artifact_info("anomaly")
        if info is None or "last_rowid" not in info["metrics"] or not info["as_of"]:
            return None
        detector = self.scores.load_artifact("anomaly")
        return (detector, int(info["metrics"]["last_rowid"]), dt.date.fromisoformat(info["as_of"]),
                info["created_at"])

    def for_transaction(self, transaction_id: str) -> dict[str, Any] | None:
        """The stored score row of `transaction_id`, or the one training would have stored for it; None when
        the transaction is unknown or newer than the last training run (and not scored through the API)."""
        stored = self.scores.transaction_score(transaction_id)
        if stored is not None:
            return stored
        trained = self._trained()
        where = self.transactions.rowid_and_customer(transaction_id)
        if trained is None or where is None:
            return None
        detector, last_rowid, as_of, trained_at = trained
        rowid, customer_id = where
        if rowid > last_rowid:
            return None
        rows = self.transactions.for_customer_up_to_rowid(customer_id, last_rowid)
        rows = rows[rows["ts"] < end_of_day(as_of)].reset_index(drop=True)
        hit = rows.index[rows["transaction_id"] == transaction_id]
        if len(hit) == 0:  # after the trained as_of
            return None
        scored = self._score(detector, rows).loc[hit[0]]
        return {"transaction_id": transaction_id, "customer_id": customer_id, "category": scored["category"],
                "anomaly_score": scored["anomaly_score"], "flagged": bool(scored["flagged"]),
                "reasons": list(scored["reasons"]), "scored_at": trained_at}

    def export_rows(self, progress: Callable[[str], None] | None = None) -> Iterator[ExportRow]:
        """(TransactionID, CustomerID, category, anomaly_score, flagged, reasons) for every transaction the
        last training run scored, in stored order, then any scored later through the API.

        `progress(stage)` hears of the slow stages before the first row (reading, re-scoring quiet rows)."""
        say = progress or (lambda stage: None)
        say("reading stored scores")
        stored = {row[0]: row for row in self.scores.iter_transaction_export()}
        trained = self._trained()
        if trained is not None:
            detector, last_rowid, as_of, _ = trained
            say("reading transactions")
            frame, _ = self.transactions.all_frame_and_last_rowid()
            frame = frame.iloc[: self.transactions.count_up_to_rowid(last_rowid)]  # stored order: training's rows first
            frame = frame[frame["ts"] < end_of_day(as_of)].reset_index(drop=True)
            say(f"re-scoring {len(frame):,} transactions with the trained detector")
            scored = self._score(detector, frame)
            for tid, cid, category, score, flagged, reasons in zip(
                    frame["transaction_id"], frame["customer_id"], scored["category"], scored["anomaly_score"],
                    scored["flagged"], scored["reasons"], strict=True):
                row = stored.pop(tid, None)
                yield row if row is not None else (tid, cid, category, round(float(score), 6), int(flagged),
                                                   "; ".join(reasons))
        yield from stored.values()

    @staticmethod
    def _score(detector: TransactionAnomalyDetector, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame["category"] = assign_categories(frame, train_default_categorizer)
        scored = detector.score_frame(frame, part_of_fit=True)
        scored["category"] = frame["category"].to_numpy(dtype=object)
        return scored
