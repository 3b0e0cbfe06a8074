"""`finassist export --out DIR`: writes the scored transactions and customers as CSV for analysts' tools."""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from analytics.csv_lines import csv_chunk
from analytics.private_files import make_private_dir, open_private
from bot.cli import CommandFailed
from bot.config import Config
from bot.services.trained_scores import TrainedScores
from bot.storage.database import open_store
from bot.storage.scores import CUSTOMER_EXPORT_COLUMNS, TRANSACTION_EXPORT_COLUMNS, ScoreRepository

PROGRESS_EVERY_S = 0.5
PARALLEL_MIN_CUSTOMERS = 50_000  # below this the second process costs more (its imports) than it saves
TRANSACTIONS_FILE = "transactions_scored.csv"
CUSTOMERS_FILE = "customers_scored.csv"


def run(args: argparse.Namespace, config: Config) -> int:
    out = Path(args.out)
    progress = TerminalProgress(sys.stderr) if sys.stderr.isatty() else None
    store = open_store(config.storage.target, local_dir=config.storage.local_dir)
    try:
        scores = ScoreRepository(store)
        counts = scores.counts()
        if counts["transaction_scores"] == 0 and counts["customer_scores"] == 0:
            raise CommandFailed("nothing to export yet: run `finassist train` first")
        prepare_folder(out)
        stage = progress.stage if progress else None
        # A big customers file is written alongside by a second process (its own connection, its own core):
        # reading the rows from SQL is Python work (the CSV text is built in Arrow) one interpreter does serially.
        beside = (write_customers_beside(config, out / CUSTOMERS_FILE)
                  if counts["customer_scores"] >= PARALLEL_MIN_CUSTOMERS and getattr(store, "path", None) != ":memory:"
                  else None)
        n_txn = write_csv(out / TRANSACTIONS_FILE, TRANSACTION_EXPORT_COLUMNS,
                          TrainedScores(store).export_columns(progress=stage),
                          progress=progress.rows(TRANSACTIONS_FILE) if progress else None)
        if beside is not None:
            if stage:
                stage(f"finishing {CUSTOMERS_FILE} (written by a second process)")
            n_cust = beside.result()
        else:
            n_cust = write_csv(out / CUSTOMERS_FILE, CUSTOMER_EXPORT_COLUMNS, scores.customer_export_columns(),
                               progress=progress.rows(CUSTOMERS_FILE, counts["customer_scores"]) if progress else None)
    finally:
        store.close()
        if progress:
            progress.clear()
    print(f"wrote {n_txn:,} transactions to {out / TRANSACTIONS_FILE}")
    print(f"wrote {n_cust:,} customers to {out / CUSTOMERS_FILE}")
    return 0


def write_customers_beside(config: Config, path: Path) -> Future[int]:
    """Write the customers file in a second (spawned) process that opens the store itself; the future gives the
    row count, or raises what the writing raised (CommandFailed for an unwritable file)."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return pool.submit(write_customers_file, config.storage.target, config.storage.local_dir, str(path))
    finally:
        pool.shutdown(wait=False)  # the worker still finishes the job; result() waits for it


def write_customers_file(target: str, local_dir: Path | None, path: str) -> int:
    """customers_scored.csv from the store at `target` (runs in the second process, or in this one)."""
    store = open_store(target, local_dir=local_dir)
    try:
        return write_csv(Path(path), CUSTOMER_EXPORT_COLUMNS, ScoreRepository(store).customer_export_columns())
    finally:
        store.close()


def prepare_folder(out: Path) -> None:
    """`--out` must be a folder we can create or write into; say which and why in one line otherwise."""
    if out.exists() and not out.is_dir():
        raise CommandFailed(f"--out {out} is a file, not a folder: give a folder for {TRANSACTIONS_FILE} "
                            f"and {CUSTOMERS_FILE} (e.g. --out out/export)")
    try:
        make_private_dir(out)  # customer data: new folders 0700 (the files are written 0600)
    except OSError as exc:
        raise CommandFailed(f"cannot create the folder {out}: {exc.strerror or exc}") from exc


def write_csv(path: Path, header: tuple[str, ...], chunks: Iterable[Sequence[Sequence[Any]]],
              progress: Callable[[int], None] | None = None) -> int:
    """Stream chunks of rows, each given column by column, to CSV (a million rows never sit in memory at once);
    text cells that a spreadsheet would run as a formula are neutralised (analytics.csv_safety). The bytes are
    csv.writer's, built a column at a time in Arrow (analytics.csv_lines)."""
    count = 0
    try:
        handle = open_private(path, "wb")
    except OSError as exc:
        raise CommandFailed(f"cannot write {path}: {exc.strerror or exc}") from exc
    collecting = gc.isenabled()
    gc.disable()  # millions of row tuples, none in a cycle: the collector's passes over them were a tenth of the time
    try:
        with handle:
            handle.write(csv_chunk([[name] for name in header]))
            for columns in chunks:
                handle.write(csv_chunk(columns))
                count += len(columns[0]) if columns else 0
                if progress is not None:
                    progress(count)
    finally:
        if collecting:
            gc.enable()
    return count


class TerminalProgress:
    """One rewritten stderr line: the stage, then rows written (at most twice a second)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._shown = 0.0

    def stage(self, text: str) -> None:
        self._write(f"export: {text}...")

    def rows(self, name: str, total: int | None = None) -> Callable[[int], None]:
        def show(done: int) -> None:
            now = time.monotonic()
            if now - self._shown < PROGRESS_EVERY_S:
                return
            self._shown = now
            of = f"/{total:,} ({100 * done // max(total, 1)}%)" if total else ""
            self._write(f"export: writing {name}: {done:,}{of} rows")
        return show

    def _write(self, text: str) -> None:
        print(f"\r\033[K{text}", end="", file=self.stream, flush=True)

    def clear(self) -> None:
        print("\r\033[K", end="", file=self.stream, flush=True)
