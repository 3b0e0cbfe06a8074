"""The forecast back-test's counting, on two tiny hand-made customers whose outcomes are worked by hand."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pandas as pd

from tests.model_frames import frame

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "forecast_backtest.py"
_spec = importlib.util.spec_from_file_location("forecast_backtest", _PATH)
assert _spec is not None and _spec.loader is not None
forecast_backtest = importlib.util.module_from_spec(_spec)
sys.modules["forecast_backtest"] = forecast_backtest     # its dataclasses look their module up
_spec.loader.exec_module(forecast_backtest)

START, END = dt.date(2016, 7, 1), dt.date(2016, 10, 31)


def customer(cid: str, refund: bool) -> pd.DataFrame:
    """₹60,000 brought in on 1 Jul, salary ₹50,000 on the 30th (Jul-Oct), ₹1,400 spent every day; with
    `refund`, a one-off ₹30,000 credit on 15 Oct. Every row carries the running balance."""
    rows = [{"customer_id": cid, "ts": dt.datetime(2016, 7, 1, 8), "amount": 60_000.0, "txn_type": "CREDIT",
             "merchant": "IMPS FROM FATHER", "category": "transfers"}]
    day = START
    while day <= END:
        if day.day == 30:
            rows.append({"customer_id": cid, "ts": dt.datetime.combine(day, dt.time(9)), "amount": 50_000.0,
                         "txn_type": "CREDIT", "merchant": "NEFT/SALARY ACME LTD", "category": "income"})
        if refund and day == dt.date(2016, 10, 15):
            rows.append({"customer_id": cid, "ts": dt.datetime.combine(day, dt.time(10)), "amount": 30_000.0,
                         "txn_type": "CREDIT", "merchant": "CROMA REFUND", "category": "income"})
        rows.append({"customer_id": cid, "ts": dt.datetime.combine(day, dt.time(13)), "amount": 1_400.0,
                     "txn_type": "DEBIT", "merchant": ("ZOMATO", "DMART", "SWIGGY")[(day - START).days % 3],
                     "category": "dining"})
        day += dt.timedelta(days=1)
    balance = 0.0
    for row in rows:
        balance += row["amount"] if row["txn_type"] == "CREDIT" else -row["amount"]
        row["balance"] = balance
    return frame(rows)


def test_counts_crossings_warnings_hits_and_abstentions() -> None:
    # 20 Aug (51 days on record: not_enough_history): ₹60,000 + ₹50,000 - 51 x ₹1,400 = ₹38,600; ₹26,000 by
    # the 30 Aug salary, so below ₹30,000 (27 Aug) — a crossing it abstained on. Below ₹50,000 already: no case.
    # 10 Oct: ₹60,000 + 3 x ₹50,000 - 102 x ₹1,400 = ₹67,200, at ₹1,400 a day ₹40,600 on 29 Oct: never below
    # ₹30,000 (stays_above, right), below ₹50,000 on 23 Oct (a warning) — true without the refund; with it the
    # balance jumps on 15 Oct (₹61,600 + ₹30,000) and ends at ₹70,600: a wrong warning.
    tallies: dict[float, object] = {}
    for refund in (False, True):
        forecast_backtest.backtest_customer(customer(f"C{int(refund)}", refund),
                                            [dt.date(2016, 8, 20), dt.date(2016, 10, 10)], (30_000.0, 50_000.0),
                                            tallies)
    low, high = tallies[30_000.0], tallies[50_000.0]
    assert (low.cases, low.crossings, low.warnings, low.right, low.abstained) == (4, 2, 0, 0, 2)
    assert low.statuses == {"not_enough_history": 2, "stays_above": 2}
    assert low.precision is None and low.recall == 0.0
    assert (high.cases, high.crossings, high.warnings, high.right, high.abstained) == (2, 1, 2, 1, 0)
    assert high.precision == 0.5 and high.recall == 1.0


def test_the_truth_stops_at_the_next_income() -> None:
    # From 20 Aug (₹38,600) the balance falls ₹1,400 a day to ₹26,000 on 29 Aug, the last day before the
    # 30 Aug salary: below ₹27,000, not below ₹26,000 — though September's days would take it lower.
    history = customer("C0", refund=False)
    incomes = forecast_backtest.income_rows(history)
    assert int(incomes.sum()) == 4
    assert forecast_backtest.observed_crossing(history, dt.date(2016, 8, 20), 27_000.0, incomes)
    assert not forecast_backtest.observed_crossing(history, dt.date(2016, 8, 20), 26_000.0, incomes)
