"""Past one machine: ingest + train of ~1M synthetic rows on PostgreSQL against SQLite, in the same run.

    python benchmarks/scale.py [--customers 9000] [--months 12] [--seed 1] [--url postgresql://user@host/db]
    python benchmarks/scale.py --bot [--messages 3000] [--workers 1,2,4] [--rate 1000]

Each backend runs `ingest` then `train` of the same synthetic bank in a fresh child process; the script prints
the stage times of both, the PostgreSQL / SQLite ratio per stage, and checks that both stores end with the
same figures (rows, customers, flagged transactions, churn AUC). Without `--url` a throwaway PostgreSQL server
is started for the run (tests/pg_cluster.py, with fsync and full-page writes on, as a real server has them)
and removed afterwards; with `--url` the database must be empty.

`--bot`: outbox throughput with 1, 2 and 4 `finassist bot` processes (webhook mode, one token) on one
PostgreSQL store. For each count a fresh database gets `--messages` queued messages (one chat each), the
workers drain it into the fake Bot API (tests/fakes/telegram_server.py, in this process), and the script
prints messages/s from the first delivery to the last and the tally (each exactly once, duplicated, lost),
plus how many rows each worker sent. `--rate` lifts each worker's own pace ([scheduler]
send_rate_per_second, 25/s by default, under Telegram's ~30/s a token) so the store's claims are what is
measured; on the real Bot API one token stays at ~30/s however many workers share it.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
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
                           "churn_auc": _auc(trained.churn_metrics)}})


def _auc(metrics: dict) -> float | None:
    """The churn AUC, or None when there is none (a small bank has too few churners): NaN never equals NaN,
    so it would make the two backends' figures differ."""
    auc = float(metrics.get("auc", float("nan")))
    return None if math.isnan(auc) else round(auc, 6)


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


async def _drain_with_workers(url: str, workers: int, messages: int, rate: float, folder: Path) -> dict:
    import asyncio
    import datetime as dt
    import signal

    from bot.storage.database import Store
    from bot.storage.outbox import OutboxRepository
    from tests.fakes.delivery import expected_from_store, tally
    from tests.fakes.telegram_server import FakeTelegramServer
    from tests.pg_cluster import free_port

    store = Store(url, local_dir=folder / "queue")
    now = dt.datetime.now(dt.UTC)
    repo = OutboxRepository(store)
    with store.atomic():
        for i in range(messages):
            repo.enqueue(chat_id=800_000 + i, kind="low_balance", dedupe_key=f"bench:{i}",
                         payload={"text": f"message {i}", "photo": None, "buttons": None, "meta": {}},
                         created_at=now, due_at=now)
    async with FakeTelegramServer() as fake:
        processes = []
        for n in range(workers):
            port = free_port()
            config = folder / f"worker{n}.toml"
            config.write_text(
                f'[storage]\nurl = "{url}"\ndb_path = "{folder / f"w{n}" / "store.db"}"\n'
                f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\nmode = "webhook"\n'
                f'webhook_url = "http://127.0.0.1:{port}/hook"\nwebhook_listen = "127.0.0.1"\n'
                f'webhook_port = {port}\n[scheduler]\nquiet_hours = "off"\nsend_rate_per_second = {rate}\n')
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "bot", "--config", str(config), cwd=str(REPO_ROOT),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))
        try:
            await fake.wait_for("sendMessage", lambda c: (c.chat_id or 0) >= 800_000, timeout=600, count=messages)
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            for process in processes:
                await asyncio.wait_for(process.wait(), 120)
        delivered = [c for c in fake.delivered() if (c.chat_id or 0) >= 800_000]
    counted = tally(expected_from_store(store), delivered)
    per_worker = sorted(n for _, n in store.db.execute(
        "SELECT claimed_by, count(*) FROM outbox WHERE status = 'sent' GROUP BY claimed_by").fetchall())
    store.close()
    times = sorted(c.time for c in delivered)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {"rate": (len(times) - 1) / span if span else 0.0, "span": span, "tally": counted,
            "per_worker": per_worker}


def bot_throughput(args: argparse.Namespace) -> None:
    import asyncio

    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        cluster = None
        if args.url is None:
            from tests.pg_cluster import PgCluster

            cluster = PgCluster(durable=True).start()
            print(f"throwaway PostgreSQL server on 127.0.0.1:{cluster.port} (fsync on)")
        try:
            print(f"{args.messages:,} outbox messages, one chat each, worker pace {args.rate:g}/s")
            for workers in counts:
                folder = Path(tmp) / f"workers{workers}"
                folder.mkdir()
                url = cluster.create_database(f"bot{workers}") if cluster is not None else args.url
                result = asyncio.run(_drain_with_workers(url, workers, args.messages, args.rate, folder))
                t = result["tally"]
                print(f"  {workers} worker{'s' if workers > 1 else ' '}: {result['rate']:7.1f} messages/s "
                      f"({result['span']:.1f} s); {t.line()}; sent per worker {result['per_worker']}")
                if t.once != t.queued or t.unexpected:
                    raise SystemExit(1)
        finally:
            if cluster is not None:
                cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=9_000, help="9,000 customers x 12 months is about 1M rows")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="an empty PostgreSQL database to use instead of a throwaway server")
    parser.add_argument("--bot", action="store_true", help="measure outbox throughput with several bot workers")
    parser.add_argument("--messages", type=int, default=3_000, help="--bot: messages queued per run")
    parser.add_argument("--workers", default="1,2,4", help="--bot: worker counts, comma-separated")
    parser.add_argument("--rate", type=float, default=1000.0, help="--bot: each worker's send_rate_per_second")
    args = parser.parse_args()
    if args.bot:
        if args.url is not None and len(args.workers.split(",")) > 1:
            parser.error("--url holds one run: give one --workers count with it")
        bot_throughput(args)
        return

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
