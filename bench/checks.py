"""Cross-check benchmark: what the checks add to a confirm or a stage change, on a team-sized database.

    .venv/bin/python -m bench.checks [--leads 20000] [--runs 300] [--db URL]

Seeds the demo org, N leads spread over the reps (budgets, industries, phones, companies, 3 follow-ups each) and
a few hundred drafts, then times

- the hooks alone, inside one transaction like a handler: `hooks.after_stage` (rules + flag upsert; its record
  entry is written at commit), `hooks.gate_refusal` (the close gate), `hooks.after_values` (the checks of a confirm);
- the whole use case, session to commit (the audit record's append included): a stage change
  (`records.change_stage`) and a draft's confirmation (`records.confirm_draft` + `hooks.after_values`), each with
  the checks on and off, alternating on like leads. What the checks add is the difference.

Target (issue 17): cross-checks add ≤ 5 ms to a confirm or stage change. The rows are seeded with Core statements
on a plain connection (written "by hand": the record does not enter them).
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
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import ChecksSettings, RemindersSettings
from bot.context import UserInfo
from bot.org import DEMO_ORG, upsert_users
from handlers.checks import hooks
from handlers.leads import records
from storage.db import Database
from storage.leads import STAGE_CODES
from storage.migrate import upgrade
from storage.models import Activity, Lead

NOW = datetime.fromisoformat("2026-11-24T11:00:00+08:00")
REPS = [u.id for u in DEMO_ORG if u.role == "rep"]
REMINDERS = RemindersSettings()
INDUSTRIES = ["医疗", "教育", "制造", "零售", "金融", "物流"]


async def _seed(db: Database, n: int, drafts: int = 0) -> None:
    rng = random.Random(7)
    async with db.session() as s:
        await upsert_users(s, DEMO_ORG, NOW)
    for start in range(0, n, 5000):
        rows = [{"owner_id": rng.choice(REPS), "customer_name": f"客户{i}", "company": f"公司{i % 3000}号有限公司",
                 "phone": f"139{i:08d}", "budget_cny": rng.choice([2, 3, 5, 8, 12, 30]) * 100_000,
                 "industry": rng.choice(INDUSTRIES), "needs": ["排班"], "stage": rng.choice(STAGE_CODES[:4]),
                 "status": "active", "source": "manual", "field_sources": {}, "extra": {}, "created_at": NOW,
                 "assigned_at": NOW, "timeout_count": 0} for i in range(start, min(n, start + 5000))]
        async with db.engine.begin() as conn:
            await conn.execute(insert(Lead), rows)
    if drafts:  # ids n+1 … n+drafts: the drafts a confirm activates
        async with db.engine.begin() as conn:
            await conn.execute(insert(Lead), [
                {"created_by": REPS[i % len(REPS)], "customer_name": f"新客户{i}", "company": f"新建{i}号科技有限公司",
                 "phone": f"137{i:08d}", "budget_cny": rng.choice([3, 5, 8]) * 100_000,
                 "industry": rng.choice(INDUSTRIES), "needs": ["排班"], "stage": "new", "status": "draft",
                 "source": "manual", "field_sources": {}, "extra": {}, "created_at": NOW, "timeout_count": 0}
                for i in range(drafts)])
    async with db.engine.begin() as s:
        ids = list((await s.execute(select(Lead.id).where(Lead.status != "draft"))).scalars())
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
    return (f"wall median {statistics.median(wall) * 1000:.2f} ms, p95 {_p95(wall) * 1000:.2f} ms; "
            f"CPU median {cpu * 1000:.2f} ms")


def _p95(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.95)]


def _added(on: list[tuple[float, float]], off: list[tuple[float, float]]) -> str:
    """The use case with the checks on, off, and what they add (difference of medians, of p95s)."""
    won, woff = [w for w, _ in on], [w for w, _ in off]
    cpu = statistics.median(c for _, c in on) - statistics.median(c for _, c in off)
    return (f"on {statistics.median(won) * 1000:.2f} / {_p95(won) * 1000:.2f} ms, "
            f"off {statistics.median(woff) * 1000:.2f} / {_p95(woff) * 1000:.2f} ms (wall median / p95); "
            f"checks add {(statistics.median(won) - statistics.median(woff)) * 1000:.2f} / "
            f"{(_p95(won) - _p95(woff)) * 1000:.2f} ms wall, {cpu * 1000:.2f} ms CPU (median)")


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    t, c = _clock()
    return t - start[0], c - start[1]


async def _hooks(db: Database, n: int, runs: int, cfg: ChecksSettings) -> list[list[tuple[float, float]]]:
    stage: list[tuple[float, float]] = []
    gate: list[tuple[float, float]] = []
    values: list[tuple[float, float]] = []
    for k in range(runs):
        async with db.session() as s:
            lead = await s.get(Lead, 1 + (k * 7919) % n)
            assert lead is not None
            before = lead.stage
            lead.stage = STAGE_CODES[min(4, STAGE_CODES.index(before) + 2)]
            t = _clock()
            await hooks.after_stage(s, lead, before, "rep01", NOW, cfg)
            stage.append(_since(t))
            t = _clock()
            await hooks.gate_refusal(s, lead, cfg)
            gate.append(_since(t))
            t = _clock()
            await hooks.after_values(s, lead, NOW, cfg)
            values.append(_since(t))
    return [stage, gate, values]


async def _stage_change(db: Database, lead_id: int, cfg: ChecksSettings) -> tuple[float, float]:
    t = _clock()
    async with db.session() as s:
        lead = await s.get(Lead, lead_id)
        assert lead is not None
        after = STAGE_CODES[(STAGE_CODES.index(lead.stage) + 2) % 4]  # never 签约回款: no close gate here
        out = await records.change_stage(s, lead, after, lead.owner_id or "rep01", NOW, REMINDERS, cfg)
        assert out.ok, out.message
    return _since(t)


async def _confirm(db: Database, lead_id: int, cfg: ChecksSettings) -> tuple[float, float]:
    t = _clock()
    async with db.session() as s:
        lead = await s.get(Lead, lead_id)
        assert lead is not None and lead.created_by is not None
        user = UserInfo(lead.created_by, lead.created_by, "rep")
        out = await records.confirm_draft(s, lead, user, NOW, REMINDERS)
        assert out.ok, out.message
        await hooks.after_values(s, lead, NOW, cfg)
    return _since(t)


async def _use_cases(db: Database, n: int, drafts: int, runs: int, cfg: ChecksSettings) -> dict[str, list[Any]]:
    """Stage change and confirm, checks on and off alternately (which goes first alternates too)."""
    off = replace(cfg, enabled=False)
    out: dict[str, list[Any]] = {"stage on": [], "stage off": [], "confirm on": [], "confirm off": []}
    draft_ids = iter(range(n + 1, n + 1 + drafts))
    for k in range(runs):
        order = [(cfg, "on"), (off, "off")] if k % 2 == 0 else [(off, "off"), (cfg, "on")]
        for j, (c, name) in enumerate(order):
            out[f"stage {name}"].append(await _stage_change(db, 1 + (k * 7919 + j * 104729) % n, c))
            out[f"confirm {name}"].append(await _confirm(db, next(draft_ids), c))
    return out


async def main(n: int, runs: int, url: str | None) -> None:
    cfg = ChecksSettings()
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite+aiosqlite:///{tmp}/checks.db"
        await upgrade(url)
        db = Database(url)
        try:
            await _seed(db, n, drafts=2 * runs)
            stage, gate, values = await _hooks(db, n, runs, cfg)
            cases = await _use_cases(db, n, 2 * runs, runs, cfg)
        finally:
            await db.dispose()
    print(f"{n:,} leads, {runs} calls each ({url.split(':')[0]}); hooks alone, inside the transaction:")
    print(f"  stage change (rules + flags):          {_ms(stage)}")
    print(f"  close gate:                            {_ms(gate)}")
    print(f"  confirm / edit (rules + flags):        {_ms(values)}")
    print("whole use case, session to commit (record append included):")
    print(f"  stage change: {_added(cases['stage on'], cases['stage off'])}")
    print(f"  confirm:      {_added(cases['confirm on'], cases['confirm off'])}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; target: checks add ≤ 5 ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    asyncio.run(main(args.leads, args.runs, args.db))
