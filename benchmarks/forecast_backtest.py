"""Back-test of the low-balance forecast: forecast as of many cut-off dates from the history before each, then
check the balances actually observed afterwards, until the next income.

Run: .venv/bin/python benchmarks/forecast_backtest.py [--customers 300 --months 12 --seed 7] [--every 7]
     [--sample] [--real [--real-customers N]]

For each customer and cut-off day `c` (every `--every` days, from the first day of the bank to 45 days
before its end), the forecast sees only the rows up to the end of `c` and starts from the balance on record
then. The truth is read from the rows after `c`: "crossed" when any balance observed after `c` and before the
next income is below the threshold. The next income is the first credit after `c` that belongs to a regular
income series found on the customer's WHOLE history (the truth may use the future; the forecast may not);
a customer with none is watched for 31 days. A case starts only when the balance at `c` is at or above the
threshold (below it, the after-the-fact warning's job).

Per threshold it prints: cases, actual crossings, warnings issued, warnings right (precision), crossings
warned (recall) and how often the forecast abstained (statuses in `analytics.forecast.ABSTAIN`).
`--sample` / `--real` run the same on the public sample / the real file (customers with at least two rows; of
the real file the 20,000 with the most rows by default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.categorize import assign_categories, train_default_categorizer  # noqa: E402
from analytics.forecast import ABSTAIN, MIN_HISTORY_DAYS, forecast_balance  # noqa: E402
from analytics.ingest import read_transactions  # noqa: E402
from analytics.recurring import RecurringScan, merchant_key, scan_recurring  # noqa: E402
from analytics.synth import generate_bank  # noqa: E402

THRESHOLDS = (2_000.0, 5_000.0, 10_000.0)
WATCH_WITHOUT_INCOME = 31           # days watched after a cut-off when the customer has no regular income
LAST_CUTOFF_BEFORE_END = 45         # the truth needs the weeks after a cut-off
DATA = ROOT.parent / "shared" / "data"
SAMPLE = DATA / "bank_transactions_sample.csv"
REAL = DATA / "bank_transactions_full.csv.gz"


def nothing_recurring(rows: int) -> RecurringScan:
    """The scan of a statement too short to have been scanned."""
    return RecurringScan((), (), (), np.zeros(rows, dtype=bool))

@dataclass
class Tally:
    """The counts of one threshold."""

    cases: int = 0
    crossings: int = 0          # the balance actually went below before the next income
    warnings: int = 0
    right: int = 0              # warnings whose crossing happened
    abstained: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, status: str, crossed: bool) -> None:
        self.cases += 1
        self.crossings += crossed
        self.statuses[status] += 1
        if status == "will_cross":
            self.warnings += 1
            self.right += crossed
        self.abstained += status in ABSTAIN

    @property
    def precision(self) -> float | None:
        return self.right / self.warnings if self.warnings else None

    @property
    def recall(self) -> float | None:
        return self.right / self.crossings if self.crossings else None


def balance_on_record(past: pd.DataFrame) -> float | None:
    """The latest balance on record, carried forward over later rows that lack one (as the store does)."""
    known = np.flatnonzero(past["balance"].notna().to_numpy())
    if len(known) == 0:
        return None
    after = past.iloc[known[-1] + 1:]
    signed = np.where(after["txn_type"] == "CREDIT", after["amount"], -after["amount"]).sum()
    return float(past["balance"].iloc[known[-1]]) + float(signed)


def income_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows of the regular income series found on the whole history (truth, not forecast)."""
    end = pd.Timestamp(frame["ts"].max()).date()
    scan = scan_recurring(frame, end)
    credit = (frame["txn_type"] == "CREDIT").to_numpy()
    if scan.regular_income is None:
        return np.zeros(len(frame), dtype=bool)
    key = scan.regular_income.merchant
    same = np.array([merchant_key(m) == key for m in frame["merchant"].tolist()], dtype=bool)
    return credit & same & scan.series_rows


def observed_crossing(frame: pd.DataFrame, cutoff: dt.date, threshold: float, incomes: np.ndarray) -> bool:
    """Did a balance observed after `cutoff` and before the next income go below `threshold`?"""
    ts = frame["ts"].to_numpy()
    after = ts >= np.datetime64(cutoff + dt.timedelta(days=1))
    later_income = np.flatnonzero(after & incomes)
    # No later income (none on record, or it stopped): watch as long as a monthly cycle.
    until = ts[later_income[0]] if len(later_income) else \
        np.datetime64(cutoff + dt.timedelta(days=1 + WATCH_WITHOUT_INCOME))
    window = after & (ts < until)
    balances = frame["balance"].to_numpy(dtype=float)[window]
    return bool((balances[~np.isnan(balances)] < threshold).any())


def backtest_customer(frame: pd.DataFrame, cutoffs: Iterable[dt.date], thresholds: Iterable[float],
                      tallies: dict[float, Tally]) -> None:
    """Add one customer's cases at each cut-off and threshold to `tallies` (frame sorted by time)."""
    incomes = income_rows(frame)
    ts = frame["ts"].to_numpy()
    thresholds = tuple(thresholds)
    for cutoff in cutoffs:
        cut = int(np.searchsorted(ts, np.datetime64(cutoff + dt.timedelta(days=1)), side="left"))
        if cut == 0:
            continue
        past = frame.iloc[:cut].reset_index(drop=True)
        balance = balance_on_record(past)
        if balance is None:
            continue
        # Under eight weeks the forecast abstains before it looks at recurring payments: skip the scan.
        short = (cutoff - pd.Timestamp(ts[0]).date()).days + 1 < MIN_HISTORY_DAYS
        scan = nothing_recurring(len(past)) if short else scan_recurring(past, cutoff)
        for threshold in thresholds:
            if balance < threshold:
                continue
            result = forecast_balance(past, cutoff, balance, cutoff, threshold, scan)
            tallies.setdefault(threshold, Tally()).add(result.status,
                                                       observed_crossing(frame, cutoff, threshold, incomes))


