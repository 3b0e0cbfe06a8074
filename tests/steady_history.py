"""A hand-made bank of perfectly regular customers, where the detector's signals for one row can be worked out
by hand (tests/test_models_training.py, tests/test_api_trained.py).

Twelve customers, sixty days, no credits: each customer pays one merchant of their own, in their home city,
at the same minute every day (customer i at 10 + i % 9 o'clock), always the same amount of at most ₹1,000,
always in the one category of the bank ("groceries"). Customer C100 pays ₹1,000.00 at BIG BAZAAR in PUNE at
12:00 every day, except on day 30 (`CHOSEN`), when the bill is ₹1,100.00: the only row of the bank above
₹1,000. Every other row is its customer's usual row exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import pickle
from pathlib import Path

from tests.intake_history import HEADER, raw_line

START = dt.date(2016, 7, 1)
DAYS = 60
CHOSEN = "S-CHOSEN"
CHOSEN_CUSTOMER, CHOSEN_DAY = "C100", 30
USUAL, CHOSEN_AMOUNT = 1_000.0, 1_100.0
CITIES = ("PUNE", "MUMBAI", "DELHI", "CHENNAI", "KOLKATA", "JAIPUR")
MERCHANTS = ("BIG BAZAAR", "DMART", "RELIANCE FRESH", "MORE", "SPENCERS", "NATURES BASKET")


def customer_plan(index: int) -> tuple[str, str, str, float, dt.time, int]:
    """(customer, city, merchant, usual amount, time of day, pays every n-th day) of customer `index`."""
    customer = f"C{100 + index}"
    if index == 0:
        return customer, "PUNE", "BIG BAZAAR", USUAL, dt.time(12, 0), 1
    amount = 1_000.0 - 60.0 * index          # ₹940 .. ₹340: every usual at most ₹1,000
    return (customer, CITIES[index % len(CITIES)], MERCHANTS[index % len(MERCHANTS)], amount,
            dt.time(10 + index % 9, 5 * index % 60), 1 + index % 3)


def write_steady_history(path: Path, n_customers: int = 12) -> dict[str, float | int | str]:
    """Write the history CSV; returns the chosen row's facts (id, customer, amount, the customer's other debits
    and the largest of them)."""
    lines = [HEADER]
    tid = 1
    n_other = 0
    for index in range(n_customers):
        customer, city, merchant, amount, at, every = customer_plan(index)
        balance = 500_000.0 - 20_000.0 * index
        for day in range(0, DAYS, every):
            when = dt.datetime.combine(START + dt.timedelta(days=day), at)
            chosen = customer == CHOSEN_CUSTOMER and day == CHOSEN_DAY
            paid = CHOSEN_AMOUNT if chosen else amount
            balance -= paid
            lines.append(raw_line(CHOSEN if chosen else f"S{tid}", customer, city, when, paid, balance,
                                  "DEBIT", merchant, "groceries"))
            tid += 1
            n_other += customer == CHOSEN_CUSTOMER and not chosen
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"transaction_id": CHOSEN, "customer_id": CHOSEN_CUSTOMER, "amount": CHOSEN_AMOUNT,
            "n_other_debits": n_other, "largest_other": USUAL}


def stored_model(db) -> dict[str, float]:
    """What the hand score needs, read from the stored artifact with plain SQL: the weights, fraud rate and
    threshold from its metrics JSON; the intercept and `prior_strength` (documented attributes) from the
    pickled detector itself."""
    metrics, blob = db.execute("SELECT metrics, blob FROM model_artifacts WHERE name = 'anomaly'").fetchone()
    metrics = json.loads(metrics)
    detector = pickle.loads(bytes(blob))  # noqa: S301 - the test's own store
    return {"intercept": float(detector.intercept_), "prior_strength": float(detector.prior_strength),
            "beyond_largest": metrics["weights"]["beyond_largest"], "fraud_rate": metrics["fraud_rate_used"],
            "threshold": metrics["threshold"]}


def hand_score(facts: dict, model: dict[str, float]) -> float:
    """The chosen row's score worked out by hand.

    Every signal of the chosen row is 0 by construction but one:
    - amount, times_usual: 59 earlier payments to BIG BAZAAR of exactly ₹1,000 (spread 0, floored at 0.1) make
      them a regular payment, and ₹1,100 lies log(1,101/1,001) / 0.1 = 0.95 spreads from it (< 2): explained;
    - tiny: every usual in the bank is at most ₹1,000, so the customer's (shrunk) usual is too: ₹1,100 lies above;
    - new_place, new_merchant: PUNE and BIG BAZAAR were used every day for the 30 days before;
    - rare_category: the bank has one category, so its share is 1 for the customer and the cohort alike;
    - odd_hour: every row of the customer is at 12:00 (share >= n / (n + k), far above the uniform 1/8);
    - burst, burst_high, burst_low: one debit a day, no neighbour within the hour;
    - beyond_largest = log(₹1,100 / ₹1,000) x n / (n + k), n = 59 other debits, k = prior_strength.
    The score is the logistic of intercept + weight x signal, read at the bank's fraud rate (+ its logit)."""
    n = facts["n_other_debits"]
    beyond = math.log(facts["amount"] / facts["largest_other"]) * n / (n + model["prior_strength"])
    rate = model["fraud_rate"]
    log_odds = model["intercept"] + model["beyond_largest"] * beyond + math.log(rate / (1 - rate))
    return 1.0 / (1.0 + math.exp(-log_odds))
