"""Keeps secrets (the bot token, API keys) out of every log record and error line the process writes.

Libraries put secrets where we do not control the text: python-telegram-bot logs its API URL (which holds
the token) at debug level and names the token in `InvalidToken`'s message. So the secrets of the loaded
configuration are registered once, and one filter on the root handlers masks them in every record, its
traceback included; the CLI's one-line error path masks its text the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 6   # shorter values (a test's "x") would mask ordinary words


class SecretMasker:
    """Replaces every registered secret in a text. A Telegram token keeps its public bot id (`123:***`)."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, *secrets: str | None) -> None:
        with self._lock:
            for secret in secrets:
                if not secret or len(secret) < MIN_SECRET_LENGTH:
                    continue
                bot_id, colon, rest = secret.partition(":")
                masked = f"{bot_id}:{MASK}" if colon and bot_id.isdigit() and rest else MASK
                self._secrets[secret] = masked
                if colon and bot_id.isdigit() and len(rest) >= MIN_SECRET_LENGTH:
                    self._secrets[rest] = MASK   # the token's secret half, should a library print it alone

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()

    def mask(self, text: str) -> str:
        if not self._secrets or not text:
            return text
        with self._lock:
            pairs = sorted(self._secrets.items(), key=lambda kv: -len(kv[0]))  # the whole token before its half
        for secret, masked in pairs:
            if secret in text:
                text = text.replace(secret, masked)
        return text


MASKER = SecretMasker()


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Secrets of the loaded configuration (token, API keys, webhook secret); later records never show them."""
    MASKER.register(*secrets)


def mask(text: str) -> str:
    return MASKER.mask(text)


class SecretFilter(logging.Filter):
    """Masks secrets in a record's message and traceback before any formatter sees it."""

    def __init__(self, masker: SecretMasker = MASKER) -> None:
        super().__init__()
        self.masker = masker
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        masked = self.masker.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.masker.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.masker.mask(record.stack_info)
        return True


def install(handlers: Iterable[logging.Handler] | None = None) -> None:
    """Put the filter on the root logger's handlers (once each)."""
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())
