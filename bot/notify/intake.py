"""New transactions from outside (REST): stored, scored against the customer's history, alerts queued."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from analytics.ingest import to_canonical
from analytics.results import AnomalyFlag
from bot.notify.checks import ProactiveChecks
from bot.services.errors import FinAssistError
from bot.storage.database import Store
from bot.storage.transactions import TransactionRepository

log = logging.getLogger(__name__)


class Scorer(Protocol):
    def score(self, txn: Mapping[str, Any]) -> tuple[float, bool, Sequence[str]]: ...


ScoreWriter = Callable[[Sequence[Mapping[str, Any]]], None]


@dataclass(frozen=True)
class ScoredTransaction:
    transaction_id: str
    customer_id: str
    inserted: bool                      # False: the id was already stored, nothing changed
    anomaly_score: float | None         # None when duplicate or no model is trained yet
    flagged: bool | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class IntakeResult:
    received: int
    inserted: int
    duplicates: int
    flagged: int
    alerts_queued: int
    alerts_deferred: int                # queued for after quiet hours
    scored: bool                        # False when no anomaly model is trained yet
    transactions: tuple[ScoredTransaction, ...]


class TransactionIntake:
    """Scores each new row before it is stored (so its own amount does not dilute the history it is judged by)."""

    def __init__(self, store: Store, checks: ProactiveChecks, scorer_factory: Callable[[], Scorer] | None,
                 score_writer: ScoreWriter | None) -> None:
        self.store = store
        self.transactions = TransactionRepository(store)
        self.checks = checks
        self.scorer_factory = scorer_factory
        self.score_writer = score_writer
        self._scorer: Scorer | None = None

    def _get_scorer(self) -> Scorer | None:
        if self._scorer is None and self.scorer_factory is not None:
            try:
                self._scorer = self.scorer_factory()
            except FinAssistError as exc:  # NotTrained: store the rows, score nothing, say so
                log.warning("new transactions stored unscored: %s", exc)
                return None
        return self._scorer

    def submit(self, rows: Sequence[Mapping[str, Any]], now: dt.datetime | None = None) -> IntakeResult:
        """`rows` are validated canonical transactions (analytics.schema.TXN_COLUMNS)."""
        now = now or dt.datetime.now(dt.UTC)
        if not rows:
            return IntakeResult(0, 0, 0, 0, 0, 0, True, ())
        frame = to_canonical(pd.DataFrame(list(rows)))
        records = frame.to_dict("records")
        known = {r["transaction_id"] for r in records if self.transactions.get(r["transaction_id"]) is not None}
        new = [r for r in records if r["transaction_id"] not in known]
        scorer = self._get_scorer() if new else None
        scores: dict[str, tuple[float, bool, tuple[str, ...]]] = {}
        if scorer is not None:
            for record in new:
                score, flagged, reasons = scorer.score(record)
                scores[record["transaction_id"]] = (float(score), bool(flagged), tuple(reasons))
        scored_at = now.astimezone(dt.UTC).isoformat(timespec="seconds")
        with self.store.atomic():
            # A concurrent request may have stored one of these IDs since `known` was read: it keeps its owner,
            # and this request must not score it or queue "Was this you?" about it for its own customer.
            raced = {r["transaction_id"] for r in new if self.transactions.get(r["transaction_id"]) is not None}
            if raced:
                known |= raced
                new = [r for r in new if r["transaction_id"] not in raced]
                scores = {t: s for t, s in scores.items() if t not in raced}
            inserted = self.transactions.insert_frame(frame[~frame["transaction_id"].isin(known)], source="api")
            if scores and self.score_writer is not None:
                self.score_writer([
                    {"transaction_id": r["transaction_id"], "customer_id": r["customer_id"],
                     "category": r["category"] or "uncategorized", "anomaly_score": scores[r["transaction_id"]][0],
                     "flagged": scores[r["transaction_id"]][1], "reasons": list(scores[r["transaction_id"]][2]),
                     "scored_at": scored_at}
                    for r in new
                ])
        queued = deferred = 0
        flags_by_customer: dict[str, list[AnomalyFlag]] = {}
        for record in new:
            score = scores.get(record["transaction_id"])
            if score and score[1]:
                flags_by_customer.setdefault(record["customer_id"], []).append(AnomalyFlag(
                    transaction_id=record["transaction_id"], ts=record["ts"].to_pydatetime(),
                    amount=float(record["amount"]), merchant=record["merchant"], location=record["location"],
                    score=score[0], reasons=score[2]))
        for customer_id, flags in flags_by_customer.items():
            counts = self.checks.queue_unusual(customer_id, flags, now)
            queued, deferred = queued + counts.queued, deferred + counts.deferred
        results = tuple(
            ScoredTransaction(
                transaction_id=r["transaction_id"], customer_id=r["customer_id"],
                inserted=r["transaction_id"] not in known,
                anomaly_score=scores[r["transaction_id"]][0] if r["transaction_id"] in scores else None,
                flagged=scores[r["transaction_id"]][1] if r["transaction_id"] in scores else None,
                reasons=scores[r["transaction_id"]][2] if r["transaction_id"] in scores else (),
            )
            for r in records
        )
        return IntakeResult(
            received=len(records), inserted=inserted.inserted, duplicates=len(records) - inserted.inserted,
            flagged=sum(1 for s in scores.values() if s[1]), alerts_queued=queued, alerts_deferred=deferred,
            scored=scorer is not None or not new, transactions=results)
