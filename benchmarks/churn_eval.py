"""Churn quality (not timing): ranking, calibration and how many customers are called "high", per data set.

Data sets:
  synth      our synthetic bank (`analytics.synth.generate_bank`, 9,000 customers x 12 months, ~1M rows), whose
             churners fade over 60-90 days and mostly move their salary first.
  abrupt, drain, thinning
             a synthetic bank of another seed with its own churners removed, a background of light users (5-40%
             of the usual activity, so natural 30-day gaps) and returners (one 35-75 day gap, then back), and
             churners injected here with a pattern the generator does not have:
               abrupt   - everything stops on one day, no decline before;
               drain    - 5-25 days before the stop a transfer out empties the balance, activity thins, then stops;
               thinning - activity thins out over the 6 months before the stop.
             Churn share chosen so that the base rate is about 3%. (A customer whose salary keeps arriving while
             spending moves away is not a churner under this label - any transaction counts - so it is not one.)
  real       the public file (`../shared/data/bank_transactions_full.csv.gz`): 3 months, mostly one row per ID.

Two evaluations per data set:
  hold-out   `ChurnModel.fit` on everything: its own hold-out window (the last labelled 30 days), with
             out-of-fold calibrated probabilities (`metrics_`).
  future     fit on the data up to D = as_of - 30 days only (and 38 and 45: other days of the month, since
             paydays move recency), score the customers active at D, then compare with what they did in the
             30 days after D: the figures a bank sees a month after `train`.
Each is set beside the naive score on the same customers: z(log days since last) + z(activity decline), and
the transparent score the model falls back to.

    python benchmarks/churn_eval.py [--customers 9000] [--months 12] [--seed 7] [--back 30 38 45] [--no-real]
                                    [--only NAME ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.churn import ChurnModel, PreparedTxns, churn_features, churn_labels, precision_at_k  # noqa: E402
from analytics.ingest import read_transactions  # noqa: E402
from analytics.profiles import end_of_day  # noqa: E402
from analytics.synth import generate_bank  # noqa: E402

REAL_FULL = Path(__file__).resolve().parents[2] / "shared" / "data" / "bank_transactions_full.csv.gz"
PATTERNS = ("abrupt", "drain", "thinning")


# ---- data ---------------------------------------------------------------------------------------------
def synth_frame(customers: int, months: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic bank read back through the real ingest, and its customer labels."""
    bank = generate_bank(customers, months, seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.csv"
        bank.transactions.to_csv(path, index=False)
        return read_transactions([path]).frame, bank.customer_labels


def background(txns: pd.DataFrame, rng: np.random.Generator, light_share: float = 0.06,
               returner_share: float = 0.04) -> pd.DataFrame:
    """Light users (keep 5-40% of their rows) and returners (one 35-75 day gap, then back): customers who go
    quiet for a month without leaving, the hard negatives of a recency score."""
    codes, customers = pd.factorize(txns["customer_id"])
    n = len(customers)
    keep_share = np.where(rng.random(n) < light_share, rng.uniform(0.05, 0.4, n), 1.0)
    ts = txns["ts"].to_numpy()
    keep = rng.random(len(ts)) < keep_share[codes]
    start = txns["ts"].min().normalize()
    span = (txns["ts"].max() - start).days
    returner = rng.random(n) < returner_share
    gap_from = (start + pd.to_timedelta(rng.integers(60, max(61, span - 40), n), unit="D")).to_numpy()
    gap_to = gap_from + pd.to_timedelta(rng.integers(35, 76, n), unit="D").to_numpy()
    keep &= ~(returner[codes] & (ts >= gap_from[codes]) & (ts < gap_to[codes]))
    return txns[keep].reset_index(drop=True)


def inject(txns: pd.DataFrame, pattern: str, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """Churners with `pattern`: a `share` of customers stop on a day drawn over the months after the first 150
    days; rows after the stop are removed and the pattern shapes the rows before it."""
    codes, customers = pd.factorize(txns["customer_id"])
    n = len(customers)
    start = txns["ts"].min().normalize()
    end = txns["ts"].max().normalize() + pd.Timedelta(days=1)
    churner = rng.random(n) < share
    stop = (start + pd.to_timedelta(rng.integers(150, (end - start).days, n), unit="D")).to_numpy()
    ts = txns["ts"].to_numpy()
    is_churner, row_stop = churner[codes], stop[codes]
    keep = ~(is_churner & (ts >= row_stop))
    out = txns.copy()
    extra: list[pd.DataFrame] = []
    if pattern == "thinning":
        lead = np.timedelta64(180, "D")
        frac = np.clip((ts - (row_stop - lead)) / lead, 0, 1)
        keep &= ~(is_churner & (rng.random(len(ts)) < 0.9 * frac))
    elif pattern == "drain":
        drain_at = stop - pd.to_timedelta(rng.integers(5, 26, n), unit="D").to_numpy()
        row_drain = drain_at[codes]
        after = is_churner & (ts >= row_drain) & (ts < row_stop)
        keep &= ~(after & (rng.random(len(ts)) < 0.6))
        before = np.flatnonzero(is_churner & (ts < row_drain))
        last_before = pd.Series(before).groupby(codes[before]).max()       # last row before the drain
        who = last_before.index.to_numpy()
        drained = np.zeros(n)
        drained[who] = np.nan_to_num(out["balance"].to_numpy()[last_before.to_numpy()]) - 50.0
        out["balance"] = np.where(after, np.maximum(out["balance"].to_numpy() - drained[codes], 50.0),
                                  out["balance"].to_numpy())
        when = drain_at[who] + np.timedelta64(10, "h")
        moved = (drained[who] > 0) & (when < np.datetime64(end))
        extra.append(pd.DataFrame({
            "transaction_id": [f"TX{i}" for i in who[moved]], "customer_id": customers[who[moved]],
            "ts": when[moved], "amount": drained[who[moved]], "balance": 50.0, "txn_type": "DEBIT",
            "merchant": "NEFT TRANSFER TO OTHER BANK", "category": "transfers", "channel": "NEFT",
            "location": None, "dob": pd.NaT, "gender": None}))
    elif pattern != "abrupt":
        raise ValueError(f"unknown pattern {pattern!r}")
    out = pd.concat([out[keep], *extra], ignore_index=True) if extra else out[keep]
    return out.sort_values(["customer_id", "ts"], kind="stable").reset_index(drop=True)


# ---- scores and figures -------------------------------------------------------------------------------
def naive_score(features: pd.DataFrame) -> np.ndarray:
    """z(log days since last transaction) + z(log activity decline): the baseline to beat."""
    recency = np.log1p(features["days_since_last"].to_numpy(float))
    decline = np.log1p(features["txn_32_90"].to_numpy(float) / 2) - np.log1p(features["txn_31d"].to_numpy(float))
    return sum((x - x.mean()) / (x.std() or 1.0) for x in (recency, decline))


def future(txns: pd.DataFrame, as_of: dt.date, back_days: int = 30, random_state: int = 0) -> dict[str, object]:
    """Fit on the data up to D = as_of - `back_days` days, score at D, judge against (D, D + 30 days]."""
    cutoff = as_of - dt.timedelta(days=back_days)
    seen = txns[(txns["ts"] < end_of_day(cutoff)).to_numpy()]
    prepared_seen = PreparedTxns.from_frame(seen)
    model = ChurnModel(random_state=random_state).fit(prepared_seen, cutoff)
    scored = model.predict(prepared_seen, cutoff)
    y = churn_labels(PreparedTxns.from_frame(txns), scored.index, cutoff)
    features = churn_features(prepared_seen, cutoff).reindex(scored.index)
    risk = scored["churn_risk"].to_numpy()
    levels = scored["level"].value_counts().reindex(["low", "medium", "high"], fill_value=0)
    high = (scored["level"] == "high").to_numpy()
    naive = naive_score(features)
    both = len(np.unique(y)) == 2
    return {
        "cutoff": cutoff, "method": model.method_, "n": len(y), "base_rate": float(y.mean()),
        "auc": float(roc_auc_score(y, risk)) if both else float("nan"),
        "p10": precision_at_k(y, risk, 0.1), "brier": float(brier_score_loss(y, risk)),
        "brier_base": float(brier_score_loss(y, np.full(len(y), y.mean()))),
        "levels": levels.to_dict(), "high_share": float(high.mean()),
        "high_churn": float(y[high].mean()) if high.any() else float("nan"),
        "naive_auc": float(roc_auc_score(y, naive)) if both else float("nan"),
        "naive_p10": precision_at_k(y, naive, 0.1),
        "transparent_auc": float(roc_auc_score(y, features["transparent"])) if both else float("nan"),
    }


def evaluate(name: str, txns: pd.DataFrame, back_days: tuple[int, ...] = (30,)) -> None:
    as_of = pd.Timestamp(txns["ts"].max()).date()
    started = time.perf_counter()
    prepared = PreparedTxns.from_frame(txns)
    model = ChurnModel().fit(prepared, as_of)
    now = model.predict(prepared, as_of)
    m = model.metrics_
    ahead = [future(txns, as_of, back) for back in back_days]
    n_customers = txns["customer_id"].nunique()
    print(f"\n== {name}: {len(txns):,} rows, {n_customers:,} customers, as of {as_of} "
          f"({time.perf_counter() - started:.0f} s)")
    print(f"  {model.method_sentence()}")
    hl = m["holdout_levels"]
    holdout_high = hl.get("high", 0) / max(m["n_test"], 1)
    print(f"  hold-out  ({m['n_test']:,} customer-windows, {m['n_cutoffs']} training cutoffs, {m['n_train']:,} "
          f"train rows, {m['n_train_churners']:,} churners): AUC {m['auc']:.3f} (transparent "
          f"{m['auc_transparent']:.3f}, trained alone {m['auc_supervised']:.3f}), P@10% {m['precision_at_k']:.3f}, "
          f"Brier {m['brier']:.4f} (base-rate forecast {m['brier_base_rate']:.4f}, {m['calibration']}), base rate "
          f"{m['base_rate']:.3f}, levels {hl}, high share {holdout_high:.3f} = "
          f"{holdout_high / m['base_rate']:.2f}x base, churn rate of high {m['holdout_high_churn_rate']:.2f}")
    for a in ahead:
        print(f"  future from {a['cutoff']} ({a['n']:,} customers, {a['method']}): AUC {a['auc']:.3f}, "
              f"P@10% {a['p10']:.3f}, Brier {a['brier']:.4f} (base-rate forecast {a['brier_base']:.4f}), base rate "
              f"{a['base_rate']:.3f}, levels {a['levels']}, high share {a['high_share']:.3f} = "
              f"{a['high_share'] / a['base_rate']:.2f}x base, churn rate of high {a['high_churn']:.2f}")
        print(f"      naive recency + decline on the same customers: AUC {a['naive_auc']:.3f}, P@10% "
              f"{a['naive_p10']:.3f}; transparent score alone AUC {a['transparent_auc']:.3f}")
    print(f"  levels now ({len(now):,} active customers scored): {m['levels']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=9000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--churn-share", type=float, default=0.03, help="share of customers injected as churners")
    parser.add_argument("--back", type=int, nargs="*", default=[30, 38, 45],
                        help="future checks from these many days before as_of (different days of the month)")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help="synth, abrupt, drain, thinning, real")
    args = parser.parse_args()
    wanted = set(args.only or ("synth", *PATTERNS, "real"))
    if wanted & {"synth", *PATTERNS}:
        txns, labels = synth_frame(args.customers, args.months, args.seed)
        if "synth" in wanted:
            evaluate("synth", txns, tuple(args.back))
    if wanted & set(PATTERNS):
        other, other_labels = synth_frame(args.customers, args.months, args.seed + 4)
        gone = set(other_labels.loc[other_labels["churned"] == 1, "CustomerID"])
        rng = np.random.default_rng(args.seed)
        clean = background(other[~other["customer_id"].isin(gone)].reset_index(drop=True), rng)
        for pattern in PATTERNS:
            if pattern in wanted:
                evaluate(f"{pattern} (injected)", inject(clean, pattern, args.churn_share, rng), tuple(args.back))
    if "real" in wanted and not args.no_real:
        if REAL_FULL.exists():
            evaluate("real public file", read_transactions([REAL_FULL]).frame, (30,))
        else:
            print(f"\n(real file not found at {REAL_FULL}: skipped)")


if __name__ == "__main__":
    main()
