"""Answer templates: one function per intent, filled only with facade figures and formatted the Indian way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from analytics import periods
from analytics.money import format_date, format_inr, format_percent
from analytics.results import BalanceInfo, RecurringPayment, SpendingSummary, TransactionBrief
from analytics.schema import CREDIT, DEBIT, UNCATEGORIZED
from analytics.spending import (
    DISCRETIONARY_CATEGORIES,
    ESSENTIAL_CATEGORIES,
    Affordability,
    affordability,
    describe_change,
)


class Facade(Protocol):
    """The slice of bot.services.insights.InsightsService the templates read."""

    def as_of(self) -> dt.date: ...
    def profile(self, customer_id: str) -> Any: ...
    def balance(self, customer_id: str, low_balance_threshold: float | None = None) -> Any: ...
    def spending(self, customer_id: str, month: str | None = None) -> Any: ...
    def this_month(self, customer_id: str) -> Any: ...
    def budget(self, customer_id: str) -> Any: ...
    def anomalies(self, customer_id: str, limit: int = 5, include_answered: bool = False) -> Any: ...
    def anomaly_count(self, customer_id: str, include_answered: bool = False) -> int: ...
    def segment(self, customer_id: str) -> Any: ...
    def recommendations(self, customer_id: str, kind: str | None = None, limit: int = 3) -> Any: ...
    def report(self, customer_id: str, month: str | None = None, chart_path: Any = None) -> Any: ...
    def transactions(self, customer_id: str, month: str | None = None, limit: int | None = None) -> Any: ...
    def months_available(self, customer_id: str) -> tuple[str, ...]: ...
    def recurring_payments(self, customer_id: str) -> Any: ...
    def regular_income(self, customer_id: str) -> Any: ...
    def recurring_alerts(self, customer_id: str) -> Any: ...


@dataclass(frozen=True)
class Request:
    """An understood question: the intent and its resolved details."""

    intent: str
    months: tuple[str, ...] = ()            # "YYYY-MM", resolved; () = the facade's default month
    categories: tuple[str, ...] = ()
    amount: float | None = None
    kind: str | None = None
    count: int | None = None                # how many items were asked for ("my last 10 transactions")

    @property
    def month(self) -> str | None:
        return self.months[0] if self.months else None


@dataclass(frozen=True)
class Answer:
    text: str
    suggestions: tuple[str, ...] = ()
    month: str | None = None                # the month the answer was about (for "the month before?")
    needs: str | None = None                # a detail the assistant asked for ("amount")
    action: str | None = None               # something the channel must do beyond replying ("handoff")


KIND_NAMES = {"credit_card": "credit card", "fd": "fixed deposit", "sip": "SIP", "personal_loan": "personal loan",
              "overdraft": "overdraft", "savings": "savings account"}

REFUSAL = ("Sorry, I can only help with your own account with us: your balance, spending, budget, "
           "offers and alerts.")
OTHER_CUSTOMER_REFUSAL = ("Sorry, I can't share anything about another customer's account. "
                          "I can only help with your own.")
HELP_TEXT = (
    "I can answer questions about your own account, for example:\n"
    "• What's my balance?\n• How much did I spend last month?\n• How much on food in August?\n"
    "• Compare this month with last month\n• Suggest a budget / How can I save?\n"
    "• Any unusual transactions?\n• Why is my balance low?\n• Can I afford a ₹20,000 phone?\n"
    "• Any card for me?\n• My monthly report\n• What kind of customer am I?\n"
    "• How much money came in last month?\n• Show my last 5 transactions\n• What subscriptions do I have?\n"
    "• Talk to a person (or send /human and your question)"
)
# The offline assistant cannot reach a person itself: a channel that can (Telegram) acts on Answer.action.
HANDOFF_TEXT = ("To talk to a person at the bank, send /human and your question in my Telegram chat: I'll pass "
                "it to our support team with a reference. You can also call the number on the back of your card "
                "or visit your branch.")
# Said when the assistant could not help twice in a row (bot.llm.assistant counts it).
HANDOFF_OFFER = ("I'm sorry I couldn't help with that. A person at the bank can: send /human and your question "
                 "and I'll pass it to our support team.")
DEFAULT_TRANSACTIONS = 5     # "show my transactions" without a number
MAX_TRANSACTIONS = 20        # at most this many in one answer (the LLM tool's cap too)
MAX_RECURRING_LINES = 10
DEFAULT_SUGGESTIONS = ("What's my balance?", "How much did I spend last month?", "Any unusual transactions?")


def _label(month: str) -> str:
    return periods.month_label(month)


def _summary_period(s: SpendingSummary) -> str:
    if s.is_partial:
        return f"{_label(s.month)} (so far, to {format_date(s.end)})"
    return _label(s.month)


def _cat(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _balance_basis(b: BalanceInfo) -> str:
    """"as of 5 Aug 2016", and "estimated" when no transaction since the last reported balance carried one."""
    return f"estimated, as of {format_date(b.as_of)}" if b.derived else f"as of {format_date(b.as_of)}"


def balance(f: Facade, cid: str, req: Request) -> Answer:
    b = f.balance(cid)
    if b.amount is None:
        return Answer("I can't see a balance on your recent transactions yet.", DEFAULT_SUGGESTIONS[1:])
    text = f"Your balance is {format_inr(b.amount)} ({_balance_basis(b)})."
    if b.change_30d is not None and b.trend in ("rising", "falling"):
        word = "up" if b.trend == "rising" else "down"
        text += f" It is {word} {format_inr(abs(b.change_30d))} over the last 30 days."
    if b.is_low:
        text += f" That is below your low-balance alert level of {format_inr(b.low_balance_threshold)}."
    first = "Why is my balance low?" if b.is_low or b.trend == "falling" else "How much did I spend last month?"
    return Answer(text, (first, "Any unusual transactions?", "Suggest a budget"))


def spending_summary(f: Facade, cid: str, req: Request) -> Answer:
    s = f.spending(cid, req.month)
    if s.n_debits == 0:
        return Answer(f"I don't see any spending in {_summary_period(s)}.", DEFAULT_SUGGESTIONS, s.month)
    lines = [f"In {_summary_period(s)} you spent {format_inr(s.total_out)} across {s.n_debits} payment{'' if s.n_debits == 1 else 's'}."]
    if s.by_category:
        lines.append("Biggest categories:")
        lines += [f"• {_cat(c.category)}: {format_inr(c.amount)} ({format_percent(c.share)})"
                  for c in s.by_category[:4]]
    if s.previous_month and s.previous_total_out is not None:
        lines.append(f"In {_label(s.previous_month)} you spent {format_inr(s.previous_total_out)}.")
    top = s.by_category[0].category if s.by_category else "dining"
    return Answer("\n".join(lines), (f"How much on {top}?", "Compare with the month before", "Suggest a budget"),
                  s.month)


def spending_category(f: Facade, cid: str, req: Request) -> Answer:
    if not req.categories:
        return spending_summary(f, cid, req)
    s = f.spending(cid, req.month)
    found = {c.category: c for c in s.by_category}
    changes = {c.category: c for c in s.changes}
    lines = []
    for name in req.categories:
        c = found.get(name)
        if c is None:
            lines.append(f"{_cat(name)}: nothing in {_summary_period(s)}.")
            continue
        line = (f"{_cat(name)}: {format_inr(c.amount)} in {_summary_period(s)} over {c.count} payment"
                f"{'s' if c.count != 1 else ''}, {format_percent(c.share)} of your spending.")
        change = changes.get(name)
        if change is not None and s.previous_month and change.change is not None:
            line += f" That's {describe_change(change, s.previous_month)}."
        lines.append(line)
    if len(req.categories) > 1:
        together = sum(found[n].amount for n in req.categories if n in found)
        lines.append(f"Together: {format_inr(together)}.")
    return Answer("\n".join(lines), ("And the month before?", "Suggest a budget", "How can I save?"), s.month)


def compare_months(f: Facade, cid: str, req: Request) -> Answer:
    if len(req.months) >= 2:
        first, second = f.spending(cid, req.months[0]), f.spending(cid, req.months[1])
        text = (f"{_summary_period(first)}: {format_inr(first.total_out)} spent.\n"
                f"{_summary_period(second)}: {format_inr(second.total_out)} spent.")
        return Answer(text, ("Suggest a budget", "How can I save?"), first.month)
    s = f.spending(cid, req.month)
    if s.previous_month is None or s.previous_total_out is None:
        return Answer(f"In {_summary_period(s)} you spent {format_inr(s.total_out)}; I have no earlier month "
                      "to compare it with.", DEFAULT_SUGGESTIONS, s.month)
    more = s.total_out > s.previous_total_out
    lines = [f"{_summary_period(s)}: {format_inr(s.total_out)} spent, "
             f"{'more' if more else 'less' if s.total_out < s.previous_total_out else 'the same'} than "
             f"{_label(s.previous_month)} ({format_inr(s.previous_total_out)})."]
    notable = [c for c in s.changes if abs(c.current - c.previous) >= 1][:3]
    if notable:
        lines.append("Biggest changes:")
        lines += [f"• {describe_change(c, s.previous_month)}" for c in notable]
    return Answer("\n".join(lines), ("And the month before?", "How can I save?", "Suggest a budget"), s.month)


def budget_advice(f: Facade, cid: str, req: Request) -> Answer:
    plan = f.budget(cid)
    if plan.months_used == 0 or not plan.lines:
        return Answer("I need at least one complete month of your transactions to suggest a budget. "
                      "Ask me again after this month ends.", DEFAULT_SUGGESTIONS)
    lines = [b for b in plan.lines if not req.categories or b.category in req.categories] or list(plan.lines)
    months = "month" if plan.months_used == 1 else f"{plan.months_used} months"
    text = [f"Based on your last {months}, a monthly budget of {format_inr(plan.total_suggested)}:"]
    text += [f"• {_cat(b.category)}: {format_inr(b.suggested)} (you average {format_inr(b.average_monthly)})"
             for b in lines[:6]]
    if plan.total_saving > 0:
        text.append(f"Keeping to it would save about {format_inr(plan.total_saving)} a month.")
    return Answer("\n".join(text), ("How can I save?", "How much did I spend last month?"))


def saving_tips(f: Facade, cid: str, req: Request) -> Answer:
    plan = f.budget(cid)
    cuts = sorted((b for b in plan.lines if b.saving > 0 and (not req.categories or b.category in req.categories)),
                  key=lambda b: -b.saving)
    fixed = _fixed_price_categories(f, cid)
    limits = [b for b in cuts if b.category not in fixed][:3]
    subscriptions = [b for b in cuts if b.category in fixed][:2]
    if not limits and not subscriptions:
        s = f.spending(cid, None)
        if s.by_category:
            return Answer(_quickest_win(s), ("Suggest a budget", "Any card for me?"), s.month)
        return Answer("I don't have enough of your spending yet to suggest where to save.", DEFAULT_SUGGESTIONS)
    text = ["Where you could save each month:"]
    text += [f"• {_cat(b.category)}: bring it from {format_inr(b.average_monthly)} to {format_inr(b.suggested)}, "
             f"saving {format_inr(b.saving)}" for b in limits]
    # A fixed-price subscription is not trimmed by a limit: it is kept or cancelled.
    text += [f"• {_cat(b.category)}: {format_inr(b.average_monthly)} a month is {fixed[b.category]}, at a fixed "
             "price: a limit won't trim it; cancelling what you don't use is the saving there." for b in subscriptions]
    if limits:
        # "On payday" only when a regular income is on record; otherwise it would assume a salary nobody sees.
        when = "on payday" if f.regular_income(cid) is not None else "at the start of each month"
        total = round(sum(b.saving for b in limits), 2)
        those = "That limit saves" if len(limits) == 1 else "Those limits together save"
        text.append(f"{those} about {format_inr(total)} a month; moving that into a recurring deposit or SIP "
                    f"{when} makes it stick.")
    return Answer("\n".join(text), ("Suggest a budget", "Any SIP for me?", "Compare this month with last month"))


def _fixed_price_categories(f: Facade, cid: str) -> dict[str, str]:
    """Categories whose spending is all fixed-price recurring payments (a subscription): category -> payees."""
    payments = [p for p in f.recurring_payments(cid) if p.txn_type == DEBIT]
    by_category: dict[str, list[RecurringPayment]] = {}
    for p in payments:
        by_category.setdefault(p.category, []).append(p)
    plan = {b.category: b.average_monthly for b in f.budget(cid).lines}
    fixed = {}
    for category, items in by_category.items():
        if any(p.amount_varies for p in items):
            continue
        recurring = sum(p.monthly_equivalent for p in items)
        if category in plan and recurring >= 0.9 * plan[category]:
            fixed[category] = " and ".join(p.label for p in items[:3])
    return fixed


def _quickest_win(s: SpendingSummary) -> str:
    """Where a limit would help when the budget has no cut to offer: a discretionary category only.

    Rent, bills, fees, health and transfers are essential costs a weekly limit does not change, so the
    biggest one is named as such and the limit goes to the largest discretionary spend, if there is one.
    """
    top = s.by_category[0]
    month = _label(s.month)
    first = (f"Your biggest spend in {month} was {top.category}: {format_inr(top.amount)} "
             f"({format_percent(top.share)})")
    if top.category in DISCRETIONARY_CATEGORIES:
        return first + ". Setting a weekly limit there is the quickest win."
    if top.category in ESSENTIAL_CATEGORIES:
        first += (", an essential cost that a spending limit won't change: lowering it means changing the "
                  "bill or agreement itself.")
    else:
        first += "."
    steerable = next((c for c in s.by_category if c.category in DISCRETIONARY_CATEGORIES), None)
    if steerable is None:
        return first + (" You spent nothing on dining out, shopping or entertainment, so there is no "
                        "discretionary spending to trim.")
    return first + (f" Of what you can steer, {steerable.category} was the largest: "
                    f"{format_inr(steerable.amount)} ({format_percent(steerable.share)}). Setting a weekly limit "
                    "there is the quickest win.")


def recommendations(f: Facade, cid: str, req: Request) -> Answer:
    recs = f.recommendations(cid, kind=req.kind, limit=3)
    prefix = ""
    if not recs and req.kind:
        prefix = f"I don't have a {KIND_NAMES.get(req.kind, req.kind)} that suits you right now. "
        recs = f.recommendations(cid, kind=None, limit=3)
    if not recs:
        return Answer(prefix + "I have no product suggestions for you at the moment.", DEFAULT_SUGGESTIONS)
    lines = [prefix + "Here's what I'd suggest:"]
    lines += [f"• {r.name}: {r.pitch} ({r.reason})" for r in recs]
    return Answer("\n".join(lines), ("How can I save?", "Suggest a budget"))


def unusual_transactions(f: Facade, cid: str, req: Request) -> Answer:
    flags = f.anomalies(cid, limit=5)
    if not flags:
        return Answer("Nothing unusual: I haven't flagged any of your recent transactions.",
                      ("What's my balance?", "How much did I spend last month?"))
    total = max(f.anomaly_count(cid), len(flags))   # the facade lists at most `limit`; this counts them all
    if total > len(flags):
        lines = [f"I flagged {total} transactions that look unusual for you. The latest {len(flags)}:"]
    else:
        lines = [f"I flagged {total} transaction{'s that look' if total != 1 else ' that looks'} unusual for you:"]
    for a in flags:
        where = f" at {a.merchant}" if a.merchant else ""
        why = f": {a.reasons[0]}" if a.reasons else ""
        lines.append(f"• {format_date(a.ts)}, {format_inr(a.amount)}{where}{why}")
    if total > len(flags):
        more = total - len(flags)
        lines.append(f"…and {more} older one{'s' if more != 1 else ''}.")
    lines.append("If you don't recognise one, block your card and call the bank's helpline.")
    return Answer("\n".join(lines), ("What's my balance?", "Why is my balance low?"))


def low_balance_explanation(f: Facade, cid: str, req: Request) -> Answer:
    b = f.balance(cid)
    if b.amount is None:
        return Answer("I can't see a balance on your recent transactions yet.", DEFAULT_SUGGESTIONS[1:])
    lines = [f"Your balance is {format_inr(b.amount)} ({_balance_basis(b)})"
             + (f", down {format_inr(abs(b.change_30d))} over 30 days." if b.trend == "falling" and b.change_30d
                else ".")]
    if not b.is_low and b.trend != "falling":
        lines[0] += f" That's above your alert level of {format_inr(b.low_balance_threshold)}."
    month = periods.this_month(b.as_of.date() if isinstance(b.as_of, dt.datetime) else f.as_of())
    s = f.spending(cid, month)
    if s.n_debits:
        tops = ", ".join(f"{c.category} ({format_inr(c.amount)})" for c in s.by_category[:2])
        lines.append(f"In {_summary_period(s)} you spent {format_inr(s.total_out)}, mostly on {tops}.")
    biggest = sorted((t for t in f.transactions(cid, month=month) if t.txn_type == "DEBIT"),
                     key=lambda t: -t.amount)[:3]
    if biggest:
        lines.append("Largest payments:")
        lines += [f"• {format_date(t.ts)}: {format_inr(t.amount)}" + (f" at {t.merchant}" if t.merchant else "")
                  for t in biggest]
    return Answer("\n".join(lines), ("Any unusual transactions?", "How can I save?", "Suggest a budget"), s.month)


def affordability_for(f: Facade, cid: str, price: float) -> Affordability:
    """The facade's own answer when it has one; else the analytics rule on facade figures."""
    own = getattr(f, "affordability", None)
    if callable(own):
        return own(cid, price)
    b, p = f.balance(cid), f.profile(cid)
    # profile figures share one span: monthly = total * (monthly_spend / total_spend)
    monthly_income = p.total_income * (p.monthly_spend / p.total_spend) if p.total_spend else 0.0
    return affordability(b.amount, monthly_income, p.monthly_spend, price)


