"""The PostgreSQL store past one SQLite file: racing ingests, server restarts, the pool, the same numbers.

Everything runs against a real throwaway server (tests/pg_cluster.py via the `pg_databases` fixture); the
expected figures come from the CSV files themselves or from the SQLite store of the same data.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from analytics.synth import generate_bank, write_bank
from bot.cli import main
from bot.services.ingestion import ingest_files
from bot.storage.database import Store, StoreUnavailable
from bot.storage.transactions import TransactionRepository
from tests.pg_cluster import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.postgres


def _config(path: Path, url: str | None, local: Path) -> Path:
    lines = ["[storage]", f'db_path = "{local / "store.db"}"']
    if url:
        lines.append(f'url = "{url}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def _csv_rows(*paths: Path) -> dict[str, tuple[str, float]]:
    """TransactionID -> (CustomerID, amount), read with the csv module (first occurrence wins)."""
    rows: dict[str, tuple[str, float]] = {}
    for path in paths:
        with path.open(newline="") as handle:
            for record in csv.DictReader(handle):
                rows.setdefault(record["TransactionID"], (record["CustomerID"],
                                                          float(record["TransactionAmount (INR)"])))
    return rows


def _split_with_overlap(source: Path, folder: Path) -> tuple[Path, Path]:
    """Two files of the first 60% and the last 60% of `source`'s rows: a fifth of the rows are in both."""
    lines = source.read_text().splitlines()
    header, body = lines[0], lines[1:]
    cut = len(body) * 3 // 5
    first, second = folder / "first.csv", folder / "second.csv"
    first.write_text("\n".join([header, *body[:cut]]) + "\n")
    second.write_text("\n".join([header, *body[len(body) - cut:]]) + "\n")
    return first, second


