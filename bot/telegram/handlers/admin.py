"""Admin-only /stats, /segments and the /broadcast conversation (target → offer → preview → confirm → send).

Every admin action, and every refused attempt, is written to the audit table. A refusal reveals nothing
about what the command would have done. Confirming queues the broadcast in the outbox and starts a send pass
in the background; the admin's progress message is edited from the outbox rows by every pass that delivers
some of them (after a restart too), until it says Finished.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.notify.runner import Notifier
from bot.notify.sender import ProgressHook
from bot.services.admin import RETENTION_OFFERS, AdminService, BroadcastError
from bot.telegram import formatting, keyboards
from bot.telegram.context import BotContext
from bot.telegram.handlers.linking import reply

log = logging.getLogger(__name__)

REFUSAL = "Sorry, I can't help with that."
TARGET, OFFER, WRITE, CONFIRM = range(4)

Handler = Callable[[Update, BotContext], Awaitable[Any]]


def admin_only(action: str) -> Callable[[Handler], Handler]:
    """Refuse non-admins (and audit the attempt); audit the admin's action otherwise."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: BotContext) -> Any:
            user_id = update.effective_user.id if update.effective_user else None
            chat_id = update.effective_chat.id if update.effective_chat else None
            if not context.admin.is_admin(user_id):
                await context.run(context.admin.audit, user_id or 0, chat_id, "denied", command=action)
                if update.callback_query is not None:
                    await update.callback_query.answer()
                await reply(update, REFUSAL)
                return ConversationHandler.END
            await context.run(context.admin.audit, user_id or 0, chat_id, action)
            return await handler(update, context)

        return wrapper

    return decorate


@admin_only("stats")
async def stats(update: Update, context: BotContext) -> None:
    figures = await context.run(context.admin.stats)
    await reply(update, formatting.stats_text(figures))


@admin_only("segments")
async def segments(update: Update, context: BotContext) -> None:
    rows = await context.run(context.admin.segments)
    auc = await context.run(context.admin.churn_model_auc)
    method = await context.run(context.admin.churn_method)
    await reply(update, formatting.segments_text(rows, churn_auc=auc, churn_method=method))


# ---- /broadcast conversation --------------------------------------------------------------------------
@admin_only("broadcast_start")
async def broadcast_start(update: Update, context: BotContext) -> int:
    rows = await context.run(context.admin.segments)
    context.chat_data["broadcast"] = {"personas": {r.segment: r.persona for r in rows}}
    await reply(update, "📣 <b>New broadcast.</b> Who should receive it?",
                reply_markup=keyboards.broadcast_targets([(r.segment, r.persona, r.size) for r in rows]))
    return TARGET


