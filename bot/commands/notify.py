"""`finassist notify --once`: one pass of every proactive check, send what is due, print the counts."""

from __future__ import annotations

import argparse
import asyncio

from telegram.error import InvalidToken, NetworkError

from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services
from bot.notify.runner import Notifier, PassReport
from bot.notify.sender import sender_bot
from bot.telegram.preflight import problem_text


async def _run(config: Config) -> PassReport:
    services = build_services(config)
    try:
        bot = sender_bot(config)   # no rate-limiter retries: a 429 defers one chat, it never blocks the pass
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
    print("\n".join(render(report)))
    return 0


def render(report: PassReport) -> list[str]:
    """The pass's counts as printed, one line each; the rare ones only when they happened.

    Kept out of `run` because Python 3.11 drops trace events in frames that were running while anyio cancelled a
    task group, as httpx's connect does in the pass above (cpython#106749): coverage would miss these lines.
    """
    lines = [f"queued: {report.queued} (deferred by quiet hours: {report.deferred})",
             f"sent: {report.sent}  to retry later: {report.retried}  dead-lettered: {report.failed}  "
             f"dropped (bot blocked or unlinked): {report.dropped}"]
    if report.unknown:
        lines.append(f"outcome unknown (timeout or a crashed pass; retried later): {report.unknown}")
    if report.rate_limited:
        lines.append(f"flood waits (those chats wait, the others went on): {report.rate_limited}")
    if report.quiet:
        lines.append(f"moved to the end of quiet hours: {report.quiet}")
    if report.left_pending:
        lines.append(f"left for the next pass: {report.left_pending}")
    if report.errors:
        # counted once per check that skipped them (test_notify_checks), so one customer without data is ~5
        lines.append("skipped by the checks (once per check: a customer without data, or a message that could "
                     f"not be queued): {report.errors}")
    return lines