def affordability_answer(f: Facade, cid: str, req: Request) -> Answer:
    if req.amount is None:
        return Answer("How much does it cost? For example: “can I afford ₹20,000?”", ("Can I afford ₹20,000?",),
                      needs="amount")
    a = affordability_for(f, cid, req.amount)
    price = format_inr(a.price)
    if a.balance is None:
        return Answer(f"I can't see your current balance, so I can't tell whether {price} is affordable.",
                      DEFAULT_SUGGESTIONS)
    if a.can_afford and a.cushion <= 0:   # no spending on record: there is no month of spending to keep
        return Answer(f"Yes. Paying {price} would leave you {format_inr(a.balance_after)}.",
                      ("Suggest a budget", "How can I save?"))
    if a.can_afford:
        return Answer(f"Yes. Paying {price} would leave you {format_inr(a.balance_after)}, still above a cushion "
                      f"of {format_inr(a.cushion)} (about a month of your usual spending).",
                      ("Suggest a budget", "How can I save?"))
    text = (f"Not comfortably yet. Your balance is {format_inr(a.balance)}; paying {price} and keeping a cushion "
            f"of {format_inr(a.cushion)} (a month of your usual spending) needs {format_inr(a.shortfall)} more.")
    if a.months_to_save:
        text += (f" Saving your usual surplus of {format_inr(a.monthly_surplus)} a month, you'd get there in about "
                 f"{a.months_to_save} month{'s' if a.months_to_save != 1 else ''}.")
    elif a.monthly_income <= 0:
        text += (" I don't see any income coming into this account, so there is no monthly surplus here to "
                 "save it from.")
    else:
        text += " Right now your spending uses up your income, so cutting back comes first."
    return Answer(text, ("How can I save?", "Suggest a budget"))


