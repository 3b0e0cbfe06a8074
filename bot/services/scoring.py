"""Scores one new transaction against the stored anomaly baselines (REST API, notifications)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Mapping
from typing import Any

import pandas as pd

from analytics.anomaly import RECENT_KEPT, TransactionAnomalyDetector
from bot.services.errors import NotTrained
from bot.storage.database import Store
from bot.storage.scores import ScoreRepository

log = logging.getLogger(__name__)


class TransactionScorer:
    """Holds the trained detector in memory and remembers transactions scored since, for bursts.

    Load it once (`from_store`) and reuse it: unpickling the baselines of a large bank takes a moment,
    scoring one transaction then takes well under 2 ms.
    """

    def __init__(self, detector: TransactionAnomalyDetector) -> None:
        self.detector = detector
        self._recent: dict[str, deque[dt.datetime]] = defaultdict(lambda: deque(maxlen=RECENT_KEPT))
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, store: Store) -> TransactionScorer:
        """Raises NotTrained when `finassist train` has not stored a detector yet."""
        detector = ScoreRepository(store).load_artifact("anomaly")
        if detector is None:
            raise NotTrained("no anomaly model stored yet: run `finassist train`")
        return cls(detector)

    def score(self, txn: Mapping[str, Any]) -> tuple[float, bool, list[str]]:
        """(score 0..1, flagged, reasons) for a new transaction: needs customer_id, ts, amount; uses
        txn_type and location when given. The transaction is remembered for later velocity checks."""
        customer_id = str(txn["customer_id"])
        ts = pd.Timestamp(txn["ts"]).to_pydatetime()
        with self._lock:
            recent = tuple(self._recent.get(customer_id, ()))
        result = self.detector.score_one(txn, recent=recent)
        with self._lock:
            self._recent[customer_id].append(ts)
        return result
