"""Admin-only /stats, /segments and the /broadcast conversation (target → offer → preview → confirm → send).

Every admin action, and every refused attempt, is written to the audit table. A refusal reveals nothing
about what the command would have done. Sending runs as a background task, paced through the rate limiter,
editing one progress message, so the bot keeps serving while a broadcast goes out.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.services.admin import RETENTION_OFFERS, BroadcastError, StartedBroadcast
from bot.telegram import formatting, keyboards
from bot.telegram.context import BotContext
from bot.telegram.handlers.linking import reply

log = logging.getLogger(__name__)

REFUSAL = "Sorry, I can't help with that."
TARGET, OFFER, WRITE, CONFIRM = range(4)
RESULT_BATCH = 25            # recipients recorded per database write
PROGRESS_EVERY_S = 1.0       # at most one progress edit a second

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
    progress = await reply(update, formatting.progress_text(started.broadcast_id, 0, len(started.treatment), 0))
    context.application.create_task(
        send_broadcast(context, started, draft["message"], update.effective_chat.id, progress.message_id),
        update=update, name=f"broadcast-{started.broadcast_id}")
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


async def send_broadcast(context: BotContext, started: StartedBroadcast, message: str, admin_chat: int,
                         progress_message_id: int) -> dict[str, int]:
    """Send to the treatment group one by one (the rate limiter paces them), recording results in batches."""
    total, done, failed = len(started.treatment), 0, 0
    pending: list[tuple[int, str, str | None]] = []
    last_edit = time.monotonic()

    async def edit(finished: bool = False) -> None:
        try:
            await context.bot.edit_message_text(
                formatting.progress_text(started.broadcast_id, done, total, failed, finished),
                chat_id=admin_chat, message_id=progress_message_id)
        except TelegramError:
            log.warning("could not update broadcast progress", exc_info=True)

    for chat_id, _customer in started.treatment:
        try:
            await context.bot.send_message(chat_id, escape(message), parse_mode=ParseMode.HTML)
            pending.append((chat_id, "sent", None))
        except Forbidden as exc:                # the customer blocked the bot
            failed += 1
            pending.append((chat_id, "failed", str(exc)[:200]))
        except TelegramError as exc:
            failed += 1
            pending.append((chat_id, "failed", str(exc)[:200]))
            log.warning("broadcast %d: a message failed: %s", started.broadcast_id, exc)
        done += 1
        if len(pending) >= RESULT_BATCH:
            await asyncio.to_thread(context.admin.record_results, started.broadcast_id, pending)
            pending = []
        if time.monotonic() - last_edit >= PROGRESS_EVERY_S:
            last_edit = time.monotonic()
            await edit()
    if pending:
        await asyncio.to_thread(context.admin.record_results, started.broadcast_id, pending)
    result = await asyncio.to_thread(context.admin.finish_broadcast, started.broadcast_id)
    await edit(finished=True)
    return result


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
