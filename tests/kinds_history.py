"""Hand-made statements for the trend, forecast and recurring-payment messages, whose answers are worked by hand.

Each customer shows one thing and nothing else (rows without payee text can never be recurring):
- C-TREND: from 1 Aug 2016, dining ₹770 ten times in August (₹7,700) and thirteen times in September (₹10,010:
  30% more, the seed's own example), groceries ₹775 on the 2nd, 9th, 16th and 23rd (₹3,100 a month); in October
  dining ₹770 on the 3rd, 8th and 10th, groceries ₹1,000 on the 2nd and 9th.
- C-FORECAST: from 1 Jul 2016, ₹1,400 of everyday spending a day (ZOMATO, DMART, SWIGGY in turn), salary
  ₹50,000 on the 30th, rent ₹15,000 on the 12th; only the last row (10 Oct) carries a balance, ₹20,000.
- C-BILLS: from 1 Jul 2016, NETFLIX.COM ₹499 on the 5th until September and ₹649 on 5 Oct, CULT.FIT ₹1,500 on
  the 2nd and a second time on 2 Oct, groceries ₹500 (no payee text) on the 10th, 20th and 28th.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.services.ingestion import ingest_files
from bot.storage.database import Store
from tests.intake_history import HEADER, raw_line

TREND, FORECAST, BILLS = "C-TREND", "C-FORECAST", "C-BILLS"
END = dt.date(2016, 10, 10)


@dataclass(frozen=True)
class Row:
    when: dt.datetime
    amount: float
    category: str
    merchant: str = ""
    kind: str = "DEBIT"
    channel: str = "UPI"
    balance: float | None = None


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0))


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def trend_rows() -> list[Row]:
    rows = [Row(_at(dt.date(2016, 8, d), 20), 770.0, "dining") for d in range(1, 29, 3)]          # 10 in August
    rows += [Row(_at(dt.date(2016, 9, d), 20), 770.0, "dining") for d in range(1, 26, 2)]         # 13 in September
    rows += [Row(_at(dt.date(2016, m, d), 11), 775.0, "groceries") for m in (8, 9) for d in (2, 9, 16, 23)]
    rows += [Row(_at(dt.date(2016, 10, d), 20), 770.0, "dining") for d in (3, 8, 10)]
    rows += [Row(_at(dt.date(2016, 10, d), 11), 1_000.0, "groceries") for d in (2, 9)]
    return rows


def forecast_rows(*, salary: bool = True) -> list[Row]:
    shops = (("ZOMATO", "dining"), ("DMART", "groceries"), ("SWIGGY", "dining"))
    rows = []
    for n, day in enumerate(_days(dt.date(2016, 7, 1), END)):
        merchant, category = shops[n % 3]
        rows.append(Row(_at(day, 20), 1_400.0, category, merchant))
        if day.day == 30 and salary:
            rows.append(Row(_at(day, 9), 50_000.0, "income", "NEFT/SALARY ACME LTD", "CREDIT", "NEFT"))
        if day.day == 12:
            rows.append(Row(_at(day, 8), 15_000.0, "rent", "NEFT/HOUSE RENT", channel="NEFT"))
    last = max(rows, key=lambda r: r.when)
    return [Row(r.when, r.amount, r.category, r.merchant, r.kind, r.channel, 20_000.0) if r is last else r
            for r in rows]


def bills_rows() -> list[Row]:
    rows = [Row(_at(dt.date(2016, m, 5), 6), 649.0 if m == 10 else 499.0, "entertainment", "NETFLIX.COM",
                channel="ONLINE") for m in (7, 8, 9, 10)]
    rows += [Row(_at(dt.date(2016, m, 2), 9), 1_500.0, "health", "CULT.FIT", channel="ONLINE") for m in (7, 8, 9, 10)]
    rows.append(Row(_at(dt.date(2016, 10, 2), 18), 1_500.0, "health", "CULT.FIT", channel="ONLINE"))
    rows += [Row(_at(dt.date(2016, m, d), 11), 500.0, "groceries") for m in (7, 8, 9) for d in (10, 20, 28)]
    rows.append(Row(_at(dt.date(2016, 10, 10), 11), 500.0, "groceries"))
    return rows


STATEMENTS = {TREND: trend_rows, FORECAST: forecast_rows, BILLS: bills_rows}


def ingest(store: Store, folder: Path, customer_id: str, rows: list[Row], after: dt.date | None = None,
           until: dt.date = END) -> int:
    """Ingest, through the real CSV ingest, the customer's rows dated after `after` up to `until` (a day's or a
    month's file). A row's transaction id is its customer, time and amount, the same in every staged file."""
    lines = [HEADER]
    for row in sorted(rows, key=lambda r: (r.when, r.amount)):
        if (after is None or row.when.date() > after) and row.when.date() <= until:
            tid = f"{customer_id}-{row.when:%Y%m%d%H%M}-{row.amount:.0f}"
            lines.append(raw_line(tid, customer_id, "PUNE", row.when, row.amount, row.balance,
                                  row.kind, row.merchant, row.category, row.channel))
    path = folder / f"{customer_id}-{after}-{until}.csv"
    path.write_text("\n".join(lines) + "\n")
    return ingest_files(store, [path], rejects_path=folder / "rejects.csv").inserted
