"""Turns the facade's results into short HTML messages for a phone: every dynamic value escaped, < 4096 chars.

Handlers never build figures; they pass results here. Money goes through analytics.money.format_inr, dates
through format_date, so Telegram shows exactly what the CLI and the API show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from analytics.money import format_date, format_inr, format_month, format_percent
from analytics.results import (
    AnomalyFlag,
    BalanceInfo,
    BudgetPlan,
    CustomerProfile,
    MonthlyReport,
    Recommendation,
    SegmentInfo,
    SpendingSummary,
)
from bot.plain_text import broadcast_report_lines
from bot.services.admin import AdminStats, BroadcastPlan, BroadcastProgress, SegmentRow
from bot.services.preferences import AlertPreferences

MAX_TEXT = 4096
ESTIMATED = " (estimated)"   # a balance derived from an earlier reported one (analytics.balances)
MAX_CAPTION = 1024

KIND_LABELS = {
    "low_balance": "Low-balance alerts",
    "unusual": "Unusual-transaction checks",
    "monthly": "Monthly summary",
    "offers": "Offers from the bank",
    "trend": "Spending trends and budget pace",
    "forecast": "Low balance ahead (forecast)",
    "recurring": "Subscription and bill changes",
}

LINK_HELP = (
    "This chat is not linked to a bank account yet.\n"
    "Open the link your bank sent you, or send <code>/link CODE</code> with the code the bank gave you."
)


def fit(text: str, limit: int = MAX_TEXT) -> str:
    """Cut at a line boundary so a long list never breaks Telegram's limit (or an HTML tag)."""
    if len(text) <= limit:
        return text
    lines, total = [], 0
    for line in text.split("\n"):
        if total + len(line) + 1 > limit - 2:
            break
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n…"


def _month_label(month: str) -> str:
    year, mon = month.split("-")
    return format_month(int(year), int(mon))


def _category(name: str) -> str:
    return escape(name.replace("_", " ").capitalize())


def money(amount: float | None) -> str:
    return escape(format_inr(amount)) if amount is not None else "unknown"


def balance_text(info: BalanceInfo) -> str:
    if info.amount is None:
        return "I don't have a recorded balance for your account yet."
    lines = [f"💰 <b>Balance:</b> {money(info.amount)}{ESTIMATED if info.derived else ''}"]
    if info.as_of is not None:
        lines.append(f"as of {escape(format_date(info.as_of))}")
    if info.change_30d is not None:
        lines.append(f"30-day change: {escape(format_inr(info.change_30d, sign=True))} ({escape(info.trend)})")
    if info.is_low:
        lines.append(f"⚠️ Below your low-balance threshold of {money(info.low_balance_threshold)}.")
    return fit("\n".join(lines))


def spending_text(summary: SpendingSummary, top: int = 6) -> str:
    title = _month_label(summary.month) + (" (so far)" if summary.is_partial else "")
    lines = [f"🧾 <b>Spending, {escape(title)}</b>",
             f"Out: {money(summary.total_out)} in {summary.n_debits} payment{'' if summary.n_debits == 1 else 's'} · In: {money(summary.total_in)}"]
    if summary.previous_total_out is not None and summary.previous_month:
        lines.append(f"{escape(_month_label(summary.previous_month))}: {money(summary.previous_total_out)}")
    if summary.by_category:
        lines.append("")
        for item in summary.by_category[:top]:
            lines.append(f"• {_category(item.category)}: {money(item.amount)} "
                         f"({escape(format_percent(item.share))})")
    else:
        lines.append("No spending recorded in this period.")
    return fit("\n".join(lines))


def why_text(summary: SpendingSummary, top: int = 4) -> str:
    """Explains the month-over-month change category by category."""
    if not summary.changes or summary.previous_month is None:
        return "There isn't an earlier month to compare with yet."
    lines = [f"📊 <b>What changed vs {escape(_month_label(summary.previous_month))}</b>"]
    for change in summary.changes[:top]:
        delta = change.current - change.previous
        pct = f" ({escape(format_percent(change.change))})" if change.change is not None else " (new)"
        lines.append(f"• {_category(change.category)}: {money(change.previous)} → {money(change.current)}, "
                     f"{escape(format_inr(delta, sign=True))}{pct if delta else ''}")
    return fit("\n".join(lines))


