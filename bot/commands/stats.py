"""`finassist stats`: the admin figures — delivery, alerts and their answers, and each broadcast's uplift."""

from __future__ import annotations

import argparse

from bot.config import Config
from bot.container import build_services
from bot.plain_text import admin_stats_lines
from bot.services.admin import AdminService


def run(args: argparse.Namespace, config: Config) -> int:
    services = build_services(config)
    try:
        admin = AdminService(services.store, config, as_of=services.insights.as_of)
        stats = admin.stats(broadcasts=args.broadcasts)
    finally:
        services.close()
    print("\n".join(admin_stats_lines(stats)))
    return 0
