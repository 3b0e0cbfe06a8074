"""The command line: every verb has help, usage errors exit 2, failures exit 1 with one line."""

from __future__ import annotations

import pytest

from bot.cli import build_parser, main

CONTRACT_VERBS = ("synth", "ingest", "train", "insights", "export", "report", "link-code", "bot", "notify",
                  "chat", "api", "demo")


def test_every_contract_verb_exists_with_help_text() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    assert set(CONTRACT_VERBS) <= set(sub.choices)
    for verb in CONTRACT_VERBS:
        assert sub.choices[verb].description, verb


@pytest.mark.parametrize("verb", CONTRACT_VERBS)
def test_every_verb_accepts_config_and_prints_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([verb, "--help"])
    assert exc.value.code == 0
    assert "--config" in capsys.readouterr().out


def test_bad_month_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "C1", "--month", "2016-13"]) == 2
    assert "2016-09" in capsys.readouterr().err


def test_missing_config_file_is_a_usage_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "C1", "--config", str(tmp_path / "none.toml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_unknown_customer_fails_with_one_line(trained_db, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\ndb_path = "{trained_db}"\n')
    assert main(["insights", "NOPE", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert "NOPE" in err and len(err.splitlines()) == 1
