"""The one definition of a customer's balance over time, and of a balance change, for every channel.

A transaction's `balance` is the balance after it (contract §1); it may be missing. Where it is, that is the
balance (reported); where it is not, the balance is derived from the nearest reported one: forward by adding
the transactions since (a debit that arrives without a balance lowers it at once instead of leaving a stale
figure), or, before the first reported balance, backward by undoing them. A derived balance stays marked
derived until a transaction reports one again.

The balance at a moment is the balance after the last transaction at or before it (before the first
transaction: the opening balance, the first one undone). A change over a period is the balance at its end
minus the balance at the end of the moment before it starts: the same rule for the facade's 30-day change,
the monthly report, the assistant and Telegram, so they never disagree about one customer.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"ts": pd.to_datetime(["2016-08-01", "2016-08-03", "2016-08-05"]),
    ...     "amount": [100.0, 40.0, 500.0], "txn_type": ["DEBIT", "DEBIT", "CREDIT"],
    ...     "balance": [900.0, float("nan"), 1360.0]})
    >>> history = BalanceHistory.of(rows)
    >>> history.latest()
    BalancePoint(amount=1360.0, ts=Timestamp('2016-08-05 00:00:00'), derived=False)
    >>> history.at(pd.Timestamp("2016-08-04")).amount, history.at(pd.Timestamp("2016-08-04")).derived
    (860.0, True)
    >>> history.change(pd.Timestamp("2016-07-31 23:59:59"), pd.Timestamp("2016-08-05"))
    (1000.0, 1360.0, 360.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.schema import CREDIT


@dataclass(frozen=True)
class BalancePoint:
    amount: float
    ts: pd.Timestamp | None          # the transaction the balance follows (None: the opening balance)
    derived: bool                    # computed from another transaction's balance, not reported


@dataclass(frozen=True)
class BalanceHistory:
    """The balance after each of one customer's transactions (rows in time order)."""

    ts: np.ndarray                   # datetime64[ns]
    after: np.ndarray                # balance after each row; NaN everywhere when none is reported
    derived: np.ndarray              # bool per row
    opening: float                   # the balance before the first row (NaN when none is reported)

    @classmethod
    def of(cls, rows: pd.DataFrame) -> BalanceHistory:
        """`rows`: one customer's transactions in time order with ts, amount, txn_type and balance."""
        ts = pd.to_datetime(rows["ts"]).to_numpy("datetime64[ns]")
        n = len(ts)
        if n == 0 or "balance" not in rows.columns:
            return cls(ts, np.full(n, np.nan), np.ones(n, dtype=bool), float("nan"))
        reported = pd.to_numeric(rows["balance"], errors="coerce").to_numpy(dtype=float)
        amounts = pd.to_numeric(rows["amount"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        signed = np.where(rows["txn_type"].to_numpy(dtype=object) == CREDIT, amounts, -amounts)
        known = ~np.isnan(reported)
        if not known.any():
            return cls(ts, np.full(n, np.nan), np.ones(n, dtype=bool), float("nan"))
        moved = np.cumsum(signed)                                  # money in minus out up to each row
        index = np.arange(n)
        last_known = np.maximum.accumulate(np.where(known, index, -1))
        first = int(np.flatnonzero(known)[0])
        anchor = np.where(last_known >= 0, last_known, first)      # before the first reported: undo from it
        after = reported[anchor] + moved - moved[anchor]
        after = np.where(known, reported, np.round(after, 2))
        opening = round(float(after[0] - signed[0]), 2)
        return cls(ts, after, ~known, opening)

    @property
    def known(self) -> bool:
        return len(self.after) > 0 and not np.isnan(self.after[0])

    def latest(self) -> BalancePoint | None:
        """The balance now: after the last transaction (None when no transaction reports a balance)."""
        if not self.known:
            return None
        return BalancePoint(float(self.after[-1]), pd.Timestamp(self.ts[-1]), bool(self.derived[-1]))

    def at(self, moment: pd.Timestamp) -> BalancePoint | None:
        """The balance after the last transaction at or before `moment`; before them all, the opening one."""
        if not self.known:
            return None
        position = int(np.searchsorted(self.ts, np.datetime64(pd.Timestamp(moment).to_datetime64(), "ns"),
                                       side="right")) - 1
        if position < 0:
            return BalancePoint(self.opening, None, True)
        return BalancePoint(float(self.after[position]), pd.Timestamp(self.ts[position]),
                            bool(self.derived[position]))

    def change(self, before_start: pd.Timestamp, end: pd.Timestamp) -> tuple[float | None, float | None,
                                                                             float | None]:
        """(balance at `before_start`, balance at `end`, their difference), all None without balances."""
        start_point, end_point = self.at(before_start), self.at(end)
        if start_point is None or end_point is None:
            return None, None, None
        return start_point.amount, end_point.amount, round(end_point.amount - start_point.amount, 2)

    def derived_between(self, before_start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Whether either end of that change is a derived balance (shown as estimated)."""
        points = (self.at(before_start), self.at(end))
        return any(p is not None and p.derived for p in points)
