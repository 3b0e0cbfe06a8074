"""Words of the proactive messages (Telegram HTML, escaped), built from the facade's result types."""

from __future__ import annotations

import datetime as dt
import html

from analytics.money import format_date, format_inr
from analytics.periods import month_label
from analytics.results import (
    AnomalyFlag,
    BalanceForecast,
    BalanceInfo,
    BudgetPace,
    MonthlyReport,
    RecurringAlert,
    SpendingTrend,
)

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
YES_TEXT = "Yes, it was me"
NO_TEXT = "No, block my card"


def _e(value: object) -> str:
    return html.escape(str(value), quote=False)


OUTBOX_ID = "{outbox_id}"   # bot.notify.outbox fills in the queued row's id


def fraud_buttons(key: int | str = OUTBOX_ID) -> list[list[tuple[str, str]]]:
    """Exactly two buttons, "Yes…" and "No…": `fraud:y:<key>` / `fraud:n:<key>`, where the key is the
    question's outbox row id (a small integer), so the data never depends on a transaction id's length."""
    return [[(YES_TEXT, f"fraud:y:{key}"), (NO_TEXT, f"fraud:n:{key}")]]


def _when(ts: dt.datetime) -> str:
    return f"{format_date(ts)} at {ts:%H:%M}"


def _where(merchant: str | None, location: str | None) -> str:
    parts = [p for p in (merchant, location) if p]
    return ", ".join(parts) if parts else "an unknown payee"


def unusual_text(flag: AnomalyFlag) -> str:
    reasons = "\n".join(f"• {_e(r)}" for r in flag.reasons[:4]) or "• It does not look like your usual spending."
    return (
        "🔔 <b>Was this you?</b>\n"
        f"{_e(format_inr(flag.amount))} at {_e(_where(flag.merchant, flag.location))}\n"
        f"on {_e(_when(flag.ts))}\n\n"
        f"Why we are asking:\n{reasons}\n\n"
        "Tap <b>Yes</b> if you made it. Tap <b>No</b> and we will block your card and call you."
    )[:TEXT_LIMIT]


def low_balance_text(balance: BalanceInfo) -> str:
    estimated = "estimated, " if balance.derived else ""
    observed = f" ({estimated}as of {_e(format_date(balance.as_of))})" if balance.as_of else ""
    return (
        "⚠️ <b>Low balance</b>\n"
        f"Your balance is {_e(format_inr(balance.amount or 0))}{observed}, below your alert level of "
        f"{_e(format_inr(balance.low_balance_threshold))}.\n"
        "Keep an eye on upcoming payments. /balance shows details; /alerts changes this alert."
    )


# The sentences below come whole from the facade (analytics' `message` and `tip`): a channel never computes
# or rewords a figure, it frames and escapes them and says how to switch the kind off.
def trend_text(trend: SpendingTrend | BudgetPace) -> str:
    """A closed month's rise against its usual month, or a category ahead of its budget pace this month."""
    if isinstance(trend, SpendingTrend):
        head, more = "📈 <b>Spending trend</b>", f"/spending {_e(trend.month)} shows that month."
    else:
        head, more = "📈 <b>Ahead of your budget</b>", "/budget shows your suggested budget."
    return f"{head}\n{_e(trend.message)}\n{more} /alerts switches trend messages off."[:TEXT_LIMIT]


def forecast_text(forecast: BalanceForecast) -> str:
    """Low balance before it happens, with the forecast's one tip."""
    tip = f"\n💡 {_e(forecast.tip)}" if forecast.tip else ""
    return (f"🔮 <b>Low balance ahead</b>\n{_e(forecast.message)}{tip}\n"
            "/balance shows your balance; /alerts switches balance forecasts off.")[:TEXT_LIMIT]


def recurring_text(alert: RecurringAlert) -> str:
    """A subscription's or bill's price rise, or a charge taken twice."""
    head = "🔁 <b>Price rise</b>" if alert.kind == "price_rise" else "🔁 <b>Charged twice?</b>"
    return f"{head}\n{_e(alert.message)}\n/alerts switches subscription and bill alerts off."[:TEXT_LIMIT]


def monthly_caption(report: MonthlyReport) -> str:
    lines = [
        f"📊 <b>Your {_e(month_label(report.month))} summary</b>",
        f"Money in: {_e(format_inr(report.total_in))}",
        f"Money out: {_e(format_inr(report.total_out))}",
        f"{'Saved' if report.net_savings >= 0 else 'Overspent'}: {_e(format_inr(abs(report.net_savings)))}",
    ]
    if report.top_categories:
        top = ", ".join(f"{_e(c.category)} {_e(format_inr(c.amount, paise=False))}"
                        for c in report.top_categories[:3])
        lines.append(f"Top spending: {top}")
    if report.suggestion:
        lines.append(f"Goal for next month: {_e(report.suggestion)}")
    lines.append("/report shows the full report.")
    caption = "\n".join(lines)
    return caption if len(caption) <= CAPTION_LIMIT else caption[: CAPTION_LIMIT - 1] + "…"


def answered_text(amount: float, merchant: str | None, location: str | None, ts: dt.datetime, status: str,
                  answered_at: dt.datetime | None) -> str:
    """The edited "Was this you?" message once it has an answer (buttons removed)."""
    head = (f"🔔 {_e(format_inr(amount))} at {_e(_where(merchant, location))} on {_e(_when(ts))}\n\n")
    when = f" on {_e(format_date(answered_at))}" if answered_at else ""
    if status == "confirmed":
        return head + f"✅ You confirmed this payment{when}. Thank you!"
    return head + (
        f"🚫 You told us this was not you{when}.\n"
        "We have blocked your card to stop further payments. Our fraud team will call you on your "
        "registered number within 24 hours to review it and issue a new card. "
        "You will not be charged for a payment you did not make while we investigate."
    )


def already_answered_text(status: str, answered_at: dt.datetime | None) -> str:
    """Short answer for a second press (a callback answer: at most 200 characters)."""
    when = f" on {format_date(answered_at)}" if answered_at else ""
    if status == "confirmed":
        return f"You already told us this was you{when}. Nothing changed."
    return f"You already told us this was not you{when}; your card is blocked. Nothing changed."


def fraud_team_report(transaction_id: str, customer_id: str, amount: float, ts: dt.datetime,
                      answered_at: dt.datetime | None) -> str:
    """For the bank's fraud team: ids, amount and time only (no name, DOB, location or chat)."""
    reported = f"\nReported: {_e(answered_at.strftime('%Y-%m-%d %H:%M %Z'))}" if answered_at else ""
    return (
        "🚨 <b>Disputed transaction</b>\n"
        f"Transaction: <code>{_e(transaction_id)}</code>\n"
        f"Customer: <code>{_e(customer_id)}</code>\n"
        f"Amount: {_e(format_inr(amount))}\n"
        f"Time: {_e(_when(ts))}"
        f"{reported}\n"
        "Card block requested by the customer; please call them."
    )
