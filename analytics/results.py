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
    """The balance after the latest transaction (analytics.balances: reported, else derived) and its trend."""

    customer_id: str
    amount: float | None               # None when no transaction carried a balance
    as_of: dt.datetime | None          # the latest transaction's time (the balance follows it)
    change_30d: float | None           # amount minus the balance 30 days before as_of (analytics.balances)
    trend: str                         # "rising", "falling", "flat" or "unknown"
    low_balance_threshold: float
    is_low: bool
    derived: bool = False              # no transaction since the last reported balance carried one: the
                                       # amount is that balance moved by the later transactions (estimated)


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
class PersonalDetails:
    """What identifies the customer in their own rows, so it can be kept from an external model."""

    customer_id: str
    locations: tuple[str, ...]         # every distinct location on their rows (an ID is not one person)
    dobs: tuple[dt.date, ...]          # every distinct date of birth on their rows
    merchants: tuple[str, ...]         # every distinct merchant text (payee names of transfers hide here)
    transfer_merchants: tuple[str, ...] = ()   # those of transfers, where the whole text may be a person's name


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
    description: str                   # the segment's typical figures (the group's, not the customer's)
    fits_customer: bool | None = None  # the customer's own figures pass the persona's rule (None: unknown);
                                       # when not True, channels say the name is the group's


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
    balance_estimated: bool = False    # the start or end balance is derived (analytics.balances), not reported


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


# ---- proactive analyses (analytics.recurring, analytics.trends, analytics.forecast) ----------------------


@dataclass(frozen=True)
class RecurringPayment:
    """A payment (or a regular credit, txn_type "CREDIT") that repeats: same payee, regular interval."""

    merchant: str                      # normalised payee key ("NETFLIX"): stable across statement spellings
    label: str                         # how the statement usually spells it ("NETFLIX.COM")
    category: str
    txn_type: str                      # "DEBIT" (subscription, bill, rent, EMI) or "CREDIT" (salary, pension)
    interval: str                      # "weekly", "monthly", "quarterly" or "yearly"
    amount: float                      # the current amount (latest price level; a varying bill: its recent median)
    amount_varies: bool                # a bill whose amount changes each time (electricity), not a fixed price
    monthly_equivalent: float          # amount spread over a month (weekly x 52/12, quarterly / 3, ...)
    day_of_month: int | None           # the usual day it is charged (None for weekly)
    first_date: dt.date
    last_date: dt.date
    next_expected: dt.date             # may lie up to a few days before as_of when a charge is late
    n_charges: int


@dataclass(frozen=True)
class RecurringAlert:
    """Something about a payment worth telling the customer: a price rise or a duplicate charge."""

    kind: str                          # "price_rise" or "duplicate_charge"
    key: str                           # stable identity for a dedupe key ("price_rise:NETFLIX:2016-10-03")
    merchant: str
    label: str
    category: str
    amount: float                      # the new price, or the amount charged twice
    previous_amount: float | None      # the old price (None for a duplicate)
    date: dt.date                      # first charge at the new price, or the day of the second charge
    transaction_ids: tuple[str, ...]   # the charge(s) concerned (duplicate: both)
    message: str                       # one plain sentence, money via format_inr


@dataclass(frozen=True)
class SpendingTrend:
    """The category that rose most in the last complete month against its usual month."""

    key: str                           # "trend:2016-09:dining": one per closed month and category
    month: str                         # the closed month, "YYYY-MM"
    category: str
    amount: float                      # spent in `month`
    usual: float                       # median month of `usual_months` (the one month itself when only one)
    usual_months: tuple[str, ...]      # the complete months before `month` the usual is taken from
    change: float                      # (amount - usual) / usual, e.g. 0.30
    increase: float                    # amount - usual, rupees
    message: str


@dataclass(frozen=True)
class BudgetPace:
    """A category running ahead of its budget pace in the month in progress."""

    key: str                           # "pace:2016-10:dining": one per month and category
    month: str                         # the month in progress, "YYYY-MM"
    category: str
    spent: float                       # spent in the category from the 1st to as_of
    budget: float                      # the suggested monthly budget (analytics.spending.suggest_budget)
    expected_by_now: float             # what the budget allows by as_of (regular charges as charged, the rest pro rata)
    ahead: float                       # spent - expected_by_now, rupees
    as_of: dt.date
    message: str


@dataclass(frozen=True)
class ScheduledPayment:
    """One expected charge of a recurring payment inside a forecast."""

    merchant: str                      # payee key, as in RecurringPayment
    label: str
    category: str
    amount: float
    date: dt.date


@dataclass(frozen=True)
class BalanceForecast:
    """The balance projected day by day until the next income, and whether it robustly crosses the threshold.

    `status`: "will_cross" (warn), "stays_above", "below_now" (the after-the-fact warning's case), or one of
    the abstentions that never warn (`analytics.forecast.ABSTAIN`, the message says why): "no_balance",
    "not_enough_history" (under eight weeks), "no_income" (no regular income), "income_missed" (the income
    is overdue), "uncertain" (the usual path crosses but not robustly).
    """

    status: str
    balance: float | None              # starting balance (the latest on record)
    balance_date: dt.date | None       # when that balance was observed
    threshold: float
    daily_spend: float                 # usual everyday spending a day (recurring payments counted separately)
    horizon_end: dt.date | None        # last day projected (the day before the next income, else 30 days)
    crossing_date: dt.date | None      # first day the projected balance is below the threshold
    lowest_balance: float | None       # lowest projected balance within the horizon
    income: RecurringPayment | None    # the regular credit the forecast expects (None: none on record)
    income_date: dt.date | None
    earliest_income_date: dt.date | None   # the soonest the income has come after its last credit
    days_before_income: int | None     # income_date - crossing_date
    scheduled: tuple[ScheduledPayment, ...]   # recurring debits expected within the horizon
    shortfall: float                   # how much more would keep the balance at the threshold (0 = none)
    paths_crossing: float | None       # share of resampled spending paths crossing before the earliest pay day
    cycles_crossing: float | None      # share of past pay cycles whose outflow from here would have crossed
    cycles: int                        # past pay cycles compared
    tip: str | None                    # one concrete tip when it will cross (a budget cut, overdraft, or the gap)
    message: str

    @property
    def warn(self) -> bool:
        return self.status == "will_cross"

    @property
    def abstained(self) -> bool:
        """No forecast was risked: too little history, no income, income overdue, or not robust."""
        return self.status in ("no_balance", "not_enough_history", "no_income", "income_missed", "uncertain")
