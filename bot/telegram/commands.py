"""The one command registry: it feeds add_handler, setMyCommands and /help, so the three never disagree."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import Application, BaseHandler, CommandHandler

from bot.telegram.context import BotContext
from bot.telegram.handlers import admin, alerts, customer, handoff, linking
from bot.telegram.handlers.linking import reply

log = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Awaitable[Any]]


@dataclass(frozen=True)
class BotCommandSpec:
    name: str
    description: str                     # shown in Telegram's menu (3-256 chars)
    callback: Callback
    usage: str = ""                      # arguments shown in /help, e.g. "[YYYY-MM]"
    admin: bool = False
    conversation: Callable[[Callback], BaseHandler] | None = None   # builds a ConversationHandler instead

    def handler(self) -> BaseHandler:
        if self.conversation is not None:
            return self.conversation(self.callback)
        # block=False: customer commands run concurrently; the broadcast conversation stays sequential.
        return CommandHandler(self.name, self.callback, block=False)


async def help_command(update: Update, context: BotContext) -> None:
    user_id = update.effective_user.id if update.effective_user else None
    await reply(update, help_text(is_admin=context.admin.is_admin(user_id)))


COMMANDS: tuple[BotCommandSpec, ...] = (
    BotCommandSpec("start", "Start, or link with the code from your bank", linking.start, "[CODE]"),
    BotCommandSpec("link", "Link this chat with a one-time code", linking.link, "CODE"),
    BotCommandSpec("unlink", "Forget this chat's link", linking.unlink),
    BotCommandSpec("help", "What I can do", help_command),
    BotCommandSpec("balance", "Your balance and its trend", customer.balance),
    BotCommandSpec("spending", "Spending by category for a month", customer.spending, "[month]"),
    BotCommandSpec("budget", "A suggested monthly budget", customer.budget),
    BotCommandSpec("recommend", "Products that fit how you bank", customer.recommend),
    BotCommandSpec("report", "Monthly report with a chart", customer.report, "[YYYY-MM]"),
    BotCommandSpec("alerts", "Choose your alerts, threshold and quiet hours", alerts.alerts),
    BotCommandSpec("profile", "What the bank's data says about you", customer.profile),
    BotCommandSpec("human", "Talk to a person at the bank", handoff.human, "[question]"),
    BotCommandSpec("stats", "Bot statistics", admin.stats, admin=True),
    BotCommandSpec("segments", "Customer segments and churn risk", admin.segments, admin=True),
    BotCommandSpec("broadcast", "Send a retention offer to a target group", admin.broadcast_start, admin=True,
                   conversation=admin.broadcast_conversation),
)


def help_text(is_admin: bool = False, commands: Sequence[BotCommandSpec] = COMMANDS) -> str:
    from html import escape

    lines = ["<b>What I can do</b>"]
    for spec in commands:
        if spec.admin:
            continue
        lines.append(f"/{spec.name} {escape(spec.usage)}".rstrip() + f" — {escape(spec.description)}")
    lines.append("\nOr just ask in your own words, e.g. <i>how much did I spend on dining last month?</i>")
    if is_admin:
        lines.append("\n<b>Admin</b>")
        lines += [f"/{s.name} — {escape(s.description)}" for s in commands if s.admin]
    return "\n".join(lines)


def add_command_handlers(application: Application, commands: Sequence[BotCommandSpec] = COMMANDS) -> None:
    # Conversations first: while an admin is inside /broadcast, their plain text belongs to it.
    for spec in sorted(commands, key=lambda s: s.conversation is None):
        application.add_handler(spec.handler())


async def register_menu(application: Application, admin_ids: Sequence[int],
                        commands: Sequence[BotCommandSpec] = COMMANDS) -> None:
    """setMyCommands: customer commands for everyone; the admin ones too in each admin's private chat."""
    public = [BotCommand(s.name, s.description) for s in commands if not s.admin]
    everything = [BotCommand(s.name, s.description) for s in commands]
    await application.bot.set_my_commands(public, scope=BotCommandScopeDefault())
    for admin_id in admin_ids:
        try:
            await application.bot.set_my_commands(everything, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:  # an admin who never opened the bot has no chat yet
            log.info("admin menu not set for one admin: %s", exc)
