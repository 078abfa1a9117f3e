"""Reminder ticker benchmark: 100,000 active leads, 10,000 first-contact breaches falling due at once.

    .venv/bin/python -m bench.reminders [--leads 100000] [--due 10000] [--reps 2000] [--db URL]

Prints: idle tick latency (nothing due), time to claim + fire + render the due reminders into the
outbox, time for the outbox to hand every message to a fake API (a real aiohttp server on
127.0.0.1), and the message counts. Targets (issue 6): idle tick ≤ 50 ms; 10,000 due → fake API ≤ 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.runtime import build_services
from bot.clock import ManualClock
from bot.config import DatabaseSettings, KnowledgeSettings, OrgSettings, Settings
from bot.delivery import DeliveryError
from bot.messages import Body, body_to_json
from bot.services import Services
from reminders.ticker import tick
from storage.models import Lead, OutboxMessage, Reminder, User
from tests.fakes.local import serve_local

NOW = datetime.fromisoformat("2026-11-24T11:00:00+08:00")  # Tuesday, inside working hours
CHUNK = 5000


class FakeApi:
    """A stand-in for the WeCom API: accepts every POST and counts it."""

    def __init__(self) -> None:
        self.received = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.received += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/message/send", self.handle)
        self.runner, base = await serve_local(app)
        return f"{base}/cgi-bin/message/send"


class HttpChannel:
    name = "console"

    def __init__(self, url: str) -> None:
        self.url = url
        self.http: ClientSession | None = None

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        self.http = self.http or ClientSession()
        async with self.http.post(self.url, json={"touser": recipient, "body": body_to_json(body)}) as r:
            if r.status != 200:
                raise DeliveryError(f"HTTP {r.status}")
        return {}


async def populate(services: Services, leads: int, due: int, reps: int) -> None:
    now = NOW.astimezone()
    managers = max(1, reps // 20)
    users = [{"id": f"m{i:04d}", "name": f"经理{i}", "role": "manager", "created_at": now} for i in range(managers)]
    users += [{"id": f"r{i:05d}", "name": f"销售{i}", "role": "rep", "manager_id": f"m{i % managers:04d}",
               "created_at": now} for i in range(reps)]
    async with services.db.session() as session:
        await session.execute(insert(User), users)
    for start in range(0, leads, CHUNK):
        rows = [{"id": i + 1, "owner_id": f"r{i % reps:05d}", "customer_name": f"客户{i}", "company": f"公司{i}",
                 "stage": "qualify", "status": "active", "source": "manual", "created_at": now - timedelta(days=1),
                 "assigned_at": now - timedelta(hours=3), "timeout_count": 0, "needs": [], "field_sources": {},
                 "extra": {}, "first_contact_at": None if i < due else now - timedelta(hours=1)}
                for i in range(start, min(leads, start + CHUNK))]
        timers: list[dict[str, Any]] = []
        for row in rows:
            lead_id = row["id"]
            timers.append(_timer(lead_id, "stage_stall", now + timedelta(days=2), {"stage": "qualify"}))
            timers.append(_timer(lead_id, "dormancy", now + timedelta(days=40), {}))
            if lead_id <= due:
                timers.append(_timer(lead_id, "first_contact", now - timedelta(minutes=1), {"snoozed_h": 0.0}))
        async with services.db.session() as session:
            await session.execute(insert(Lead), rows)
            await session.execute(insert(Reminder), timers)


def _timer(lead_id: int, rule: str, due: datetime, payload: dict[str, Any]) -> dict[str, Any]:
    return {"lead_id": lead_id, "rule": rule, "due_at": due, "level": 1, "status": "pending", "payload": payload,
            "created_at": due, "updated_at": due}


async def count(services: Services, model: type, *where: Any) -> int:
    async with services.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def main(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    if not url.startswith("sqlite"):
        from storage.migrate import upgrade

        await upgrade(url)
    api = FakeApi()
    channel = HttpChannel(await api.start())
    settings = replace(Settings(), database=DatabaseSettings(url=url), org=replace(OrgSettings(), demo=False),
                       knowledge=replace(KnowledgeSettings(), seed_demo=False))
    clock = ManualClock(NOW - timedelta(minutes=5))
    services = await build_services(settings, clock, {"console": channel}, seed=False)
    t0 = time.perf_counter()
    await populate(services, args.leads, args.due, args.reps)
    timers = await count(services, Reminder)
    print(f"setup: {args.leads:,} active leads, {args.reps:,} reps, {timers:,} timer rows "
          f"({time.perf_counter() - t0:.1f} s) on {url.split(':')[0]}")

    idle = []
    for _ in range(args.idle_runs):
        t = time.perf_counter()
        assert await tick(services) == 0
        idle.append((time.perf_counter() - t) * 1000)
    idle.sort()
    print(f"idle tick (nothing due): median {statistics.median(idle):.1f} ms, "
          f"p95 {idle[int(len(idle) * 0.95) - 1]:.1f} ms, max {idle[-1]:.1f} ms   (target ≤ 50 ms)")

    clock.set(NOW)
    t = time.perf_counter()
    handled = await tick(services)
    fired = time.perf_counter() - t
    messages = await count(services, OutboxMessage)
    print(f"due tick: {handled:,} rows handled ({args.due:,} breaches + their notices) → {messages:,} outbox "
          f"messages in {fired:.1f} s ({args.due / fired:,.0f} reminders/s)")
    t = time.perf_counter()
    sent = await services.outbox.drain()
    delivered = time.perf_counter() - t
    print(f"outbox → fake API: {sent:,} deliveries, {api.received:,} received, in {delivered:.1f} s")
    total = fired + delivered
    print(f"TOTAL {args.due:,} due reminders claimed, rendered and handed to the fake API: {total:.1f} s "
          f"(target ≤ 60 s)")
    pending = await count(services, OutboxMessage, OutboxMessage.status != "delivered")
    print(f"undelivered outbox rows: {pending}; second tick handles {await tick(services)} rows")
    if channel.http is not None:
        await channel.http.close()
    if api.runner is not None:
        await api.runner.cleanup()
    await services.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=2_000)
    parser.add_argument("--idle-runs", type=int, default=50)
    parser.add_argument("--db", default="", help="database URL (default: a temporary SQLite file)")
    asyncio.run(main(parser.parse_args()))
