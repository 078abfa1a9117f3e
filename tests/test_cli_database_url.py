"""A database URL salesbot cannot use is one clear line and exit code 2, not a traceback (issue 20, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("url", "says"), [
    ("notadb://x", "is not one salesbot can use"),
    ("postgresql://someone:secret@127.0.0.1/x", "is not one salesbot can use"),  # a sync driver
    ("mysql+aiomysql://someone:secret@127.0.0.1/x", "is not one salesbot can use"),  # not installed
    ("sqlite:///salesbot-never-made.db", "is not one salesbot can use"),
    ("postgresql+asyncpg://someone:secret@127.0.0.1:1/x", "cannot open the database"),
])
def test_bad_database_url_is_one_line(url: str, says: str, tmp_path: Path) -> None:
    env = {**os.environ, "SALESBOT_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)  # a relative sqlite path lands in tmp_path
    assert run.returncode == 2
    assert says in run.stderr and "Traceback" not in run.stderr and "secret" not in run.stderr
