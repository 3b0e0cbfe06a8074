"""`finassist report CUSTOMER_ID [--month YYYY-MM] [--out FILE.png]`: the monthly report and its chart."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services
from bot.plain_text import report_text
from bot.services.errors import FinAssistError


def run(args: argparse.Namespace, config: Config) -> int:
    services = build_services(config)
    try:
        month = args.month
        if args.out is None:
            label = month or "last"
            out = Path("out") / f"report_{args.customer_id}_{label}.png"
        else:
            out = Path(args.out)
        report = services.insights.report(args.customer_id, month=month, chart_path=out)
    except FinAssistError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        services.close()
    print(report_text(report))
    return 0
