"""Bot throughput and reply latency through the fake Bot API server, against a trivial echo bot as the ceiling.

    .venv/bin/python -m benchmarks.bot [--users 50] [--messages 20] [--db STORE.db] [--with-report]

Without --db a synthetic bank is generated, ingested and trained in a temporary folder. Each simulated user is a
linked chat that sends a message, waits for the bot's first reply, and sends the next (closed loop); latency is
from queuing the update to the fake receiving the reply. Both bots run in this process with the same fake, the
same polling settings and the same (pacing-off) rate limiter, so the ratio isolates the bot's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update  # noqa: E402
from telegram.ext import AIORateLimiter, ApplicationBuilder, MessageHandler, filters  # noqa: E402

from bot.config import Config  # noqa: E402
from bot.container import build_services  # noqa: E402
from bot.storage.links import LinkStore  # noqa: E402
from tests.fakes.telegram_app import running_bot  # noqa: E402
from tests.fakes.telegram_server import Call, FakeTelegramServer  # noqa: E402

MIX = [("/balance", 3), ("/spending", 3), ("/budget", 2), ("/recommend", 1), ("/profile", 1), ("/help", 1),
       ("/alerts", 1), ("how much did I spend on dining last month?", 2), ("what is my balance", 2),
       ("any suggestions to save money?", 1)]


@dataclass
class Result:
    name: str
    replies: int
    seconds: float
    latencies_ms: list[float]
    open: Result | None = None          # the open-loop (latency) run

    @property
    def throughput(self) -> float:
        return self.replies / self.seconds

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))]

    def line(self) -> str:
        return (f"{self.name:<10} {self.replies:>6} replies in {self.seconds:6.2f} s  {self.throughput:8.1f} msg/s  "
                f"p50 {self.pct(0.50):7.1f} ms  p99 {self.pct(0.99):7.1f} ms  max {max(self.latencies_ms):7.1f} ms")


def replier(fake: FakeTelegramServer):
    """send(chat, text) -> ms until the fake received the bot's first reply to that chat (FIFO per chat)."""
    waiting: dict[int, deque[asyncio.Future[float]]] = defaultdict(deque)

    def on_call(call: Call) -> None:
        if call.method in ("sendMessage", "sendPhoto") and not call.failed:
            queue = waiting.get(call.chat_id or 0)
            if queue:
                queue.popleft().set_result(call.time)

    fake.on_call = on_call

    async def send(chat: int, text: str) -> float:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        waiting[chat].append(future)
        start = time.time()
        if text.startswith("/"):
            fake.push_command(chat, chat, text)
        else:
            fake.push_text(chat, chat, text)
        return (await asyncio.wait_for(future, 60) - start) * 1000

    return send


async def open_loop(fake: FakeTelegramServer, name: str, chats: list[int], rate: float, total: int,
                    mix: list[str], seed: int = 2) -> Result:
    """Poisson arrivals at `rate` msg/s from random users: latency when the bot is not saturated."""
    rng = random.Random(seed)
    send = replier(fake)
    tasks = []
    began = time.perf_counter()
    for _ in range(total):
        tasks.append(asyncio.create_task(send(rng.choice(chats), rng.choice(mix))))
        await asyncio.sleep(rng.expovariate(rate))
    latencies = list(await asyncio.gather(*tasks))
    fake.on_call = None
    return Result(name, len(latencies), time.perf_counter() - began, latencies)


async def drive(fake: FakeTelegramServer, name: str, chats: list[int], messages: int, mix: list[str],
                seed: int = 1) -> Result:
    """Closed-loop users: each chat sends, waits for its reply, sends again."""
    latencies: list[float] = []
    send = replier(fake)

    async def user(chat: int) -> None:
        rng = random.Random(seed * 100_003 + chat)
        for _ in range(messages):
            latencies.append(await send(chat, rng.choice(mix)))

    began = time.perf_counter()
    await asyncio.gather(*(user(c) for c in chats))
    seconds = time.perf_counter() - began
    fake.on_call = None
    return Result(name, len(latencies), seconds, latencies)


