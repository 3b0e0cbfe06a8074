"""Configuration: contract keys, search order, typed values and clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, config_from_mapping, find_config_path, load_config

REPO = Path(__file__).resolve().parent.parent


def test_example_config_has_every_contract_key_and_loads() -> None:
    data = tomllib.loads((REPO / "config.example.toml").read_text())
    contract = (REPO.parent / "shared" / "CONTRACT.md")
    config = load_config(str(REPO / "config.example.toml"), env={})
    assert config.analytics.low_balance_threshold == 2000.0
    assert config.scheduler.timezone == "Asia/Kolkata"
    assert set(data) == {"storage", "analytics", "telegram", "llm", "scheduler", "api"}
    if contract.exists():
        text = contract.read_text()
        block = text[text.index("```toml") + 7: text.index("```", text.index("```toml") + 7)]
        expected = tomllib.loads(block)
        for section, keys in expected.items():
            assert set(keys) <= set(data[section]), section


def test_search_order_prefers_flag_then_env_then_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config_path(None, env={}) is None
    (tmp_path / "config.toml").write_text("")
    assert find_config_path(None, env={}) == Path("config.toml")
    assert find_config_path(None, env={"FINASSIST_CONFIG": "/x.toml"}) == Path("/x.toml")
    assert find_config_path("/flag.toml", env={"FINASSIST_CONFIG": "/x.toml"}) == Path("/flag.toml")


def test_secrets_come_from_environment() -> None:
    config = config_from_mapping({}, env={"TELEGRAM_BOT_TOKEN": "123:abc", "OPENAI_API_KEY": "sk-1"})
    assert config.telegram.token == "123:abc"
    assert config.llm.api_key == "sk-1"
    assert "sk-1" not in repr(config)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"analytics": {"low_balance_threshold": "low"}}, "must be a number"),
        ({"telegram": {"admin_ids": ["bob"]}}, "list of integers"),
        ({"llm": {"provider": "magic"}}, "provider"),
        ({"analytics": {"as_of": "yesterday"}}, "as_of"),
        ({"storage": {"db": "x"}}, "unknown key"),
    ],
)
def test_bad_values_fail_with_a_specific_message(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data, env={})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.toml"), env={})


def test_with_db_changes_only_the_path() -> None:
    config = Config().with_db("/tmp/a.db")
    assert config.storage.db_path == "/tmp/a.db"
    assert config.analytics == Config().analytics


def test_broadcast_control_share_must_be_a_fraction() -> None:
    assert config_from_mapping({"telegram": {"broadcast_control_share": 0.2}}, env={}).telegram.broadcast_control_share == 0.2
    with pytest.raises(ConfigError, match="broadcast_control_share"):
        config_from_mapping({"telegram": {"broadcast_control_share": 1.5}}, env={})


def test_delivery_keys_are_read_and_checked():
    from bot.config import ConfigError, config_from_mapping

    config = config_from_mapping({"scheduler": {"retry_max_minutes": 60, "send_lease_seconds": 90}}, env={})
    assert (config.scheduler.retry_max_minutes, config.scheduler.send_lease_seconds) == (60.0, 90.0)
    assert config.scheduler.retry_first_seconds == 30.0 and config.scheduler.retry_give_up_hours == 24.0
    with pytest.raises(ConfigError, match="send_lease_seconds must be longer"):
        config_from_mapping({"scheduler": {"send_lease_seconds": 5, "send_timeout_seconds": 10}}, env={})
    with pytest.raises(ConfigError, match="retry_first_seconds must be positive"):
        config_from_mapping({"scheduler": {"retry_first_seconds": 0}}, env={})


def test_the_example_config_documents_every_delivery_key():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()
    for key in ("send_rate_per_second", "send_timeout_seconds", "send_lease_seconds", "retry_first_seconds",
                "retry_max_minutes", "retry_give_up_hours"):
        assert f"\n{key} = " in text, key


def test_storage_url_wins_over_db_path_and_keeps_local_files_in_its_folder() -> None:
    config = config_from_mapping({"storage": {"db_path": "/srv/fa/data/store.db",
                                              "url": "postgresql://fa:pw@db:5432/finassist"}}, env={})
    assert config.storage.target == "postgresql://fa:pw@db:5432/finassist" and config.storage.is_postgres
    assert config.storage.local_dir == Path("/srv/fa/data")
    assert "pw" not in repr(config)
    assert config_from_mapping({"storage": {"url": "sqlite:///var/fa.db"}}, env={}).storage.target == "var/fa.db"
    assert config_from_mapping({"storage": {"url": "sqlite:////var/fa.db"}}, env={}).storage.target == "/var/fa.db"
    assert Config().storage.target == "data/finassist.db"
    assert Config().with_store("postgresql://h/db").storage.target == "postgresql://h/db"
    assert Config().with_store("postgresql://h/db").with_store("x.db").storage.target == "x.db"


def test_a_storage_url_of_another_kind_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match=r"\[storage\] url must start with postgresql:// or sqlite:///") as caught:
        config_from_mapping({"storage": {"url": "mysql://root:hunter2@db/fa"}}, env={})
    assert "hunter2" not in str(caught.value)
