"""Delivery under faults: the outbox and a 1,000-recipient broadcast through the fake Bot API with injected
5xx, 429 and accept-then-hang timeouts, a `kill -9` of the sending process and restarts. Prints how many
messages were delivered once, duplicated and lost (target: 100% once, 0 lost, duplicates ≤ 0.1% and only from
sends whose outcome was unknown).

    .venv/bin/python benchmarks/faults.py [--alerts 500] [--recipients 1000] [--seed 7] [--hang-rate 0.001]

Each pass is a real `finassist notify --once` process (as the bot's scan job would run it); the fake server
runs here and decides every sendMessage's fate from a seeded random stream. This is a fault benchmark, not a
timing one: it takes about a minute and its figures do not depend on the machine's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import load_config  # noqa: E402
from bot.notify.outbox import Outbox  # noqa: E402
from bot.services.admin import AdminService  # noqa: E402
from bot.storage.database import Store  # noqa: E402
from bot.storage.links import LinkStore  # noqa: E402
from bot.storage.outbox import OutboxRepository  # noqa: E402
from tests.fakes.delivery import expected_from_store, tally  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer, Fault  # noqa: E402

OFFER = "Your savings could work harder: 0.25% extra on a fixed deposit this month."
CONFIG = """[storage]
db_path = "{db}"
[telegram]
token = "{token}"
base_url = "{base_url}"
[scheduler]
quiet_hours = "00:00-00:00"
monthly_summary_day = 31
monthly_summary_time = "23:59"
send_rate_per_second = 300
send_timeout_seconds = 0.5
send_lease_seconds = 3
retry_first_seconds = 1
retry_max_minutes = 0.1
retry_give_up_hours = 1
"""


class Faults:
    """The fate of each sendMessage: 3% 5xx, 1% 429 (retry_after 1-2 s), `hang_rate` accepted then hung past
    the client's timeout (the message arrives, the answer never does: the one fault that can duplicate)."""

    def __init__(self, seed: int, hang_rate: float = 0.001) -> None:
        self.random = random.Random(seed)
        self.hang_rate = hang_rate
        self.counts = {"5xx": 0, "429": 0, "hang": 0}

    def __call__(self, method: str, params: dict) -> Fault | None:
        if method != "sendMessage":
            return None
        roll = self.random.random()
        if roll < 0.03:
            self.counts["5xx"] += 1
            return Fault(self.random.choice((500, 502, 503)), "Internal Server Error")
        if roll < 0.04:
            self.counts["429"] += 1
            return Fault(429, "Too Many Requests: retry later", retry_after=self.random.choice((1, 2)))
        if roll < 0.04 + self.hang_rate:
            self.counts["hang"] += 1
            return Fault(hang_s=2.0)
        return None


async def run_pass(config_path: Path, kill_after: int | None, fake: FakeTelegramServer) -> tuple[int, float]:
    """One `notify --once` process; killed with SIGKILL at the `kill_after`-th accepted send when given."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "notify", "--once", "--config", str(config_path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    accepted = 0

    def watch(call) -> None:
        nonlocal accepted
        if call.method == "sendMessage" and not call.failed:
            accepted += 1
            if kill_after is not None and accepted == kill_after:
                os.kill(process.pid, signal.SIGKILL)   # inside the request: Telegram has it, the sender not

    fake.on_call = watch
    try:
        _, err = await asyncio.wait_for(process.communicate(), 600)
    finally:
        fake.on_call = None
    if process.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"notify --once failed: {err.decode()[-500:]}")
    return process.returncode or 0, time.monotonic() - started


async def main(alerts: int, recipients: int, seed: int, hang_rate: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="finassist-faults-"))
    db = folder / "faults.db"
    faults = Faults(seed, hang_rate)
    async with FakeTelegramServer() as fake:
        config_path = folder / "config.toml"
        config_path.write_text(CONFIG.format(db=db, token=fake.token, base_url=fake.base_url))
        config = load_config(str(config_path))
        store = Store(db)
        now = dt.datetime.now(dt.UTC)
        audience = round(recipients / 0.9)              # 10% held out: `recipients` get the offer
        links = LinkStore(store)
        for chat in range(1, audience + 1):
            links.link(chat, f"C{chat}", chat, now)
        admin = AdminService(store, config, control_share=0.1)
        started = admin.start_broadcast(1, admin.plan_broadcast("all"), OFFER, seed=seed)
        outbox = Outbox(store, config)
        for chat in range(audience + 1, audience + alerts + 1):   # other customers' alerts, alongside
            links.link(chat, f"C{chat}", chat, now)
            outbox.enqueue(chat_id=chat, kind="low_balance", dedupe_key=f"bench:{chat}",
                           text=f"Low balance alert for chat {chat}", meta={"customer_id": f"C{chat}"}, now=now)
        expected = expected_from_store(store)
        print(f"queued: {alerts:,} alerts + {len(started.treatment):,} broadcast recipients "
              f"({len(started.control):,} held out) = {len(expected):,} messages")

        fake.fault_hook = faults
        code, seconds = await run_pass(config_path, kill_after=len(expected) * 2 // 5, fake=fake)
        print(f"pass 1: killed with SIGKILL after {len(fake.delivered()):,} accepted sends ({seconds:.1f} s)")
        repo = OutboxRepository(store)
        passes = 1
        while repo.delivery_counts().pending and passes < 40:
            # What is left: rows due now, retries due in seconds, and the dead worker's claim (lease 3 s).
            await asyncio.sleep(config.scheduler.send_lease_seconds + 0.5 if passes == 1 else 1.0)
            passes += 1
            code, seconds = await run_pass(config_path, None, fake)
            print(f"pass {passes}: {len(fake.delivered()):,} accepted sends so far, "
                  f"{repo.delivery_counts().pending:,} pending ({seconds:.1f} s)")
        fake.release_hangs()
        counts = tally(expected, fake.delivered())
        state = repo.delivery_counts()
        progress = admin.broadcast_progress(started.broadcast_id)
        store.close()
    print(f"injected: {faults.counts['5xx']} 5xx, {faults.counts['429']} 429, "
          f"{faults.counts['hang']} accepted-then-hung; 1 kill -9; {passes} passes")
    print(counts.line())
    print(f"outbox: sent {state.sent:,}, dead-lettered {state.dead:,}, dropped {state.dropped:,}, "
          f"pending {state.pending:,}; sends with an unknown outcome: {state.unknown_outcomes:,}")
    print(f"broadcast #{started.broadcast_id}: {'done' if progress.finished else 'NOT done'}, "
          f"{progress.sent:,}/{progress.total:,} delivered")
    only_unknown = counts.extra_copies <= state.unknown_outcomes
    print(f"copies beyond the first: {counts.extra_copies} — accepted-then-hung sends {faults.counts['hang']}, "
          f"sends in flight at the kill 1; duplicates only from unknown outcomes: {'yes' if only_unknown else 'NO'}")
    print(f"lost 0: {'yes' if counts.lost == 0 else 'NO'}; duplicate rate {counts.duplicate_rate:.2%} "
          f"(target ≤ 0.10%: {'met' if counts.duplicate_rate <= 0.001 else 'not met'} at an injected "
          f"accepted-then-hung rate of {faults.hang_rate:.2%} plus one kill mid-request)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=500, help="proactive alerts queued (default 500)")
    parser.add_argument("--recipients", type=int, default=1000, help="broadcast recipients (default 1000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hang-rate", type=float, default=0.001,
                        help="share of sends accepted then answered too late (default 0.001)")
    args = parser.parse_args()
    asyncio.run(main(args.alerts, args.recipients, args.seed, args.hang_rate))
