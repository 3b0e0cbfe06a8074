"""Free text goes to the assistant (bot.llm.assistant); unknown commands get a pointer to /help, and a button
no handler knows is still answered, so its spinner stops."""

from __future__ import annotations

import logging
from html import escape

from telegram import Update

from bot.telegram import keyboards
from bot.telegram.context import BotContext
from bot.telegram.handlers.handoff import open_handoff
from bot.telegram.handlers.linking import linked_only, reply

log = logging.getLogger(__name__)

NO_ASSISTANT = ("I can't answer free questions yet. Try /balance, /spending, /budget, /report or /help.")
MAX_QUESTION = 1000


@linked_only
async def free_text(update: Update, context: BotContext, customer_id: str) -> None:
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    question = (message.text or "")[:MAX_QUESTION]
    assistant = context.assistant
    if assistant is None:
        await reply(update, NO_ASSISTANT)
        return
    answer = await assistant.answer(customer_id, question, f"tg:{update.effective_chat.id}")
    if getattr(answer, "action", None) == "handoff":     # "talk to a human": a person takes it from here
        await open_handoff(update, context, customer_id, question, "assistant")
        return
    text = escape(answer.text or "")
    commands = [s for s in (getattr(answer, "suggestions", ()) or ()) if isinstance(s, str) and s.startswith("/")]
    if commands:
        text += "\n\nTry: " + ", ".join(escape(c) for c in commands[:4])
    markup = keyboards.handoff_offer() if getattr(answer, "offer_handoff", False) else None
    await reply(update, text[:4000] or escape(NO_ASSISTANT), reply_markup=markup)


async def unknown_command(update: Update, context: BotContext) -> None:
    await reply(update, "I don't know that command. /help lists what I can do.")


STALE_BUTTON = "This button is no longer valid."


async def unknown_button(update: Update, context: BotContext) -> None:
    """The catch-all for callback data no other handler matched (old keyboards, forged data)."""
    query = update.callback_query
    if query is None:
        return
    log.info("unmatched button data (%d bytes) answered", len((query.data or "").encode()))
    await query.answer(STALE_BUTTON)
