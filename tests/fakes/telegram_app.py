"""Runs the real FinAssist Application against the fake Bot API server, for tests and the benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from telegram.ext import Application

from bot.container import Services
from bot.telegram.app import build_application, start_services, stop_services
from bot.telegram.context import BotData, bot_data_of
from tests.fakes.telegram_server import FakeTelegramServer


def services_for_fake(services: Services, fake: FakeTelegramServer, admin_ids: Sequence[int] = ()) -> Services:
    """The same store and facade, with a config that points Telegram at the fake."""
    telegram = replace(services.config.telegram, token=fake.token, base_url=fake.base_url,
                       admin_ids=tuple(admin_ids))
    config = replace(services.config, telegram=telegram)
    return Services(config=config, store=services.store, insights=services.insights, extras=services.extras)


@asynccontextmanager
async def running_bot(services: Services, fake: FakeTelegramServer, admin_ids: Sequence[int] = (),
                      **build_options: Any) -> AsyncIterator[Application]:
    """Start the app as `run_polling` would (post_init included), polling the fake; stop it cleanly."""
    wired = services_for_fake(services, fake, admin_ids)
    application = build_application(wired.config, wired, **build_options)
    async with application:
        await start_services(application)   # post_init does not run under `async with`
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
            await stop_services(application)


def data_of(application: Application) -> BotData:
    return bot_data_of(application)
