"""Asks Telegram who the bot is (getMe) before a verb relies on it, and says in one line why it failed.

python-telegram-bot's own start-up failure is three chained tracebacks (and its message quotes the token);
the CLI promises one line and exit status 1, so the verbs ask first and report the answer plainly.
"""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.config import Config

CONNECT_TIMEOUT_S = 5.0


def problem_text(exc: BaseException, base_url: str) -> str:
    """One line for a failed Bot API call; never the library's message for InvalidToken (it holds the token)."""
    if isinstance(exc, InvalidToken):
        return (f"Telegram at {base_url} rejected the bot token: check [telegram] token or "
                "TELEGRAM_BOT_TOKEN")
    # PTB's BadRequest (a 400 answer) subclasses NetworkError, but Telegram was reached: it answered.
    if isinstance(exc, NetworkError | OSError) and not isinstance(exc, BadRequest):
        return f"cannot reach Telegram at {base_url}: {exc}"
    return f"Telegram at {base_url} answered getMe with an error: {exc}"


async def get_me(config: Config) -> tuple[str | None, str]:
    """(bot username, "") when the token works at the configured base_url, else (None, one-line reason)."""
    if not config.telegram.token:
        return None, "no Telegram bot token: set [telegram] token in the config or TELEGRAM_BOT_TOKEN"
    bot = Bot(config.telegram.token, base_url=config.telegram.base_url,
              request=HTTPXRequest(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=CONNECT_TIMEOUT_S))
    try:
        async with bot:
            return bot.username, ""
    except (TelegramError, OSError) as exc:
        return None, problem_text(exc, config.telegram.base_url)
