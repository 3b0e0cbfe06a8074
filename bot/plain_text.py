"""Renders facade results as plain terminal text for the CLI and the demo (Telegram has its own HTML views)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from analytics.money import format_date, format_inr, format_percent
from analytics.results import BudgetPlan, CustomerInsights, MonthlyReport, SpendingSummary

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
