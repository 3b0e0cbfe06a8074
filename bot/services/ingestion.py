"""Ingests CSV files into the store: parse, insert in one transaction, write the rejects report, record the run."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analytics.ingest import BANK_TIMEZONE, Reject, latest_accepted_time, read_transactions, write_rejects
from analytics.private_files import create_private_file
from bot.storage.database import Store
from bot.storage.snapshot import TransactionSnapshot
from bot.storage.transactions import InsertResult, TransactionRepository

log = logging.getLogger(__name__)

BULK_ROWS = 100_000  # from here on the WAL is copied into the database file in the background after commit


@dataclass(frozen=True)
class IngestReport:
    """What one ingest run did. `duplicates` are valid rows whose TransactionID was already stored."""

    run_id: str
    files: tuple[str, ...]
    rows_read: int
    accepted: int
    inserted: int
    duplicates: int
    rejected: int
    rejects_path: Path | None
    rejects: tuple[Reject, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)   # seconds: parse, store (incl. commit), snapshot


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id such as 20261129T061500-3fa9c1."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def default_rejects_path(store: Store, run_id: str) -> Path:
    """rejects_<run_id>.csv beside the database (the working folder for an in-memory store; the local data
    folder for PostgreSQL)."""
    return store.files_folder / f"rejects_{run_id}.csv"


def ingest_files(
    store: Store,
    paths: Sequence[Path | str],
    rejects_path: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    timezone: str = BANK_TIMEZONE,
) -> IngestReport:
    """Parse `paths`, store the accepted rows in one transaction, write the rejects report, record the run.

    The rejects report is written when there are rejects, or always when `rejects_path` is given explicitly.
    `progress(stage, done, total)` is called while storing big batches (for a terminal progress line).
    Rows dated more than a day after `clock()` (UTC by default, judged in the bank's `timezone`) are rejected.
    Raises FileNotFoundError or analytics.ingest.IngestFormatError before anything is stored.
    """
    started_at = clock() if clock is not None else dt.datetime.now(dt.UTC)
    run_id = new_run_id(started_at)
    files = tuple(str(p) for p in paths)
    timer = time.perf_counter()
    batch = read_transactions(paths, not_after=latest_accepted_time(started_at, timezone))
    timings = {"parse": time.perf_counter() - timer}
    timer = time.perf_counter()
    repo = TransactionRepository(store)
    on_rows = (lambda done, total: progress("storing", done, total)) if progress else None

    target: Path | None = None
    if batch.rejects or rejects_path is not None:
        # The report quotes rows (IDs, amounts): created 0600 before write_rejects opens it (mode kept).
        target = create_private_file(rejects_path or default_rejects_path(store, run_id))
        target = write_rejects(batch.rejects, target)

    snapshot = TransactionSnapshot(store)

    def store_batch() -> InsertResult:
        # One unit of work: on PostgreSQL, a connection lost before COMMIT rolls it all back and it runs again.
        result = repo.insert_frame(batch.frame, source=run_id, progress=on_rows,
                                   snapshot_part=snapshot.accepts(len(batch.frame)))
        repo.record_run(
            run_id,
            started_at=started_at,
            files=files,
            rows_read=batch.rows_read,
            accepted=batch.accepted,
            inserted=result.inserted,
            duplicates=result.duplicates,
            rejected=len(batch.rejects),
            rejects_path=str(target) if target else None,
        )
        return result

    result = store.transaction(store_batch, bulk=len(batch.frame) >= BULK_ROWS)
    timings["store"] = time.perf_counter() - timer
    timer = time.perf_counter()
    if result.part_table is not None:  # exactly the new rows, now committed
        snapshot.add_part(result.part_table, first_rowid=result.first_rowid, last_rowid=result.last_rowid)
    timings["snapshot"] = time.perf_counter() - timer
    log.info(
        "ingest %s: %d read, %d new, %d already stored, %d rejected",
        run_id, batch.rows_read, result.inserted, result.duplicates, len(batch.rejects),
    )
    return IngestReport(
        run_id=run_id,
        files=files,
        rows_read=batch.rows_read,
        accepted=batch.accepted,
        inserted=result.inserted,
        duplicates=result.duplicates,
        rejected=len(batch.rejects),
        rejects_path=target,
        rejects=batch.rejects,
        timings={stage: round(seconds, 3) for stage, seconds in timings.items()},
    )