def monthly_report(f: Facade, cid: str, req: Request) -> Answer:
    r = f.report(cid, req.month)
    lines = [f"Your report for {_label(r.month)}:",
             f"• Money in: {format_inr(r.total_in)}", f"• Money out: {format_inr(r.total_out)}",
             f"• Net savings: {format_inr(r.net_savings)}"]
    if r.top_categories:
        lines.append("• Top spending: " + ", ".join(f"{c.category} {format_inr(c.amount)}"
                                                    for c in r.top_categories[:3]))
    if r.balance_start is not None and r.balance_end is not None:
        lines.append(f"• Balance: {format_inr(r.balance_start)} → {format_inr(r.balance_end)}"
                     + (" (estimated)" if r.balance_estimated else ""))
    if r.suggestion:
        lines.append(f"Goal for next month: {r.suggestion}")
    return Answer("\n".join(lines), ("And the month before?", "Suggest a budget", "Any unusual transactions?"),
                  r.month)


def profile(f: Facade, cid: str, req: Request) -> Answer:
    p = f.profile(cid)
    seg = f.segment(cid)
    lines = [f"You've banked with us since {format_date(p.first_seen)}: {p.n_transactions} transaction"
             f"{'s' if p.n_transactions != 1 else ''}, about {format_inr(p.monthly_spend)} spent a month, "
             f"{format_inr(p.avg_debit)} per payment on average."]
    if seg is not None and seg.fits_customer:
        lines.append(f"Your profile: {seg.persona}. {seg.description}")
    elif seg is not None:  # the name is the group's; this customer's own figures do not match it
        lines.append(f"You're in a group of customers we call “{seg.persona}”. About the group as a whole, "
                     f"not you: {seg.description}")
    return Answer("\n".join(lines), ("Any card for me?", "Suggest a budget"))


