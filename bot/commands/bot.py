"""`finassist bot`: runs the Telegram bot (polling or webhook per config) with its scheduler until stopped."""

from __future__ import annotations

import argparse
import logging
from urllib.parse import urlparse

from bot.cli import CommandFailed
from bot.config import Config

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, config: Config) -> int:
    from telegram import Update

    from bot.telegram.app import build_application, webhook_secret_token

    if not config.telegram.token:
        raise CommandFailed("no Telegram bot token: set [telegram] token in the config or TELEGRAM_BOT_TOKEN")
    application = build_application(config)
    if config.telegram.mode == "webhook":
        if not config.telegram.webhook_url:
            raise CommandFailed("[telegram] mode is 'webhook' but webhook_url is empty")
        url = urlparse(config.telegram.webhook_url)
        log.info("serving the webhook at %s://%s", url.scheme, url.netloc)   # the path may hold a secret
        application.run_webhook(listen=config.telegram.webhook_listen, port=config.telegram.webhook_port, url_path=url.path.lstrip("/"),
                                webhook_url=config.telegram.webhook_url, allowed_updates=Update.ALL_TYPES,
                                secret_token=webhook_secret_token(config.telegram.token))
    else:
        log.info("polling %s", config.telegram.base_url)
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
