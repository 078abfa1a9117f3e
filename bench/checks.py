"""Cross-check benchmark: what the checks add to a confirm or a stage change, on a team-sized database.

    .venv/bin/python -m bench.checks [--leads 20000] [--runs 300] [--db URL]

Seeds the demo org, N leads spread over the reps (budgets, industries, phones, companies, 3 follow-ups each) and
times, per call inside one transaction like a handler: `hooks.after_stage` (record append + all rules + flag
upsert), `hooks.gate_refusal` (the close gate) and `hooks.after_values` (what a confirm adds).
Target (issue 17): ≤ 5 ms added to a confirm or stage change.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import ChecksSettings
from bot.org import DEMO_ORG, upsert_users
from handlers.checks import hooks
from storage.db import Database
from storage.leads import STAGE_CODES
from storage.migrate import upgrade
from storage.models import Activity, Lead

NOW = datetime.fromisoformat("2026-11-24T11:00:00+08:00")
REPS = [u.id for u in DEMO_ORG if u.role == "rep"]
INDUSTRIES = ["医疗", "教育", "制造", "零售", "金融", "物流"]


async def _seed(db: Database, n: int) -> None:
    rng = random.Random(7)
    async with db.session() as s:
        await upsert_users(s, DEMO_ORG, NOW)
    for start in range(0, n, 5000):
        rows = [{"owner_id": rng.choice(REPS), "customer_name": f"客户{i}", "company": f"公司{i % 3000}号有限公司",
                 "phone": f"139{i:08d}", "budget_cny": rng.choice([2, 3, 5, 8, 12, 30]) * 100_000,
                 "industry": rng.choice(INDUSTRIES), "needs": ["排班"], "stage": rng.choice(STAGE_CODES[:4]),
                 "status": "active", "source": "manual", "field_sources": {}, "extra": {}, "created_at": NOW,
                 "assigned_at": NOW, "timeout_count": 0} for i in range(start, min(n, start + 5000))]
        async with db.session() as s:
            await s.execute(insert(Lead), rows)
    async with db.session() as s:
        ids = list((await s.execute(select(Lead.id))).scalars())
        acts = [{"lead_id": i, "actor_id": "rep01", "kind": "contact", "detail": {},
                 "summary": f"第{k}次沟通，客户关注价格和实施周期{i}", "created_at": NOW - timedelta(days=k)}
                for i in ids for k in range(3)]
        for j in range(0, len(acts), 10000):
            await s.execute(insert(Activity), acts[j:j + 10000])
    async with db.engine.connect() as conn:  # planner statistics, as a database in use has them
        await conn.execute(text("ANALYZE"))
        await conn.commit()


def _ms(pairs: list[tuple[float, float]]) -> str:
    """Wall median / p95 and CPU median per call (CPU: all threads of this process, i.e. with aiosqlite's)."""
    wall = sorted(w for w, _ in pairs)
    cpu = statistics.median(c for _, c in pairs)
    return (f"wall median {statistics.median(wall) * 1000:.2f} ms, p95 {wall[int(len(wall) * 0.95)] * 1000:.2f} ms; "
            f"CPU median {cpu * 1000:.2f} ms")


async def main(n: int, runs: int, url: str | None) -> None:
    cfg = ChecksSettings()
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite+aiosqlite:///{tmp}/checks.db"
        await upgrade(url)
        db = Database(url)
        try:
            await _seed(db, n)
            stage, gate, values = [], [], []
            for k in range(runs):
                lead_id = 1 + (k * 7919) % n
                async with db.session() as s:
                    lead = await s.get(Lead, lead_id)
                    assert lead is not None
                    before = lead.stage
                    lead.stage = STAGE_CODES[min(4, STAGE_CODES.index(before) + 2)]
                    t0, c0 = time.perf_counter(), time.process_time()
                    await hooks.after_stage(s, lead, before, "rep01", NOW, cfg)
                    t1, c1 = time.perf_counter(), time.process_time()
                    await hooks.gate_refusal(s, lead, cfg)
                    t2, c2 = time.perf_counter(), time.process_time()
                    await hooks.after_values(s, lead, NOW, cfg)
                    t3, c3 = time.perf_counter(), time.process_time()
                stage.append((t1 - t0, c1 - c0))
                gate.append((t2 - t1, c2 - c1))
                values.append((t3 - t2, c3 - c2))
        finally:
            await db.dispose()
    print(f"{n:,} leads, {runs} calls each ({url.split(':')[0]})")
    print(f"stage change (record + rules + flags): {_ms(stage)}")
    print(f"close gate:                            {_ms(gate)}")
    print(f"confirm / edit (rules + flags):        {_ms(values)}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; target ≤ 5 ms added")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    asyncio.run(main(args.leads, args.runs, args.db))