def budget_text(plan: BudgetPlan, top: int = 8) -> str:
    if plan.months_used == 0 or not plan.lines:
        return "I need at least one complete month of spending before I can suggest a budget."
    lines = [f"📝 <b>Suggested monthly budget</b> (from {plan.months_used} month"
             f"{'s' if plan.months_used != 1 else ''} of spending)"]
    for line in plan.lines[:top]:
        lines.append(f"• {_category(line.category)}: {money(line.suggested)} "
                     f"(average {money(line.average_monthly)})")
    lines.append(f"\nTotal: {money(plan.total_suggested)} · possible saving {money(plan.total_saving)} a month")
    return fit("\n".join(lines))


def recommendations_text(items: Sequence[Recommendation]) -> str:
    if not items:
        return "I have no product suggestions for you right now."
    lines = ["💡 <b>Suggestions for you</b>"]
    for item in items:
        lines.append(f"\n<b>{escape(item.name)}</b>\n{escape(item.pitch)}\n<i>Why: {escape(item.reason)}</i>")
    return fit("\n".join(lines))


def report_text(report: MonthlyReport, top: int = 5) -> str:
    lines = [f"📅 <b>Monthly report, {escape(_month_label(report.month))}</b>",
             f"In: {money(report.total_in)}", f"Out: {money(report.total_out)}",
             f"Net savings: {escape(format_inr(report.net_savings, sign=True))}"]
    if report.balance_end is not None:
        change = (f" ({escape(format_inr(report.balance_change, sign=True))})"
                  if report.balance_change is not None else "")
        lines.append(f"Balance at month end: {money(report.balance_end)}{change}"
                     + (ESTIMATED if report.balance_estimated else ""))
    if report.top_categories:
        lines.append("\n<b>Top categories</b>")
        for item in report.top_categories[:top]:
            lines.append(f"• {_category(item.category)}: {money(item.amount)} "
                         f"({escape(format_percent(item.share))})")
    if report.biggest:
        lines.append("\n<b>Biggest payments</b>")
        for txn in report.biggest[:3]:
            where = f" — {escape(txn.merchant)}" if txn.merchant else ""
            lines.append(f"• {escape(format_date(txn.ts))}: {money(txn.amount)}{where}")
    if report.suggestion:
        lines.append(f"\n🎯 {escape(report.suggestion)}")
    return fit("\n".join(lines))


def report_caption(report: MonthlyReport) -> str:
    return fit(f"Spending by category, {escape(_month_label(report.month))}", MAX_CAPTION)


def profile_text(profile: CustomerProfile, segment: SegmentInfo | None) -> str:
    gender = {"M": "male", "F": "female"}.get(profile.gender or "", "unknown")
    lines = ["👤 <b>Your profile</b>",
             f"Age band: {escape(profile.age_band)} · Gender: {escape(gender)}",
             f"Location: {escape(profile.location or 'unknown')}",
             f"Customer since: {escape(format_date(profile.first_seen))} · last activity "
             f"{escape(format_date(profile.last_seen))}",
             f"Transactions: {profile.n_transactions} ({profile.n_debits} out, {profile.n_credits} in)",
             f"Total spent: {money(profile.total_spend)} · about {money(profile.monthly_spend)} a month"]
    if segment is not None and segment.fits_customer:
        lines.append(f"Your segment: <b>{escape(segment.persona)}</b>\n"
                     f"<i>About the segment as a whole: {escape(segment.description)}</i>")
    elif segment is not None:  # the name is the group's: this customer's own figures do not match it
        lines.append(f"Your group: <b>{escape(segment.persona)}</b> (the group's name, not a description "
                     f"of you)\n<i>About the group as a whole: {escape(segment.description)}</i>")
    lines.append("<i>Age, gender and location come from your latest transaction.</i>")
    return fit("\n".join(lines))


def anomalies_line(flags: Iterable[AnomalyFlag]) -> str:
    flags = list(flags)
    if not flags:
        return ""
    return f"\n🔎 {len(flags)} unusual transaction{'s' if len(flags) != 1 else ''} waiting for your answer."


