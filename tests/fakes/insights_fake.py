"""A hand-written stand-in for the insights facade: fixed analytics.results for two customers, for assistant tests."""

from __future__ import annotations

import datetime as dt

from analytics.results import (
    AnomalyFlag,
    BalanceInfo,
    BudgetLine,
    BudgetPlan,
    CategoryAmount,
    CategoryChange,
    CustomerProfile,
    MonthlyReport,
    PersonalDetails,
    Recommendation,
    RecurringAlert,
    RecurringPayment,
    SegmentInfo,
    SpendingSummary,
    TransactionBrief,
)
from bot.services.errors import CustomerNotFound, InvalidMonth

AS_OF = dt.date(2016, 10, 21)
OWN = "C1001"
OTHER = "C2002"

# Per customer, per month: (total_out, total_in, {category: (amount, count)}). C2002's figures are distinct
# (7s and 9s) so a test can prove none of them leaked.
SPEND = {
    OWN: {
        "2016-08": (30000.0, 50000.0, {"dining": (6000.0, 6), "groceries": (9000.0, 8), "fuel": (3000.0, 3),
                                       "rent": (12000.0, 1)}),
        "2016-09": (36000.0, 50000.0, {"dining": (9000.0, 9), "groceries": (8000.0, 7), "fuel": (4000.0, 4),
                                       "rent": (12000.0, 1), "entertainment": (3000.0, 2)}),
        "2016-10": (21500.0, 50000.0, {"dining": (4500.0, 5), "groceries": (5000.0, 4), "rent": (12000.0, 1)}),
    },
    OTHER: {
        "2016-08": (97979.0, 99999.0, {"travel": (97979.0, 7)}),
        "2016-09": (77777.0, 99999.0, {"travel": (77777.0, 7)}),
        "2016-10": (79797.0, 99999.0, {"travel": (79797.0, 7)}),
    },
}
BALANCE = {OWN: 12345.67, OTHER: 987654.32}


def _recurring(label: str, merchant: str, category: str, amount: float, day: int, last: dt.date, nxt: dt.date,
               n: int, kind: str = "DEBIT") -> RecurringPayment:
    return RecurringPayment(merchant, label, category, kind, "monthly", amount, False, amount, day,
                            dt.date(2016, 10 - n + 1, day), last, nxt, n)


# OWN: two subscriptions and a monthly tutor paid by UPI (a person's name: the LLM must never see it), and a
# salary. OTHER's figures are 7s and 9s again.
RECURRING = {
    OWN: (_recurring("UPI-TO RAJESH KUMAR", "RAJESH KUMAR", "education", 3000.0, 5, dt.date(2016, 10, 5),
                     dt.date(2016, 11, 5), 6),
          _recurring("NETFLIX.COM", "NETFLIX", "entertainment", 649.0, 3, dt.date(2016, 10, 3), dt.date(2016, 11, 3), 6),
          _recurring("SPOTIFY", "SPOTIFY", "entertainment", 119.0, 28, dt.date(2016, 9, 28), dt.date(2016, 10, 28), 5)),
    OTHER: (_recurring("CLUB 7777", "CLUB 7777", "entertainment", 7777.0, 7, dt.date(2016, 10, 7),
                       dt.date(2016, 11, 7), 4),),
}
INCOME = {
    OWN: _recurring("NEFT/SALARY ACME LTD", "SALARY ACME", "income", 50000.0, 1, dt.date(2016, 10, 1),
                    dt.date(2016, 11, 1), 3, kind="CREDIT"),
    OTHER: _recurring("SALARY 9999", "SALARY 9999", "income", 99999.0, 9, dt.date(2016, 10, 9),
                      dt.date(2016, 11, 9), 3, kind="CREDIT"),
}
PRICE_RISE = RecurringAlert("price_rise", "price_rise:NETFLIX:2016-10-03", "NETFLIX", "NETFLIX.COM", "entertainment",
                            649.0, 499.0, dt.date(2016, 10, 3), ("T30",),
                            "NETFLIX.COM went from ₹499.00 to ₹649.00 on 3 Oct 2016.")