def alert_settings(f: Facade, cid: str, req: Request) -> Answer:
    b = f.balance(cid)
    return Answer(
        f"You get a low-balance alert when your balance falls below {format_inr(b.low_balance_threshold)}, a "
        "“Was this you?” message for unusual transactions, and a monthly summary. To change the level or turn "
        "alerts off, use /alerts in the Telegram bot.", ("What's my balance?", "Any unusual transactions?"))


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _regular_sentence(p: RecurringPayment, as_of: dt.date, noun: str = "regular income") -> str:
    """'Your regular income is ACME PAYROLL: ₹50,000.00 monthly, usually on the 1st; the last one came on ...'"""
    amount = ("about " if p.amount_varies else "") + format_inr(p.amount)
    when = f", usually on the {_ordinal(p.day_of_month)}" if p.day_of_month else ""
    upcoming = (f"the next is expected around {format_date(p.next_expected)}" if p.next_expected >= as_of
                else f"the next was expected around {format_date(p.next_expected)} and hasn't arrived yet")
    return (f"Your {noun} is {p.label}: {amount} {p.interval}{when}; the last one came on "
            f"{format_date(p.last_date)} and {upcoming}.")


def income(f: Facade, cid: str, req: Request) -> Answer:
    """Money in for a month (every credit), and the regular income's payer, day and next date when known."""
    s = f.spending(cid, req.month)
    credits = [t for t in f.transactions(cid, month=s.month) if t.txn_type == CREDIT]
    regular = f.regular_income(cid)
    period = _summary_period(s)
    if credits:
        n = len(credits)
        lines = [f"In {period}, {format_inr(s.total_in)} came into your account over {n} credit{'s' if n != 1 else ''}:"]
        shown = sorted(sorted(credits, key=lambda t: (-t.amount, t.ts))[:5], key=lambda t: t.ts)
        lines += [f"• {format_date(t.ts)}: {format_inr(t.amount)}" + (f" from {t.merchant}" if t.merchant else "")
                  for t in shown]
        if n > len(shown):
            rest = n - len(shown)
            lines.append(f"…and {rest} smaller credit{'s' if rest != 1 else ''}.")
    else:
        lines = [f"I don't see any money coming into your account in {period}."]
    if regular is not None:
        lines.append(_regular_sentence(regular, f.as_of()))
    elif f.profile(cid).n_credits == 0:
        lines.append("There are no credits on your account at all, so I can't see a salary or any other income here.")
    else:
        lines.append("I don't see a regular income among your credits (a salary or pension arriving on a steady "
                     "day each month).")
    return Answer("\n".join(lines), ("How much did I spend last month?", "Compare with the month before",
                                     "Suggest a budget"), s.month)


