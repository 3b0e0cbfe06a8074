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
def store_target(backend: str, request, tmp_path: Path) -> str:
    """Where this test's fresh store lives: a SQLite file, or a new migrated database on the session's
    PostgreSQL server (dropped afterwards)."""
    if backend == "sqlite":
        yield str(tmp_path / "test.db")
        return
    databases = request.getfixturevalue("pg_databases")
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def fresh_store(store_target: str, tmp_path: Path) -> Store:
    """A fresh, empty store of the test's backend (SQLite unless the test is parametrised over both)."""
    store = Store(store_target, local_dir=tmp_path / "local") if "://" in store_target else Store(store_target)
    yield store
    store.close()


@pytest.fixture
def test_config(store_target: str, tmp_path: Path) -> Config:
    """The config of `fresh_store`'s store; a PostgreSQL store keeps its local files under tmp_path/local."""
    if "://" in store_target:
        return Config().with_store(store_target).with_db(tmp_path / "local" / "store.db")
    return Config().with_db(store_target)


def storage_toml(config: Config) -> str:
    """The `[storage]` section naming `config`'s store, for tests that write a config file for a process."""
    text = f'[storage]\ndb_path = "{config.storage.db_path}"\n'
    return text + (f'url = "{config.storage.url}"\n' if config.storage.url else "")


# ---- PostgreSQL: one throwaway server per session (tests/pg_cluster.py), a fresh database per test -------
# Tests marked `postgres` (or parametrised over BACKENDS) need it. Without the server binaries or psycopg they
# say why and skip, unless FINASSIST_REQUIRE_POSTGRES is set (CI sets it): then they fail.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_PG_TEMPLATE = "finassist_template"

# The storage, notify and API tests run on both backends: every test there that reaches `backend` (through
# fresh_store, test_config, trained_services, store_factory, ...) runs once per backend. Elsewhere `backend` is
# SQLite, except for tests that ask for both explicitly (store_factory, backend_store, any_trained_services).
BOTH_BACKEND_MODULES = ("test_storage_", "test_notify_", "test_api_")
BOTH_BACKEND_FIXTURES = {"store_factory", "backend_store", "any_trained_services"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    if any(mark.args and mark.args[0] == "backend" for mark in metafunc.definition.iter_markers("parametrize")):
        return   # the test chose its backends itself
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module.startswith(BOTH_BACKEND_MODULES) or BOTH_BACKEND_FIXTURES & set(metafunc.fixturenames):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """"sqlite" or "postgres": the backend of this test's stores (see pytest_generate_tests)."""
    return getattr(request, "param", "sqlite")


def _postgres_unavailable() -> str | None:
    from tests.pg_cluster import find_bindir

    if find_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl; `pg_config --bindir`) are not installed"
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return "psycopg 3 / psycopg-pool are not installed (pip install -e '.[dev]')"
    return None


