"""Reads the TOML configuration once into typed, frozen objects (contract §3)."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or holds a value of the wrong kind."""


@dataclass(frozen=True)
class StorageConfig:
    db_path: str = "data/finassist.db"
    # Added with the PostgreSQL store (additive): "postgresql://user@host:5432/db" or "sqlite:///path"; wins
    # over db_path when set. A PostgreSQL store keeps its local files (rejects reports, the columnar snapshot
    # cache) in db_path's folder.
    url: str = field(default="", repr=False)   # may hold a password: never in a repr or log line

    @property
    def target(self) -> str:
        """What to open: the URL when set (a sqlite:/// URL as its path), else db_path."""
        if self.url.startswith("sqlite:///"):
            return self.url[len("sqlite:///"):] or ":memory:"
        return self.url or self.db_path

    @property
    def local_dir(self) -> Path:
        """This machine's folder for the store's local files."""
        return Path(self.db_path).parent

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class AnalyticsConfig:
    as_of: str = "auto"
    low_balance_threshold: float = 2000.0
    # Added with the spending-trend messages (additive): a month's rise, or a budget pace, is material at
    # both of these (analytics.trends' defaults). Raise them to send fewer trend messages.
    trend_min_change: float = 0.20     # +20% against the usual month / ahead of the budget's pace ...
    trend_min_increase: float = 500.0  # ... and +₹500

    def pinned_as_of(self) -> dt.date | None:
        """The pinned analytics date, or None when `as_of` is "auto"."""
        if self.as_of in ("", "auto"):
            return None
        try:
            return dt.date.fromisoformat(str(self.as_of))
        except ValueError as exc:
            raise ConfigError(f"[analytics] as_of must be 'auto' or YYYY-MM-DD, got {self.as_of!r}") from exc


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(default="", repr=False)   # never in a repr or log line
    base_url: str = "https://api.telegram.org/bot"
    admin_ids: tuple[int, ...] = ()
    fraud_team_chat_id: int = 0
    mode: str = "polling"
    webhook_url: str = ""
    # Added after the contract's first version (additive):
    bot_username: str = ""              # for deep links when getMe cannot be asked (e.g. link-code offline)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    broadcast_control_share: float = 0.10   # hold-out share of a broadcast audience that receives nothing
    support_chat_id: int = 0            # where /human handoffs go (0 = the fraud team chat; both 0 = nobody)


@dataclass(frozen=True)
class LLMConfig:
    provider: str = "offline"
    base_url: str = ""
    model: str = "gpt-4o-mini"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 15.0
    share_personal_data: bool = False
    api_key: str = field(default="", repr=False)  # resolved from api_key_env, never written to a file


@dataclass(frozen=True)
class SchedulerConfig:
    timezone: str = "Asia/Kolkata"
    scan_every_minutes: int = 15
    monthly_summary_day: int = 1
    monthly_summary_time: str = "09:00"
    quiet_hours: str = "22:00-08:00"
    fraud_alerts_bypass_quiet_hours: bool = False   # "Was this you?" goes out at once, even at night
    # Delivery (added for issue 9, additive): pacing, the claim lease, and the retry schedule of the outbox.
    send_rate_per_second: float = 25.0     # overall pace of proactive sends (Telegram allows ~30/s)
    send_timeout_seconds: float = 10.0     # one Bot API call; a timeout leaves the outcome unknown
    send_lease_seconds: float = 120.0      # a claimed row left by a crashed worker is reclaimed after this
    retry_first_seconds: float = 30.0      # first retry after a network error / 5xx, doubling each time
    retry_max_minutes: float = 240.0       # the cap of that doubling
    retry_give_up_hours: float = 24.0      # then the message is dead-lettered (counted in /stats)


