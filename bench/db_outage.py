"""A 60 s PostgreSQL outage while WeCom callbacks keep arriving (issue 20): 0 lost, 0 duplicated?

The same run as tests/test_claim_spool_outage.py (tests/outage.py), for the full length: a fresh database on the
server of --pg, the app on a fake WeCom API, the database refusing connections for --seconds while a callback
arrives every --every seconds (each followed by WeCom's retry of it). Prints one JSON line.

    .venv/bin/python bench/db_outage.py [--seconds 60] [--every 0.5]
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from bot.clock import CN_TZ, ManualClock
from bot.config import DatabaseSettings, KnowledgeSettings, Settings
from storage.migrate import upgrade
from storage.notify import asyncpg_dsn
from tests.fakes.wecom_harness import start_wecom_harness
from tests.outage import run_outage


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def main(seconds: float, every: float, pg: str) -> dict[str, object]:
    from datetime import datetime

    admin = asyncpg_dsn(pg)
    name = f"salesbot_outage_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = f"{pg.rsplit('/', 1)[0]}/{name}"
    try:
        await upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            base = Settings()
            settings = replace(base, database=DatabaseSettings(url=url),
                               knowledge=replace(KnowledgeSettings(), seed_demo=False),
                               reminders=replace(base.reminders, digest_time=""),
                               server=replace(base.server, warm_up=False, spool_dir=os.path.join(tmp, "spool")),
                               audit=replace(base.audit, anchor_time=""))
            clock = ManualClock(datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ))
            async for h in start_wecom_harness(settings, clock):
                r = await run_outage(h, admin, name, seconds=seconds, every_s=every, drain_timeout_s=300)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    return {"outage_s": seconds, "callbacks": r.sent, "retries": r.retries, "not_acked": r.not_acked,
            "spooled": r.spooled, "answered": r.answered, "handled_once": r.handled_once, "lost": r.lost,
            "duplicated": r.duplicated, "drained_s": round(r.drained_s, 1),
            "ack_ms_p50": round(statistics.median(r.ack_ms), 1), "ack_ms_p99": round(pct(r.ack_ms, 99), 1),
            "load": os.getloadavg()[0]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--every", type=float, default=0.5)
    ap.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.seconds, args.every, args.pg)), ensure_ascii=False))