class PgDatabases:
    """Makes databases on the session's server: empty-and-migrated clones of a template, or clones of any
    database built once (a trained store). Each clone gets its own store_id, as a fresh migration would."""

    def __init__(self, cluster) -> None:
        import itertools

        import psycopg

        self.cluster = cluster
        self._numbers = itertools.count(1)
        self._connection: psycopg.Connection | None = None
        self.admin(f'CREATE DATABASE "{_PG_TEMPLATE}"')
        Store(cluster.url(_PG_TEMPLATE)).close()  # migrated once; every test database is a copy

    def admin(self, sql: str) -> None:
        """Run one statement on the maintenance database (reconnecting after a test restarted the server)."""
        import psycopg

        if self._connection is None or self._connection.closed or self._connection.broken:
            self._connection = psycopg.connect(self.cluster.url("postgres"), autocommit=True)
        try:
            self._connection.execute(sql)
        except psycopg.OperationalError:
            self._connection = psycopg.connect(self.cluster.url("postgres"), autocommit=True)
            self._connection.execute(sql)

    def create(self, template: str = _PG_TEMPLATE, prefix: str = "t") -> str:
        import psycopg

        name = f"{prefix}{next(self._numbers)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = self.cluster.url(name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE store_meta SET value = md5(random()::text || clock_timestamp()::text)"
                         " WHERE key = 'store_id'")
        return url

    def drop(self, url: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


@pytest.fixture(scope="session")
def pg_databases():
    """The session's PostgreSQL server (started on first use, stopped at the end) and its database maker."""
    reason = _postgres_unavailable()
    if reason is not None:
        if os.environ.get("FINASSIST_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL tests are required here, but {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    from tests.pg_cluster import PgCluster

    cluster = PgCluster().start()
    databases = PgDatabases(cluster)
    try:
        yield databases
    finally:
        databases.close()
        cluster.stop()


@pytest.fixture
def pg_url(pg_databases):
    """A fresh, migrated PostgreSQL database for one test."""
    url = pg_databases.create()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def store_factory(backend: str, request, tmp_path: Path):
    """`make(name)` opens a new, empty store of the test's backend (SQLite file or PostgreSQL database)."""
    opened: list[tuple[Store, str | None]] = []

    def make(name: str = "store") -> Store:
        if backend == "sqlite":
            store, url = Store(tmp_path / f"{name}.db"), None
        else:
            url = request.getfixturevalue("pg_databases").create()
            store = Store(url, local_dir=tmp_path / name)
        opened.append((store, url))
        return store

    make.backend = backend  # type: ignore[attr-defined]
    yield make
    for store, url in opened:
        store.close()
        if url is not None:
            request.getfixturevalue("pg_databases").drop(url)


@pytest.fixture
def backend_store(store_factory) -> Store:
    """A fresh store, once per backend (SQLite and PostgreSQL)."""
    return store_factory()


@pytest.fixture
def real_sample_csv() -> Path:
    path = SHARED_DATA / "bank_transactions_sample.csv"
    if not path.exists():
        pytest.skip("public data sample not present")
    return path


# ---- a small synthetic bank, ingested and trained once per session -------------------------------------
SYNTH_CUSTOMERS, SYNTH_MONTHS, SYNTH_SEED = 150, 6, 11


@pytest.fixture(scope="session")
def synth_bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded synthetic bank written in the raw contract format (transactions.csv + labels/)."""
    from analytics.synth import generate_bank, write_bank

    out = tmp_path_factory.mktemp("synth_bank")
    write_bank(generate_bank(customers=SYNTH_CUSTOMERS, months=SYNTH_MONTHS, seed=SYNTH_SEED), out)
    return out


@pytest.fixture(scope="session")
def trained_db(synth_bank_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the synthetic bank, ingested and trained (built once; tests get copies)."""
    from bot.services.ingestion import ingest_files
    from bot.services.training import train

    path = tmp_path_factory.mktemp("trained") / "trained.db"
    store = Store(path)
    try:
        ingest_files(store, [synth_bank_dir / "transactions.csv"], rejects_path=path.parent / "rejects.csv")
        train(store, Config().with_db(path))
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return path


@pytest.fixture
def trained_services(backend: str, request, tmp_path: Path):
    """Services (store, insights facade, ...) over a private copy of the trained store, of the test's backend
    (a copy of `trained_db`, or a clone of `trained_pg`)."""
    import shutil

    from bot.container import build_services

    url = None
    if backend == "sqlite":
        path = tmp_path / "trained.db"
        shutil.copyfile(request.getfixturevalue("trained_db"), path)
        services = build_services(Config().with_db(path))
    else:
        databases = request.getfixturevalue("pg_databases")
        url = databases.create(template=request.getfixturevalue("trained_pg").rsplit("/", 1)[1])
        services = build_services(Config().with_store(url).with_db(tmp_path / "local" / "store.db"))
    yield services
    services.close()
    if url is not None:
        request.getfixturevalue("pg_databases").drop(url)


# ---- a fake Telegram Bot API and a real telegram.Bot talking to it over HTTP ----------------------------
@pytest.fixture
async def fake():
    from tests.fakes.telegram_server import FakeTelegramServer

    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def bot(fake):
    from telegram import Bot

    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


# ---- the hand-made bank of tests/intake_history.py, ingested and trained through the CLI once ---------
@pytest.fixture(scope="session")
def handmade_bank_master(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from bot.cli import main
    from tests.intake_history import write_history

    folder = tmp_path_factory.mktemp("handmade")
    facts = write_history(folder / "history.csv")
    config = folder / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{folder / "store.db"}"\n')
    assert main(["ingest", "--config", str(config), str(folder / "history.csv")]) == 0
    assert main(["train", "--config", str(config)]) == 0
    store = Store(folder / "store.db")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return folder / "store.db", facts


@pytest.fixture
def handmade_bank(backend: str, request, tmp_path: Path) -> tuple[Path, dict, Path | str]:
    """(config path, per-customer facts, store path or URL) of a private copy of the trained hand-made bank,
    of the test's backend; quiet hours are off so queued messages are due at once."""
    import shutil

    if backend == "postgres":
        return request.getfixturevalue("handmade_bank_pg")
    master, facts = request.getfixturevalue("handmade_bank_master")
    db = tmp_path / "store.db"
    shutil.copyfile(master, db)
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{db}"\n[scheduler]\nquiet_hours = "off"\n')
    return config, facts, db


# ---- the same trained stores on PostgreSQL (built once per session, cloned per test) --------------------
@pytest.fixture(scope="session")
def trained_pg(synth_bank_dir: Path, pg_databases, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a PostgreSQL store holding the synthetic bank of `trained_db`, ingested and trained the
    same way (tests get clones)."""
    from bot.services.ingestion import ingest_files
    from bot.services.training import train

    url = pg_databases.create(prefix="trained")
    local = tmp_path_factory.mktemp("trained_pg")
    store = Store(url, local_dir=local)
    try:
        ingest_files(store, [synth_bank_dir / "transactions.csv"], rejects_path=local / "rejects.csv")
        train(store, Config().with_store(url).with_db(local / "store.db"))
    finally:
        store.close()
    return url


@pytest.fixture
def any_trained_services(trained_services):
    """Services over a private copy of the trained synthetic bank, once per backend."""
    return trained_services


@pytest.fixture(scope="session")
def handmade_bank_pg_master(pg_databases, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """The hand-made bank of tests/intake_history.py on PostgreSQL, ingested and trained through the CLI."""
    from bot.cli import main
    from tests.intake_history import write_history

    folder = tmp_path_factory.mktemp("handmade_pg")
    facts = write_history(folder / "history.csv")
    url = pg_databases.create(prefix="handmade")
    config = folder / "config.toml"
    config.write_text(f'[storage]\nurl = "{url}"\ndb_path = "{folder / "local" / "store.db"}"\n')
    assert main(["ingest", "--config", str(config), str(folder / "history.csv")]) == 0
    assert main(["train", "--config", str(config)]) == 0
    return url, facts


@pytest.fixture
def handmade_bank_pg(handmade_bank_pg_master, pg_databases, tmp_path: Path) -> tuple[Path, dict, str]:
    """(config path, per-customer facts, store URL) of a private clone of the trained hand-made bank on
    PostgreSQL; quiet hours are off so queued messages are due at once."""
    master, facts = handmade_bank_pg_master
    url = pg_databases.create(template=master.rsplit("/", 1)[1])
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "{url}"\ndb_path = "{tmp_path / "local" / "store.db"}"\n'
                      '[scheduler]\nquiet_hours = "off"\n')
    yield config, facts, url
    pg_databases.drop(url)


# ---- the steady bank of tests/steady_history.py (one row's signals worked out by hand), trained once -----
def _ingest_and_train(store: Store, config: Config, folder: Path) -> dict:
    from bot.services.ingestion import ingest_files
    from bot.services.training import train
    from tests.steady_history import write_steady_history

    facts = write_steady_history(folder / "steady.csv")
    ingest_files(store, [folder / "steady.csv"], rejects_path=folder / "rejects.csv")
    train(store, config)
    return facts


@pytest.fixture(scope="session")
def steady_bank_master(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("steady")
    store = Store(folder / "store.db")
    try:
        facts = _ingest_and_train(store, Config().with_db(folder / "store.db"), folder)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return folder / "store.db", facts


@pytest.fixture(scope="session")
def steady_bank_pg_master(pg_databases, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    folder = tmp_path_factory.mktemp("steady_pg")
    url = pg_databases.create(prefix="steady")
    store = Store(url, local_dir=folder)
    try:
        facts = _ingest_and_train(store, Config().with_store(url).with_db(folder / "store.db"), folder)
    finally:
        store.close()
    return url, facts


@pytest.fixture
def steady_bank(backend: str, request, tmp_path: Path):
    """(config, facts of the chosen row) of a private copy of the trained steady bank, of the test's backend."""
    import shutil

    if backend == "sqlite":
        master, facts = request.getfixturevalue("steady_bank_master")
        shutil.copyfile(master, tmp_path / "store.db")
        yield Config().with_db(tmp_path / "store.db"), facts
        return
    databases = request.getfixturevalue("pg_databases")
    master, facts = request.getfixturevalue("steady_bank_pg_master")
    url = databases.create(template=master.rsplit("/", 1)[1])
    yield Config().with_store(url).with_db(tmp_path / "local" / "store.db"), facts
    databases.drop(url)