def cutoffs_for(first: dt.date, last: dt.date, every: int) -> list[dt.date]:
    final = last - dt.timedelta(days=LAST_CUTOFF_BEFORE_END)
    days, day = [], first + dt.timedelta(days=every)
    while day <= final:
        days.append(day)
        day += dt.timedelta(days=every)
    return days


def run(frames: dict[str, pd.DataFrame], every: int, thresholds: Iterable[float] = THRESHOLDS) -> dict[float, Tally]:
    first = min(pd.Timestamp(f["ts"].min()).date() for f in frames.values())
    last = max(pd.Timestamp(f["ts"].max()).date() for f in frames.values())
    cutoffs = cutoffs_for(first, last, every)
    tallies: dict[float, Tally] = {t: Tally() for t in thresholds}
    for frame in frames.values():
        backtest_customer(frame, cutoffs, thresholds, tallies)
    return tallies


def report(title: str, tallies: dict[float, Tally]) -> None:
    print(title)
    print(f"  {'threshold':>9} {'cases':>7} {'crossed':>7} {'warned':>6} {'right':>5} {'precision':>9} "
          f"{'recall':>7} {'abstained':>9}")
    for threshold, t in tallies.items():
        precision = "-" if t.precision is None else f"{t.precision:.2f}"
        recall = "-" if t.recall is None else f"{t.recall:.2f}"
        print(f"  ₹{threshold:>8,.0f} {t.cases:>7} {t.crossings:>7} {t.warnings:>6} {t.right:>5} {precision:>9} "
              f"{recall:>7} {t.abstained / max(1, t.cases):>8.1%}")
    statuses = sum((t.statuses for t in tallies.values()), Counter())
    print("  statuses: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()))


def synthetic_transactions(customers: int, months: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seeded synthetic bank as the store would read it (through its CSV and the parser), categorised;
    with the generator's customer labels."""
    bank = generate_bank(customers, months, seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.csv"
        bank.transactions.to_csv(path, index=False)
        txns = read_transactions([path]).frame
    txns["category"] = assign_categories(txns, train_default_categorizer).to_numpy()
    return txns, bank.customer_labels


def synthetic_frames(customers: int, months: int, seed: int) -> dict[str, pd.DataFrame]:
    txns, _ = synthetic_transactions(customers, months, seed)
    return {c: g.sort_values("ts", kind="stable").reset_index(drop=True) for c, g in txns.groupby("customer_id")}


def public_frames(path: Path, min_rows: int, limit: int | None) -> dict[str, pd.DataFrame]:
    txns = read_transactions([path]).frame
    counts = txns["customer_id"].value_counts()
    chosen = counts[counts >= min_rows].index
    if limit is not None:
        chosen = chosen[:limit]
    subset = txns[txns["customer_id"].isin(chosen)]
    frames = {}
    for cid, group in subset.groupby("customer_id"):
        group = group.sort_values("ts", kind="stable").reset_index(drop=True)
        group["category"] = assign_categories(group, None).to_numpy()
        frames[cid] = group
    return frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--every", type=int, default=7, help="days between cut-offs (default 7)")
    parser.add_argument("--sample", action="store_true", help="also the public sample")
    parser.add_argument("--real", action="store_true", help="also the real file (customers with 2+ rows)")
    parser.add_argument("--real-customers", type=int, default=20_000, metavar="N",
                        help="only the N customers of the real file with the most rows (default 20,000)")
    parser.add_argument("--no-synth", action="store_true", help="skip the synthetic bank")
    args = parser.parse_args()
    if not args.no_synth:
        frames = synthetic_frames(args.customers, args.months, args.seed)
        report(f"synthetic bank seed {args.seed}: {len(frames)} customers, {args.months} months, a cut-off every "
               f"{args.every} days", run(frames, args.every))
    for wanted, path in ((args.sample, SAMPLE), (args.real, REAL)):
        if not wanted:
            continue
        if not path.exists():
            print(f"{path.name}: not present")
            continue
        frames = public_frames(path, 2, args.real_customers if path == REAL else None)
        if not frames:
            print(f"{path.name}: no customer with 2+ rows")
            continue
        # Their histories are short (weeks): cut-offs every few days over the whole span.
        first = min(pd.Timestamp(f["ts"].min()).date() for f in frames.values())
        last = max(pd.Timestamp(f["ts"].max()).date() for f in frames.values())
        cutoffs = [first + dt.timedelta(days=d) for d in range(args.every, (last - first).days, args.every)]
        tallies: dict[float, Tally] = {t: Tally() for t in THRESHOLDS}
        for frame in frames.values():
            backtest_customer(frame, cutoffs, THRESHOLDS, tallies)
        report(f"{path.name}: {len(frames)} customers with 2+ rows, {first} to {last}, a cut-off every "
               f"{args.every} days (the truth may run past the end of the data)", tallies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
