"""The `finassist` command line (contract §4): parses arguments, loads config, dispatches to bot.commands.*.

Exit status: 0 success, 2 usage error, 1 any other failure (one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, load_config


class UsageError(Exception):
    """A command argument is wrong; exit status 2 with a usage hint."""


class CommandFailed(Exception):
    """The command could not do its job; exit status 1 with this one-line reason."""


def _month(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"month must look like 2016-09, got {value!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="TOML config file (default: $FINASSIST_CONFIG or ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")

    parser = argparse.ArgumentParser(
        prog="finassist",
        description="FinAssist: a personal financial assistant for bank customers, on Telegram and offline.",
        parents=[common],
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = verb("synth", "write a realistic synthetic bank (transactions.csv plus ground-truth labels/)")
    p.add_argument("--customers", type=int, default=2000, help="number of customers (default 2000)")
    p.add_argument("--months", type=int, default=12, help="months of history (default 12)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--activity", type=float, default=1.0, help="everyday-spending scale (default 1.0, ~9 rows a customer-month)")
    p.add_argument("--gzip", action="store_true", help="write .csv.gz files (no timestamp: reproducible bytes)")

    p = verb("ingest", "load transaction CSV files into the store and report rejected rows")
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV files (.csv or .csv.gz) in the contract's format")
    p.add_argument("--rejects", metavar="FILE", help="where to write the rejects report (default beside the database)")

    verb("train", "build profiles, segments, anomaly and churn scores; print evaluation figures")

    p = verb("insights", "everything the assistant knows about one customer")
    p.add_argument("customer_id", metavar="CUSTOMER_ID")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = verb("export", "write transactions_scored.csv and customers_scored.csv for analysts")
    p.add_argument("--out", required=True, metavar="DIR")

    p = verb("report", "the monthly report and its chart")
    p.add_argument("customer_id", metavar="CUSTOMER_ID")
    p.add_argument("--month", type=_month, metavar="YYYY-MM", help="default: the last complete month")
    p.add_argument("--out", metavar="FILE.png", help="chart file (default: out/report_<id>_<month>.png)")

    p = verb("link-code", "print a one-time Telegram link code and deep link for a customer")
    p.add_argument("customer_id", metavar="CUSTOMER_ID")

    verb("bot", "run the Telegram bot with its scheduler until stopped")

    p = verb("notify", "run one pass of every proactive check and send what is due")
    p.add_argument("--once", action="store_true", required=True, help="run one pass and exit")

    p = verb("chat", "talk to the assistant as a customer (one question a line when stdin is piped)")
    p.add_argument("customer_id", metavar="CUSTOMER_ID")

    verb("api", "serve the REST API")

    p = verb("demo", "the embedded-default tour on bundled sample data (no token or key needed)")
    p.add_argument("--fresh", action="store_true", help="rebuild the demo store even if it exists")
    p.add_argument("--store", metavar="URL_OR_PATH",
                   help="build the demo store here: a postgresql:// URL or a SQLite file (default [storage])")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints usage and exits 2 on bad arguments
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore"):  # their request lines carry the Telegram bot token in the URL
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"finassist: {exc}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bot.commands.{args.verb.replace('-', '_')}")
    try:
        return int(module.run(args, config) or 0)
    except UsageError as exc:
        print(f"finassist {args.verb}: {exc}", file=sys.stderr)
        return 2
    except CommandFailed as exc:
        print(f"finassist {args.verb}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one-line reason promised by the contract; details with -v
        logging.getLogger("finassist").debug("command failed", exc_info=True)
        from bot.storage.database import StoreError

        # A store error (e.g. the database server is unreachable) already reads as a sentence.
        reason = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
        print(f"finassist {args.verb}: {reason}", file=sys.stderr)
        return 1
