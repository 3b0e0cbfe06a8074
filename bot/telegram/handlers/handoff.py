"""/human, "talk to a person" and the offer button hand the conversation to the bank's support chat; staff
replies there come back to the customer. The rules live in bot/services/handoff.py; this only talks Telegram."""

from __future__ import annotations

import logging
from html import escape

from telegram import Bot, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.services.handoff import SupportUnreachable
from bot.telegram.context import BotContext
from bot.telegram.handlers.linking import linked_only, reply

log = logging.getLogger(__name__)


class TelegramSupportChannel:
    """The service's SupportChannel over the Bot API: a failed call becomes SupportUnreachable."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, html_text: str, reply_to: int | None = None) -> int:
        try:
            message = await self.bot.send_message(
                chat_id, html_text, parse_mode=ParseMode.HTML,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None)
        except TelegramError as exc:
            raise SupportUnreachable(f"{type(exc).__name__}: {exc}") from exc
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, html_text: str) -> None:
        try:
            await self.bot.edit_message_text(html_text, chat_id=chat_id, message_id=message_id,
                                             parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            raise SupportUnreachable(f"{type(exc).__name__}: {exc}") from exc


def _conversation_id(update: Update) -> str:
    assert update.effective_chat is not None
    return f"tg:{update.effective_chat.id}"     # the assistant's conversation key for this chat (handlers/text.py)


async def open_handoff(update: Update, context: BotContext, customer_id: str, question: str, source: str) -> None:
    """Open or add to this chat's handoff and tell the customer what happens next."""
    assert update.effective_chat is not None
    assistant = context.assistant
    turns = assistant.recent_turns(_conversation_id(update), customer_id) if assistant is not None else ()
    if source == "assistant" and turns and turns[-1][0] == question:
        turns = turns[:-1]                  # the request itself is the question, not context
    result = await context.handoff.request(chat_id=update.effective_chat.id, customer_id=customer_id,
                                           question=question, turns=turns, source=source,
                                           channel=TelegramSupportChannel(context.bot))
    await reply(update, escape(result.text, quote=False))


@linked_only
async def human(update: Update, context: BotContext, customer_id: str) -> None:
    """/human [question]: hand the conversation to a person."""
    await open_handoff(update, context, customer_id, " ".join(context.args or []), "command")


@linked_only
async def on_offer_button(update: Update, context: BotContext, customer_id: str) -> None:
    """The "Talk to a person" button under an answer that could not help: the last question goes along."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    assistant = context.assistant
    turns = assistant.recent_turns(_conversation_id(update), customer_id) if assistant is not None else ()
    await open_handoff(update, context, customer_id, turns[-1][0] if turns else "", "offer")


async def on_support_reply(update: Update, context: BotContext) -> None:
    """A reply in the support chat: to a handoff message it goes to the customer (and nothing else runs)."""
    message = update.effective_message
    if message is None or message.reply_to_message is None or update.effective_chat is None:
        return
    result = await context.handoff.staff_reply(support_chat_id=update.effective_chat.id,
                                               replied_to=message.reply_to_message.message_id,
                                               text=message.text or message.caption or "",
                                               channel=TelegramSupportChannel(context.bot))
    if result.outcome == "not_a_handoff":
        return          # any other reply in that chat is handled as usual
    if result.note:
        try:
            await message.reply_text(escape(result.note, quote=False), parse_mode=ParseMode.HTML)
        except TelegramError:
            log.warning("could not answer in the support chat about handoff %s", result.reference)
    raise ApplicationHandlerStop
