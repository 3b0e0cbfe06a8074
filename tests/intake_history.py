"""A small hand-made bank in the raw CSV format, whose unusual rows are obvious by construction.

Twelve customers, ninety days: one or two grocery or dining debits a day of ₹250–₹650 between 10:00 and 20:00
in the customer's home city, and a salary credit on the 1st. Nothing in it is unusual; tests append rows
that are (a ₹95,000 debit at 3:12 am in another country) or are not (another ₹400 grocery bill).
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

HEADER = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
          "TransactionTime,TransactionAmount (INR),TransactionType,Merchant,Category,Channel")
CITIES = ("PUNE", "MUMBAI", "DELHI", "CHENNAI", "KOLKATA", "JAIPUR")
START = dt.date(2016, 7, 1)
DAYS = 92                       # 1 Jul – 30 Sep 2016
LAST_DAY = START + dt.timedelta(days=DAYS - 1)


def customer_ids(n: int = 12) -> list[str]:
    return [f"C{100 + i}" for i in range(n)]


def raw_line(tid: str, customer: str, city: str, when: dt.datetime, amount: float, balance: float | None,
             txn_type: str = "DEBIT", merchant: str = "BIG BAZAAR", category: str = "groceries",
             channel: str = "POS") -> str:
    """One row in the contract's raw format (d/m/yy dates, HHMMSS without leading zeros)."""
    date = f"{when.day}/{when.month}/{when.year % 100:02d}"
    time = str(int(when.strftime("%H%M%S")))
    bal = "" if balance is None else f"{balance:.2f}"
    return f"{tid},{customer},5/6/88,F,{city},{bal},{date},{time},{amount:.2f},{txn_type},{merchant},{category},{channel}"


def write_history(path: Path, n_customers: int = 12, seed: int = 3) -> dict[str, dict[str, float]]:
    """Write the history CSV; returns per customer its home city and the balance after its last row."""
    rng = random.Random(seed)
    lines = [HEADER]
    facts: dict[str, dict[str, float]] = {}
    tid = 1
    for index, customer in enumerate(customer_ids(n_customers)):
        city = CITIES[index % len(CITIES)]
        balance = 40_000.0
        for day in range(DAYS):
            date = START + dt.timedelta(days=day)
            if date.day == 1:
                balance += 60_000.0
                lines.append(raw_line(f"H{tid}", customer, city, dt.datetime.combine(date, dt.time(9, 5)),
                                      60_000.0, balance, "CREDIT", "SALARY ACME LTD", "income", "NEFT"))
                tid += 1
            for _ in range(rng.choice((1, 1, 2))):
                amount = round(rng.uniform(250, 650), 2)
                balance -= amount
                when = dt.datetime.combine(date, dt.time(rng.randint(10, 19), rng.randint(0, 59)))
                merchant, category = rng.choice((("BIG BAZAAR", "groceries"), ("DMART", "groceries"),
                                                 ("CAFE COFFEE DAY", "dining")))
                lines.append(raw_line(f"H{tid}", customer, city, when, amount, balance, "DEBIT", merchant, category))
                tid += 1
        facts[customer] = {"city": city, "balance": round(balance, 2)}
    path.write_text("\n".join(lines) + "\n")
    return {c: {"city": f["city"], "balance": f["balance"]} for c, f in facts.items()}
