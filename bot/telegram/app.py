"""Builds the Telegram Application: one composition point for handlers, services, rate limiting and errors.

Handler order (group 0, first match wins):
  1. the /broadcast conversation (so an admin's typed offer is not taken for a question)
  2. every other command from the registry (commands.py)
  3. "Was this you?" answers (fraud:…), follow-up buttons (go:…), alert settings (al:…), the offer of a
     person (hd:…)
  4. unknown commands, then free text to the assistant, then any other button (answered so it stops spinning)
Group -1, before all of them: replies in the support chat to a handoff message go to the customer (and stop
there); any other message passes on to group 0 untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config import Config
from bot.container import Services, build_services
from bot.llm.assistant import build_assistant
from bot.notify.clock import Clock
from bot.notify.runner import Notifier
from bot.notify.scheduler import install_jobs
from bot.notify.sender import sender_bot
from bot.telegram import commands, keyboards
from bot.telegram.context import BotContext, BotData, bot_data_of
from bot.telegram.errors import on_error
from bot.telegram.handlers import admin, alerts, customer, fraud, handoff, text

log = logging.getLogger(__name__)


def webhook_secret_token(bot_token: str) -> str:
    """Telegram echoes this in X-Telegram-Bot-Api-Secret-Token; PTB rejects webhook posts without it.

    Without it anyone who finds the webhook URL could post forged updates (any chat, any user, admins too).
    Derived from the bot token, so it is stable across restarts and needs no extra config.
    """
    return hmac.new(bot_token.encode(), b"finassist-webhook", hashlib.sha256).hexdigest()


def file_url_for(base_url: str) -> str:
    """PTB's base_file_url for a base_url: https://api.telegram.org/bot -> https://api.telegram.org/file/bot."""
    root = base_url[: -len("/bot")] if base_url.endswith("/bot") else base_url.rstrip("/")
    return f"{root}/file/bot"


# At DEBUG, PTB logs each Bot API URL (it holds the token) and every call's parameters: customers' messages
# with their figures, the webhook URL and its secret token. Those loggers never go below INFO.
_BOT_API_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot")


def quiet_bot_api_loggers() -> None:
    """Keep the Bot API request loggers at INFO or above, even with `-v` (a debug root logger)."""
    for name in _BOT_API_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def build_application(config: Config, services: Services | None = None, *, control_share: float | None = None,
                      overall_max_rate: float = 30, group_max_rate: float = 20, max_retries: int = 3,
                      connection_pool_size: int = 64, insights_cache_ttl: float = 30.0,
                      clock: Clock | None = None) -> Application:
    """The bot, not started. With `services=None` they are built in post_init and closed in post_shutdown.

    `overall_max_rate=0` turns off pacing (benchmarks against a local fake); retries on 429 stay on for
    replies. Proactive messages go through the notifier's own Bot, without those retries (a 429 there defers
    one chat instead of pausing everything). `clock` is the notifier's time source (tests inject one).
    """
    if not config.telegram.token:
        raise ValueError("no Telegram bot token: set [telegram] token or TELEGRAM_BOT_TOKEN")
    quiet_bot_api_loggers()
    limiter = AIORateLimiter(overall_max_rate=overall_max_rate, overall_time_period=1,
                             group_max_rate=group_max_rate, group_time_period=60, max_retries=max_retries)
    application = (
        ApplicationBuilder()
        .token(config.telegram.token)
        .base_url(config.telegram.base_url)
        .base_file_url(file_url_for(config.telegram.base_url))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .rate_limiter(limiter)
        .connection_pool_size(connection_pool_size)
        .pool_timeout(10.0)
        .post_init(start_services)
        .post_shutdown(stop_services)
        .build()
    )
    data = bot_data_of(application)
    data.clock = clock
    data.extras["config"] = config
    data.extras["control_share"] = (
        config.telegram.broadcast_control_share if control_share is None else control_share)
    data.extras["insights_cache_ttl"] = insights_cache_ttl
    if services is not None:
        data.extras["prebuilt_services"] = services
    add_handlers(application, support_chat_id=config.telegram.support_chat_id or config.telegram.fraud_team_chat_id)
    return application


def add_handlers(application: Application, support_chat_id: int = 0) -> None:
    if support_chat_id:
        application.add_handler(MessageHandler(filters.Chat(chat_id=support_chat_id) & filters.REPLY,
                                               handoff.on_support_reply), group=-1)
    commands.add_command_handlers(application)
    application.add_handler(CallbackQueryHandler(fraud.on_fraud_answer, pattern=r"^fraud:"))
    application.add_handler(CallbackQueryHandler(customer.follow_up, pattern=rf"^{keyboards.FOLLOW_UP}:",
                                                 block=False))
    application.add_handler(CallbackQueryHandler(alerts.on_alerts_button, pattern=rf"^{keyboards.ALERTS}:",
                                                 block=False))
    application.add_handler(CallbackQueryHandler(handoff.on_offer_button, pattern=rf"^{keyboards.HANDOFF}:open$",
                                                 block=False))
    application.add_handler(MessageHandler(filters.COMMAND, text.unknown_command, block=False))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text.free_text, block=False))
    application.add_handler(CallbackQueryHandler(text.unknown_button, block=False))   # last: nothing else matched
    application.add_error_handler(on_error)


async def start_services(application: Application) -> None:
    """post_init: build or adopt the services, the assistant, the command menu and the notify jobs.

    Tests that run the app with `async with application` call this themselves (post_init does not run there).
    """
    data = bot_data_of(application)
    config: Config = data.extras["config"]
    prebuilt = data.extras.pop("prebuilt_services", None)
    services = prebuilt or await asyncio.to_thread(build_services, config)
    data.attach(services, control_share=data.extras["control_share"], owns_services=prebuilt is None,
                insights_cache_ttl=data.extras["insights_cache_ttl"])
    data.assistant = await asyncio.to_thread(build_assistant, config, data.insights)
    await commands.register_menu(application, config.telegram.admin_ids)
    outbox_bot = sender_bot(services.config)
    await outbox_bot.initialize()
    assert data.admin is not None
    data.notifier = Notifier.from_services(services, outbox_bot, linking=data.linking, preferences=data.preferences,
                                           clock=data.clock,
                                           on_progress=admin.progress_reporter(outbox_bot, data.admin))
    install_jobs(application.job_queue, data.notifier, services.config.scheduler)
    log.info("bot services started")


async def stop_services(application: Application) -> None:
    """post_shutdown: close the assistant and the services this application built."""
    data = bot_data_of(application)
    if data.notifier is not None:
        await data.notifier.sender.bot.shutdown()
        data.notifier = None
    closer = getattr(data.assistant, "aclose", None)
    if closer is not None:
        await closer()
    if data.services is not None and data.owns_services:
        data.services.close()
    data.services = None
    log.info("bot services stopped")
