"""Quality of the proactive analyses on a seeded synthetic bank (and the real public sample when present):
recurring payments against what the generator puts in, alert rates, and a back-test of the balance forecast.

Run: .venv/bin/python benchmarks/proactive_eval.py [--customers 300 --months 12 --seed 7] [--messages N]
     [--forecast-only [--every 7]]

`--messages N` also replays the last four months day by day for N customers and counts the trend / pace
messages the notification rule would send (month-close trend first, one key once, at most one in 7 days), at
the default materiality and at two stricter ones (`[analytics] trend_min_change` / `trend_min_increase`).

The synthetic bank has no duplicate charges and no price changes, so every such alert it raises is false.
The forecast back-test (benchmarks/forecast_backtest.py) forecasts from each week's statement and checks the
balances that followed; `--forecast-only` prints only it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.categorize import assign_categories  # noqa: E402
from analytics.forecast import forecast_balance  # noqa: E402
from analytics.ingest import read_transactions  # noqa: E402
from analytics.recurring import merchant_key, scan_recurring  # noqa: E402
from analytics.spending import suggest_budget  # noqa: E402
from analytics.synth_params import SUBSCRIPTIONS  # noqa: E402
from analytics.trends import budget_pace, monthly_trend  # noqa: E402
from benchmarks import forecast_backtest  # noqa: E402

REAL_SAMPLE = ROOT.parent / "shared" / "data" / "bank_transactions_sample.csv"
THRESHOLD = 2_000.0
EVERYDAY = {"groceries", "dining", "shopping", "travel", "fuel", "cash", "health"}


def canonical_bank(customers: int, months: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dt.date]:
    txns, labels = forecast_backtest.synthetic_transactions(customers, months, seed)
    return txns, labels.set_index("CustomerID"), pd.Timestamp(txns["ts"].max()).date()


def upto(frame: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    return frame[frame["ts"] < pd.Timestamp(day + dt.timedelta(days=1))].reset_index(drop=True)


def recurring_figures(frames: dict[str, pd.DataFrame], labels: pd.DataFrame, as_of: dt.date) -> None:
    scans = {c: scan_recurring(f, as_of, alert_days=400) for c, f in frames.items()}
    recent = pd.Timestamp(as_of - dt.timedelta(days=35))
    salaried = salary_right = subs = subs_found = renters = rent_found = 0
    for cid, frame in frames.items():
        text = frame["merchant"].fillna("").str.upper()
        salary = frame[(frame["txn_type"] == "CREDIT") & text.str.contains("SALARY", regex=False)]
        if labels.loc[cid, "persona"] != "student" and len(salary) >= 3 and salary["ts"].max() >= recent:
            salaried += 1
            payday = Counter(salary["ts"].dt.day).most_common(1)[0][0]
            income = scans[cid].regular_income
            salary_right += income is not None and income.merchant == merchant_key(salary["merchant"].iloc[-1]) \
                and abs((income.day_of_month or 0) - payday) <= 1
        for name, price in SUBSCRIPTIONS:
            charges = frame[text.str.contains(name, regex=False) & (frame["amount"].round(2) == price)]
            if len(charges) >= 3 and charges["ts"].max() >= recent:
                subs += 1
                subs_found += any(p.merchant == name and p.amount == price for p in scans[cid].payments)
        rent = frame[frame["category"] == "rent"]
        if len(rent) >= 3 and rent["ts"].max() >= recent:
            renters += 1
            rent_found += any(p.category == "rent" for p in scans[cid].payments)
    series = [p for s in scans.values() for p in s.payments]
    alerts = Counter(a.kind for s in scans.values() for a in s.alerts)
    print(f"salary day detected (±1 day)      {salary_right}/{salaried} salaried customers still paid "
          f"({salary_right / max(1, salaried):.1%})")
    print(f"subscriptions found at their price {subs_found}/{subs} ({subs_found / max(1, subs):.1%})")
    print(f"rent found                         {rent_found}/{renters} ({rent_found / max(1, renters):.1%})")
    print(f"recurring debits listed            {len(series)} ({len(series) / len(frames):.2f} a customer): "
          + ", ".join(f"{k} {v}" for k, v in Counter(p.category for p in series).most_common()))
    print(f"  of them everyday categories      {sum(p.category in EVERYDAY for p in series)}")
    print(f"false duplicate alerts (all year)  {alerts['duplicate_charge']} for {len(frames)} customers")
    print(f"false price rises (all year)       {alerts['price_rise']}")


def alert_rates(frames: dict[str, pd.DataFrame], as_of: dt.date) -> None:
    months = sorted({(d.year, d.month) for d in pd.date_range(as_of - dt.timedelta(days=170), as_of, freq="MS")})
    trends = paces = looked = 0
    for year, month in months:
        for cid, frame in frames.items():
            closed, mid = dt.date(year, month, 3), dt.date(year, month, 15)
            if mid > as_of:
                continue
            looked += 1
            before = upto(frame, closed)
            trends += not before.empty and monthly_trend(before, closed) is not None
            during = upto(frame, mid)
            if not during.empty:
                paces += budget_pace(during, mid, suggest_budget(during, cid, mid), scan_recurring(during, mid)) \
                    is not None
    print(f"spending trend on the 3rd          {trends / max(1, looked):.1%} of {looked} customer-months")
    print(f"budget pace alert on the 15th      {paces / max(1, looked):.1%} of customer-months")


def forecast_figures(frames: dict[str, pd.DataFrame], seed: int, months: int, every: int) -> None:
    """The forecast back-test of benchmarks/forecast_backtest.py on the same bank (per threshold: crossings,
    warnings, precision, recall, abstentions)."""
    forecast_backtest.report(f"forecast back-test, seed {seed}, {months} months, a cut-off every {every} days",
                             forecast_backtest.run(frames, every))


def message_volume(frames: dict[str, pd.DataFrame], as_of: dt.date, customers: int) -> None:
    """Trend and pace messages per customer-month under the channel's rule (bot.notify.checks), replayed daily."""
    days = [as_of - dt.timedelta(days=n) for n in range(119, -1, -1)]
    chosen = dict(list(frames.items())[:customers])
    for min_change, min_increase in ((0.20, 500.0), (0.30, 1_000.0), (0.50, 2_000.0)):
        sent = 0
        for cid, frame in chosen.items():
            keys: set[str] = set()
            last: dt.date | None = None
            for day in days:
                if last is not None and (day - last).days < 7:
                    continue
                past = upto(frame, day)
                if past.empty:
                    continue
                news = monthly_trend(past, day, min_change=min_change, min_increase=min_increase)
                if news is None or news.key in keys:
                    news = budget_pace(past, day, suggest_budget(past, cid, day), scan_recurring(past, day),
                                       min_change=min_change, min_increase=min_increase)
                if news is not None and news.key not in keys:
                    keys.add(news.key)
                    last = day
                    sent += 1
        months = len(chosen) * len(days) / 30.4375
        print(f"trend/pace messages at +{min_change:.0%} and +₹{min_increase:,.0f}: {sent / months:.2f} a "
              f"customer-month ({sent} over {len(days)} days for {len(chosen)} customers)")


