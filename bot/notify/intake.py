"""The one intake path: new transactions are stored, scored at intake, and "Was this you?" is queued.

`finassist ingest` (after storing a file), `POST /transactions` and every notification pass call
`TransactionIntake.process`: it scores whatever waits after the intake mark (bot/services/intake_scoring.py)
and queues one question per linked chat for each recent flagged debit (outbox dedupe, quiet hours). Rows
back-filled from long before the analytics date are scored but not asked about.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.ingest import to_canonical
from analytics.results import AnomalyFlag
from bot.notify.checks import ProactiveChecks
from bot.notify.outbox import Outbox
from bot.services.errors import FinAssistError
from bot.services.intake_scoring import IntakeScorer, IntakeScoring
from bot.services.linking import LinkingService
from bot.services.preferences import PreferencesService
from bot.storage.database import Store, StoreUnavailable
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeOutcome:
    """One intake pass: rows scored (0 and `trained` False before any `train`), flagged, alerts queued."""

    trained: bool
    scored: int
    flagged: int
    alerts_queued: int
    alerts_deferred: int                # queued for after quiet hours
    not_asked: int = 0                  # flagged, but too old to ask about (back-filled history)


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
    alerts_deferred: int
    scored: bool                        # False when no anomaly model is trained yet
    transactions: tuple[ScoredTransaction, ...]


class TransactionIntake:
    """Stores (API), scores (every caller) and queues alerts for what was flagged."""

    def __init__(self, store: Store, checks: ProactiveChecks, scorer: IntakeScorer | None = None) -> None:
        self.store = store
        self.transactions = TransactionRepository(store)
        self.scores = ScoreRepository(store)
        self.checks = checks
        self.scorer = scorer or IntakeScorer(store)

    @classmethod
    def from_services(cls, services: Any, *, linking: Any = None, preferences: Any = None) -> TransactionIntake:
        """Built over the composition root's Services (the CLI, the API and the notifier share this)."""
        linking = linking if linking is not None else LinkingService(services.store)
        preferences = preferences if preferences is not None else PreferencesService(services.store, services.config)
        checks = ProactiveChecks(services.insights, linking, preferences, Outbox(services.store, services.config),
                                 services.config)
        return cls(services.store, checks)

    def process(self, now: dt.datetime | None = None) -> IntakeOutcome:
        """Score what waits and queue "Was this you?" for recent flagged rows."""
        now = now or dt.datetime.now(dt.UTC)
        scoring = self.scorer.score_pending(now)
        return self._queue(scoring, now)

    def _queue(self, scoring: IntakeScoring, now: dt.datetime) -> IntakeOutcome:
        if not scoring.flagged:
            return IntakeOutcome(scoring.trained, scoring.scored, 0, 0, 0)
        try:
            since = self.checks.insights.as_of() - dt.timedelta(days=self.checks.unusual_window_days)
        except FinAssistError:  # nothing to date the flags against: ask about none rather than all
            return IntakeOutcome(scoring.trained, scoring.scored, len(scoring.flagged), 0, 0, len(scoring.flagged))
        by_customer: dict[str, list[AnomalyFlag]] = {}
        old = 0
        for row in scoring.flagged:
            if row.flag.ts.date() < since:
                old += 1
                continue
            by_customer.setdefault(row.customer_id, []).append(row.flag)
        queued = deferred = 0
        for customer_id, flags in by_customer.items():
            try:
                counts = self.checks.queue_unusual(customer_id, flags, now)
            except StoreUnavailable:  # the database is gone, not one customer: stop
                raise
            except Exception:  # one customer's failure must not stop the others' alerts
                log.exception("could not queue alerts for one customer's flagged transactions")
                continue
            queued, deferred = queued + counts.queued, deferred + counts.deferred
        return IntakeOutcome(scoring.trained, scoring.scored, len(scoring.flagged), queued, deferred, old)

    def submit(self, rows: Sequence[Mapping[str, Any]], now: dt.datetime | None = None) -> IntakeResult:
        """Store validated canonical transactions (analytics.schema.TXN_COLUMNS), then run the intake pass."""
        now = now or dt.datetime.now(dt.UTC)
        if not rows:
            return IntakeResult(0, 0, 0, 0, 0, 0, True, ())
        frame = to_canonical(pd.DataFrame(list(rows)))
        ids = frame["transaction_id"].tolist()

        def store_new() -> tuple[set[str], Any]:
            # Inside the write lock: an ID a concurrent request stored first keeps its owner, and this request
            # neither scores it nor reports it as its own.
            known = {tid for tid in ids if self.transactions.get(tid) is not None}
            return known, self.transactions.insert_frame(frame[~frame["transaction_id"].isin(known)], source="api")

        # One unit of work: on PostgreSQL a connection lost before COMMIT (a server restart) runs it once more
        # on a fresh connection, so a request stores all its rows or none.
        known, inserted = self.store.transaction(store_new, immediate=True)
        outcome = self.process(now)
        results = []
        for record in frame.to_dict("records"):
            tid = record["transaction_id"]
            stored = self.scores.transaction_score(tid) if tid not in known else None
            results.append(ScoredTransaction(
                transaction_id=tid, customer_id=record["customer_id"], inserted=tid not in known,
                anomaly_score=float(stored["anomaly_score"]) if stored else None,
                flagged=bool(stored["flagged"]) if stored else None,
                reasons=tuple(stored["reasons"]) if stored else ()))
        flagged = sum(1 for r in results if r.flagged)
        return IntakeResult(
            received=len(results), inserted=inserted.inserted, duplicates=len(results) - inserted.inserted,
            flagged=flagged, alerts_queued=outcome.alerts_queued, alerts_deferred=outcome.alerts_deferred,
            scored=outcome.trained or inserted.inserted == 0, transactions=tuple(results))
