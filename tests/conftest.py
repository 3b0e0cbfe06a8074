"""Shared fixtures: a fresh store per test, paths to the public data set when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from bot.config import Config  # noqa: E402
from bot.storage.database import Store  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def fresh_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "test.db")
    yield store
    store.close()


@pytest.fixture
def test_config(tmp_path: Path) -> Config:
    return Config().with_db(tmp_path / "test.db")


@pytest.fixture
def real_sample_csv() -> Path:
    path = SHARED_DATA / "bank_transactions_sample.csv"
    if not path.exists():
        pytest.skip("public data sample not present")
    return path
