"""The "Was this you?" buttons: `fraud:y:<question>` / `fraud:n:<question>` (and older `fraud:yes:<txn>`)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.notify import messages
from bot.services.fraud_checks import (
    ALREADY_ANSWERED,
    CONFIRMED,
    DISPUTED,
    NOT_ASKED,
    NOT_YOURS,
    FraudAnswer,
    FraudCheckService,
)
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

CALLBACK_PATTERN = r"^fraud:"
_QUESTION = re.compile(r"^fraud:(y|n):(\d{1,18})$")      # the question's outbox row id
_LEGACY = re.compile(r"^fraud:(yes|no):(.{1,56})$")       # buttons sent before questions had ids


def fraud_service(context: BotContext) -> FraudCheckService:
    return FraudCheckService(context.services.store, context.linking)


async def on_fraud_answer(update: Update, context: BotContext) -> None:
    """Store the answer once, edit the question to show it, and on "No" tell the fraud team."""
    query = update.callback_query
    if query is None:
        return
    if query.message is None or update.effective_chat is None:
        await query.answer("This button is no longer valid.")
        return
    chat_id = update.effective_chat.id
    services = context.services
    service = fraud_service(context)
    question, legacy = _QUESTION.match(query.data or ""), _LEGACY.match(query.data or "")
    try:
        result: FraudAnswer
        if question:
            result = await context.run(service.answer_question, chat_id, int(question.group(2)),
                                       question.group(1) == "y")
        elif legacy:
            result = await context.run(service.answer, chat_id, legacy.group(2), legacy.group(1) == "yes")
        else:
            await query.answer("This button is no longer valid.")
            return
    except Exception:
        await query.answer("Sorry, something went wrong. Please try again in a minute.")
        raise  # the global error handler logs it
    zone = ZoneInfo(services.config.scheduler.timezone)
    answered_local = result.answered_at.astimezone(zone) if result.answered_at else None

    if result.outcome in (NOT_YOURS, NOT_ASKED) or result.transaction is None:
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
