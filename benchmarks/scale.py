"""Past one machine: ingest + train of ~1M synthetic rows on PostgreSQL against SQLite, in the same run.

    python benchmarks/scale.py [--customers 9000] [--months 12] [--seed 1] [--url postgresql://user@host/db]

Each backend runs `ingest` then `train` of the same synthetic bank in a fresh child process; the script prints
the stage times of both, the PostgreSQL / SQLite ratio per stage, and checks that both stores end with the
same figures (rows, customers, flagged transactions, churn AUC). Without `--url` a throwaway PostgreSQL server
is started for the run (tests/pg_cluster.py, with fsync and full-page writes on, as a real server has them)
and removed afterwards; with `--url` the database must be empty.

Bot throughput with 1, 2 and 4 webhook workers on one PostgreSQL store comes with the multi-worker outbox
(issue 13's follow-up).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MPLBACKEND", "Agg")


def _ingest_and_train(csv_path: str, target: str, local_dir: str, queue: mp.Queue) -> None:
    from bot.config import Config
    from bot.services.ingestion import ingest_files
    from bot.services.training import train
    from bot.storage.database import open_store

    started = time.perf_counter()
    store = open_store(target, local_dir=local_dir)
    open_s = time.perf_counter() - started
    try:
        if store.db.execute("SELECT count(*) FROM transactions").fetchone()[0]:
            queue.put({"error": f"the store at {store.path} is not empty"})
            return
        started = time.perf_counter()
        report = ingest_files(store, [Path(csv_path)], rejects_path=Path(local_dir) / "rejects.csv")
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        trained = train(store, Config().with_store(target).with_db(Path(local_dir) / "store.db"))
        train_s = time.perf_counter() - started
    finally:
        store.close()
    queue.put({"open_s": open_s, "ingest_s": ingest_s, "train_s": train_s, "ingest_stages": report.timings,
               "train_stages": trained.timings,
               "figures": {"rows": report.inserted, "rejected": report.rejected, "customers": trained.n_customers,
                           "flagged": trained.anomaly_flagged, "segments": trained.k,
                           "churn_auc": round(float(trained.churn_metrics.get("auc", float("nan"))), 6)}})


def _in_child(*args: str) -> dict:
    context = mp.get_context("spawn")
    queue: mp.Queue = context.Queue()
    process = context.Process(target=_ingest_and_train, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    if "error" in result:
        raise SystemExit(f"scale.py: {result['error']}")
    return result


def _line(label: str, sqlite_s: float, postgres_s: float) -> str:
    ratio = f"{postgres_s / sqlite_s:5.2f}x" if sqlite_s >= 0.005 else "    -"
    return f"  {label:<22} {sqlite_s:8.2f} s {postgres_s:10.2f} s   {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=9_000, help="9,000 customers x 12 months is about 1M rows")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="an empty PostgreSQL database to use instead of a throwaway server")
    args = parser.parse_args()

    from analytics.synth import generate_bank, write_bank

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bank = generate_bank(customers=args.customers, months=args.months, seed=args.seed)
        rows = len(bank.transactions)
        write_bank(bank, folder / "bank")
        del bank
        csv_path = str(folder / "bank" / "transactions.csv")
        Path(csv_path).read_bytes()  # in the page cache before either run: neither pays the first read
        print(f"synthetic bank: {rows:,} rows, {args.customers:,} customers, {args.months} months")

        cluster = None
        url = args.url
        if url is None:
            from tests.pg_cluster import PgCluster

            cluster = PgCluster(durable=True).start()
            url = cluster.create_database("scale")
            print(f"throwaway PostgreSQL server on 127.0.0.1:{cluster.port} (fsync on)")
        try:
            (folder / "sqlite").mkdir()
            (folder / "postgres").mkdir()
            sqlite = _in_child(csv_path, str(folder / "sqlite" / "store.db"), str(folder / "sqlite"))
            postgres = _in_child(csv_path, url, str(folder / "postgres"))
        finally:
            if cluster is not None:
                cluster.stop()

    print(f"  {'stage':<22} {'SQLite':>10} {'PostgreSQL':>12}   ratio")
    for stage in sqlite["ingest_stages"]:
        print(_line(f"ingest: {stage}", sqlite["ingest_stages"][stage], postgres["ingest_stages"].get(stage, 0.0)))
    print(_line("ingest", sqlite["ingest_s"], postgres["ingest_s"]))
    for stage in sqlite["train_stages"]:
        print(_line(f"train: {stage}", sqlite["train_stages"][stage], postgres["train_stages"].get(stage, 0.0)))
    print(_line("train", sqlite["train_s"], postgres["train_s"]))
    print(_line("ingest + train", sqlite["ingest_s"] + sqlite["train_s"], postgres["ingest_s"] + postgres["train_s"]))
    print(f"  (opening the store, migrations included: SQLite {sqlite['open_s']:.2f} s, "
          f"PostgreSQL {postgres['open_s']:.2f} s; train's anomaly stage runs beside the others)")
    same = sqlite["figures"] == postgres["figures"]
    print(f"figures {'equal' if same else 'DIFFER'} on both backends: "
          + ", ".join(f"{k} {v}" for k, v in sqlite["figures"].items()))
    if not same:
        print("  PostgreSQL: " + ", ".join(f"{k} {v}" for k, v in postgres["figures"].items()))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
