"""Customer commands (/balance, /spending, /budget, /recommend, /report, /profile) and follow-up buttons.

Each handler asks the facade (in a worker thread) and hands the result to formatting; no figure is made here.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from telegram import Update
from telegram.constants import ParseMode

from bot.telegram import formatting, keyboards
from bot.telegram.context import BotContext
from bot.telegram.handlers.linking import linked_only, reply

log = logging.getLogger(__name__)

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MONTH_NAMES = {name: i for i, name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}

SPENDING_USAGE = ("Usage: <code>/spending</code> (last month), <code>/spending this</code>, "
                  "<code>/spending 2016-09</code> or <code>/spending september</code>.")
REPORT_USAGE = "Usage: <code>/report</code> (last month) or <code>/report 2016-09</code>."


class BadMonth(ValueError):
    """An argument that is not a month we understand."""


def parse_month_argument(args: list[str], as_of_month: str) -> str | None:
    """None = the facade's default (last complete month); 'this' = as_of's month; YYYY-MM; a month name.

    A month name means its latest occurrence not after the analytics clock's month.
    """
    if not args:
        return None
    text = " ".join(args).strip().lower()
    if text in ("last", "last month"):
        return None
    if text in ("this", "this month", "now"):
        return as_of_month
    if MONTH.fullmatch(text):
        return text
    name = MONTH_NAMES.get(text) or next((n for k, n in MONTH_NAMES.items() if len(text) >= 3
                                          and k.startswith(text)), None)
    if name is None:
        raise BadMonth(text)
    year, current = int(as_of_month[:4]), int(as_of_month[5:])
    return f"{year if name <= current else year - 1:04d}-{name:02d}"


@linked_only
async def balance(update: Update, context: BotContext, customer_id: str) -> None:
    assert update.effective_chat is not None
    prefs = await context.run(context.preferences.get, update.effective_chat.id)
    info = await context.run(context.insights.balance, customer_id, prefs.low_balance_threshold)
    await reply(update, formatting.balance_text(info),
                reply_markup=keyboards.follow_ups(spending=True, budget=True))


@linked_only
async def spending(update: Update, context: BotContext, customer_id: str) -> None:
    as_of = await context.run(context.insights.as_of)
    try:
        month = parse_month_argument(list(context.args or []), as_of.strftime("%Y-%m"))
    except BadMonth:
        await reply(update, SPENDING_USAGE)
        return
    summary = await context.run(context.insights.spending, customer_id, month)
    await reply(update, formatting.spending_text(summary), reply_markup=keyboards.follow_ups(
        report=not summary.is_partial, budget=True, why_month=summary.month if summary.changes else None))


@linked_only
async def budget(update: Update, context: BotContext, customer_id: str) -> None:
    plan = await context.run(context.insights.budget, customer_id)
    await reply(update, formatting.budget_text(plan), reply_markup=keyboards.follow_ups(spending=True))


@linked_only
async def recommend(update: Update, context: BotContext, customer_id: str) -> None:
    items = await context.run(context.insights.recommendations, customer_id)
    await reply(update, formatting.recommendations_text(items))


@linked_only
async def profile(update: Update, context: BotContext, customer_id: str) -> None:
    data = await context.run(context.insights.profile, customer_id)
    segment = await context.run(context.insights.segment, customer_id)
    await reply(update, formatting.profile_text(data, segment), reply_markup=keyboards.follow_ups(recommend=True))


async def send_report(update: Update, context: BotContext, customer_id: str, month: str | None) -> None:
    """Summary text, then the chart as a photo (rendered to a temporary file that is removed after upload)."""
    assert update.effective_chat is not None
    with tempfile.TemporaryDirectory(prefix="finassist-report-") as folder:
        chart = Path(folder) / "report.png"
        report = await context.run(context.insights.report, customer_id, month, chart)
        await reply(update, formatting.report_text(report), reply_markup=keyboards.follow_ups(budget=True))
        if report.chart_path and Path(report.chart_path).exists():
            with open(report.chart_path, "rb") as photo:
                await context.bot.send_photo(update.effective_chat.id, photo, filename="report.png",
                                             caption=formatting.report_caption(report), parse_mode=ParseMode.HTML)


@linked_only
async def report(update: Update, context: BotContext, customer_id: str) -> None:
    args = list(context.args or [])
    if len(args) > 1 or (args and not MONTH.fullmatch(args[0])):
        await reply(update, REPORT_USAGE)
        return
    await send_report(update, context, customer_id, args[0] if args else None)


@linked_only
async def follow_up(update: Update, context: BotContext, customer_id: str) -> None:
    """Buttons under answers: See report, Set a budget, Why?, Spending, Suggestions."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "report":
        await send_report(update, context, customer_id, None)
    elif action == "budget":
        plan = await context.run(context.insights.budget, customer_id)
        await reply(update, formatting.budget_text(plan))
    elif action == "why" and len(parts) == 3 and MONTH.fullmatch(parts[2]):
        summary = await context.run(context.insights.spending, customer_id, parts[2])
        await reply(update, formatting.why_text(summary))
    elif action == "spending":
        summary = await context.run(context.insights.spending, customer_id, None)
        await reply(update, formatting.spending_text(summary))
    elif action == "recommend":
        items = await context.run(context.insights.recommendations, customer_id)
        await reply(update, formatting.recommendations_text(items))
    else:
        log.info("unknown follow-up button %r", query.data)
