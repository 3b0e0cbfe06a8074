"""Renders facade results as plain terminal text for the CLI and the demo (Telegram has its own HTML views)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from analytics.money import format_date, format_inr, format_percent
from analytics.results import BudgetPlan, CustomerInsights, MonthlyReport, SpendingSummary
from bot.services.admin import AdminStats, BroadcastReport

# A balance derived from an earlier reported one (a transaction arrived without a balance): analytics.balances
ESTIMATED = " (estimated)"


def month_label(month: str) -> str:
    return dt.date.fromisoformat(month + "-01").strftime("%B %Y")


def spending_lines(summary: SpendingSummary, top: int = 6) -> list[str]:
    label = month_label(summary.month) + (" (so far)" if summary.is_partial else "")
    if summary.n_debits == 0:
        return [f"Spending in {label}: nothing spent."]
    lines = [f"Spending in {label}: {format_inr(summary.total_out)} out, {format_inr(summary.total_in)} in"]
    for item in summary.by_category[:top]:
        lines.append(f"  {item.category:<14}{format_inr(item.amount):>14}  {format_percent(item.share):>4}")
    rest = summary.by_category[top:]
    if rest:
        amount, share = sum(c.amount for c in rest), sum(c.share for c in rest)
        lines.append(f"  {f'{len(rest)} more':<14}{format_inr(amount):>14}  {format_percent(share):>4}")
    for change in summary.changes[:2]:
        if change.change is not None and abs(change.change) >= 0.1 and summary.previous_month:
            word = "more" if change.change > 0 else "less"
            lines.append(
                f"  {format_percent(abs(change.change))} {word} on {change.category} than in "
                f"{month_label(summary.previous_month)}"
            )
    return lines


def budget_lines(plan: BudgetPlan, top: int = 8) -> list[str]:
    if plan.months_used == 0 or not plan.lines:
        return ["Budget: not enough complete months of history to suggest one yet."]
    lines = [f"Suggested monthly budget (from {plan.months_used} complete months): "
             f"{format_inr(plan.total_suggested)}, saving {format_inr(plan.total_saving)} a month"]
    # Lines that save come first so the total saving above is visible line by line.
    for line in sorted(plan.lines, key=lambda x: (x.saving <= 0, -x.average_monthly))[:top]:
        saving = f", save {format_inr(line.saving)}" if line.saving > 0 else ""
        lines.append(f"  {line.category:<14} usually {format_inr(line.average_monthly)} -> {format_inr(line.suggested)}{saving}")
    return lines


def insights_text(ins: CustomerInsights) -> str:
    p, b = ins.profile, ins.balance
    lines = [f"Customer {ins.customer_id} — as of {format_date(ins.as_of)}"]
    if ins.segment:
        fit = ("fits this customer's own figures" if ins.segment.fits_customer
               else "the group's name, not a description of this customer")
        lines.append(f"Segment: {ins.segment.persona} — {fit} (the segment as a whole: "
                     f"{ins.segment.description.rstrip('.')})")
    who = ", ".join(x for x in (p.age_band if p.age is not None else "age unknown", p.gender or "", p.location or "") if x)
    noun = "transaction" if p.n_transactions == 1 else "transactions"
    lines.append(f"Profile: {who}; {p.n_transactions} {noun} since {format_date(p.first_seen)}, "
                 f"last on {format_date(p.last_seen)}")
    if b.amount is None:
        lines.append("Balance: not known (no transaction carried one)")
    else:
        trend = "" if b.change_30d is None else f", {format_inr(b.change_30d, sign=True)} in 30 days ({b.trend})"
        low = "  ⚠ below your low-balance threshold of " + format_inr(b.low_balance_threshold) if b.is_low else ""
        lines.append(f"Balance: {format_inr(b.amount)}{ESTIMATED if b.derived else ''} on {format_date(b.as_of)}"
                     f"{trend}{low}")
    lines += spending_lines(ins.last_month)
    lines += budget_lines(ins.budget)
    if ins.anomalies:
        lines.append("Unusual transactions:")
        for flag in ins.anomalies:
            where = f" at {flag.merchant}" if flag.merchant else ""
            lines.append(f"  {format_inr(flag.amount)}{where} on {format_date(flag.ts)} "
                         f"(score {flag.score:.2f}, {flag.status}): " + "; ".join(flag.reasons))
    else:
        lines.append("Unusual transactions: none open")
    if ins.churn:
        lines.append(f"Churn risk: {ins.churn.level} ({format_percent(ins.churn.risk)})"
                     + (": " + "; ".join(ins.churn.reasons) if ins.churn.reasons else ""))
    if ins.recommendations:
        lines.append("Recommended for you:")
        for rec in ins.recommendations:
            lines.append(f"  {rec.name} — {rec.pitch} ({rec.reason})")
    for note in ins.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


def report_text(report: MonthlyReport) -> str:
    lines = [f"Monthly report for {report.customer_id}, {month_label(report.month)}",
             f"  Money in:     {format_inr(report.total_in)}",
             f"  Money out:    {format_inr(report.total_out)}",
             f"  Net savings:  {format_inr(report.net_savings)}"]
    if report.balance_change is not None:
        lines.append(f"  Balance:      {format_inr(report.balance_start)} -> {format_inr(report.balance_end)} "
                     f"({format_inr(report.balance_change, sign=True)})"
                     + (ESTIMATED if report.balance_estimated else ""))
    if report.top_categories:
        lines.append("  Top categories: " + ", ".join(
            f"{c.category} {format_inr(c.amount)}" for c in report.top_categories[:3]))
    if report.biggest:
        lines.append("  Biggest payments:")
        for t in report.biggest[:3]:
            lines.append(f"    {format_date(t.ts):>11}  {format_inr(t.amount):>14}  {t.merchant or t.category}")
    lines.append(f"  Next month: {report.suggestion}")
    if report.chart_path:
        lines.append(f"  Chart: {report.chart_path}")
    return "\n".join(lines)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, dates and tuples to JSON-ready values (for --json and the REST API)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def to_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, indent=2)


def broadcast_report_lines(report: BroadcastReport) -> list[str]:
    """Plain lines (no HTML) for one broadcast's delivery and uplift; the CLI prints the same lines."""
    p = report.progress
    state = "done" if p.finished else "sending"
    lines = [f"Broadcast #{report.broadcast_id} ({report.target_kind}"
             + (f" {report.target_value}" if report.target_value else "") + f", {state}): "
             f"{p.sent:,} delivered, {p.failed:,} not delivered, {p.waiting + p.due:,} waiting; "
             f"control {report.control_size:,}"]
    if report.as_of is None or report.window_end is None:
        lines.append("  Uplift: not measured (no analytics date was recorded when it started)")
        return lines
    window = (f"{format_date(report.as_of)} – {format_date(report.window_end)}, "
              f"{report.days_observed} of 30 days of data so far")
    c = report.comparison
    if c is None:
        lines.append(f"  Uplift ({window}): needs delivered recipients and a control group")
        return lines

    def interval(low: float | None, high: float | None, points: bool) -> str:
        if low is None or high is None:
            return "no interval: a group is too small"
        scale = 100 if points else 1
        unit = " pts" if points else ""
        return f"95% CI {low * scale:+.1f} to {high * scale:+.1f}{unit}"

    a, t = c.active, c.per_customer
    lines.append(f"  Uplift in data time ({window}); treatment n={c.n_treatment:,}, control n={c.n_control:,}")
    lines.append(f"  Active (≥1 transaction): {a.treatment:.1%} vs {a.control:.1%}, "
                 f"{a.difference * 100:+.1f} pts ({interval(a.low, a.high, True)})")
    lines.append(f"  Transactions per customer: {t.treatment:.2f} vs {t.control:.2f}, "
                 f"{t.difference:+.2f} ({interval(t.low, t.high, False)})")
    return lines


