"""`finassist ingest FILE...`: loads transaction CSV files into the store and prints what was kept and rejected."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.ingest import IngestFormatError
from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services
from bot.notify.intake import IntakeOutcome, TransactionIntake
from bot.services.ingestion import IngestReport, ingest_files

REJECTS_SHOWN = 5


def run(args: argparse.Namespace, config: Config) -> int:
    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.is_file():
            raise CommandFailed(f"no such file: {path}")
    rejects_path = Path(args.rejects) if getattr(args, "rejects", None) else None
    interactive = sys.stderr.isatty()
    if interactive:
        print(f"reading {len(paths)} file{'s' if len(paths) != 1 else ''}...", file=sys.stderr, flush=True)
    services = build_services(config)
    try:
        try:
            report = ingest_files(services.store, paths, rejects_path,
                                  progress=_progress_line if interactive else None,
                                  timezone=config.scheduler.timezone)
        except IngestFormatError as exc:
            raise CommandFailed(str(exc)) from exc
        except FileNotFoundError as exc:
            raise CommandFailed(str(exc)) from exc
        if interactive:
            print("\r\033[Kscoring new transactions...", end="", file=sys.stderr, flush=True)
        # The one intake path: rows stored after a model exists are scored now and alerts queued.
        outcome = TransactionIntake.from_services(services).process()
    finally:
        services.close()
    if interactive:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(summary(report))
    for reject in report.rejects[:REJECTS_SHOWN]:
        print(f"  {reject}")
    if report.rejected > REJECTS_SHOWN:
        print(f"  ... and {report.rejected - REJECTS_SHOWN:,} more in the rejects report")
    print(intake_summary(outcome))
    return 0


def summary(report: IngestReport) -> str:
    """One line: rows read, new, already stored, rejected (and where the rejects report is)."""
    n_files = len(report.files)
    line = (
        f"ingested {report.rows_read:,} rows from {n_files} file{'s' if n_files != 1 else ''}: "
        f"{report.inserted:,} new, {report.duplicates:,} already stored, {report.rejected:,} rejected"
    )
    if report.rejects_path is not None:
        line += f" (see {report.rejects_path})"
    return line


def intake_summary(outcome: IntakeOutcome) -> str:
    """One line: how many new rows were scored and flagged, and the "Was this you?" questions queued."""
    if not outcome.trained:
        return "not scored yet: no model is trained (run `finassist train`; later files are scored at intake)"
    line = f"scored {outcome.scored:,} new transactions: {outcome.flagged:,} flagged"
    if outcome.flagged:
        line += f", {outcome.alerts_queued:,} \"Was this you?\" queued"
        if outcome.alerts_deferred:
            line += f" ({outcome.alerts_deferred:,} wait for quiet hours to end)"
        if outcome.not_asked:
            line += f"; {outcome.not_asked:,} too old to ask about"
    return line


def _progress_line(stage: str, done: int, total: int) -> None:
    print(f"\r{stage} {done:,}/{total:,} rows ({100 * done // max(total, 1)}%)", end="", file=sys.stderr, flush=True)
