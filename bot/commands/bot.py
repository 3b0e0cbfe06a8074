"""`finassist bot`: runs the Telegram bot (polling or webhook per config) with its scheduler until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
from urllib.parse import urlparse

from bot import redaction
from bot.cli import CommandFailed
from bot.config import Config

log = logging.getLogger(__name__)


class _StartupFailureLogFilter(logging.Filter):
    """Holds back PTB's ERROR record (with two chained tracebacks) for a bootstrap that failed on the token or the
    network: the exception is raised to us as well, and the CLI says it in one line (with -v the record shows)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import InvalidToken, NetworkError

        failed = record.exc_info[1] if record.exc_info else None
        return not ("(Bootstrap" in record.getMessage() and isinstance(failed, InvalidToken | NetworkError))


def run(args: argparse.Namespace, config: Config) -> int:
    from bot.telegram.app import webhook_secret_token
    from bot.telegram.preflight import get_me

    if not config.telegram.token:
        raise CommandFailed("no Telegram bot token: set [telegram] token in the config or TELEGRAM_BOT_TOKEN")
    if config.telegram.mode == "webhook" and not config.telegram.webhook_url:
        raise CommandFailed("[telegram] mode is 'webhook' but webhook_url is empty")
    secret_token = webhook_secret_token(config.telegram.token)
    # PTB logs setWebhook's parameters at debug level: the derived secret and the URL's path (which may be
    # a secret of its own) are masked like the token.
    redaction.register_secrets([secret_token, urlparse(config.telegram.webhook_url).path.strip("/") or None])
    # Ask getMe first: a wrong token or an unreachable server is one line and exit 1, not PTB's tracebacks.
    username, why = asyncio.run(get_me(config))
    return _serve(args, config, username, why, secret_token)


def _serve(args: argparse.Namespace, config: Config, username: str | None, why: str, secret_token: str) -> int:
    """Start the bot once getMe has answered, and serve until stopped.

    A frame of its own because Python 3.11 drops trace events in frames that were running while anyio cancelled
    a task group, as httpx's connect does in the getMe above (cpython#106749, coveragepy#1648; fixed in 3.12):
    inside `run` these lines would be reported unrun by `make coverage` although the process tests run them.
    """
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.telegram.app import build_application
    from bot.telegram.preflight import problem_text

    if username is None:
        raise CommandFailed(why)
    log.info("Telegram answers as @%s", username)
    application = build_application(config)
    if not getattr(args, "verbose", False):
        logging.getLogger("telegram.ext").addFilter(_StartupFailureLogFilter())
    try:
        if config.telegram.mode == "webhook":
            url = urlparse(config.telegram.webhook_url)
            log.info("serving the webhook at %s://%s", url.scheme, url.netloc)   # the path may hold a secret
            application.run_webhook(listen=config.telegram.webhook_listen, port=config.telegram.webhook_port,
                                    url_path=url.path.lstrip("/"), webhook_url=config.telegram.webhook_url,
                                    allowed_updates=Update.ALL_TYPES, secret_token=secret_token)
        else:
            log.info("polling %s", config.telegram.base_url)
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except (InvalidToken, NetworkError) as exc:  # lost between getMe and start-up
        raise CommandFailed(problem_text(exc, config.telegram.base_url)) from exc
    return 0