@admin_only("broadcast_target")
async def choose_target(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    parts = query.data.split(":")         # bc:t:all | bc:t:seg:<n> | bc:t:churn:<levels>
    kind = {"all": "all", "seg": "segment", "churn": "churn"}.get(parts[2] if len(parts) > 2 else "", "")
    value = parts[3] if len(parts) > 3 else None
    try:
        plan = await context.run(context.admin.plan_broadcast, kind, value)
    except BroadcastError as exc:
        await reply(update, escape(str(exc)))
        return ConversationHandler.END
    draft = context.chat_data.setdefault("broadcast", {})
    draft["plan"] = plan
    draft["label"] = formatting.target_label(kind, value, draft.get("personas"))
    offers = "\n".join(f"{i + 1}. {escape(o)}" for i, o in enumerate(RETENTION_OFFERS))
    await query.edit_message_text(
        f"Target: {draft['label']} — {len(plan.audience)} chats.\n\nPick a retention offer or write your own:\n"
        f"{offers}", parse_mode=ParseMode.HTML, reply_markup=keyboards.broadcast_offers(RETENTION_OFFERS))
    return OFFER


async def _preview(update: Update, context: BotContext, message: str) -> int:
    draft = context.chat_data["broadcast"]
    draft["message"] = message
    await reply(update, formatting.broadcast_preview(draft["plan"], message, draft["label"]),
                reply_markup=keyboards.broadcast_confirm())
    return CONFIRM


@admin_only("broadcast_offer")
async def choose_offer(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    if query.data == f"{keyboards.BROADCAST}:write":
        await reply(update, "Send me the text of the offer (plain text, up to 3,500 characters).")
        return WRITE
    index = int(query.data.rsplit(":", 1)[1])
    if not 0 <= index < len(RETENTION_OFFERS):
        return OFFER
    return await _preview(update, context, RETENTION_OFFERS[index])


@admin_only("broadcast_write")
async def written_offer(update: Update, context: BotContext) -> int:
    text = (update.effective_message.text if update.effective_message else "") or ""
    if not text.strip() or len(text) > 3500:
        await reply(update, "The offer must be between 1 and 3,500 characters. Send it again.")
        return WRITE
    return await _preview(update, context, text.strip())


@admin_only("broadcast_confirm")
async def confirm(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None and update.effective_user is not None and update.effective_chat is not None
    await query.answer()
    draft = context.chat_data.pop("broadcast", {})
    if "plan" not in draft or "message" not in draft:
        await reply(update, "This broadcast has expired. Start again with /broadcast.")
        return ConversationHandler.END
    started = await context.run(context.admin.start_broadcast, update.effective_user.id, draft["plan"],
                                draft["message"])
    await query.edit_message_reply_markup(None)
    progress = await context.run(context.admin.broadcast_progress, started.broadcast_id)
    message = await reply(update, formatting.progress_text(progress))
    await context.run(context.admin.set_progress_message, started.broadcast_id, update.effective_chat.id,
                      message.message_id)
    notifier = context.bot_data.notifier
    if notifier is not None:   # else the next scan sends it
        context.application.create_task(deliver_now(notifier, started.broadcast_id), update=update,
                                        name=f"broadcast-{started.broadcast_id}")
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    context.chat_data.pop("broadcast", None)
    if update.callback_query is not None:
        await update.callback_query.answer()
        try:
            await update.callback_query.edit_message_reply_markup(None)
        except BadRequest:
            pass
    user_id = update.effective_user.id if update.effective_user else 0
    if context.admin.is_admin(user_id):
        await context.run(context.admin.audit, user_id, update.effective_chat.id if update.effective_chat else None,
                          "broadcast_cancel")
    await reply(update, "Broadcast cancelled. Nothing was sent.")
    return ConversationHandler.END


async def deliver_now(notifier: Notifier, broadcast_id: int) -> None:
    """A send pass right after the admin confirms (the scan would take up to scan_every_minutes)."""
    try:
        await notifier.sender.drain()
    except Exception:  # the rows stay queued: the next scan goes on with them
        log.exception("broadcast %d: the send pass failed; the next scan resumes it", broadcast_id)
    hook = notifier.sender.on_progress
    if hook is not None:   # e.g. everyone is in quiet hours: say so
        await hook(frozenset({broadcast_id}))


def progress_reporter(bot: Bot, admin: AdminService) -> ProgressHook:
    """What the notifier calls with the broadcasts a pass advanced: edit each one's progress message."""

    async def report(broadcast_ids: frozenset[int]) -> None:
        for progress, chat_id, message_id in await asyncio.to_thread(admin.progress_messages, broadcast_ids):
            try:
                await bot.edit_message_text(formatting.progress_text(progress), chat_id=chat_id,
                                            message_id=message_id, parse_mode=ParseMode.HTML)
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    log.warning("could not update broadcast progress: %s", exc)
            except TelegramError as exc:
                log.warning("could not update broadcast progress: %s", exc)

    return report


def broadcast_conversation(entry: Handler) -> ConversationHandler:
    """The /broadcast flow; per chat and user, so two admins can prepare broadcasts at once."""
    prefix = keyboards.BROADCAST
    cancel_button = CallbackQueryHandler(cancel, pattern=rf"^{prefix}:no$")
    with warnings.catch_warnings():
        # per_message=False is deliberate: the flow spans several messages of one admin chat.
        warnings.filterwarnings("ignore", message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=[CommandHandler("broadcast", entry)],
            states={
                TARGET: [CallbackQueryHandler(choose_target, pattern=rf"^{prefix}:t:"), cancel_button],
                OFFER: [CallbackQueryHandler(choose_offer, pattern=rf"^{prefix}:(o:\d+|write)$"), cancel_button],
                WRITE: [MessageHandler(filters.TEXT & ~filters.COMMAND, written_offer)],
                CONFIRM: [CallbackQueryHandler(confirm, pattern=rf"^{prefix}:ok$"), cancel_button],
            },
            fallbacks=[CommandHandler("cancel", cancel), cancel_button],
            name="broadcast",
            allow_reentry=True,
        )