@pytest.fixture(scope="module")
def bigger_bank(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("race_bank")
    write_bank(generate_bank(customers=300, months=6, seed=5), folder)
    return folder / "transactions.csv"


# ------------------------------------------------------------------------------------------ concurrency
def test_two_ingests_at_once_lose_nothing_and_duplicate_nothing(bigger_bank, pg_url, tmp_path):
    first, second = _split_with_overlap(bigger_bank, tmp_path)
    config = _config(tmp_path / "config.toml", pg_url, tmp_path / "local")
    processes = [subprocess.Popen([sys.executable, "-m", "bot", "ingest", "--config", str(config), str(path)],
                                  cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for path in (first, second)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]

    union = _csv_rows(first, second)
    assert len(union) < len(_csv_rows(first)) + len(_csv_rows(second))  # the files do overlap
    store = Store(pg_url)
    try:
        count, distinct, total = store.db.execute(
            "SELECT count(*), count(DISTINCT transaction_id), sum(amount) FROM transactions").fetchone()
        per_customer = dict(store.db.execute("SELECT customer_id, n_txn FROM customers").fetchall())
        inserted = store.db.execute("SELECT sum(inserted), sum(duplicates) FROM ingest_runs").fetchone()
    finally:
        store.close()
    assert count == distinct == len(union)
    assert total == pytest.approx(math.fsum(amount for _, amount in union.values()), abs=0.005)
    expected_per_customer: dict[str, int] = {}
    for customer, _ in union.values():
        expected_per_customer[customer] = expected_per_customer.get(customer, 0) + 1
    assert per_customer == expected_per_customer          # the summary saw both runs' rows
    overlap = len(_csv_rows(first)) + len(_csv_rows(second)) - len(union)
    assert inserted == (len(union), overlap)               # each shared row stored by one run, skipped by the other


def test_immediate_units_run_one_at_a_time(pg_url):
    """Read-then-write units (intake scoring, API submissions) must not interleave across connections."""
    store = Store(pg_url)
    workers, rounds = 4, 15

    def bump() -> None:
        for _ in range(rounds):
            with store.atomic(immediate=True) as db:
                row = db.execute("SELECT value FROM store_meta WHERE key = 'counter'").fetchone()
                value = int(row[0]) + 1 if row else 1
                db.execute("INSERT INTO store_meta (key, value) VALUES ('counter', ?) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value", (str(value),))

    try:
        threads = [threading.Thread(target=bump) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.db.execute("SELECT value FROM store_meta WHERE key = 'counter'").fetchone() == (
            str(workers * rounds),)
    finally:
        store.close()


def test_processes_opening_an_empty_database_together_migrate_it_once(pg_databases):
    name = "empty_migrate"
    pg_databases.admin(f'CREATE DATABASE "{name}"')
    url = pg_databases.cluster.url(name)
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(Store(url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        from bot.storage.migrations import MIGRATIONS

        names = [r[0] for r in opened[0].db.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
        assert names == sorted(name for name, _ in MIGRATIONS)
        assert opened[0].db.execute("SELECT count(*) FROM store_meta WHERE key = 'store_id'").fetchone() == (1,)
    finally:
        for store in opened:
            store.close()
        pg_databases.drop(url)


# ------------------------------------------------------------------------------------- connection loss
def test_a_restart_mid_ingest_reruns_the_unit_and_stores_the_batch_once(bigger_bank, pg_url, pg_databases, tmp_path):
    store = Store(pg_url, local_dir=tmp_path)
    restarts = []

    def restart_once(stage: str, done: int, total: int) -> None:
        if not restarts:  # rows are on their way to the server: cut every connection now
            restarts.append(done)
            pg_databases.cluster.restart()

    try:
        report = ingest_files(store, [bigger_bank], tmp_path / "rejects.csv", progress=restart_once)
        expected = _csv_rows(bigger_bank)
        assert restarts and report.inserted == len(expected)
        assert store.db.execute("SELECT count(*), sum(amount) FROM transactions").fetchone() == (
            len(expected), pytest.approx(math.fsum(a for _, a in expected.values()), abs=0.005))
        assert store.db.execute("SELECT count(*) FROM ingest_runs").fetchone() == (1,)
        assert store.db.execute("SELECT sum(n_txn) FROM customers").fetchone() == (len(expected),)
    finally:
        store.close()


def test_a_unit_that_keeps_losing_its_connection_writes_nothing_and_the_next_one_succeeds(
        bigger_bank, pg_url, pg_databases, tmp_path):
    store = Store(pg_url, local_dir=tmp_path)

    def restart_always(stage: str, done: int, total: int) -> None:
        pg_databases.cluster.restart()

    try:
        with pytest.raises(StoreUnavailable, match="lost the connection to PostgreSQL"):
            ingest_files(store, [bigger_bank], tmp_path / "rejects.csv", progress=restart_always)
        # No half-written batch: the server rolled both tries back.
        assert store.db.execute("SELECT count(*) FROM transactions").fetchone() == (0,)
        assert store.db.execute("SELECT count(*) FROM ingest_runs").fetchone() == (0,)
        report = ingest_files(store, [bigger_bank], tmp_path / "rejects.csv")
        assert report.inserted == len(_csv_rows(bigger_bank))
        assert TransactionRepository(store).count() == report.inserted
    finally:
        store.close()


def test_the_pool_hands_out_live_connections_after_a_restart(pg_url, pg_databases, tmp_path):
    store = Store(pg_url, local_dir=tmp_path)
    try:
        ingest_files(store, [REPO_ROOT / "tests" / "fixtures" / "ingest_quirks.csv"], tmp_path / "r.csv")
        pg_databases.cluster.restart()   # every pooled connection is now dead
        assert TransactionRepository(store).count() == 7
        with store.atomic() as db:
            assert db.execute("SELECT count(*) FROM customers").fetchone() == (5,)
    finally:
        store.close()


def test_while_the_server_is_down_a_unit_is_refused_with_the_reason_and_served_once_it_is_back(
        pg_url, pg_databases, tmp_path):
    """The pool reconnects with a growing back-off: a block must not wait on it. While the server is down the
    store says why (connection refused, not a pool timeout) and writes nothing; once it is back the next unit
    is served at once, on a direct connection if the pool has not reconnected yet."""
    store = Store(pg_url, local_dir=tmp_path)
    insert = "INSERT INTO store_meta (key, value) VALUES ('outage', ?)"
    try:
        store.db.execute(insert, ("before",))
        pg_databases.cluster.stop_server("fast")
        try:
            with pytest.raises(StoreUnavailable, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1:\d+/.*refused"):
                TransactionRepository(store).count()
            with pytest.raises(StoreUnavailable, match="refused"):
                store.transaction(lambda: store.db.execute("UPDATE store_meta SET value = 'during'"
                                                           " WHERE key = 'outage'"))
        finally:
            pg_databases.cluster.start_server()
        assert store.db.execute("SELECT value FROM store_meta WHERE key = 'outage'").fetchone() == ("before",)
        store.transaction(lambda: store.db.execute("UPDATE store_meta SET value = 'after' WHERE key = 'outage'"))
        assert store.db.execute("SELECT value FROM store_meta WHERE key = 'outage'").fetchone() == ("after",)
    finally:
        store.close()


@pytest.mark.parametrize("verb", [["insights", "C1"], ["train"], ["export", "--out", "OUT"], ["ingest", "CSV"],
                                  ["api"], ["notify", "--once"]])
def test_an_unreachable_server_is_one_clear_line(verb, tmp_path, capsys):
    url = f"postgresql://fa@127.0.0.1:{free_port()}/finassist"   # nothing listens there
    config = _config(tmp_path / "config.toml", url, tmp_path)
    if verb[0] == "notify":   # a token, so the store is what fails (it is opened before Telegram is asked)
        config.write_text(config.read_text() + '[telegram]\ntoken = "123456:ABC"\n'
                          f'base_url = "http://127.0.0.1:{free_port()}/bot"\n')
    csv_file = REPO_ROOT / "tests" / "fixtures" / "ingest_quirks.csv"
    argv = [str(tmp_path / "out") if a == "OUT" else str(csv_file) if a == "CSV" else a for a in verb]
    assert main([argv[0], "--config", str(config), *argv[1:]]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"finassist {verb[0]}: cannot connect to PostgreSQL at 127.0.0.1:")
    assert "refused" in err.lower()


async def test_the_bot_on_an_unreachable_server_is_one_clear_line(fake, tmp_path):
    """`finassist bot` asks Telegram first (the fake answers getMe), then opens the store: one line, status 1."""
    import asyncio

    url = f"postgresql://fa@127.0.0.1:{free_port()}/finassist"
    config = _config(tmp_path / "config.toml", url, tmp_path)
    config.write_text(config.read_text() + f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "bot", "--config", str(config), cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("finassist bot: cannot connect to PostgreSQL at 127.0.0.1:"), lines


def test_a_password_in_the_url_is_never_shown(tmp_path, capsys):
    url = f"postgresql://fa:s3cret-pw@127.0.0.1:{free_port()}/finassist"
    assert main(["insights", "C1", "--config", str(_config(tmp_path / "c.toml", url, tmp_path))]) == 1
    assert "s3cret-pw" not in capsys.readouterr().err


# --------------------------------------------------------------------------------- the same numbers
def _run(argv: list[str], capsys) -> str:
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_every_verb_gives_the_same_numbers_on_both_backends(synth_bank_dir, pg_url, tmp_path, capsys):
    csv_path = synth_bank_dir / "transactions.csv"
    customers = sorted({cid for cid, _ in _csv_rows(csv_path).values()})[:4]
    out: dict[str, dict[str, object]] = {}
    for name, url in (("sqlite", None), ("postgres", pg_url)):
        config = str(_config(tmp_path / f"{name}.toml", url, tmp_path / name))
        rejects, charts = tmp_path / f"{name}-rejects.csv", tmp_path / f"{name}-charts"
        got: dict[str, object] = {}
        got["ingest"] = _run(["ingest", "--config", config, "--rejects", str(rejects), str(csv_path)],
                             capsys).replace(str(rejects), "REJECTS")
        got["train"] = [line for line in _run(["train", "--config", config], capsys).splitlines()
                        if not line.startswith("time:")]
        got["insights"] = [_run(["insights", c, "--json", "--config", config], capsys) for c in customers]
        got["report"] = [_run(["report", c, "--config", config, "--out", str(charts / f"{c}.png")], capsys)
                         .replace(str(charts), "CHARTS") for c in customers]
        _run(["export", "--config", config, "--out", str(tmp_path / f"{name}-export")], capsys)
        got["export"] = {f: (tmp_path / f"{name}-export" / f).read_bytes()
                         for f in ("transactions_scored.csv", "customers_scored.csv")}
        out[name] = got
    for verb in ("ingest", "train", "insights", "report", "export"):
        assert out["postgres"][verb] == out["sqlite"][verb], verb
    rows = len(_csv_rows(csv_path))
    assert f"{rows:,} new" in out["postgres"]["ingest"]
    exported = out["postgres"]["export"]["transactions_scored.csv"].decode().splitlines()
    assert len(exported) - 1 == rows  # every transaction, scored


@pytest.mark.slow
def test_demo_builds_the_same_tour_on_postgres(pg_url, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)   # the demo writes its charts under ./out/demo
    empty_config = tmp_path / "config.toml"
    empty_config.write_text("")
    tours = {}
    for name, store in (("sqlite", str(tmp_path / "demo.db")), ("postgres", pg_url)):
        text = _run(["demo", "--store", store, "--config", str(empty_config)], capsys)
        tours[name] = [line for line in text.splitlines()  # the store's name and the times differ
                       if not line.startswith(("Building the store", "  ingested", "  trained"))]
    assert any("picked because" in line for line in tours["postgres"])
    assert tours["postgres"] == tours["sqlite"]


def test_a_new_sqlite_style_migration_runs_on_postgres_unchanged(pg_url, monkeypatch):
    """Migrations other work appends (`0006_*`) are plain SQLite DDL: the dialect layer carries them over."""
    from bot.storage import migrations, postgres

    added = ("0006_example", """
        CREATE TABLE outbox_claims (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            outbox_id INTEGER NOT NULL,       -- a comment, as migrations have
            worker    TEXT NOT NULL,
            lease     REAL,
            token     BLOB
        );
        CREATE INDEX idx_outbox_claims_outbox ON outbox_claims (outbox_id);
        ALTER TABLE outbox ADD COLUMN example_note TEXT;
        INSERT OR IGNORE INTO store_meta (key, value) VALUES ('claims', '0')
    """)
    monkeypatch.setattr(postgres, "MIGRATIONS", [*migrations.MIGRATIONS, added])
    store = Store(pg_url)
    try:
        types = dict(store.db.execute("SELECT column_name, data_type FROM information_schema.columns"
                                      " WHERE table_name = 'outbox_claims'").fetchall())
        assert types == {"id": "bigint", "outbox_id": "bigint", "worker": "text", "lease": "double precision",
                         "token": "bytea"}
        first = store.db.execute("INSERT INTO outbox_claims (outbox_id, worker, token) VALUES (?, ?, ?)",
                                 (7, "w1", b"\x00\xff"))
        second = store.db.execute("INSERT INTO outbox_claims (outbox_id, worker) VALUES (?, ?)", (7, "w2"))
        assert (first.lastrowid, second.lastrowid) == (1, 2)
        assert store.db.execute("SELECT token FROM outbox_claims WHERE id = 1").fetchone() == (b"\x00\xff",)
        assert store.db.execute("SELECT value FROM store_meta WHERE key = 'claims'").fetchone() == ("0",)
        assert store.db.execute("SELECT count(*) FROM _migrations WHERE name = '0006_example'").fetchone() == (1,)
    finally:
        store.close()