def admin_stats_lines(stats: AdminStats) -> list[str]:
    """`finassist stats`: the figures admins see in /stats, as terminal lines."""
    precision = (f"{stats.answered_precision:.1%} (disputed / answered)"
                 if stats.answered_precision is not None else "n/a (no answered alerts yet)")
    lines = [
        f"customers: {stats.customers:,}",
        f"linked chats: {stats.linked_chats:,} ({stats.linked_customers:,} customers)",
        f"messages sent: {stats.messages_sent:,}",
        f"messages pending: {stats.messages_pending:,}",
        f"messages dead-lettered: {stats.messages_dead:,}",
        f"messages dropped: {stats.messages_dropped:,}",
        f"sends with an unknown outcome (retried): {stats.unknown_outcomes:,}",
        f"alerts flagged: {stats.alerts_flagged:,}",
        f"alerts open: {stats.alerts_open:,}",
        f"alerts answered: {stats.disputes + stats.confirmed:,} ({stats.disputes:,} disputed, "
        f"{stats.confirmed:,} confirmed)",
        f"answered-alert precision: {precision}",
        f"requests for a person: {stats.handoffs_open:,} open, {stats.handoffs_total:,} in all",
    ]
    if not stats.broadcasts:
        lines.append("broadcasts: none")
    for report in stats.broadcasts:
        lines.extend(broadcast_report_lines(report))
    return lines