def _transaction_line(t: TransactionBrief) -> str:
    category = "" if t.category in (UNCATEGORIZED, "income", "other") or not t.category else f" ({t.category})"
    if t.txn_type == CREDIT:
        who = f" from {t.merchant}" if t.merchant else ""
        return f"• {format_date(t.ts)}: +{format_inr(t.amount)} received{who}{category}"
    who = f" to {t.merchant}" if t.merchant else ""
    return f"• {format_date(t.ts)}: {format_inr(t.amount)} paid{who}{category}"


def recent_transactions(f: Facade, cid: str, req: Request) -> Answer:
    """The latest N transactions (N as asked, default 5, at most 20), newest first, in a month if one was named."""
    asked = req.count
    n = min(asked or DEFAULT_TRANSACTIONS, MAX_TRANSACTIONS)
    rows = f.transactions(cid, month=req.month, limit=n)
    where = f" in {_label(req.month)}" if req.month else ""
    if not rows:
        return Answer(f"I don't see any transactions{where}.", DEFAULT_SUGGESTIONS, req.month)
    count = len(rows)
    if asked is not None and asked > MAX_TRANSACTIONS:
        head = f"I show at most {MAX_TRANSACTIONS} at a time. Your latest {count}{where}:"
    elif asked is not None and count < asked:
        head = f"There {'are only' if count != 1 else 'is only'} {count} transaction{'s' if count != 1 else ''}{where}:"
    elif count == 1:
        head = f"Your latest transaction{where}:"
    else:
        head = f"Your latest {count} transactions{where}:"
    return Answer("\n".join([head, *(_transaction_line(t) for t in rows)]),
                  ("Any unusual transactions?", "How much did I spend last month?", "What's my balance?"), req.month)


