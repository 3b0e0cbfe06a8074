"""Hand-made customer histories for assistant tests: rows written as a raw-format CSV and ingested, so every
figure the assistant says goes through the real store and facade, and the test knows the answer by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config
from bot.container import Services, build_services
from bot.services.ingestion import ingest_files

HEADER = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
          "TransactionTime,TransactionAmount (INR),TransactionType,Merchant,Category")


@dataclass(frozen=True)
class Row:
    customer_id: str
    day: dt.date
    amount: float
    kind: str                  # "DEBIT" or "CREDIT"
    merchant: str
    category: str
    balance: float | None = None
    time: str = "120000"       # HHMMSS as the raw file writes it
    dob: str = "1/1/50"


def monthly(customer_id: str, days: Iterable[dt.date], amount: float, kind: str, merchant: str,
            category: str) -> list[Row]:
    return [Row(customer_id, d, amount, kind, merchant, category) for d in days]


def month_days(day: int, first: tuple[int, int], last: tuple[int, int]) -> list[dt.date]:
    """The `day` of every month from `first` to `last` (year, month), inclusive."""
    out, (year, month) = [], first
    while (year, month) <= last:
        out.append(dt.date(year, month, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def write_csv(path: Path, rows: Iterable[Row]) -> list[tuple[str, Row]]:
    """The rows in the contract's raw format (day-first dates), with their TransactionIDs."""
    lines, named = [HEADER], []
    for n, r in enumerate(sorted(rows, key=lambda r: (r.day, r.time, r.customer_id)), start=1):
        tid = f"A{n}"
        balance = "" if r.balance is None else f"{r.balance:.2f}"
        lines.append(f"{tid},{r.customer_id},{r.dob},F,PUNE,{balance},{r.day.day}/{r.day.month}/{r.day.year % 100:02d},"
                     f"{int(r.time)},{r.amount:.2f},{r.kind},{r.merchant},{r.category}")
        named.append((tid, r))
    path.write_text("\n".join(lines) + "\n")
    return named


def services_with(tmp_path: Path, rows: Iterable[Row], config: Config | None = None) -> tuple[Services, list]:
    """Services over a fresh store holding exactly these rows (not trained)."""
    csv_path = tmp_path / "history.csv"
    named = write_csv(csv_path, rows)
    services = build_services((config or Config()).with_db(tmp_path / "history.db"))
    assert ingest_files(services.store, [csv_path], rejects_path=tmp_path / "rejects.csv").inserted == len(named)
    return services, named
