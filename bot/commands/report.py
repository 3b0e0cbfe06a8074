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
        month = services.insights.report_month(args.month)
        out = Path(args.out) if args.out else default_chart_path(args.customer_id, month)
        report = services.insights.report(args.customer_id, month=month, chart_path=out)
    except FinAssistError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        services.close()
    print(report_text(report))
    return 0


def default_chart_path(customer_id: str, month: str) -> Path:
    """`out/report_<id>_<YYYY-MM>.png`, as `--help` says (the month resolved, never a placeholder)."""
    safe_id = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in customer_id)
    return Path("out") / f"report_{safe_id}_{month}.png"
