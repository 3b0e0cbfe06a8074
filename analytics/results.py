"""Frozen result types that cross module boundaries: what the facade returns about one customer.

Amounts are rupees (float, positive); directions are explicit in names (`total_in`, `total_out`).
Months are `YYYY-MM` strings. Every channel formats these with `analytics.money`, never recomputes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CustomerProfile:
    """Who the customer is and how they bank (from their own transactions up to `as_of`)."""

    customer_id: str
    age: int | None
    age_band: str                      # "18-25", "26-35", "36-50", "51-65", "65+", "unknown"
    gender: str | None                 # "M", "F" or None (unknown)
    location: str | None               # home location: from the latest transaction (an ID is not one person)
    first_seen: dt.date
    last_seen: dt.date
    n_transactions: int
    n_debits: int
    n_credits: int
    total_spend: float                 # sum of debits
    total_income: float                # sum of credits
    avg_debit: float
    monthly_spend: float               # total_spend / active months span (>= 1)
    frequency_per_month: float         # transactions per month of history
    recency_days: int                  # as_of - last_seen
    rfm_recency: int                   # 1..5 quintile scores (5 = best); computed across all customers at train
    rfm_frequency: int
    rfm_monetary: int


@dataclass(frozen=True)
class BalanceInfo:
    """The balance carried by the latest transaction that has one, and its trend."""

    customer_id: str
    amount: float | None               # None when no transaction carried a balance
    as_of: dt.datetime | None          # when that balance was observed
    change_30d: float | None           # amount minus the balance observed about 30 days earlier
    trend: str                         # "rising", "falling", "flat" or "unknown"
    low_balance_threshold: float
    is_low: bool


@dataclass(frozen=True)
class CategoryAmount:
    category: str
    amount: float
    share: float                       # of the period's total debits, 0..1
    count: int


@dataclass(frozen=True)
class CategoryChange:
    """Month-over-month change in one category ("30% more on dining")."""

    category: str
    previous: float
    current: float
    change: float | None               # (current - previous) / previous; None when previous == 0


@dataclass(frozen=True)
class TransactionBrief:
    transaction_id: str
    ts: dt.datetime
    amount: float
    txn_type: str                      # "DEBIT" or "CREDIT"
    category: str
    merchant: str | None
    location: str | None


@dataclass(frozen=True)
class SpendingSummary:
    customer_id: str
    month: str                         # "YYYY-MM"
    start: dt.date
    end: dt.date                       # last day counted (as_of for the current month)
    is_partial: bool                   # the month is not complete at as_of
    total_out: float
    total_in: float
    n_debits: int
    by_category: tuple[CategoryAmount, ...]          # debits only, largest first
    previous_month: str | None
    previous_total_out: float | None
    changes: tuple[CategoryChange, ...] = ()          # vs previous month, largest absolute change first


@dataclass(frozen=True)
class BudgetLine:
    category: str
    average_monthly: float             # trailing average of complete months
    last_month: float
    suggested: float                   # suggested monthly budget
    saving: float                      # average_monthly - suggested (>= 0)


@dataclass(frozen=True)
class BudgetPlan:
    customer_id: str
    months_used: int                   # complete months the averages are based on (0 = not enough history)
    lines: tuple[BudgetLine, ...]
    total_suggested: float
    total_saving: float


@dataclass(frozen=True)
class AnomalyFlag:
    transaction_id: str
    ts: dt.datetime
    amount: float
    merchant: str | None
    location: str | None
    score: float                       # 0..1
    reasons: tuple[str, ...]           # plain sentences, e.g. "₹50,000.00 is 12× your usual amount"
    status: str = "open"               # "open", "confirmed" (customer said Yes) or "disputed" (No)


@dataclass(frozen=True)
class SegmentInfo:
    segment: int
    persona: str                       # "High-value saver", ...
    description: str


@dataclass(frozen=True)
class ChurnRisk:
    risk: float                        # 0..1 calibrated probability of no transaction in the next 30 days
    level: str                         # "low", "medium", "high" or "lapsed", as `train` stored it
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    product_id: str
    name: str
    kind: str                          # "savings", "fd", "sip", "credit_card", "personal_loan", "overdraft"
    pitch: str
    reason: str                        # why this customer, one line
    score: float


@dataclass(frozen=True)
class MonthlyReport:
    customer_id: str
    month: str
    total_in: float
    total_out: float
    net_savings: float                 # total_in - total_out
    top_categories: tuple[CategoryAmount, ...]
    biggest: tuple[TransactionBrief, ...]
    balance_start: float | None
    balance_end: float | None
    balance_change: float | None
    suggestion: str                    # a goal for next month
    chart_path: str | None = None


@dataclass(frozen=True)
class CustomerInsights:
    """Everything the assistant knows about one customer, as of one date."""

    customer_id: str
    as_of: dt.date
    profile: CustomerProfile
    balance: BalanceInfo
    this_month: SpendingSummary
    last_month: SpendingSummary
    budget: BudgetPlan
    anomalies: tuple[AnomalyFlag, ...]
    segment: SegmentInfo | None        # None until `finassist train` has run
    churn: ChurnRisk | None
    recommendations: tuple[Recommendation, ...]
    notes: tuple[str, ...] = field(default=())   # honest caveats ("only one transaction on record")
