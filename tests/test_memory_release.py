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
