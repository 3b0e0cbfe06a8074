"""Each chat's choice of proactive messages, low-balance threshold and quiet hours (defaults from config)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.config import Config
from bot.services.errors import FinAssistError
from bot.storage.database import Store
from bot.storage.preferences import PreferenceStore

QUIET_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
ALERT_KINDS = ("low_balance", "unusual", "monthly", "offers", "trend", "forecast", "recurring")


class InvalidPreference(FinAssistError):
    """A preference change with an unknown name or a value of the wrong kind."""


@dataclass(frozen=True)
class AlertPreferences:
    low_balance: bool
    unusual: bool
    monthly: bool
    offers: bool
    low_balance_threshold: float
    quiet_hours: str                  # "22:00-08:00"; "" would mean none, but we always keep a window
    # Added with migration 0008_alert_kinds (on by default, like the four before them):
    trend: bool = True                # spending trend after a month closes, budget pace mid-month
    forecast: bool = True             # low balance forecast before it happens
    recurring: bool = True            # a subscription's price rise, a bill charged twice

    def enabled(self, kind: str) -> bool:
        return bool(getattr(self, kind))


class PreferencesService:
    """Read and change one chat's alert preferences; a chat that never chose gets the config defaults."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.rows = PreferenceStore(store)
        self.defaults = AlertPreferences(
            low_balance=True, unusual=True, monthly=True, offers=True,
            low_balance_threshold=float(config.analytics.low_balance_threshold),
            quiet_hours=config.scheduler.quiet_hours,
        )

    def get(self, chat_id: int) -> AlertPreferences:
        row = self.rows.get(chat_id)
        if row is None:
            return self.defaults
        return AlertPreferences(
            low_balance=bool(row["low_balance"]), unusual=bool(row["unusual"]), monthly=bool(row["monthly"]),
            offers=bool(row["offers"]), low_balance_threshold=float(row["low_balance_threshold"]),
            quiet_hours=str(row["quiet_hours"]), trend=bool(row["trend"]), forecast=bool(row["forecast"]),
            recurring=bool(row["recurring"]),
        )

    def update(self, chat_id: int, **changes: Any) -> AlertPreferences:
        """Apply validated changes and store the full row."""
        for name, value in changes.items():
            if name in ALERT_KINDS:
                if not isinstance(value, bool):
                    raise InvalidPreference(f"{name} must be true or false")
            elif name == "low_balance_threshold":
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise InvalidPreference("the low-balance threshold must be a non-negative amount")
                changes[name] = float(value)
            elif name == "quiet_hours":
                if not isinstance(value, str) or not QUIET_HOURS.fullmatch(value):
                    raise InvalidPreference("quiet hours look like 22:00-08:00")
            else:
                raise InvalidPreference(f"unknown preference {name!r}")
        with self.store.atomic():
            updated = replace(self.get(chat_id), **changes)
            self.rows.put(chat_id, asdict(updated), dt.datetime.now(dt.UTC))
        return updated

    def toggle(self, chat_id: int, kind: str) -> AlertPreferences:
        if kind not in ALERT_KINDS:
            raise InvalidPreference(f"unknown alert kind {kind!r}")
        return self.update(chat_id, **{kind: not self.get(chat_id).enabled(kind)})

    def opted_out(self, kind: str) -> set[int]:
        return self.rows.opted_out(kind)
