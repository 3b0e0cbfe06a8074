"""/alerts: inline buttons switch each proactive message kind, pick a low-balance threshold and quiet hours."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.telegram import formatting, keyboards
from bot.telegram.context import BotContext
from bot.telegram.handlers.linking import linked_only, reply


@linked_only
async def alerts(update: Update, context: BotContext, customer_id: str) -> None:
    assert update.effective_chat is not None
    prefs = await context.run(context.preferences.get, update.effective_chat.id)
    await reply(update, formatting.alerts_text(prefs), reply_markup=keyboards.alerts_keyboard(prefs))


@linked_only
async def on_alerts_button(update: Update, context: BotContext, customer_id: str) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    chat_id = update.effective_chat.id
    _, action, *rest = query.data.split(":", 2) + [""]
    value = rest[0] if rest else ""
    if action == "done":
        await query.answer("Saved")
        await query.edit_message_reply_markup(None)
        return
    if action == "t" and value in keyboards.ALERTS_KINDS:
        prefs = await context.run(context.preferences.toggle, chat_id, value)
        note = f"{formatting.KIND_LABELS[value]}: {'on' if prefs.enabled(value) else 'off'}"
    elif action == "thr" and value.isdigit() and int(value) in keyboards.THRESHOLD_PRESETS:
        prefs = await context.run(context.preferences.update, chat_id, low_balance_threshold=float(value))
        note = "Threshold updated"
    elif action == "qh" and value in {keyboards.quiet_code(q) for q in keyboards.QUIET_PRESETS}:
        prefs = await context.run(context.preferences.update, chat_id, quiet_hours=keyboards.quiet_window(value))
        note = "Quiet hours updated"
    else:
        await query.answer("That button is no longer valid.")
        return
    await query.answer(note)
    try:
        await query.edit_message_text(formatting.alerts_text(prefs), parse_mode=ParseMode.HTML,
                                      reply_markup=keyboards.alerts_keyboard(prefs))
    except BadRequest as exc:  # pressing the current preset changes nothing: Telegram says "not modified"
        if "not modified" not in str(exc).lower():
            raise