def subscriptions(f: Facade, cid: str, req: Request) -> Answer:
    """Subscriptions, bills, rent and EMIs that repeat (analytics.recurring), and any price rise or double charge."""
    payments = [p for p in f.recurring_payments(cid) if p.txn_type == DEBIT]
    alerts = f.recurring_alerts(cid)
    if not payments:
        return Answer("I don't see any regular payments (subscriptions, bills, rent or EMIs) on your account. I count "
                      "a payment as regular once the same payee has charged you at a steady interval, at least three "
                      "times for a monthly one.", DEFAULT_SUGGESTIONS)
    as_of = f.as_of()
    monthly = sum(p.monthly_equivalent for p in payments)
    n = len(payments)
    lines = [f"You have {n} regular payment{'s' if n != 1 else ''}, about {format_inr(monthly)} a month together:"]
    for p in payments[:MAX_RECURRING_LINES]:
        amount = ("about " if p.amount_varies else "") + format_inr(p.amount)
        due = (f"next around {format_date(p.next_expected)}" if p.next_expected >= as_of
               else f"due around {format_date(p.next_expected)}, not charged yet")
        lines.append(f"• {p.label}: {amount} {p.interval} ({p.category}), {due}")
    if n > MAX_RECURRING_LINES:
        lines.append(f"…and {n - MAX_RECURRING_LINES} more.")
    lines += [f"Note: {a.message}" for a in alerts[:3]]
    return Answer("\n".join(lines), ("How can I save?", "Suggest a budget", "What's my balance?"))


