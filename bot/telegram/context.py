"""The typed CallbackContext: the only code that reads `bot_data`, so handlers see named services, not a dict."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Config
from bot.container import Services
from bot.notify.clock import Clock
from bot.notify.runner import Notifier
from bot.services.admin import AdminService
from bot.services.handoff import HandoffService
from bot.services.insights import InsightsService
from bot.services.linking import LinkingService
from bot.services.preferences import PreferencesService
from bot.telegram.insights_cache import CachedInsights

T = TypeVar("T")


class BotData:
    """Services shared by every handler; filled by `attach` in post_init, emptied in post_shutdown."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self.linking: LinkingService | None = None
        self.preferences: PreferencesService | None = None
        self.admin: AdminService | None = None
        self.handoff: HandoffService | None = None   # /human: requests for a person (bot/services/handoff.py)
        self.insights: Any = None            # the facade behind a short read-through cache (insights_cache.py)
        self.assistant: Any = None           # bot.llm.assistant object, or None until that module exists
        self.notifier: Notifier | None = None   # the outbox's checks and sender (post_init builds it)
        self.clock: Clock | None = None          # the notifier's time source (tests inject one)
        self.owns_services = False
        self.extras: dict[str, Any] = {}     # build options carried to post_init

    def attach(self, services: Services, *, control_share: float = 0.10, owns_services: bool = False,
               insights_cache_ttl: float = 30.0) -> None:
        self.services = services
        self.insights = (CachedInsights(services.insights, ttl=insights_cache_ttl) if insights_cache_ttl > 0
                         else services.insights)
        self.linking = LinkingService(services.store, customer_exists=services.insights.customer_exists)
        self.preferences = PreferencesService(services.store, services.config)
        clock = self.clock
        self.admin = AdminService(services.store, services.config, control_share=control_share,
                                  clock=clock.now if clock is not None else None, as_of=services.insights.as_of)
        self.handoff = HandoffService(services.store, services.config, insights=services.insights,
                                      customer_for_chat=self.linking.customer_for_chat,
                                      clock=clock.now if clock is not None else None)
        self.owns_services = owns_services

    def require(self) -> Services:
        if self.services is None:
            raise RuntimeError("bot services are not started (post_init has not run)")
        return self.services


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    """CallbackContext with typed access to the services; `run` moves blocking work off the event loop."""

    @property
    def services(self) -> Services:
        return self.bot_data.require()

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def insights(self) -> InsightsService:
        """The facade (through the bot's short cache): every figure a handler shows comes from here."""
        self.bot_data.require()
        return self.bot_data.insights  # type: ignore[no-any-return]

    @property
    def linking(self) -> LinkingService:
        self.bot_data.require()
        assert self.bot_data.linking is not None
        return self.bot_data.linking

    @property
    def preferences(self) -> PreferencesService:
        self.bot_data.require()
        assert self.bot_data.preferences is not None
        return self.bot_data.preferences

    @property
    def admin(self) -> AdminService:
        self.bot_data.require()
        assert self.bot_data.admin is not None
        return self.bot_data.admin

    @property
    def handoff(self) -> HandoffService:
        self.bot_data.require()
        assert self.bot_data.handoff is not None
        return self.bot_data.handoff

    @property
    def assistant(self) -> Any:
        return self.bot_data.assistant

    @staticmethod
    async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """sqlite-utils and pandas are synchronous: run them in a worker thread."""
        return await asyncio.to_thread(function, *args, **kwargs)


def bot_data_of(application: Application) -> BotData:
    """For code that holds an Application rather than a context (post_init, jobs, the notify area)."""
    data = application.bot_data
    if not isinstance(data, BotData):
        raise TypeError("the application was not built with bot.telegram.app.build_application")
    return data
