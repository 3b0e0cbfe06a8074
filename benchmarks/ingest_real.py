"""Times ingest of the full public file (1,048,491 rows): parse, insert, read-back, and one customer's query.

Run: .venv/bin/python benchmarks/ingest_real.py [PATH] (default ../shared/data/bank_transactions_full.csv.gz).
"""

from __future__ import annotations

import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analytics.ingest import read_transactions  # noqa: E402
from bot.storage.database import Store  # noqa: E402
from bot.storage.transactions import TransactionRepository  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "bank_transactions_full.csv.gz"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="  %(name)s: %(message)s")
    logging.getLogger("bot.storage.transactions").setLevel(logging.INFO)
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        print(f"skipped: {path} not present")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.db")
        repo = TransactionRepository(store)

        started = time.perf_counter()
        batch = read_transactions([path])
        parsed = time.perf_counter()
        with store.atomic():
            result = repo.insert_frame(batch.frame, source="bench")
        stored = time.perf_counter()
        parse_s, insert_s, total_s = parsed - started, stored - parsed, stored - started
        print(f"rows read {batch.rows_read:,}; accepted {batch.accepted:,}; rejected {len(batch.rejects):,}; "
              f"inserted {result.inserted:,}")
        print(f"parse {parse_s:.2f} s ({batch.rows_read / parse_s:,.0f} rows/s)")
        print(f"insert + customers {insert_s:.2f} s ({result.inserted / insert_s:,.0f} rows/s)")
        print(f"parse + insert {total_s:.2f} s ({batch.rows_read / total_s:,.0f} rows/s)")
        print(f"peak RSS after ingest {peak_rss_mb():,.0f} MB")

        started = time.perf_counter()
        with store.atomic():
            again = repo.insert_frame(batch.frame, source="bench-again")
        print(f"re-insert (all duplicates: {again.duplicates:,}) {time.perf_counter() - started:.2f} s")

        del batch
        started = time.perf_counter()
        frame = repo.all_frame()
        print(f"all_frame {len(frame):,} rows {time.perf_counter() - started:.2f} s")
        customers = frame["customer_id"].drop_duplicates().sample(500, random_state=0).tolist()
        del frame
        timings = []
        for customer_id in customers:
            t0 = time.perf_counter()
            repo.for_customer(customer_id)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        print(f"for_customer over 500 customers: median {statistics.median(timings):.2f} ms, "
              f"p99 {timings[int(0.99 * len(timings)) - 1]:.2f} ms")
        print(f"peak RSS overall {peak_rss_mb():,.0f} MB; load average during the run {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
