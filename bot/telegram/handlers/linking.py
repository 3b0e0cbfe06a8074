"""/start [CODE], /link CODE, /unlink, and the guard that keeps unlinked chats and groups away from customer data."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from telegram import Update
from telegram.constants import ParseMode

from bot.services.errors import FinAssistError
from bot.services.linking import ExpiredCode, GroupChat, InvalidCode, LockedOut, UsedCode
from bot.telegram import access, formatting
from bot.telegram.context import BotContext
from bot.telegram.errors import user_message

log = logging.getLogger(__name__)

CustomerHandler = Callable[[Update, BotContext, str], Awaitable[Any]]

WELCOME_LINKED = ("✅ You're linked. I can tell you your balance, spending, budget and more — try /balance, "
                  "/spending or /report, or just ask me in your own words. /help lists everything.")


async def reply(update: Update, text: str, **kwargs: Any) -> Any:
    """Answer in the update's chat as HTML (every caller escapes its dynamic values)."""
    assert update.effective_chat is not None
    return await update.get_bot().send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML,
                                               **kwargs)


def linked_only(handler: CustomerHandler) -> Callable[[Update, BotContext], Awaitable[Any]]:
    """Run `handler` with the chat's customer ID: only a private chat linked to a customer gets there.

    An unlinked chat only learns how to link; a group (every member reads it) is told to use a private chat,
    and a button pressed there is answered with a notice and nothing is posted. Domain errors become one
    sentence here so every customer command answers them the same way.
    """

    @functools.wraps(handler)
    async def wrapper(update: Update, context: BotContext) -> Any:
        query = update.callback_query
        if update.effective_chat is None:
            if query is not None:
                await query.answer()
            return None
        customer_id = await access.linked_customer(update, context)
        if customer_id is None:
            if not access.is_private(update):
                if query is not None:
                    return await query.answer(access.GROUP_BUTTON, show_alert=True)
                return await reply(update, access.group_text(context))
            if query is not None:
                await query.answer()
            return await reply(update, formatting.LINK_HELP)
        try:
            return await handler(update, context, customer_id)
        except FinAssistError as exc:
            log.info("domain error answered to a customer: %s", type(exc).__name__)
            if query is not None:
                await query.answer()
            return await reply(update, escape(user_message(exc)))

    return wrapper


def link_error_text(error: Exception) -> str:
    if isinstance(error, GroupChat):
        return "I link only private chats. Send your code to me in a private chat."
    if isinstance(error, LockedOut):
        return "Too many wrong codes from this chat. Please wait 15 minutes and try again."
    if isinstance(error, ExpiredCode):
        return "That link code has expired. Ask your bank for a new one."
    if isinstance(error, UsedCode):
        return "That link code was already used. Ask your bank for a new one."
    if isinstance(error, InvalidCode):
        return "That link code is not valid. Check it and try again: <code>/link CODE</code>."
    return "Sorry, I couldn't link this chat."


async def _link(update: Update, context: BotContext, code: str) -> None:
    assert update.effective_chat is not None
    if not access.is_private(update):  # refused before the code is looked at: it stays unused
        await reply(update, access.group_link_refusal(context))
        return
    user_id = update.effective_user.id if update.effective_user else None
    try:
        await context.run(context.linking.redeem, update.effective_chat.id, user_id, code)
    except (InvalidCode, ExpiredCode, UsedCode, LockedOut, GroupChat) as exc:
        await reply(update, link_error_text(exc))
        return
    await reply(update, WELCOME_LINKED)


async def start(update: Update, context: BotContext) -> None:
    """Deep links arrive as /start CODE; a bare /start greets and explains."""
    if context.args:
        await _link(update, context, context.args[0])
        return
    if not access.is_private(update):
        await reply(update, "👋 Hi! I'm FinAssist, your bank's assistant.\n\n" + access.group_text(context))
        return
    customer_id = await access.linked_customer(update, context)
    if customer_id is None:
        await reply(update, "👋 Hi! I'm FinAssist, your bank's assistant.\n\n" + formatting.LINK_HELP)
    else:
        await reply(update, "👋 Welcome back! " + WELCOME_LINKED)


async def link(update: Update, context: BotContext) -> None:
    if len(context.args or []) != 1:
        await reply(update, "Usage: <code>/link CODE</code> — the one-time code from your bank.")
        return
    await _link(update, context, context.args[0])


async def unlink(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    if not access.is_private(update):  # a group is never linked; it cannot touch anyone's private link
        await reply(update, access.group_text(context))
        return
    removed = await context.run(context.linking.unlink, update.effective_chat.id)
    if removed:
        await reply(update, "This chat is no longer linked. Your data stays with the bank; I won't show it here.")
    else:
        await reply(update, "This chat wasn't linked.")