@dataclass(frozen=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_key_env: str = "FINASSIST_API_KEY"
    api_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class Config:
    storage: StorageConfig = field(default_factory=StorageConfig)
    analytics: AnalyticsConfig = field(default_factory=AnalyticsConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    source: str = "built-in defaults"

    def with_db(self, db_path: str | Path) -> Config:
        """A copy pointing at another database file (tests, demo)."""
        return replace(self, storage=replace(self.storage, db_path=str(db_path)))

    def with_store(self, target: str | Path) -> Config:
        """A copy pointing at another store: a postgresql:// or sqlite:/// URL, or a SQLite file path."""
        text = str(target)
        if "://" in text:
            return replace(self, storage=replace(self.storage, url=text))
        return replace(self, storage=replace(self.storage, db_path=text, url=""))


_SECTIONS: dict[str, type] = {
    "storage": StorageConfig,
    "analytics": AnalyticsConfig,
    "telegram": TelegramConfig,
    "llm": LLMConfig,
    "scheduler": SchedulerConfig,
    "api": ApiConfig,
}


def _coerce(section: str, key: str, value: Any, default: Any) -> Any:
    """Check a value against the default's type so a typo fails at start, not at 3 a.m."""
    where = f"[{section}] {key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise ConfigError(f"{where} must be a list of integers, got {value!r}")
        return tuple(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


def config_from_mapping(data: Mapping[str, Any], *, env: Mapping[str, str] | None = None,
                        source: str = "mapping") -> Config:
    """Build a Config from parsed TOML, filling secrets from `env` (defaults to os.environ)."""
    env = os.environ if env is None else env
    sections: dict[str, Any] = {}
    unknown_sections = set(data) - set(_SECTIONS)
    if unknown_sections:  # a misspelt [telegrem] would otherwise run silently on defaults
        raise ConfigError(f"unknown section(s) {', '.join(f'[{s}]' for s in sorted(unknown_sections))}; "
                          f"known: {', '.join(f'[{s}]' for s in _SECTIONS)}")
    for name, cls in _SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, Mapping):
            raise ConfigError(f"[{name}] must be a table")
        defaults = cls()
        known = {f.name for f in fields(cls) if f.name != "api_key"}
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"[{name}] has unknown key(s): {', '.join(sorted(unknown))}")
        values = {k: _coerce(name, k, v, getattr(defaults, k)) for k, v in raw.items()}
        sections[name] = cls(**values)
    telegram: TelegramConfig = sections["telegram"]
    if not telegram.token and env.get("TELEGRAM_BOT_TOKEN"):
        sections["telegram"] = replace(telegram, token=env["TELEGRAM_BOT_TOKEN"])
    llm: LLMConfig = sections["llm"]
    sections["llm"] = replace(llm, api_key=env.get(llm.api_key_env, ""))
    api: ApiConfig = sections["api"]
    sections["api"] = replace(api, api_key=env.get(api.api_key_env, ""))
    if sections["llm"].provider not in ("offline", "openai"):
        raise ConfigError(f"[llm] provider must be 'offline' or 'openai', got {llm.provider!r}")
    if sections["telegram"].mode not in ("polling", "webhook"):
        raise ConfigError(f"[telegram] mode must be 'polling' or 'webhook', got {telegram.mode!r}")
    sections["analytics"].pinned_as_of()  # validates
    url = sections["storage"].url
    if url and not url.startswith(("postgresql://", "postgres://", "sqlite:///")):
        raise ConfigError("[storage] url must start with postgresql:// or sqlite:/// "
                          f"(got a value starting {url.split(':', 1)[0]!r})")
    analytics: AnalyticsConfig = sections["analytics"]
    if analytics.trend_min_change <= 0 or analytics.trend_min_increase < 0:
        raise ConfigError("[analytics] trend_min_change must be above 0 (0.2 = 20%) and trend_min_increase "
                          f"at least 0, got {analytics.trend_min_change!r} and {analytics.trend_min_increase!r}")
    share = sections["telegram"].broadcast_control_share
    if not 0.0 <= share < 1.0:
        raise ConfigError(f"[telegram] broadcast_control_share must be in [0, 1), got {share!r}")
    _check_delivery(sections["scheduler"])
    return Config(**sections, source=source)


def _check_delivery(scheduler: SchedulerConfig) -> None:
    for key in ("send_rate_per_second", "send_timeout_seconds", "send_lease_seconds", "retry_first_seconds",
                "retry_max_minutes", "retry_give_up_hours"):
        if getattr(scheduler, key) <= 0:
            raise ConfigError(f"[scheduler] {key} must be positive, got {getattr(scheduler, key)!r}")
    if scheduler.send_lease_seconds <= scheduler.send_timeout_seconds:
        raise ConfigError("[scheduler] send_lease_seconds must be longer than send_timeout_seconds "
                          "(else a slow send could be claimed twice)")
    if scheduler.retry_max_minutes * 60 < scheduler.retry_first_seconds:
        raise ConfigError("[scheduler] retry_max_minutes must be at least retry_first_seconds")


def find_config_path(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """Contract order: --config PATH, else $FINASSIST_CONFIG, else ./config.toml, else None (defaults)."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("FINASSIST_CONFIG"):
        return Path(env["FINASSIST_CONFIG"])
    local = Path("config.toml")
    return local if local.exists() else None


def load_config(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration following the contract's search order."""
    path = find_config_path(explicit, env)
    if path is None:
        return config_from_mapping({}, env=env, source="built-in defaults")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return config_from_mapping(data, env=env, source=str(path))