def handoff(f: Facade, cid: str, req: Request) -> Answer:
    """Reads nothing: the channel opens the handoff (Telegram) or the text says where a person can be reached."""
    return Answer(HANDOFF_TEXT, (), action="handoff")


def _static(text: str, suggestions: tuple[str, ...] = DEFAULT_SUGGESTIONS) -> Callable[[Facade, str, Request], Answer]:
    def answer(f: Facade, cid: str, req: Request) -> Answer:
        return Answer(text, suggestions)
    return answer


TEMPLATES: dict[str, Callable[[Facade, str, Request], Answer]] = {
    "balance": balance,
    "spending_summary": spending_summary,
    "spending_category": spending_category,
    "compare_months": compare_months,
    "budget_advice": budget_advice,
    "saving_tips": saving_tips,
    "recommendations": recommendations,
    "unusual_transactions": unusual_transactions,
    "low_balance_explanation": low_balance_explanation,
    "affordability": affordability_answer,
    "monthly_report": monthly_report,
    "profile": profile,
    "alert_settings": alert_settings,
    "income": income,
    "recent_transactions": recent_transactions,
    "subscriptions": subscriptions,
    "handoff": handoff,
    "help": _static(HELP_TEXT),
    "greeting": _static("Hello! I'm your FinAssist assistant. Ask me about your balance, spending, budget, "
                        "offers or alerts."),
    "thanks": _static("You're welcome! Anything else I can help with?"),
    "out_of_scope": _static(REFUSAL),
}

# Canonical question per intent: clarifying suggestions and follow-up buttons.
EXAMPLES = {
    "balance": "What's my balance?", "spending_summary": "How much did I spend last month?",
    "spending_category": "How much did I spend on food?", "compare_months": "Compare this month with last month",
    "budget_advice": "Suggest a budget", "saving_tips": "How can I save?", "recommendations": "Any card for me?",
    "unusual_transactions": "Any unusual transactions?", "low_balance_explanation": "Why is my balance low?",
    "affordability": "Can I afford ₹20,000?", "monthly_report": "My monthly report",
    "profile": "What kind of customer am I?", "alert_settings": "My alert settings", "help": "Help",
    "income": "How much money came in last month?", "recent_transactions": "Show my last 5 transactions",
    "subscriptions": "What subscriptions do I have?", "handoff": "Talk to a person",
}
