"""The one global error handler, and the sentences domain errors turn into at the channel edge."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.services.errors import CustomerNotFound, FinAssistError, InvalidMonth, NoData, NotTrained
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."


def user_message(error: FinAssistError) -> str:
    """One plain sentence for a domain error (no internals, no customer data)."""
    if isinstance(error, CustomerNotFound):
        return "I can't find your account data right now. Please contact the bank, or link again with /link."
    if isinstance(error, InvalidMonth):
        return "I don't have data for that month. Try a month like 2016-09."
    if isinstance(error, NoData):
        return "There is no data for that period yet."
    if isinstance(error, NotTrained):
        return "That figure isn't ready yet — the bank is still preparing it. Please try again later."
    return "Sorry, I couldn't do that."


async def on_error(update: object, context: BotContext) -> None:
    """Log with the traceback and answer briefly; never let one update stop the bot."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("a chat blocked the bot: %s", error)
        return
    log.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, APOLOGY)
    except TelegramError:
        log.warning("could not send the apology", exc_info=True)
