"""`finassist ingest FILE...`: loads transaction CSV files into the store and prints what was kept and rejected."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.ingest import IngestFormatError
from bot.cli import CommandFailed
from bot.config import Config
from bot.services.ingestion import IngestReport, ingest_files
from bot.storage.database import Store

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
    store = Store(config.storage.db_path)
    try:
        report = ingest_files(store, paths, rejects_path, progress=_progress_line if interactive else None)
    except IngestFormatError as exc:
        raise CommandFailed(str(exc)) from exc
    except FileNotFoundError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        store.close()
    if interactive:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(summary(report))
    for reject in report.rejects[:REJECTS_SHOWN]:
        print(f"  {reject}")
    if report.rejected > REJECTS_SHOWN:
        print(f"  ... and {report.rejected - REJECTS_SHOWN:,} more in the rejects report")
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


def _progress_line(stage: str, done: int, total: int) -> None:
    print(f"\r{stage} {done:,}/{total:,} rows ({100 * done // max(total, 1)}%)", end="", file=sys.stderr, flush=True)
