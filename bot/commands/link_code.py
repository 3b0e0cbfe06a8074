"""`finassist link-code CUSTOMER_ID`: prints a one-time link code and the deep link that redeems it."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from analytics.money import format_date
from bot import redaction
from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services
from bot.services.errors import CustomerNotFound
from bot.services.linking import LinkingService

PLACEHOLDER = "<bot_username>"


async def _bot_username(config: Config) -> tuple[str | None, str]:
    """(username, why not): `[telegram] bot_username` when set, else getMe at the configured base_url."""
    if config.telegram.bot_username:
        return config.telegram.bot_username.lstrip("@"), ""
    if not config.telegram.token:
        return None, "no Telegram token is configured"
    from bot.telegram.preflight import get_me

    username, why = await get_me(config)
    return username, "" if username else f"getMe failed: {why}"


def run(args: argparse.Namespace, config: Config) -> int:
    services = build_services(config)
    try:
        linking = LinkingService(services.store, customer_exists=services.insights.customer_exists)
        issued = linking.issue_code(args.customer_id)
    except CustomerNotFound as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        services.close()
    username, why = asyncio.run(_bot_username(config))
    print(f"code: {issued.code}")
    local = issued.expires_at.astimezone(ZoneInfo(config.scheduler.timezone))
    minutes = int((issued.expires_at - dt.datetime.now(dt.UTC)).total_seconds() // 60) + 1
    print(f"expires: {format_date(local)} {local:%H:%M} {config.scheduler.timezone} (in {minutes} minutes; one use)")
    print(f"link: https://t.me/{username or PLACEHOLDER}?start={issued.code}")
    if username is None:
        print(redaction.mask(f"note: replace {PLACEHOLDER} with the bot's username (or set [telegram] "
                             f"bot_username); {why}"))
    return 0
