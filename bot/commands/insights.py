"""`finassist insights CUSTOMER_ID [--json]`: everything the assistant knows about one customer."""

from __future__ import annotations

import argparse

from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services
from bot.plain_text import insights_text, to_json
from bot.services.errors import FinAssistError


def run(args: argparse.Namespace, config: Config) -> int:
    services = build_services(config)
    try:
        insights = services.insights.insights(args.customer_id)
    except FinAssistError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        services.close()
    print(to_json(insights) if args.json else insights_text(insights))
    return 0