async def echo_run(args: argparse.Namespace, chats: list[int], mix: list[str]) -> Result:
    async def echo(update: Update, context) -> None:
        await update.get_bot().send_message(update.effective_chat.id, update.effective_message.text)

    async with FakeTelegramServer() as fake:
        limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
        app = (ApplicationBuilder().token(fake.token).base_url(fake.base_url).rate_limiter(limiter)
               .connection_pool_size(64).build())
        app.add_handler(MessageHandler(filters.TEXT, echo, block=False))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            await drive(fake, "warm-up", chats[:5], 2, mix)
            result = await drive(fake, "echo", chats, args.messages, mix)
            result.open = await open_loop(fake, "echo", chats, args.rate, args.open_messages, mix)
            await app.updater.stop()
            await app.stop()
    return result


async def bot_run(args: argparse.Namespace, services, chats: list[int], mix: list[str], ttl: float,
                  name: str) -> Result:
    async with FakeTelegramServer() as fake, running_bot(services, fake, overall_max_rate=0, group_max_rate=0,
                                                         insights_cache_ttl=ttl):
        await drive(fake, "warm-up", [9_999_999], 3, mix)   # an unlinked chat: warms PTB, not the cache
        result = await drive(fake, name, chats, args.messages, mix)
        result.open = await open_loop(fake, name, chats, args.rate, args.open_messages, mix)
        return result


def prepare_store(args: argparse.Namespace, workdir: Path) -> Path:
    if args.db:
        return Path(args.db)
    from analytics.synth import generate_bank, write_bank
    from bot.services.ingestion import ingest_files
    from bot.services.training import train
    from bot.storage.database import Store

    print(f"building a synthetic bank ({args.customers} customers, 6 months) ...", flush=True)
    write_bank(generate_bank(customers=args.customers, months=6, seed=7), workdir)
    path = workdir / "bench.db"
    store = Store(path)
    try:
        ingest_files(store, [workdir / "transactions.csv"], rejects_path=workdir / "rejects.csv")
        train(store, Config().with_db(path))
    finally:
        store.close()
    return path


def link_users(services, users: int) -> list[int]:
    """Link one chat per customer, busiest customers first (the heaviest replies)."""
    rows = services.store.db.execute(
        "SELECT customer_id FROM customers ORDER BY n_txn DESC, customer_id LIMIT ?", (users,)).fetchall()
    links = LinkStore(services.store)
    now = dt.datetime.now(dt.UTC)
    chats = []
    for i, (customer,) in enumerate(rows):
        chat = 700_000 + i
        links.link(chat, customer, chat, now)
        chats.append(chat)
    return chats


async def main_async(args: argparse.Namespace) -> int:
    mix = [text for text, weight in MIX for _ in range(weight)]
    if args.with_report:
        mix.append("/report")
    with tempfile.TemporaryDirectory(prefix="finassist-botbench-") as folder:
        path = prepare_store(args, Path(folder))
        services = build_services(Config().with_db(path))
        try:
            n_txn = services.store.db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
            chats = link_users(services, args.users)
            print(f"store: {path.name}, {n_txn:,} transactions; {len(chats)} users × {args.messages} messages; "
                  f"mix: {sorted(set(mix))}", flush=True)
            echo = await echo_run(args, chats, mix)
            ours = await bot_run(args, services, chats, mix, 30.0, "finassist")
            uncached = await bot_run(args, services, chats, mix, 0.0, "no-cache")
        finally:
            with services.store.locked() as db:
                db.execute("DELETE FROM chat_links WHERE chat_id >= 700000 AND chat_id < 800000")
            services.close()
    print("closed loop (throughput at saturation; latency here is mostly queueing):")
    for result in (echo, ours, uncached):
        print("  " + result.line())
    print(f"open loop at {args.rate:g} msg/s (reply latency when not saturated):")
    for result in (echo, ours, uncached):
        assert result.open is not None
        print("  " + result.open.line())
    ratio = ours.throughput / echo.throughput
    print(f"throughput ratio finassist/echo: {ratio:.0%} (target ≥ 50%); finassist open-loop p99 "
          f"{ours.open.pct(0.99):.1f} ms "
          f"(target < 100 ms); without the bot's 30 s facade cache: {uncached.throughput / echo.throughput:.0%}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per user")
    parser.add_argument("--customers", type=int, default=400, help="synthetic bank size when --db is not given")
    parser.add_argument("--db", help="an existing ingested (and trained) store, e.g. the 1M-transaction one")
    parser.add_argument("--rate", type=float, default=20.0, help="open-loop arrival rate, messages/s")
    parser.add_argument("--open-messages", type=int, default=400, help="messages in the open-loop run")
    parser.add_argument("--with-report", action="store_true", help="include /report (renders a chart) in the mix")
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