class FakeInsights:
    """Implements the facade methods the assistant reads; records calls so tests can see who was asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def _check(self, method: str, cid: str) -> None:
        self.calls.append((method, cid))
        if cid not in SPEND:
            raise CustomerNotFound(cid)

    def as_of(self) -> dt.date:
        return AS_OF

    def customer_exists(self, cid: str) -> bool:
        return cid in SPEND

    def months_available(self, cid: str) -> tuple[str, ...]:
        self._check("months_available", cid)
        return tuple(sorted(SPEND[cid]))

    def profile(self, cid: str) -> CustomerProfile:
        self._check("profile", cid)
        return CustomerProfile(
            customer_id=cid, age=34, age_band="26-35", gender="F", location="JAMSHEDPUR",
            first_seen=dt.date(2016, 8, 1), last_seen=dt.date(2016, 10, 20), n_transactions=57, n_debits=54,
            n_credits=3, total_spend=87500.0, total_income=150000.0, avg_debit=1620.37, monthly_spend=31250.0,
            frequency_per_month=20.4, recency_days=1, rfm_recency=5, rfm_frequency=4, rfm_monetary=3)

    def balance(self, cid: str, low_balance_threshold: float | None = None) -> BalanceInfo:
        self._check("balance", cid)
        return BalanceInfo(cid, BALANCE[cid], dt.datetime(2016, 10, 20, 14, 32), -4321.5, "falling",
                           2000.0 if low_balance_threshold is None else low_balance_threshold, False)

    def spending(self, cid: str, month: str | None = None) -> SpendingSummary:
        self._check("spending", cid)
        month = month or "2016-09"
        if month not in SPEND[cid]:
            raise InvalidMonth(f"no data for {month}")
        out, inc, cats = SPEND[cid][month]
        prev = {"2016-09": "2016-08", "2016-10": "2016-09"}.get(month)
        by_cat = tuple(sorted((CategoryAmount(c, a, a / out, n) for c, (a, n) in cats.items()),
                              key=lambda c: -c.amount))
        changes: tuple[CategoryChange, ...] = ()
        if prev:
            before = SPEND[cid][prev][2]
            names = sorted(set(before) | set(cats))
            changes = tuple(sorted(
                (CategoryChange(c, before.get(c, (0.0, 0))[0], cats.get(c, (0.0, 0))[0],
                                ((cats.get(c, (0.0, 0))[0] - before[c][0]) / before[c][0]) if c in before else None)
                 for c in names), key=lambda ch: -abs(ch.current - ch.previous)))
        start = dt.date(int(month[:4]), int(month[5:]), 1)
        end = AS_OF if month == "2016-10" else dt.date(2016, int(month[5:]), 30 if month[5:] == "09" else 31)
        return SpendingSummary(cid, month, start, end, month == "2016-10", out, inc, sum(n for _, n in cats.values()),
                               by_cat, prev, SPEND[cid][prev][0] if prev else None, changes)

    def this_month(self, cid: str) -> SpendingSummary:
        return self.spending(cid, "2016-10")

    def budget(self, cid: str) -> BudgetPlan:
        self._check("budget", cid)
        lines = (BudgetLine("dining", 7500.0, 9000.0, 6400.0, 1100.0),
                 BudgetLine("groceries", 8500.0, 8000.0, 8500.0, 0.0),
                 BudgetLine("entertainment", 1500.0, 3000.0, 1200.0, 300.0))
        return BudgetPlan(cid, 2, lines, 16100.0, 1400.0)

    def anomalies(self, cid: str, limit: int = 5, include_answered: bool = False) -> tuple[AnomalyFlag, ...]:
        self._check("anomalies", cid)
        return (AnomalyFlag("T9", dt.datetime(2016, 9, 14, 2, 5), 48000.0, "LUXE WATCHES MUMBAI", "MUMBAI", 0.93,
                            ("₹48,000.00 is 12× your usual amount",)),)

    def anomaly_count(self, cid: str, include_answered: bool = False) -> int:
        return len(self.anomalies(cid, limit=1000, include_answered=include_answered))

    def recurring_payments(self, cid: str) -> tuple[RecurringPayment, ...]:
        self._check("recurring_payments", cid)
        return RECURRING[cid]

    def regular_income(self, cid: str) -> RecurringPayment | None:
        self._check("regular_income", cid)
        return INCOME[cid]

    def recurring_alerts(self, cid: str) -> tuple[RecurringAlert, ...]:
        self._check("recurring_alerts", cid)
        return (PRICE_RISE,) if cid == OWN else ()

    def segment(self, cid: str) -> SegmentInfo | None:
        self._check("segment", cid)
        return SegmentInfo(2, "Young professional", "Spends steadily on dining and travel.")

    def churn(self, cid: str) -> None:
        return None

    def recommendations(self, cid: str, kind: str | None = None, limit: int = 3) -> tuple[Recommendation, ...]:
        self._check("recommendations", cid)
        recs = (Recommendation("cc_dine", "DineMore Credit Card", "credit_card", "5% back on restaurants",
                               "you spend most on dining", 0.8),
                Recommendation("fd_1y", "1-year FD", "fd", "a safe home for spare cash", "your balance is steady", 0.6))
        return tuple(r for r in recs if kind is None or r.kind == kind)[:limit]

    def report(self, cid: str, month: str | None = None, chart_path: object = None) -> MonthlyReport:
        s = self.spending(cid, month)
        return MonthlyReport(cid, s.month, s.total_in, s.total_out, s.total_in - s.total_out, s.by_category[:3],
                             (), 15000.0, BALANCE[cid], BALANCE[cid] - 15000.0, "Keep dining under ₹6,400.00.")

    def transactions(self, cid: str, month: str | None = None, limit: int | None = None) -> tuple[TransactionBrief, ...]:
        self._check("transactions", cid)
        rows = (TransactionBrief("T20", dt.datetime(2016, 10, 3, 10, 0), 12000.0, "DEBIT", "rent", "LANDLORD", "JAMSHEDPUR"),
                TransactionBrief("T21", dt.datetime(2016, 10, 9, 20, 0), 2500.0, "DEBIT", "dining", "SWIGGY", "JAMSHEDPUR"),
                TransactionBrief("T22", dt.datetime(2016, 10, 1, 9, 0), 50000.0, "CREDIT", "income", "SALARY", None))
        return rows[:limit] if limit else rows

    def personal_details(self, cid: str) -> PersonalDetails:
        calls = len(self.calls)
        merchants = sorted({t.merchant for t in self.transactions(cid) if t.merchant}
                           | {a.merchant for a in self.anomalies(cid) if a.merchant}
                           | {p.label for p in self.recurring_payments(cid)})
        del self.calls[calls:]                  # one read, as the real facade does it
        self._check("personal_details", cid)
        return PersonalDetails(cid, ("JAMSHEDPUR", "MUMBAI"), (dt.date(1982, 3, 14),), tuple(merchants))
