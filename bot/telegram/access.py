"""Which chat may see a customer's data: only a private chat linked to that customer, never a group.

Everything the bot answers in a group (a group or supergroup) is read by every member, so a group is treated
exactly like an unlinked chat: no figures, no buttons that lead to figures, and no linking there. This module
is the one place that decides it; `linked_only` (handlers/linking.py), /start, /link and /unlink ask it.
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ChatType

from bot.telegram.context import BotContext

GROUP_BUTTON = "Account details are shown only in a private chat with me, never in a group."


def is_private(update: Update) -> bool:
    """Whether the update comes from a one-to-one chat with the bot (chat type 'private')."""
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def linked_customer(update: Update, context: BotContext) -> str | None:
    """The customer whose data this chat may see: None in a group, or when the private chat is not linked."""
    if not is_private(update):
        return None
    assert update.effective_chat is not None
    return await context.run(context.linking.customer_for_chat, update.effective_chat.id)


def _private_chat(context: BotContext) -> str:
    username = context.bot.username
    return f"a private chat with me (@{escape(username)})" if username else "a private chat with me"


def group_text(context: BotContext) -> str:
    """What a group gets instead of account data (HTML)."""
    return (f"For your privacy I show account details only in {_private_chat(context)}, never in a group: "
            "everyone here would see them. Open the private chat and ask me there.")


def group_link_refusal(context: BotContext) -> str:
    """The answer to /start CODE or /link CODE in a group; the code was not used (HTML)."""
    return (f"For your privacy I link only {_private_chat(context)}, never a group: everyone here would see "
            "your account. Send your code to me there — it has not been used and still works until it expires.")