def real_sample() -> None:
    if not REAL_SAMPLE.exists():
        print("real sample: not present")
        return
    txns = read_transactions([REAL_SAMPLE]).frame
    as_of = pd.Timestamp(txns["ts"].max()).date()
    several = txns["customer_id"].value_counts()
    several = several[several >= 2].index
    found = alerts = incomes = warned = 0
    for _, frame in txns[txns["customer_id"].isin(several)].groupby("customer_id"):
        frame = frame.sort_values("ts").reset_index(drop=True)
        frame["category"] = assign_categories(frame, None).to_numpy()
        scan = scan_recurring(frame, as_of)
        found, alerts, incomes = found + len(scan.payments), alerts + len(scan.alerts), incomes + len(scan.incomes)
        warned += forecast_balance(frame, as_of, forecast_backtest.balance_on_record(frame), as_of, THRESHOLD, scan).warn
    print(f"real sample: {len(several)} IDs with 2+ rows: {found} recurring payments, {incomes} incomes, "
          f"{alerts} alerts, {warned} forecast warnings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--messages", type=int, default=0, metavar="N",
                        help="also replay trend/pace messages for N customers (slow: about 7 s a customer)")
    parser.add_argument("--forecast-only", action="store_true", help="only the forecast back-test")
    parser.add_argument("--every", type=int, default=7, help="days between the back-test's cut-offs")
    args = parser.parse_args()
    txns, labels, as_of = canonical_bank(args.customers, args.months, args.seed)
    frames = {c: g.sort_values("ts", kind="stable").reset_index(drop=True) for c, g in txns.groupby("customer_id")}
    print(f"synthetic bank: {len(frames)} customers, {len(txns)} rows, as of {as_of}")
    if args.forecast_only:
        forecast_figures(frames, args.seed, args.months, args.every)
        return 0
    recurring_figures(frames, labels, as_of)
    alert_rates(frames, as_of)
    forecast_figures(frames, args.seed, args.months, args.every)
    if args.messages:
        message_volume(frames, as_of, args.messages)
    real_sample()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
