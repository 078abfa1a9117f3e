"""Database URLs on the command line (issue 20, item 5; its re-run).

A URL salesbot cannot use at all is one clear Chinese line and exit code 2, not a traceback. The common forms a
user writes without the async driver (`sqlite:///x.db`, `postgresql://…`, `postgres://…`) work: salesbot picks
aiosqlite / asyncpg and says so in the log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent


def upgrade(url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SALESBOT_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=cwd)  # a relative sqlite path lands in cwd


@pytest.mark.parametrize(("url", "says"), [
    ("notadb://x", "无法使用"),
    ("mysql+aiomysql://someone:secret@127.0.0.1/x", "无法使用"),  # not installed
    ("mysql://someone:secret@127.0.0.1/x", "无法使用"),  # no async driver salesbot knows
    ("postgresql+asyncpg://someone:secret@127.0.0.1:1/x", "无法打开数据库"),
    ("postgresql://someone:secret@127.0.0.1:1/x", "无法打开数据库"),  # the form is fine, the server is not there
])
def test_bad_database_url_is_one_line(url: str, says: str, tmp_path: Path) -> None:
    run = upgrade(url, tmp_path)
    assert run.returncode == 2, run.stderr[-2000:]
    assert says in run.stderr and "Traceback" not in run.stderr and "secret" not in run.stderr


def test_a_plain_sqlite_url_uses_the_async_driver(tmp_path: Path) -> None:
    run = upgrade("sqlite:///plain.db", tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "plain.db").stat().st_size > 0
    assert "using the async driver (sqlite+aiosqlite)" in run.stderr


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_plain_postgresql_url_uses_asyncpg(scheme: str, pg_url: str, tmp_path: Path) -> None:
    assert pg_url.startswith("postgresql+asyncpg://") and PG_URL
    run = upgrade(pg_url.replace("postgresql+asyncpg://", f"{scheme}://"), tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "using the async driver (postgresql+asyncpg)" in run.stderr


@pytest.mark.parametrize("folder", ["/proc/salesbot-none", "a-file"])
def test_a_sqlite_folder_that_cannot_be_made_is_one_line(folder: str, tmp_path: Path) -> None:
    """`serve` printed pathlib's traceback for a database folder it cannot create (audit 20 re-run, 6g')."""
    (tmp_path / "a-file").write_text("not a folder")
    env = {**os.environ, "SALESBOT_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/y.db", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "app.cli", "serve"], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "无法创建数据库所在的文件夹" in run.stderr and "Traceback" not in run.stderr
    assert len([line for line in run.stderr.splitlines() if line.startswith("salesbot:")]) == 1
