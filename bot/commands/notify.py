"""`finassist notify --once`: one pass of every proactive check, send what is due, print the counts."""

from __future__ import annotations

import argparse
import asyncio

from telegram import Bot
from telegram.error import InvalidToken, NetworkError

from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services
from bot.notify.runner import Notifier, PassReport
from bot.telegram.preflight import problem_text


async def _run(config: Config) -> PassReport:
    services = build_services(config)
    try:
        bot = Bot(config.telegram.token, base_url=config.telegram.base_url)
        async with bot:  # getMe first: a wrong token fails here, before anything is marked
            return await Notifier.from_services(services, bot).run_once()
    finally:
        services.close()


def run(args: argparse.Namespace, config: Config) -> int:
    if not config.telegram.token:
        raise CommandFailed("no Telegram bot token: set [telegram] token in the config or TELEGRAM_BOT_TOKEN")
    try:
        report = asyncio.run(_run(config))
    except (InvalidToken, NetworkError) as exc:
        raise CommandFailed(problem_text(exc, config.telegram.base_url)) from exc
    print(f"queued: {report.queued} (deferred by quiet hours: {report.deferred})")
    print(f"sent: {report.sent}  failed: {report.failed}  dropped (bot blocked): {report.dropped}  "
          f"retries: {report.retried}")
    if report.left_pending:
        print(f"left for the next pass: {report.left_pending}")
    if report.errors:
        print(f"customers skipped (no data): {report.errors}")
    return 0
