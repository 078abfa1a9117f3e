"""The reads every typed message makes use indexes: a scan grows with every reply ever sent (the front door's
last-card read scanned the whole outbox — 16 ms per message at 5,000 rows, most of a burst's CPU)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.dialects import sqlite

from handlers.chat.front import _state_statement
from storage.migrate import upgrade
from tests.conftest import sqlite_url


async def test_the_front_door_state_read_scans_no_table(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    await upgrade(url)  # the schema the migrations build, as a deployed database has it
    compiled = _state_statement().compile(dialect=sqlite.dialect())
    values = {**compiled.params, "s_to": "rep1", "s_user": "rep1", "s_since": datetime(2026, 1, 1, tzinfo=UTC)}
    params = [values[name] for name in compiled.positiontup or ()]
    params = [v.isoformat() if isinstance(v, datetime) else v for v in params]
    with sqlite3.connect(url.split(":///", 1)[1]) as con:
        plan = [row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {compiled}", params)]
    assert plan, "no query plan"
    scans = [step for step in plan if step.startswith("SCAN ") and not step.startswith("SCAN anon_")]
    assert scans == [], f"full scans in the front door's state read: {scans} (plan {plan})"
