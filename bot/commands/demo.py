"""`finassist demo`: the embedded-default tour — bundled sample data, SQLite (or `--store URL`), offline assistant."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import replace
from pathlib import Path

from analytics.private_files import make_private_dir
from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services
from bot.plain_text import insights_text, report_text
from bot.storage.insight_reads import InsightReads

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "data" / "sample" / "transactions.csv.gz"
OUT_DIR = Path("out") / "demo"
QUESTIONS = (
    "how much did I spend last month?",
    "and the month before?",
    "where does my money go?",
    "was there anything strange on my account?",
    "can I afford a 20k phone?",
    "any card for me?",
)


def _say(text: str = "") -> None:
    print(text, flush=True)


def build_demo_store(config: Config, fresh: bool) -> Config:
    """Ingest the bundled sample into the configured store and train, once; later runs reuse the store.

    The demo uses the configured store (`[storage] url`, else `db_path`, default data/finassist.db; or
    `--store`) so that `finassist chat`, `insights` and `report` work on the same data afterwards. `--fresh`
    deletes a SQLite file first; a PostgreSQL database is never emptied by the demo.
    """
    from bot.services.ingestion import ingest_files
    from bot.services.training import train
    from bot.storage.database import open_store
    from bot.storage.scores import ScoreRepository
    from bot.storage.transactions import TransactionRepository

    if fresh and config.storage.is_postgres:
        raise CommandFailed("--fresh only rebuilds a SQLite file; point --store at an empty PostgreSQL database")
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(str(config.storage.target) + suffix).unlink(missing_ok=True)
    store = open_store(config.storage.target, local_dir=config.storage.local_dir)
    db_path = store.path  # shown to the user: a URL without its password
    try:
        has_rows = TransactionRepository(store).count() > 0
        trained = ScoreRepository(store).counts()["customer_scores"] > 0
        if has_rows and trained:
            _say(f"Using the store at {db_path} (`finassist demo --fresh` rebuilds a SQLite one from the sample).")
            return config
        if not has_rows:
            if not SAMPLE.exists():
                raise CommandFailed(f"bundled sample {SAMPLE} is missing; data/README.md says how to regenerate it")
            _say(f"Building the store {db_path} from the bundled synthetic sample {SAMPLE.relative_to(REPO_ROOT)} ...")
            started = time.perf_counter()
            report = ingest_files(store, [SAMPLE])  # a rejects report is written only if a row is rejected
            _say(f"  ingested {report.inserted:,} transactions ({report.rejected} rejected) "
                 f"in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        result = train(store, config)
        _say(f"  trained segments, anomaly and churn models in {time.perf_counter() - started:.1f} s")
        for line in getattr(result, "summary_lines", lambda: [])():
            _say("    " + line)
    finally:
        store.close()
    return config


def _assistant_exchanges(services, customer_id: str) -> None:
    try:
        from bot.llm.assistant import build_assistant
    except ImportError:
        return
    offline = replace(services.config, llm=replace(services.config.llm, provider="offline"))
    assistant = build_assistant(offline, services.insights)

    async def converse() -> None:
        for question in QUESTIONS:
            reply = await assistant.answer(customer_id, question, conversation_id="demo")
            _say(f"  you> {question}")
            for line in reply.text.splitlines():
                _say(f"  bot> {line}")
            _say()

    asyncio.run(converse())


def _command_name() -> str:
    """How this user invoked finassist (e.g. `.venv/bin/finassist`), so the hints can be pasted as shown."""
    invoked = Path(sys.argv[0])
    if invoked.name == "finassist" and invoked.parent != Path("."):
        try:
            return str(invoked.resolve().relative_to(Path.cwd()))
        except ValueError:
            return "finassist"
    return "finassist"


def run(args: argparse.Namespace, config: Config) -> int:
    if getattr(args, "store", None):
        config = config.with_store(args.store)
    demo_config = build_demo_store(config, fresh=args.fresh)
    services = build_services(demo_config)
    try:
        picks = InsightReads(services.store).contrasting_customers()
        if not picks:
            raise CommandFailed("the demo store has no trained scores; run `finassist demo --fresh`")
        make_private_dir(OUT_DIR)  # the charts show customers' spending: 0700 (the charts themselves are 0600)
        _say()
        _say("FinAssist demo: three contrasting customers of a synthetic Indian bank (the bundled sample).")
        _say("Every figure below comes from the same facade the Telegram bot, the assistant and the API use.")
        for number, (customer_id, why) in enumerate(picks, start=1):
            _say()
            _say("=" * 78)
            _say(f"{number}. {customer_id} — picked because: {why}")
            _say("=" * 78)
            _say(insights_text(services.insights.insights(customer_id)))
            chart = OUT_DIR / f"report_{customer_id}_{services.insights.report_month()}.png"
            report = services.insights.report(customer_id, chart_path=chart)
            _say()
            _say(report_text(report))
        _say()
        _say("=" * 78)
        _say(f"The offline assistant (no LLM, no key) answering {picks[0][0]}:")
        _say("=" * 78)
        _assistant_exchanges(services, picks[0][0])
        exe = _command_name()
        _say("Try it yourself:")
        _say(f"  {exe} chat {picks[0][0]}")
        _say(f"  {exe} insights {picks[min(1, len(picks) - 1)][0]}")    # a bank may offer fewer than three contrasts
        _say(f"  {exe} report {picks[-1][0]} --out out/report.png")
        _say(f"  {exe} ingest FILE.csv      # CSVs in the public data set's raw format")
        _say("The real public data set has mostly one transaction per customer over Aug–Oct 2016, too thin for")
        _say("churn or monthly trends: that is why the demo uses a synthetic bank with 12-month histories.")
    finally:
        services.close()
    sys.stdout.flush()
    return 0
