"""bot/services/memory.py: freed large arrays really leave the process (glibc only; skipped elsewhere)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from bot.services.memory import return_freed_memory, unmap_large_blocks


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_freed_large_arrays_leave_the_resident_set() -> None:
    if not unmap_large_blocks():
        pytest.skip("not glibc's allocator")
    before = _rss_mb()
    blocks = [np.ones(1 << 20) for _ in range(32)]   # 32 arrays of 8 MB, every page touched
    assert _rss_mb() - before > 200
    del blocks
    gc.collect()
    assert _rss_mb() - before < 50


def test_trim_answers_on_glibc() -> None:
    assert return_freed_memory() == unmap_large_blocks()


def test_a_store_that_gave_back_its_cache_reads_every_row_again(backend_store, real_sample_csv) -> None:
    import csv

    from bot.services.ingestion import ingest_files
    from bot.storage.transactions import TransactionRepository

    with real_sample_csv.open(newline="") as f:
        expected = {row["TransactionID"] for row in csv.DictReader(f)}
    ingest_files(backend_store, [real_sample_csv], None)
    backend_store.release_memory()   # SQLite: PRAGMA shrink_memory; PostgreSQL: nothing to give back here
    frame = TransactionRepository(backend_store).all_frame()
    assert set(frame["transaction_id"]) == expected


def test_a_finassist_process_gives_arrow_the_system_allocator_unless_told_otherwise() -> None:
    import os
    import subprocess
    import sys

    probe = "import bot, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    got = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "system"
    chosen = subprocess.run([sys.executable, "-c", probe], env={**env, "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"},
                            capture_output=True, text=True, check=True)
    assert chosen.stdout.strip() == "mimalloc"   # an explicit setting is not overridden (this wheel has mimalloc)


@pytest.mark.parametrize("threshold, pinned", [(10**9, False), (2, True)])
def test_train_maps_large_arrays_on_their_own_only_for_a_bank_of_many_customers(tmp_path, monkeypatch, threshold,
                                                                                pinned) -> None:
    """The pin costs page faults: a small bank keeps the default heap, a bank of many customers gets it."""
    import bot.services.training as training
    from bot.config import Config
    from bot.storage.database import Store
    from bot.storage.transactions import TransactionRepository
    from tests.model_frames import synth_bank

    calls: list[int] = []
    monkeypatch.setattr(training, "UNMAP_FROM_CUSTOMERS", threshold)
    monkeypatch.setattr(training, "unmap_large_blocks", lambda: calls.append(1) or True)  # process-wide: not for real
    config = Config().with_db(tmp_path / "t.db")
    store = Store(config.storage.db_path)
    bank = synth_bank(customers=60, months=6, seed=4)
    with store.atomic():
        TransactionRepository(store).insert_frame(bank.transactions, "test")
    with store.locked():
        customers = store.conn.execute("SELECT count(DISTINCT customer_id) FROM transactions").fetchone()[0]
    assert TransactionRepository(store).customer_count() == customers
    training.train(store, config)
    store.close()
    assert bool(calls) is pinned
