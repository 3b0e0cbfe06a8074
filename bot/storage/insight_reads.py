"""Read-only queries the insights facade needs that join transactions with their stored scores."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from bot.storage.database import Store

_TXN_SELECT = """
SELECT t.transaction_id, t.customer_id, t.ts, t.amount, t.balance, t.txn_type, t.merchant,
       t.category AS given_category, t.channel, t.location, t.dob, t.gender,
       s.category AS scored_category, s.anomaly_score, s.flagged, s.reasons
FROM transactions t LEFT JOIN transaction_scores s ON s.transaction_id = t.transaction_id
WHERE t.customer_id = ? AND t.ts <= ?
ORDER BY t.ts, t.transaction_id
"""


class InsightReads:
    """Queries for one customer at a time; every one uses the (customer_id, ts) index."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def latest_date(self) -> dt.date | None:
        with self.store.locked() as db:
            row = db.execute("SELECT MAX(txn_date) FROM transactions").fetchone()
        return dt.date.fromisoformat(row[0]) if row and row[0] else None

    def data_version(self) -> tuple[object, ...]:
        """Changes whenever transactions are added, scores are written or models are retrained: a cheap key
        (three index look-ups) for caching per-customer reads."""
        with self.store.locked() as db:
            row = db.execute(
                "SELECT (SELECT MAX(rowid) FROM transactions), (SELECT MAX(rowid) FROM transaction_scores), "
                "(SELECT MAX(created_at) FROM model_artifacts), (SELECT MAX(txn_date) FROM transactions)"
            ).fetchone()
        return tuple(row)

    def customer_exists(self, customer_id: str) -> bool:
        with self.store.locked() as db:
            row = db.execute(
                "SELECT 1 FROM transactions WHERE customer_id = ? LIMIT 1", (customer_id,)
            ).fetchone()
        return row is not None

    def transactions_with_scores(self, customer_id: str, until: dt.date) -> pd.DataFrame:
        """The customer's transactions up to the end of `until`, with stored category and anomaly scores."""
        end = f"{until.isoformat()} 23:59:59"
        with self.store.locked() as db:
            cursor = db.execute(_TXN_SELECT, (customer_id, end))
            columns = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
        # Text stays plain object dtype (str or None): the analytics filter and take these small frames many
        # times per request, and pandas' Arrow-backed `str` dtype costs several times more per such call.
        frame = pd.DataFrame(rows, columns=columns, dtype=object)
        frame["ts"] = pd.to_datetime(frame["ts"], format="%Y-%m-%d %H:%M:%S")
        frame["dob"] = pd.to_datetime(frame["dob"], format="%Y-%m-%d", errors="coerce")
        for column in ("amount", "balance", "anomaly_score"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        frame["flagged"] = frame["flagged"].fillna(0).astype(bool)
        frame["reasons"] = [json.loads(r) if isinstance(r, str) else [] for r in frame["reasons"]]
        return frame

    def customer_score(self, customer_id: str) -> dict[str, Any] | None:
        with self.store.locked() as db:
            cursor = db.execute(
                """SELECT c.*, g.description FROM customer_scores c
                   LEFT JOIN segments g ON g.segment = c.segment WHERE c.customer_id = ?""",
                (customer_id,),
            )
            row = cursor.fetchone()
            if row is None:
                return None
            return dict(zip([c[0] for c in cursor.description], row, strict=True))

    def model_metrics(self, name: str) -> dict[str, Any]:
        """Evaluation figures stored with a trained model (empty before `train`)."""
        with self.store.locked() as db:
            row = db.execute("SELECT metrics FROM model_artifacts WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def fraud_check_status(self, customer_id: str) -> dict[str, str]:
        """transaction_id -> status of the customer's "Was this you?" answers (empty until that table exists)."""
        if not self.store.table_exists("fraud_checks"):
            return {}
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT transaction_id, status FROM fraud_checks WHERE customer_id = ?", (customer_id,)
            ).fetchall()
        return {tid: status for tid, status in rows}

    def contrasting_customers(self) -> list[tuple[str, str]]:
        """Three customers worth showing side by side: (customer_id, why) — the most active spender of the
        last 90 days, one with a recent unusual transaction, one still active but at the highest risk of
        leaving. Needs `train` to have run; empty list otherwise."""
        picks: list[tuple[str, str]] = []
        queries = [
            ("the most payments in the last 90 days",
             """SELECT t.customer_id FROM transactions t JOIN customer_scores c USING (customer_id)
                WHERE t.txn_type = 'DEBIT' AND t.txn_date > :since_90
                GROUP BY t.customer_id ORDER BY COUNT(*) DESC, t.customer_id LIMIT 50"""),
            ("an unusual transaction in the last 30 days",
             """SELECT s.customer_id FROM transaction_scores s JOIN transactions t USING (transaction_id)
                WHERE s.flagged = 1 AND t.txn_date > :since_30
                ORDER BY s.anomaly_score DESC, t.ts DESC LIMIT 50"""),
            ("still active, but the highest churn risk",
             """SELECT c.customer_id FROM customer_scores c
                WHERE EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.customer_id
                              AND t.txn_date > :since_45)
                ORDER BY c.churn_risk DESC, c.customer_id LIMIT 50"""),
        ]
        latest = self.latest_date()
        if latest is None or not self.store.table_exists("customer_scores"):
            return []
        # ISO dates compare as text: the cut-offs are computed here, the same on every backend.
        since = {f"since_{days}": (latest - dt.timedelta(days=days)).isoformat() for days in (90, 30, 45)}
        with self.store.locked() as db:
            if db.execute("SELECT 1 FROM customer_scores LIMIT 1").fetchone() is None:
                return []
            for why, sql in queries:
                for (customer_id,) in db.execute(sql, since).fetchall():
                    if customer_id not in {p[0] for p in picks}:
                        picks.append((customer_id, why))
                        break
        return picks
