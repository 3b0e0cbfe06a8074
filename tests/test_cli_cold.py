"""What a new user tripped over on the command line (issue 10, "What broke when tried cold"), each fixed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import CREATES_STORE, build_parser, main
from tests.test_cli import CONTRACT_VERBS

REPO = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path, db: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\ndb_path = "{db}"\n{extra}')
    return path


@pytest.fixture
def store_copy(trained_db, tmp_path) -> Path:
    db = tmp_path / "store.db"
    shutil.copyfile(trained_db, db)
    return db


def _busiest(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT customer_id FROM transactions GROUP BY customer_id "
                            "ORDER BY COUNT(*) DESC, customer_id LIMIT 1").fetchone()[0]


# ---- 1. --config and -v before or after the verb ------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["--config", "A.toml", "-v", "insights", "C1"],
    ["insights", "C1", "--config", "A.toml", "-v"],
    ["-v", "insights", "--config", "A.toml", "C1"],
])
def test_config_and_verbose_are_honoured_before_and_after_the_verb(argv):
    args = build_parser().parse_args(argv)
    assert args.config == "A.toml" and args.verbose is True and args.customer_id == "C1"


def test_without_the_options_they_take_their_defaults():
    args = build_parser().parse_args(["insights", "C1"])
    assert args.config is None and args.verbose is False


def test_a_missing_config_named_before_the_verb_is_an_error_not_the_default_store(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nonexistent.toml"), "insights", "C1"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_config_named_before_the_verb_is_the_store_used(store_copy, tmp_path, capsys):
    customer = _busiest(store_copy)
    assert main(["--config", str(_config(tmp_path, store_copy)), "insights", customer]) == 0
    assert f"Customer {customer}" in capsys.readouterr().out


# ---- 6. read-only verbs never create a store; unknown config sections are refused ------------------------
READ_ONLY_ARGV = {
    "insights": ["C1"], "report": ["C1"], "export": ["--out", "OUT"], "link-code": ["C1"], "chat": ["C1"],
    "notify": ["--once"], "bot": [], "api": [],
}


def test_every_contract_verb_either_builds_the_store_or_needs_it():
    assert set(READ_ONLY_ARGV) | (CREATES_STORE & set(CONTRACT_VERBS)) == set(CONTRACT_VERBS)


@pytest.mark.parametrize("verb", sorted(READ_ONLY_ARGV))
def test_read_only_verb_on_a_missing_store_says_so_and_creates_nothing(verb, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:never-used-token")
    monkeypatch.setenv("FINASSIST_API_KEY", "never-used-key")
    db = tmp_path / "typo" / "finassist.db"
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in READ_ONLY_ARGV[verb]]
    assert main([verb, *argv, "--config", str(_config(tmp_path, db))]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"finassist {verb}: no store at {db}") and len(err.splitlines()) == 1
    assert not db.parent.exists() and not (tmp_path / "out").exists()


def test_unknown_config_section_is_refused_like_an_unknown_key(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[storage]\ndb_path = "x.db"\n[telegrem]\ntoken = "1:2"\n')
    assert main(["insights", "C1", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown section(s) [telegrem]" in err and "[telegram]" in err


# ---- 3. a closed pipe is a normal end ----------------------------------------------------------------------
@pytest.mark.slow
def test_chat_into_a_closed_pipe_ends_quietly(store_copy, tmp_path):
    customer = _busiest(store_copy)
    questions = "q\n" * 3000   # the answers overflow the pipe's buffer, so writing hits the closed end
    process = subprocess.Popen([sys.executable, "-m", "bot", "chat", customer, "--config",
                                str(_config(tmp_path, store_copy))],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdin.write(questions.encode())
    process.stdin.close()
    first = process.stdout.readline()          # `| head -1`
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(120) == 0, err
    assert first.strip() and err == ""


# ---- 4. report writes the chart where --help says --------------------------------------------------------
@pytest.mark.slow
def test_report_writes_the_chart_to_the_documented_default_and_prints_sql_totals(store_copy, tmp_path,
                                                                                   monkeypatch, capsys):
    import datetime as dt

    from analytics.money import format_inr

    customer = _busiest(store_copy)
    with sqlite3.connect(store_copy) as conn:
        latest = dt.date.fromisoformat(conn.execute("SELECT MAX(txn_date) FROM transactions").fetchone()[0])
        month_end = latest.replace(day=1) - dt.timedelta(days=1)
        month = month_end.strftime("%Y-%m")
        money_in, money_out = conn.execute(
            "SELECT SUM(CASE WHEN txn_type='CREDIT' THEN amount ELSE 0 END), "
            "SUM(CASE WHEN txn_type='DEBIT' THEN amount ELSE 0 END) FROM transactions "
            "WHERE customer_id = ? AND txn_date BETWEEN ? AND ?",
            (customer, month_end.replace(day=1).isoformat(), month_end.isoformat())).fetchone()
    monkeypatch.chdir(tmp_path)
    assert main(["report", customer, "--config", str(_config(tmp_path, store_copy))]) == 0
    out = capsys.readouterr().out
    chart = Path("out") / f"report_{customer}_{month}.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Chart: {chart}" in out
    assert f"Money in:     {format_inr(money_in)}" in out and f"Money out:    {format_inr(money_out)}" in out
    assert not list(Path("out").glob("*_last.png"))


def test_report_for_an_unknown_customer_fails_in_one_line_and_draws_nothing(store_copy, tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "NOPE", "--config", str(_config(tmp_path, store_copy))]) == 1
    err = capsys.readouterr().err.strip()
    assert "NOPE" in err and len(err.splitlines()) == 1
    assert not Path("out").exists()


# ---- 5 and 10. export shows progress on a terminal, and a bad --out is one clear line ----------------------
@pytest.mark.slow
def test_export_shows_progress_on_a_terminal_only(store_copy, tmp_path):
    import pty

    config = str(_config(tmp_path, store_copy))
    command = [sys.executable, "-m", "bot", "export", "--out", str(tmp_path / "e1"), "--config", config]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""
    leader, follower = pty.openpty()
    command[5] = str(tmp_path / "e2")
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:   # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        out = process.stdout.read().decode()
        assert process.wait(300) == 0
    os.close(leader)
    progress = shown.decode()
    # train kept every row's score: export reads them, it re-scores nothing
    assert "export: reading transactions" in progress and "export: writing transactions_scored.csv" in progress
    assert "re-scoring" not in progress
    assert progress.rstrip().endswith("\x1b[K"), "the progress line is cleared at the end"
    assert "wrote" in out and "wrote" not in progress


def test_export_to_a_file_path_is_one_line_not_a_traceback(store_copy, tmp_path, capsys):
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0\n")
    assert main(["export", "--out", str(target), "--config", str(_config(tmp_path, store_copy))]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"finassist export: --out {target} is a file, not a folder: give a folder for "
                   "transactions_scored.csv and customers_scored.csv (e.g. --out out/export)")
    assert target.read_text() == "root:x:0:0\n"


def test_export_into_an_unwritable_place_is_one_line(store_copy, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["export", "--out", str(blocker / "sub"), "--config", str(_config(tmp_path, store_copy))]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"finassist export: cannot create the folder {blocker / 'sub'}: ")
    assert "Error" not in err and len(err.splitlines()) == 1
