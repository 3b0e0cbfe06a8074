"""The "Was this you?" buttons: `fraud:yes:<txn>` / `fraud:no:<txn>` callback queries."""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.notify import messages
from bot.services.fraud_checks import ALREADY_ANSWERED, CONFIRMED, DISPUTED, NOT_YOURS, FraudCheckService
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

CALLBACK_PATTERN = r"^fraud:"
_DATA = re.compile(r"^fraud:(yes|no):(.{1,56})$")


def fraud_service(context: BotContext) -> FraudCheckService:
    return FraudCheckService(context.services.store, context.linking)


async def on_fraud_answer(update: Update, context: BotContext) -> None:
    """Store the answer once, edit the question to show it, and on "No" tell the fraud team."""
    query = update.callback_query
    if query is None or query.message is None or update.effective_chat is None:
        return
    match = _DATA.match(query.data or "")
    if not match:
        await query.answer("This button is no longer valid.")
        return
    said_yes, transaction_id = match.group(1) == "yes", match.group(2)
    chat_id = update.effective_chat.id
    services = context.services
    try:
        result = await context.run(fraud_service(context).answer, chat_id, transaction_id, said_yes)
    except Exception:
        await query.answer("Sorry, something went wrong. Please try again in a minute.")
        raise  # the global error handler logs it
    zone = ZoneInfo(services.config.scheduler.timezone)
    answered_local = result.answered_at.astimezone(zone) if result.answered_at else None

    if result.outcome == NOT_YOURS or result.transaction is None:
        await query.answer("This alert is not for this chat, so nothing was changed.", show_alert=True)
        return
    txn = result.transaction
    if result.outcome == ALREADY_ANSWERED:
        await query.answer(messages.already_answered_text(result.status or "", answered_local), show_alert=True)
        return

    await query.answer("Thank you, noted." if result.outcome == CONFIRMED
                       else "Your card is being blocked. Our team will call you.")
    text = messages.answered_text(txn.amount, txn.merchant, txn.location, txn.ts, result.outcome, answered_local)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
    except BadRequest as exc:  # e.g. the message is too old to edit: say it as a new message instead
        log.info("could not edit the fraud question: %s", exc)
        await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    if result.outcome == DISPUTED:
        team_chat = services.config.telegram.fraud_team_chat_id
        if team_chat:
            report = messages.fraud_team_report(txn.transaction_id, txn.customer_id, txn.amount, txn.ts,
                                                 (result.answered_at or dt.datetime.now(dt.UTC)).astimezone(zone))
            try:
                await context.bot.send_message(team_chat, report, parse_mode=ParseMode.HTML)
            except TelegramError:
                log.exception("could not report a disputed transaction to the fraud team chat")
        else:
            log.warning("disputed transaction %s: no fraud_team_chat_id configured", txn.transaction_id)
