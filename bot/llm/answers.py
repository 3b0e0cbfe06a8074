"""Answer templates: one function per intent, filled only with facade figures and formatted the Indian way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from analytics import periods
from analytics.money import format_date, format_inr, format_percent
from analytics.results import BalanceInfo, SpendingSummary
from analytics.spending import Affordability, affordability, describe_change


class Facade(Protocol):
    """The slice of bot.services.insights.InsightsService the templates read."""

    def as_of(self) -> dt.date: ...
    def profile(self, customer_id: str) -> Any: ...
    def balance(self, customer_id: str, low_balance_threshold: float | None = None) -> Any: ...
    def spending(self, customer_id: str, month: str | None = None) -> Any: ...
    def this_month(self, customer_id: str) -> Any: ...
    def budget(self, customer_id: str) -> Any: ...
    def anomalies(self, customer_id: str, limit: int = 5, include_answered: bool = False) -> Any: ...
    def segment(self, customer_id: str) -> Any: ...
    def recommendations(self, customer_id: str, kind: str | None = None, limit: int = 3) -> Any: ...
    def report(self, customer_id: str, month: str | None = None, chart_path: Any = None) -> Any: ...
    def transactions(self, customer_id: str, month: str | None = None, limit: int | None = None) -> Any: ...
    def months_available(self, customer_id: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Request:
    """An understood question: the intent and its resolved details."""

    intent: str
    months: tuple[str, ...] = ()            # "YYYY-MM", resolved; () = the facade's default month
    categories: tuple[str, ...] = ()
    amount: float | None = None
    kind: str | None = None

    @property
    def month(self) -> str | None:
        return self.months[0] if self.months else None


@dataclass(frozen=True)
class Answer:
    text: str
    suggestions: tuple[str, ...] = ()
    month: str | None = None                # the month the answer was about (for "the month before?")
    needs: str | None = None                # a detail the assistant asked for ("amount")


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
    "• Any card for me?\n• My monthly report\n• What kind of customer am I?"
)
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
                  key=lambda b: -b.saving)[:3]
    if not cuts:
        s = f.spending(cid, None)
        if s.by_category:
            top = s.by_category[0]
            return Answer(f"Your biggest spend in {_label(s.month)} was {top.category}: {format_inr(top.amount)} "
                          f"({format_percent(top.share)}). Setting a weekly limit there is the quickest win.",
                          ("Suggest a budget", "Any card for me?"), s.month)
        return Answer("I don't have enough of your spending yet to suggest where to save.", DEFAULT_SUGGESTIONS)
    text = ["Where you could save each month:"]
    text += [f"• {_cat(b.category)}: bring it from {format_inr(b.average_monthly)} to {format_inr(b.suggested)}, "
             f"saving {format_inr(b.saving)}" for b in cuts]
    text.append(f"All of my suggested limits together save about {format_inr(plan.total_saving)} a month; "
                "moving that into a recurring deposit or SIP on payday makes it stick.")
    return Answer("\n".join(text), ("Suggest a budget", "Any SIP for me?", "Compare this month with last month"))


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
    lines = [f"I flagged {len(flags)} transaction{'s that look' if len(flags) != 1 else ' that looks'} unusual for you:"]
    for a in flags:
        where = f" at {a.merchant}" if a.merchant else ""
        why = f": {a.reasons[0]}" if a.reasons else ""
        lines.append(f"• {format_date(a.ts)}, {format_inr(a.amount)}{where}{why}")
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
    if a.can_afford:
        return Answer(f"Yes. Paying {price} would leave you {format_inr(a.balance_after)}, still above a cushion "
                      f"of {format_inr(a.cushion)} (about a month of your usual spending).",
                      ("Suggest a budget", "How can I save?"))
    text = (f"Not comfortably yet. Your balance is {format_inr(a.balance)}; paying {price} and keeping a cushion "
            f"of {format_inr(a.cushion)} (a month of your usual spending) needs {format_inr(a.shortfall)} more.")
    if a.months_to_save:
        text += (f" Saving your usual surplus of {format_inr(a.monthly_surplus)} a month, you'd get there in about "
                 f"{a.months_to_save} month{'s' if a.months_to_save != 1 else ''}.")
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
}
