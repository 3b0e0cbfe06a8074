"""The `finassist` command line (contract §4): parses arguments, loads config, dispatches to bot.commands.*.

Exit status: 0 success, 2 usage error, 1 any other failure (one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import redaction
from bot.config import Config, ConfigError, load_config

# Verbs that build the store (or never open it); every other verb reads an existing store and must not
# create an empty one at a mistyped db_path (it would then answer "no such customer" instead of the truth).
CREATES_STORE = frozenset({"synth", "ingest", "train", "demo"})


class UsageError(Exception):
    """A command argument is wrong; exit status 2 with a usage hint."""


class CommandFailed(Exception):
    """The command could not do its job; exit status 1 with this one-line reason."""


def _month(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"month must look like 2016-09, got {value!r}")
    return value


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """--config and -v, accepted before and after the verb.

    argparse lets a subparser's defaults overwrite what the main parser already parsed, so the copies on the
    verbs default to SUPPRESS: `finassist --config X insights ID` keeps X, `insights ID --config X` sets it.
    """
    common = argparse.ArgumentParser(add_help=False)
    unset = {} if defaults else {"default": argparse.SUPPRESS}
    common.add_argument("--config", metavar="PATH", help="TOML config file (default: $FINASSIST_CONFIG or ./config.toml)",
                        **({"default": None} if defaults else unset))
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr",
                        **({"default": False} if defaults else unset))
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finassist",
        description="FinAssist: a personal financial assistant for bank customers, on Telegram and offline.",
        parents=[_common_options(defaults=True)],
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    on_verbs = _common_options(defaults=False)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, help=help_text, description=help_text, parents=[on_verbs])

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
    p.add_argument("--out", metavar="FILE.png", help="chart file (default: out/report_<id>_<YYYY-MM>.png)")

    p = verb("link-code", "print a one-time Telegram link code and deep link for a customer")
    p.add_argument("customer_id", metavar="CUSTOMER_ID")

    verb("bot", "run the Telegram bot with its scheduler until stopped")

    p = verb("notify", "run one pass of every proactive check and send what is due")
    p.add_argument("--once", action="store_true", required=True, help="run one pass and exit")

    p = verb("chat", "talk to the assistant as a customer (one question a line when stdin is piped)")
    p.add_argument("customer_id", metavar="CUSTOMER_ID")

    verb("api", "serve the REST API")

    p = verb("stats", "admin figures: messages sent/pending/dead-lettered, alerts and answers, broadcast uplift")
    p.add_argument("--broadcasts", type=int, default=3, metavar="N", help="recent broadcasts to report (default 3)")

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
    redaction.install()
    for noisy in ("httpx", "httpcore"):  # their request lines carry the Telegram bot token in the URL
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # PTB's per-call debug lines carry customers' message texts and the webhook secret: never below INFO, in
    # every verb (bot/telegram/app.py does the same for an Application built outside the CLI).
    for chatty in ("telegram.Bot", "telegram.ext.ExtBot"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, logging.getLogger(chatty).level))
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"finassist: {exc}", file=sys.stderr)
        return 2
    redaction.register_secrets((config.telegram.token, config.llm.api_key, config.api.api_key))
    try:
        if args.verb not in CREATES_STORE:
            _require_store(config)
        module = importlib.import_module(f"bot.commands.{args.verb.replace('-', '_')}")
        status = int(module.run(args, config) or 0)
        sys.stdout.flush()   # a closed pipe shows here rather than at exit
        return status
    except UsageError as exc:
        _fail(f"finassist {args.verb}: {exc}")
        return 2
    except CommandFailed as exc:
        _fail(f"finassist {args.verb}: {exc}")
        return 1
    except BrokenPipeError:  # `finassist chat ID | head -1`: the reader has all it wanted, a normal end
        _discard_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one-line reason promised by the contract; details with -v
        logging.getLogger("finassist").debug("command failed", exc_info=True)
        from bot.storage.database import StoreError

        # A store error (e.g. the database server is unreachable) already reads as a sentence.
        reason = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
        _fail(f"finassist {args.verb}: {reason}")
        return 1


def _require_store(config: Config) -> None:
    """A read-only verb on a missing store says so instead of creating an empty one there. (A PostgreSQL
    store is the server's to have: an unreachable or missing database fails in one line when opened.)"""
    if config.storage.is_postgres:
        return
    path = config.storage.target
    if path != ":memory:" and not Path(path).is_file():
        raise CommandFailed(f"no store at {path} ([storage] db_path, from {config.source}): "
                            "run `finassist ingest FILE` or `finassist demo` first, or point --config at yours")


def _fail(line: str) -> None:
    """The one-line reason on stderr, with any secret masked (library messages may quote the bot token)."""
    print(redaction.mask(line), file=sys.stderr)


def _discard_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it): nothing left to flush
        pass
