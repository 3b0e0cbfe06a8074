"""The one composition root: builds every service from the config once, and closes them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.config import Config
from bot.services.insights import InsightsService
from bot.storage.database import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a channel needs. Channels receive this object; nothing reads globals."""

    config: Config
    store: Store
    insights: InsightsService
    # Filled by build_services for the channels that need them (kept optional so a CLI verb that only reads
    # figures does not pay for an intent model or a Telegram client).
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.store.close()


def build_services(config: Config) -> Services:
    store = open_store(config.storage.target, local_dir=config.storage.local_dir)
    insights = InsightsService(store, config)
    return Services(config=config, store=store, insights=insights)
