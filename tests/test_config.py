"""Config: typed settings, env overrides, one clear line for every mistake."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_embedded_sqlite_setup() -> None:
    s = load_settings(None, env={})
    assert s.database.url == "sqlite+aiosqlite:///salesbot.db"
    assert s.wecom.api_base == "https://qyapi.weixin.qq.com"
    assert s.dingtalk.api_base == "https://api.dingtalk.com"
    assert s.org.demo and not s.llm.enabled


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite+aiosqlite:///a.db"\n[server]\nport = 9000\n')
    s = load_settings(path, env={"SALESBOT_DATABASE_URL": "postgresql+asyncpg://x/y", "SALESBOT_LLM_ENABLED": "yes",
                                 "SALESBOT_REMINDERS_CADENCE_DAYS": "2,5"})
    assert s.database.url == "postgresql+asyncpg://x/y"
    assert s.server.port == 9000
    assert s.llm.enabled is True
    assert s.reminders.cadence_days == [2, 5]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("[server]\nport = \"eighty\"\n", {}, "server.port: expected an integer"),
        ("[server]\nprot = 1\n", {}, "unknown key server.prot"),
        ("[sever]\n", {}, "unknown section [sever]"),
        ("[dingtalk]\nmode = \"socket\"\n", {}, "dingtalk.mode must be one of"),
        ("[llm]\nenabled = \"maybe\"\n", {}, "llm.enabled: expected true or false"),
        ("", {"SALESBOT_SERVER_PORT": "x"}, "SALESBOT_SERVER_PORT: expected an integer"),
        ("[[org.users]]\nid = \"a\"\nname = \"A\"\nrole = \"boss\"\n", {}, "org.users[a].role must be one of"),
        ("[[org.users]]\nid = \"a\"\nname = \"A\"\nmanager = \"zz\"\n", {}, "manager 'zz' is not a user"),
        ("[[org.users]]\nname = \"A\"\n", {}, "org.users[0]"),
        ("[server\n", {}, "not valid TOML"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env=env)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_example_documents_every_key() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    for section in dataclasses.fields(Settings):
        if section.name == "source":
            continue
        keys = {f.name for f in dataclasses.fields(section.type if isinstance(section.type, type)
                                                   else type(getattr(Settings(), section.name)))}
        if section.name == "org":
            keys.discard("users")
        assert keys <= set(example[section.name]), f"[{section.name}] misses {keys - set(example[section.name])}"
    load_settings(ROOT / "config.example.toml", env={})


def test_cli_reports_config_error_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = -x\n")
    out = subprocess.run([sys.executable, "-m", "app.cli", "chat", "--config", str(path)], input="",
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("salesbot: config error:")
    assert len(out.stderr.strip().splitlines()) == 1
