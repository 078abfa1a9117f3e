"""Audit-record benchmark: write N hash-chained entries, then time `verify` walking all of them.

    .venv/bin/python -m bench.audit [--entries 1000000] [--db URL] [--runs 3]

Prints the write time and each verify's time (entries/s, CPU of this process — the walk's executor and driver
threads included — and the load average), then the median. Target (issue 17): 1,000,000 entries verified ≤ 30 s.
--db must name an empty database (PostgreSQL: create one first; the schema is migrated here).
The entries are stage changes, confirmations and the recorded facts (lead fields with provenance, activities,
flags) spread over 10,000 leads, with their live rows, so every live-row check runs too.
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
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import facts
from storage.chain import GENESIS, make_entry, verify
from storage.db import Database
from storage.leads import STAGE_CODES
from storage.migrate import upgrade
from storage.models import Activity, ChainEntry, Lead, LeadFlag

NOW = datetime.fromisoformat("2026-11-24T11:00:00+08:00")
CHUNK = 10_000
LEADS = 10_000
# per ten entries: 1 confirmation, 2 stage changes, 2 lead-field records, 3 activities, 2 flags
KINDS = ("confirm", "stage", "stage", "lead", "lead", "activity", "activity", "activity", "flag", "flag")


def _lead(i: int) -> dict[str, Any]:
    at = NOW.isoformat()
    return {"id": i, "customer_name": f"客户{i}", "company": f"示例公司{i % 500}", "phone": f"1380000{i:04d}",
            "budget_cny": 100_000 + i * 10, "needs": ["排班"], "industry": "零售", "owner_id": None,
            "field_sources": {"customer_name": {"source": "manual", "by": "rep01", "at": at}},
            "extra": {"next_step": "周五报价"}, "source": "manual", "status": "active", "created_at": NOW,
            "timeout_count": 0}


LEAD_ROWS = {i: _lead(i) for i in range(1, LEADS + 1)}
STAGE_NOW: dict[int, str] = {}  # lead → the stage its last stage change left it at (a lead entry records it)


def _fact(kind: str, seq: int, lead: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The entry's data and the live row it records (None: the lead row, written once at the end)."""
    if kind == "lead":
        blank = dict.fromkeys(facts.LEAD_KEYS)
        row = {**blank, **LEAD_ROWS[lead], "stage": STAGE_NOW.get(lead, "new")}
        return {"state": facts.lead_state(SimpleNamespace(**row))}, None
    if kind == "activity":
        row = {"id": seq, "lead_id": lead, "actor_id": "rep01", "kind": "contact", "created_at": NOW,
               "summary": f"第 {seq} 次跟进：客户关心上线时间，约了下周演示", "detail": {}}
        return {"id": seq, "state": facts.activity_state(SimpleNamespace(**row))}, row
    row = {"id": seq, "lead_id": lead, "rule": "repeated_summary", "subject": str(seq), "level": "yellow",
           "reason": "跟进记录与上一条一字不差", "status": "open", "owner_id": "rep01", "cleared_by": None,
           "answer": None, "answered_by": None, "created_at": NOW, "updated_at": NOW}
    return {"id": seq, "state": facts.flag_state(SimpleNamespace(**row))}, row


def _rows(start: int, n: int, prev: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], str]:
    out: list[dict[str, Any]] = []
    live: dict[str, list[dict[str, Any]]] = {"activity": [], "flag": []}
    for seq in range(start, start + n):
        lead = seq % LEADS + 1
        before, after = STAGE_CODES[seq % 4], STAGE_CODES[seq % 4 + 1]
        kind = KINDS[seq % len(KINDS)]
        row = None
        if kind == "stage":
            data: dict[str, Any] = {"before": before, "after": after}
            STAGE_NOW[lead] = after
        elif kind == "confirm":
            data = {"flag_id": seq}
        else:
            data, row = _fact(kind, seq, lead)
        if row is not None:
            live[kind].append(row)
        entry = make_entry(seq, prev, kind, lead, "manager01" if kind == "confirm" else "rep01", NOW, data)
        prev = entry.entry_hash
        out.append({c: getattr(entry, c) for c in ("seq", "kind", "lead_id", "body", "content_hash", "prev_hash",
                                                    "entry_hash", "created_at")})
    return out, live, prev


async def _seed(db: Database, n: int) -> None:
    """Entries and the live rows they record, written with Core on a plain connection (a session of the
    application would record the rows as facts of its own)."""
    async with db.engine.begin() as s:
        await s.execute(insert(Lead), [{**row, "stage": "new"} for row in LEAD_ROWS.values()])
    last_stage: dict[int, str] = {}
    prev, seq = GENESIS, 1
    while seq <= n:
        rows, live, prev = _rows(seq, min(CHUNK, n - seq + 1), prev)
        for r in rows:
            if r["kind"] == "stage":
                last_stage[int(r["lead_id"])] = str(r["body"]).split('"after":"')[1].split('"')[0]
        async with db.engine.begin() as s:
            await s.execute(insert(ChainEntry), rows)
            if live["activity"]:
                await s.execute(insert(Activity), live["activity"])
            if live["flag"]:
                await s.execute(insert(LeadFlag), live["flag"])
        seq += len(rows)
    async with db.engine.begin() as s:
        for stage in set(last_stage.values()):
            ids = [i for i, st in last_stage.items() if st == stage]
            await s.execute(update(Lead).where(Lead.id.in_(ids)).values(stage=stage))


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