def alerts_text(prefs: AlertPreferences) -> str:
    lines = ["🔔 <b>Your alerts</b>"]
    for kind, label in KIND_LABELS.items():
        lines.append(f"{'✅' if prefs.enabled(kind) else '❌'} {escape(label)}")
    lines.append(f"Low-balance threshold: {money(prefs.low_balance_threshold)}")
    lines.append(f"Quiet hours: {escape(prefs.quiet_hours)}")
    lines.append("Tap a button to change a setting.")
    return "\n".join(lines)


def stats_text(stats: AdminStats) -> str:
    precision = (f"{stats.answered_precision:.0%} of answered alerts were fraud"
                 if stats.answered_precision is not None else "no answered alerts yet")
    lines = [
        "📈 <b>Bot statistics</b>",
        f"Customers: {stats.customers:,}",
        f"Linked chats: {stats.linked_chats:,} ({stats.linked_customers:,} customers)",
        f"Messages sent: {stats.messages_sent:,} · waiting: {stats.messages_pending:,} · "
        f"dead-lettered: {stats.messages_dead:,} · dropped: {stats.messages_dropped:,}",
        f"Sends with an unknown outcome (retried): {stats.unknown_outcomes:,}",
        f"Flagged transactions: {stats.alerts_flagged:,}",
        f"Alerts awaiting an answer: {stats.alerts_open}",
        f"Disputes: {stats.disputes} · confirmed by customer: {stats.confirmed} ({precision})",
        f"Requests for a person (/human): {stats.handoffs_open:,} open · {stats.handoffs_total:,} in all",
    ]
    for report in stats.broadcasts:
        lines.append("")
        lines.extend(escape(line) for line in broadcast_report_lines(report))
    return fit("\n".join(lines))


def segments_text(rows: Sequence[SegmentRow], churn_auc: float | None = None,
                  churn_method: str | None = None) -> str:
    if not rows:
        return "No segments yet: run <code>finassist train</code>."
    lines = ["🧩 <b>Segments</b>"]
    if churn_auc is not None:
        trust = "reliable" if churn_auc >= 0.7 else "weak" if churn_auc >= 0.6 else "no better than chance"
        lines.append(f"Churn model: held-out AUC {churn_auc:.2f} ({trust} on this data)")
    if churn_method:
        lines.append(f"<i>{escape(churn_method)}</i>")
    for row in rows:
        lines.append(f"\n<b>{row.segment}. {escape(row.persona)}</b> — {row.size:,} customers\n"
                     f"{escape(row.description)}\nChurn risk: mean {escape(format_percent(row.mean_churn))}, "
                     f"{row.high_risk:,} high, {row.medium_risk:,} medium, {row.lapsed:,} lapsed")
    return fit("\n".join(lines))


def target_label(kind: str, value: str | None, personas: dict[int, str] | None = None) -> str:
    if kind == "segment":
        persona = (personas or {}).get(int(value or 0), "")
        return f"segment {escape(str(value))}" + (f" ({escape(persona)})" if persona else "")
    if kind == "churn":
        levels = [v for v in (value or "").split(",") if v]
        return "churn level " + escape(" or ".join(levels))
    return "all linked customers"


def broadcast_preview(plan: BroadcastPlan, message: str, label: str) -> str:
    return fit("\n".join([
        "📣 <b>Broadcast preview</b>",
        f"Target: {label}",
        f"Audience: {len(plan.audience)} chats ({plan.opted_out} opted out of offers, not counted)",
        f"Will receive: {plan.treatment_size} · held out as control: {plan.control_size} "
        f"({escape(format_percent(plan.control_share))})",
        "",
        escape(message),
    ]))


def progress_text(progress: BroadcastProgress) -> str:
    """The admin's progress message, read from the broadcast's outbox rows."""
    state = "Finished" if progress.finished else "Sending"
    text = f"📣 Broadcast #{progress.broadcast_id}: {state} {progress.done}/{progress.total}"
    if progress.failed:
        text += f" · {progress.failed} not delivered"
    if progress.waiting:
        text += f" · {progress.waiting} waiting (quiet hours, a flood wait or a retry)"
    return text
