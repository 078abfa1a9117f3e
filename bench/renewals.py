"""Renewal scan benchmark: 100,000 contracts and 1,000,000 payments, the scan that finds the ones at risk.

    .venv/bin/python -m bench.renewals [--contracts 100000] [--payments 1000000] [--db URL] [--runs 5]

Seeds (with the drivers' bulk paths: sqlite3 executemany, asyncpg COPY) 100,000 won leads with one contract each
(end dates spread from a year ago to two years ahead), 1,000,000 payments over the last two years, half the
contracts with an imported health, 200,000 contact activities and 10,000 open flags for the computed health;
then times the scan (handlers/renewals/scan.py):

- first scan: finds the contracts at risk, records their warnings, cards, ladder timers and activity rows
  (run inside a transaction that is rolled back, so every run does the full work);
- steady scan: the daily run after that, nothing new to warn (the warnings were committed once).

Prints the median and the worst of `--runs` runs of each, the counts, and the machine. Target (issue 18):
≤ 5 s on PostgreSQL and SQLite. Default database: a temporary SQLite file; `--db postgresql+asyncpg://…/db`
(the database is emptied and migrated).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import DatabaseSettings, Settings
from handlers.renewals.scan import scan, today_of
from storage.db import Database, sqlite_path
from storage.migrate import upgrade
from storage.models import RenewalWarning

NOW = datetime.fromisoformat("2026-11-24T10:00:00+08:00").astimezone(UTC)
REPS, TEAM = 200, 10


def rows(n_contracts: int, n_payments: int, seed: int = 18) -> dict[str, list[tuple[Any, ...]]]:
    rnd = random.Random(seed)
    today, naive_now = today_of(NOW), NOW.replace(tzinfo=None)
    users = [(f"m{i:03d}", f"主管{i}", "manager", None) for i in range(REPS // TEAM)]
    users += [(f"r{i:04d}", f"销售{i}", "rep", f"m{i // TEAM:03d}") for i in range(REPS)]
    leads, contracts = [], []
    for i in range(1, n_contracts + 1):
        owner = f"r{rnd.randrange(REPS):04d}"
        leads.append((i, owner, f"客户{i}", f"公司{i}", "won", "close", naive_now))
        end = today + timedelta(days=rnd.randrange(-365, 730))
        health = rnd.randrange(0, 101) if rnd.random() < 0.5 else None
        contracts.append((i, i, f"客户{i}", f"公司{i}", rnd.randrange(10_000, 2_000_000), end - timedelta(days=365),
                          end, owner, health, naive_now, naive_now))
    payments, seen = [], set()
    while len(payments) < n_payments:
        lead = rnd.randrange(1, n_contracts + 1)
        day = today - timedelta(days=rnd.randrange(0, 730))
        amount = rnd.randrange(1, 200) * 1000
        if (lead, day, amount) in seen:
            continue
        seen.add((lead, day, amount))
        payments.append((lead, day, amount, naive_now))
    acts = [(rnd.randrange(1, n_contracts + 1), "contact", naive_now - timedelta(days=rnd.randrange(0, 365)))
            for _ in range(n_contracts * 2)]
    flags = [(rnd.randrange(1, n_contracts + 1), rnd.choice(("red", "yellow")), naive_now)
             for _ in range(n_contracts // 10)]
    return {"users": users, "leads": leads, "contracts": contracts, "payments": payments, "acts": acts,
            "flags": flags}


SQL = {
    "users": ("users", ["id", "name", "role", "manager_id"]),
    "leads": ("leads", ["id", "owner_id", "customer_name", "company", "status", "stage", "created_at"]),
    "contracts": ("contracts", ["id", "lead_id", "customer", "company", "amount_cny", "start_on", "end_on",
                                "owner_id", "health", "created_at", "updated_at"]),
    "payments": ("payments", ["lead_id", "paid_on", "amount_cny", "created_at"]),
    "acts": ("activities", ["lead_id", "kind", "created_at"]),
    "flags": ("lead_flags", ["lead_id", "level", "created_at"]),
}
DEFAULTS = {  # NOT NULL columns the bulk rows leave out
    "users": {"product_lines": "[]", "industries": "[]", "capacity": 30, "active": True, "created_at": None},
    "leads": {"needs": "[]", "source": "import", "field_sources": "{}", "extra": "{}", "timeout_count": 0},
    "acts": {"summary": "", "detail": "{}"},
    "flags": {"rule": "bench", "subject": "", "reason": "bench", "status": "open", "updated_at": None},
}


def _full(name: str, data: list[tuple[Any, ...]], now: datetime) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    table, cols = SQL[name]
    extra = DEFAULTS.get(name, {})
    values = [v if v is not None else now for v in extra.values()]
    return table, cols + list(extra), [(*r, *values) for r in data]


def seed_sqlite(path: Path, data: dict[str, list[tuple[Any, ...]]]) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    for name, batch in data.items():
        table, cols, full = _full(name, batch, NOW.replace(tzinfo=None))
        marks = ",".join("?" * len(cols))
        con.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})",
                        [tuple(v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v.isoformat()
                               if isinstance(v, date) else v for v in r) for r in full])
    con.commit()
    con.execute("ANALYZE")
    con.close()


async def seed_postgres(db: Database, data: dict[str, list[tuple[Any, ...]]]) -> None:
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg: Any = raw.driver_connection
        for name, batch in data.items():
            table, cols, full = _full(name, batch, NOW)
            full = [tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
                          for v in r) for r in full]
            await pg.copy_records_to_table(table, records=full, columns=cols)
        for table in ("leads", "contracts", "payments", "activities", "lead_flags"):
            await pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        await pg.execute("ANALYZE")
        await conn.commit()


async def reset_postgres(url: str) -> None:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await db.dispose()


async def timed_scan(db: Database, settings: Settings, commit: bool) -> tuple[float, int]:
    start = time.perf_counter()
    async with db.sessions() as session:
        await session.begin()
        found = await scan(session, settings, NOW)
        if commit:
            await session.commit()
        else:
            await session.rollback()
    return time.perf_counter() - start, found


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contracts", type=int, default=100_000)
    ap.add_argument("--payments", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", default="")
    ap.add_argument("--reuse", action="store_true", help="an SQLite --db file seeded by an earlier run: skip seeding")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    t0 = time.perf_counter()
    data = rows(args.contracts, args.payments) if not args.reuse else {"contracts": [], "payments": [], "acts": [],
                                                                        "flags": []}
    path = sqlite_path(url)
    if not url.startswith("sqlite"):
        await reset_postgres(url)
    await upgrade(url)
    db = Database(url)
    if args.reuse:  # forget what an earlier run's committed scan recorded
        async with db.session() as session:
            for table in ("renewal_warnings", "outbox", "reminders"):
                await session.execute(text(f"DELETE FROM {table}"))
            await session.execute(text("DELETE FROM activities WHERE kind = 'renewal_warning'"))
    elif path is not None:
        await asyncio.to_thread(seed_sqlite, path, data)
    else:
        await seed_postgres(db, data)
    print(f"seeded in {time.perf_counter() - t0:.0f} s: {len(data['contracts']):,} contracts, "
          f"{len(data['payments']):,} payments, {len(data['acts']):,} activities, {len(data['flags']):,} flags "
          f"({'SQLite' if path else 'PostgreSQL'})")
    settings = replace(Settings(), database=DatabaseSettings(url=url))
    first = [await timed_scan(db, settings, commit=False) for _ in range(args.runs)]
    print(f"first scan (records the warnings, rolled back): median {statistics.median(t for t, _ in first):.2f} s, "
          f"worst {max(t for t, _ in first):.2f} s, {first[0][1]:,} warnings")
    await timed_scan(db, settings, commit=True)
    steady = [await timed_scan(db, settings, commit=False) for _ in range(args.runs)]
    print(f"steady scan (nothing new):                    median {statistics.median(t for t, _ in steady):.2f} s, "
          f"worst {max(t for t, _ in steady):.2f} s, {steady[0][1]} warnings")
    async with db.session() as session:
        total = await session.scalar(select(func.count()).select_from(RenewalWarning))
    print(f"warnings recorded: {total:,}; machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    await db.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
