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
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.profiles import end_of_day
from bot.storage.database import Store
from bot.storage.scores import ScoreRepository
from bot.storage.transactions import TransactionRepository

if TYPE_CHECKING:  # the detector (and sklearn behind it) is imported only when a row must be re-scored
    from analytics.anomaly import TransactionAnomalyDetector

ExportRow = tuple[str, str, str, float, int, str]


class TrainedScores:
    """Reads stored score rows and recomputes the quiet ones with the detector of the last `train`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.scores = ScoreRepository(store)
        self.transactions = TransactionRepository(store)

    def _trained_info(self) -> tuple[int, dt.date, str] | None:
        """The last rowid the last `train` read, its as_of and when it ran (the detector left unpickled)."""
        info = self.scores.artifact_info("anomaly")
        if info is None or "last_rowid" not in info["metrics"] or not info["as_of"]:
            return None
        return int(info["metrics"]["last_rowid"]), dt.date.fromisoformat(info["as_of"]), info["created_at"]

    def _trained(self) -> tuple[TransactionAnomalyDetector, int, dt.date, str] | None:
        """The stored detector, the last rowid its training read, its as_of and when it was trained."""
        info = self._trained_info()
        if info is None:
            return None
        return (self.scores.load_artifact("anomaly"), *info)

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
        last training run scored, in stored order, then any scored later through the API."""
        for columns in self.export_columns(progress=progress):
            yield from zip(*(c.to_pylist() if isinstance(c, pa.Array) else list(c) for c in columns), strict=True)

    def export_columns(self, progress: Callable[[str], None] | None = None,
                       chunk_rows: int = 100_000) -> Iterator[tuple[Sequence[Any] | pa.Array, ...]]:
        """`export_rows` as chunks of up to `chunk_rows` rows, column by column (six sequences of Python values
        or Arrow arrays, which the CSV writer writes alike: analytics.csv_lines).

        The quiet rows' scores and categories come from what `train` kept of every row (`row_scores`); only a
        store trained before it kept them (or whose rows no longer match them) re-scores them with the
        detector. `progress(stage)` hears of the slow stages before the first row."""
        say = progress or (lambda stage: None)
        say("reading stored scores")
        stored = {row[0]: row for row in self.scores.iter_transaction_export()}
        trained = self._trained_info()
        if trained is not None:
            last_rowid, as_of, _ = trained
            say("reading transactions")
            trained_rows = self.transactions.count_up_to_rowid(last_rowid)

            def training_rows(columns: Sequence[str] | None) -> pd.DataFrame:
                frame, _ = self.transactions.all_frame_and_last_rowid(columns)
                frame = frame.iloc[:trained_rows]  # stored order: training's rows first
                return frame[frame["ts"] < end_of_day(as_of)].reset_index(drop=True)

            frame = training_rows(("transaction_id", "customer_id", "ts"))  # all the kept scores need
            ids = frame["transaction_id"].to_numpy(dtype=object)
            customers = frame["customer_id"].to_numpy(dtype=object)
            kept = _kept_scores(self.scores.load_artifact("anomaly_rows"), ids)
            if kept is None:  # a store trained before scores were kept: the detector needs every column
                frame = training_rows(None)
            if kept is not None:
                score, category = kept
                flagged = np.zeros(len(ids), dtype=np.int64)   # a quiet row (flagged ones are stored)
                reasons = np.full(len(ids), "", dtype=object)
            else:
                say(f"re-scoring {len(frame):,} transactions with the trained detector")
                scored = self._score(self.scores.load_artifact("anomaly"), frame)
                score = scored["anomaly_score"].to_numpy(dtype=float)
                category = scored["category"].to_numpy(dtype=object)
                flagged = scored["flagged"].to_numpy().astype(np.int64)
                reasons = np.asarray(["; ".join(r) for r in scored["reasons"]], dtype=object)
            del frame
            category = np.array(category, dtype=object)   # our own copies: stored rows are written into them
            score = python_round(score, 6)   # what `train` stores: round(score, 6)
            # The few stored rows are looked up among the million ids (hashing the small side only).
            keys = list(stored)
            found = pd.Index(keys).get_indexer(ids) if keys else np.full(len(ids), -1, dtype=np.intp)
            positions = np.flatnonzero(found >= 0)
            if len(positions):
                ids, customers = ids.copy(), customers.copy()   # not the frame's own arrays
            for position, key in zip(positions.tolist(), found[positions].tolist(), strict=True):
                (ids[position], customers[position], category[position], score[position], flagged[position],
                 reasons[position]) = stored.pop(keys[key])
            for start in range(0, len(ids), chunk_rows):
                stop = min(start + chunk_rows, len(ids))
                # numbers as Arrow arrays (no million Python floats); text as arrays of its Python strings
                yield (ids[start:stop], customers[start:stop], category[start:stop], pa.array(score[start:stop]),
                       pa.array(flagged[start:stop]), reasons[start:stop])
        if stored:
            yield tuple(list(column) for column in zip(*stored.values(), strict=True))

    @staticmethod
    def _score(detector: TransactionAnomalyDetector, frame: pd.DataFrame) -> pd.DataFrame:
        from analytics.categorize import assign_categories, train_default_categorizer

        frame = frame.copy()
        frame["category"] = assign_categories(frame, train_default_categorizer)
        scored = detector.score_frame(frame, part_of_fit=True)
        scored["category"] = frame["category"].to_numpy(dtype=object)
        return scored


def row_scores(txns: pd.DataFrame, scored: pd.DataFrame) -> dict[str, Any]:
    """What `train` keeps of every row it scored, in its order: the anomaly score and the category, plus the
    first and last TransactionID and the row count that tie them to the rows (`_kept_scores` checks them)."""
    codes, categories = pd.factorize(txns["category"].to_numpy(dtype=object))
    ids = txns["transaction_id"]
    return {"anomaly_score": scored["anomaly_score"].to_numpy(dtype=np.float64).copy(),
            "category_codes": codes.astype(np.int32), "categories": list(categories),
            "rows": len(txns), "first_id": ids.iloc[0] if len(ids) else None,
            "last_id": ids.iloc[-1] if len(ids) else None}


def _kept_scores(kept: Any, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(score, category) per row of `ids` from `row_scores`' payload, or None when it is missing or was kept
    for other rows."""
    if not isinstance(kept, dict) or kept.get("rows") != len(ids) or len(ids) == 0:
        return None
    if kept.get("first_id") != ids[0] or kept.get("last_id") != ids[-1]:
        return None
    lookup = np.empty(len(kept["categories"]) + 1, dtype=object)
    lookup[:-1] = kept["categories"]
    lookup[-1] = None
    return kept["anomaly_score"], lookup[kept["category_codes"]]


def python_round(values: np.ndarray, digits: int) -> np.ndarray:
    """`round(v, digits)` of every value, bit for bit, without a Python call per value.

    Python rounds the exact binary value half-to-even at `digits` decimals and returns the double nearest that
    decimal. `rint(v * 10**digits) / 10**digits` gives the same (the division is correctly rounded) whenever
    the product's own rounding error cannot move it across a half; the few values that lie within a few ulps
    of a half, are too large for the product to be exact, or are not finite take Python's `round`."""
    values = np.asarray(values, dtype=np.float64)
    scale = 10.0 ** digits
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * scale
        out = np.rint(scaled) / scale
        to_half = np.abs(scaled - (np.floor(scaled) + 0.5))
        risky = ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0 ** 50) | (to_half <= 8 * np.spacing(np.abs(scaled)))
    for i in np.flatnonzero(risky).tolist():
        out[i] = round(float(values[i]), digits)
    return out
