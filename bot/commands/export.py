"""`finassist export --out DIR`: writes the scored transactions and customers as CSV for analysts' tools."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.cli import CommandFailed
from bot.config import Config
from bot.services.trained_scores import TrainedScores
from bot.storage.database import open_store
from bot.storage.scores import CUSTOMER_EXPORT_COLUMNS, TRANSACTION_EXPORT_COLUMNS, ScoreRepository


def run(args: argparse.Namespace, config: Config) -> int:
    out = Path(args.out)
    store = open_store(config.storage.target, local_dir=config.storage.local_dir)
    try:
        scores = ScoreRepository(store)
        counts = scores.counts()
        if counts["transaction_scores"] == 0 and counts["customer_scores"] == 0:
            raise CommandFailed("nothing to export yet: run `finassist train` first")
        out.mkdir(parents=True, exist_ok=True)
        n_txn = write_csv(out / "transactions_scored.csv", TRANSACTION_EXPORT_COLUMNS,
                          TrainedScores(store).export_rows())
        n_cust = write_csv(out / "customers_scored.csv", CUSTOMER_EXPORT_COLUMNS, scores.iter_customer_export())
    finally:
        store.close()
    print(f"wrote {n_txn:,} transactions to {out / 'transactions_scored.csv'}")
    print(f"wrote {n_cust:,} customers to {out / 'customers_scored.csv'}")
    return 0


def write_csv(path: Path, header: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> int:
    """Stream rows to CSV (a million rows never sit in memory at once)."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
