"""`finassist synth`: writes a synthetic Indian bank (raw-format transactions plus ground-truth labels)."""

from __future__ import annotations

import argparse
import sys
import time

from analytics.synth import DEFAULT_MERCHANTS_PATH, generate_bank, load_merchants, write_bank
from bot.cli import UsageError
from bot.config import Config


def run(args: argparse.Namespace, config: Config) -> int:
    customers, months, seed = args.customers, args.months, args.seed
    activity = float(getattr(args, "activity", 1.0))
    for flag, value, example in (("--customers", customers, 2000), ("--months", months, 12)):
        if not isinstance(value, int) or value < 1:
            raise UsageError(f"{flag} must be a positive whole number, got {value} (e.g. {flag} {example})")
    if not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {seed} (try --seed 7)")
    if not activity > 0:
        raise UsageError(f"--activity must be above 0, got {activity} (1.0 is a typical account)")
    if not args.out:
        raise UsageError("--out needs a folder, e.g. --out data/synth")
    interactive = sys.stderr.isatty()
    started = time.perf_counter()

    def progress(text: str) -> None:
        if interactive:
            print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)

    merchants = load_merchants(DEFAULT_MERCHANTS_PATH) if DEFAULT_MERCHANTS_PATH.is_file() else None
    progress(f"generating {customers:,} customers x {months} months...")
    bank = generate_bank(customers, months, seed, merchants=merchants, activity=activity)
    progress(f"writing {len(bank.transactions):,} rows...")
    paths = write_bank(bank, args.out, compress=bool(getattr(args, "gzip", False)))
    progress("")
    if interactive:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    fraud = int(bank.txn_labels["is_fraud"].sum())
    churned = int(bank.customer_labels["churned"].sum())
    print(f"wrote {len(bank.transactions):,} transactions of {len(bank.customer_labels):,} customers "
          f"({bank.start.isoformat()} to {bank.end.isoformat()}; {fraud:,} injected fraud, {churned:,} churners) "
          f"in {time.perf_counter() - started:.1f} s")
    for path in paths.values():
        print(f"  {path}")
    return 0
