"""Every file a demo / ingest / train / export / report run creates is owner-only (0600), every folder 0700,
whatever the umask: they hold customer data, and the database also holds the link-code HMAC secret."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from analytics.private_files import create_private_file, make_private_dir, open_private
from bot import cli
from bot.storage.database import Store

BAD_ROWS = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
            "TransactionTime,TransactionAmount (INR)\n"
            "X1,C1,10/1/94,F,PUNE,100,2/8/16,143207,oops\n"
            "X2,C1,10/1/94,F,PUNE,100,2/8/16,143207,25\n")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The most permissive umask: without an explicit mode, files would come out 0666 and folders 0777."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def tree(root: Path) -> dict[Path, int]:
    return {p: mode(p) for p in root.rglob("*")}


@pytest.mark.slow
def test_every_file_a_full_run_creates_is_owner_only(tmp_path, monkeypatch, open_umask, capsys):
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    monkeypatch.chdir(work)
    config = work / "config.toml"
    config.write_text('[storage]\ndb_path = "store/bank/finassist.db"\n')
    bad = work / "incoming.csv"
    bad.write_text(BAD_ROWS)
    before = set(tree(work))

    args = ["--config", str(config)]
    # The demo ingests the bundled sample (big enough for snapshot parts) and trains with the same
    # `train()` the train verb runs; its charts go to out/demo/.
    assert cli.main(["demo", *args]) == 0
    reader = Store(work / "store/bank/finassist.db")   # held open, as a running bot would: -wal/-shm stay
    try:
        customer = reader.db.execute("SELECT customer_id FROM customer_scores LIMIT 1").fetchone()[0]
        assert cli.main(["ingest", str(bad), *args]) == 0         # a rejects report beside the database
        assert cli.main(["export", "--out", "exports/today", *args]) == 0
        assert cli.main(["report", customer, "--out", "charts/monthly/r.png", *args]) == 0
        assert cli.main(["report", customer, *args]) == 0         # default out/report_<id>_<YYYY-MM>.png
        created = {p: m for p, m in tree(work).items() if p not in before}
    finally:
        reader.close()
    capsys.readouterr()
    names = {str(p.relative_to(work)) for p in created}
    # The run did make each kind of file (so the check below is not vacuous).
    assert {"store/bank/finassist.db", "store/bank/finassist.db-wal", "store/bank/finassist.db-shm",
            "exports/today/transactions_scored.csv", "exports/today/customers_scored.csv",
            "charts/monthly/r.png"} <= names
    assert any(n.startswith(f"out/report_{customer}_") and n.endswith(".png") for n in names)
    assert any(n.startswith("store/bank/finassist.db.parts/txns-") for n in names)
    assert any(n.startswith("store/bank/rejects_") for n in names)
    assert any(n.startswith("out/demo/report_") for n in names)
    wrong = {str(p.relative_to(work)): oct(m) for p, m in created.items()
             if m != (0o700 if p.is_dir() else 0o600)}
    assert wrong == {}


def test_a_database_made_before_the_rule_is_tightened_when_opened(tmp_path, open_umask):
    path = tmp_path / "old.db"
    Store(path).close()
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            name.chmod(0o644)
    Store(path).close()
    assert mode(path) == 0o600
    assert all(mode(p) == 0o600 for p in tmp_path.glob("old.db-*"))


def test_a_new_store_and_its_wal_files_are_0600_in_a_new_0700_folder(tmp_path, open_umask):
    store = Store(tmp_path / "a" / "b" / "bank.db")
    store.db.execute("CREATE TABLE t (x INTEGER)")
    store.db.execute("INSERT INTO t VALUES (1)")
    try:
        assert {p.name: mode(p) for p in (tmp_path / "a" / "b").iterdir()} == {
            "bank.db": 0o600, "bank.db-wal": 0o600, "bank.db-shm": 0o600}
        assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
    finally:
        store.close()


def test_an_existing_folder_keeps_its_mode_and_an_existing_file_is_tightened(tmp_path, open_umask):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    old = shared / "old.csv"
    old.write_text("secret")
    old.chmod(0o644)
    with open_private(old, "w") as handle:
        handle.write("new")
    create_private_file(shared / "new" / "x.png")
    assert mode(shared) == 0o755                       # not ours to change
    assert mode(old) == 0o600 and old.read_text() == "new"
    assert mode(shared / "new") == 0o700 and mode(shared / "new" / "x.png") == 0o600
    assert make_private_dir(shared / "new") == shared / "new"
