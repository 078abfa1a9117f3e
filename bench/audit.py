"""Audit-record benchmark: write N hash-chained entries, then time `verify` walking all of them.

    .venv/bin/python -m bench.audit [--entries 1000000] [--db URL] [--runs 3]

Prints the write time and each verify's time (entries/s, CPU of this process — the walk's executor and driver
threads included — and the load average), then the median. Target (issue 17): 1,000,000 entries verified ≤ 30 s.
--db must name an empty database (PostgreSQL: create one first; the schema is migrated here).
The entries are stage changes and confirmations spread over 10,000 leads, so the live-row check runs too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.chain import GENESIS, make_entry, verify
from storage.db import Database
from storage.leads import STAGE_CODES
from storage.migrate import upgrade
from storage.models import ChainEntry, Lead

NOW = datetime.fromisoformat("2026-11-24T11:00:00+08:00")
CHUNK = 10_000
LEADS = 10_000


def _rows(start: int, n: int, prev: str) -> tuple[list[dict[str, Any]], str]:
    out = []
    for seq in range(start, start + n):
        lead = seq % LEADS + 1
        before, after = STAGE_CODES[seq % 4], STAGE_CODES[seq % 4 + 1]
        kind = "stage" if seq % 5 else "confirm"
        entry = make_entry(seq, prev, kind, lead, "manager01" if kind == "confirm" else "rep01", NOW,
                           {"before": before, "after": after} if kind == "stage" else {"flag_id": seq})
        prev = entry.entry_hash
        out.append({c: getattr(entry, c) for c in ("seq", "kind", "lead_id", "body", "content_hash", "prev_hash",
                                                    "entry_hash", "created_at")})
    return out, prev


async def _seed(db: Database, n: int) -> None:
    last_stage: dict[int, str] = {}
    prev, seq = GENESIS, 1
    while seq <= n:
        rows, prev = _rows(seq, min(CHUNK, n - seq + 1), prev)
        for r in rows:
            if r["kind"] == "stage":
                last_stage[int(r["lead_id"])] = str(r["body"]).split('"after":"')[1].split('"')[0]
        async with db.session() as s:
            await s.execute(insert(ChainEntry), rows)
        seq += len(rows)
    async with db.session() as s:
        await s.execute(insert(Lead), [{"id": i, "stage": last_stage.get(i, "new"), "status": "active",
                                        "source": "manual", "needs": [], "field_sources": {}, "extra": {},
                                        "created_at": NOW, "timeout_count": 0} for i in range(1, LEADS + 1)])


async def main(entries: int, url: str | None, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite+aiosqlite:///{tmp}/audit.db"
        await upgrade(url)
        db = Database(url)
        walls = []
        try:
            t0 = time.perf_counter()
            await _seed(db, entries)
            print(f"wrote {entries:,} entries in {time.perf_counter() - t0:.1f} s")
            for _ in range(runs):
                t1, c1 = time.perf_counter(), time.process_time()
                report = await verify(db)
                t2, c2 = time.perf_counter(), time.process_time()
                walls.append(t2 - t1)
                print(f"verify: {report.entries:,} entries in {t2 - t1:.1f} s ({report.entries / (t2 - t1):,.0f}/s), "
                      f"CPU {c2 - c1:.1f} s, {'OK' if report.ok else 'BROKEN: ' + str(report.broken)}, "
                      f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        finally:
            await db.dispose()
    print(f"verify median {statistics.median(walls):.1f} s, worst {max(walls):.1f} s over {runs} runs "
          f"({db.engine.dialect.name})")
    print("target: 1,000,000 entries verified in ≤ 30 s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--db", help="database URL of an empty database (default: a temporary SQLite file)")
    ap.add_argument("--runs", type=int, default=3, help="verify runs over the same entries")
    args = ap.parse_args()
    asyncio.run(main(args.entries, args.db, args.runs))
