"""Zero lost, zero duplicated: two tickers in separate processes (SQLite file and PostgreSQL),
kill -9 mid-tick and mid-delivery, and the remote API down for an hour.

The subprocess workers are this module run as `python -m tests.test_reminders_faults WORKER_JSON`:
they tick and drain the outbox into a fake remote (a real aiohttp server on 127.0.0.1 in the test)
that, like WeCom's `enable_duplicate_check`, accepts a resend of the same message only once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select

from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import ManualClock
from bot.config import DatabaseSettings, KnowledgeSettings, Settings
from bot.delivery import DeliveryError
from bot.messages import Body, plain_text
from bot.services import Services
from reminders.ticker import tick
from storage.models import Lead, OutboxMessage, Reminder, User
from tests.fakes.local import serve_local

ROOT = Path(__file__).resolve().parent.parent
START = datetime.fromisoformat("2026-11-23T10:00:00+08:00")  # Monday
DUE = START + timedelta(hours=2, minutes=5)  # every lead's first-contact breach (12:00) is due
LEADS, REPS = 60, 12  # 60 due timers: three fire chunks (FIRE_CHUNK 25), so a death inside the third is possible
LEAD_REF = re.compile(r"#(\d+) ")


# -- the fake remote and the worker process ----------------------------------------------------

class Remote:
    """Records every POST; accepts each message key once (WeCom's duplicate check drops resends)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.accepted: dict[str, dict[str, Any]] = {}
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        self.accepted.setdefault(body["key"], body)
        return web.json_response({"errcode": 0})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/send", self.handle)
        self.runner, base = await serve_local(app)
        return f"{base}/send"

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def lead_mentions(self) -> Counter[int]:
        return Counter(int(m) for body in self.accepted.values() for m in LEAD_REF.findall(body["text"]))


class RemoteChannel:
    """The worker's channel: POST to the fake remote; optionally die (SIGKILL) right after the n-th send."""

    name = "console"

    def __init__(self, url: str, die_after: int | None) -> None:
        self.url, self.die_after, self.sent = url, die_after, 0
        self.http: ClientSession | None = None

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        self.http = self.http or ClientSession()
        payload = {"to": recipient, "key": dedup_key, "text": plain_text(body)}
        async with self.http.post(self.url, json=payload) as response:
            if response.status != 200:
                raise DeliveryError(f"HTTP {response.status}")
        self.sent += 1
        if self.die_after is not None and self.sent >= self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)  # delivered, not yet marked delivered
        return {}


def settings_for(url: str) -> Settings:
    return replace(Settings(), database=DatabaseSettings(url=url), knowledge=replace(KnowledgeSettings(),
                                                                                      seed_demo=False))


async def worker_main(spec: dict[str, Any]) -> None:
    from sqlalchemy import event

    clock = ManualClock(datetime.fromisoformat(spec["now"]))
    channel = RemoteChannel(spec["remote"], spec.get("die_after_send"))
    services = await build_services(settings_for(spec["db"]), clock, {"console": channel}, seed=False)
    if spec.get("die_at_commit"):
        commits = [0]

        @event.listens_for(services.db.engine.sync_engine, "commit")
        def _count(_conn: Any) -> None:  # fires before the COMMIT reaches the database
            commits[0] += 1
            if commits[0] >= spec["die_at_commit"]:
                os.kill(os.getpid(), signal.SIGKILL)

    quiet = 0
    while quiet < 2:
        busy = await tick(services) + await services.outbox.run_once()
        quiet = 0 if busy else quiet + 1
    if channel.http is not None:
        await channel.http.close()
    await services.db.dispose()


async def run_worker(db: str, now: datetime, remote: str, **faults: int) -> int:
    spec = {"db": db, "now": now.isoformat(), "remote": remote, **faults}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.test_reminders_faults", json.dumps(spec),
                                                cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"worker failed ({proc.returncode}): {err.decode()[-3000:]}")
    return int(proc.returncode or 0)


# -- set-up and checks ----------------------------------------------------------------------------

async def prepare(url: str) -> None:
    """Schema, demo org, REPS extra reps and LEADS active leads created Monday 10:00."""
    from storage.migrate import upgrade
    from tests.test_reminders_support import make_lead

    if not url.startswith("sqlite"):
        await upgrade(url)
    services = await build_services(settings_for(url), ManualClock(START), {"console": ConsoleChannel(print)})
    async with services.db.session() as session:
        for i in range(REPS):
            session.add(User(id=f"r{i:02d}", name=f"销售{i:02d}", role="rep", manager_id="manager01",
                             created_at=START))
    for i in range(LEADS):
        await make_lead(services, owner=f"r{i % REPS:02d}", customer_name=f"客户{i}")
    await services.db.dispose()


async def check_exactly_once(url: str, remote: Remote, max_resent: int = 0, merged: bool = True) -> None:
    mentions = remote.lead_mentions()
    services = await build_services(settings_for(url), ManualClock(DUE), {}, seed=False)
    try:
        async with services.db.session() as session:
            lead_ids = list((await session.execute(select(Lead.id))).scalars())
            counts = dict((await session.execute(select(Lead.timeout_count, func.count()).group_by(
                Lead.timeout_count))).all())
            outbox = (await session.execute(select(OutboxMessage.status, OutboxMessage.dedup_key))).all()
            notices = (await session.execute(select(func.count()).select_from(Reminder).where(
                Reminder.rule == "notice"))).scalar_one()
            second = (await session.execute(select(func.count()).select_from(Reminder).where(
                Reminder.rule == "first_contact", Reminder.level == 2, Reminder.status == "pending"))).scalar_one()
    finally:
        await services.db.dispose()
    assert len(lead_ids) == LEADS
    assert {lead_id: mentions[lead_id] for lead_id in lead_ids} == {lead_id: 1 for lead_id in lead_ids}
    assert counts == {1: LEADS}  # every breach counted once
    assert notices == LEADS and second == LEADS
    assert {status for status, _ in outbox} == {"delivered"}
    assert set(remote.accepted) == {key for _, key in outbox}
    if merged:  # one ticker: the breaches of one tick merge into one message per rep
        assert len(outbox) == REPS
    else:  # two tickers: each merges only what it claimed itself
        assert REPS <= len(outbox) <= LEADS
    assert len(remote.received) - len(remote.accepted) <= max_resent


async def statuses(url: str) -> Counter[str]:
    services = await build_services(settings_for(url), ManualClock(DUE), {}, seed=False)
    try:
        async with services.db.session() as session:
            rows = await session.execute(select(Reminder.status, func.count()).group_by(Reminder.status))
            return Counter(dict(rows.all()))
    finally:
        await services.db.dispose()


@pytest.fixture
async def remote() -> Any:
    server = Remote()
    url = await server.start()
    yield server, url
    await server.close()


# -- the tests ------------------------------------------------------------------------------------

async def test_two_ticker_processes_deliver_each_reminder_once(db_url: str, remote: tuple[Remote, str]) -> None:
    server, url = remote
    await prepare(db_url)
    codes = await asyncio.gather(run_worker(db_url, DUE, url), run_worker(db_url, DUE, url))
    assert codes == [0, 0]
    await check_exactly_once(db_url, server, merged=False)
    assert len(server.received) == len(server.accepted)  # not even a resend


async def test_kill_9_mid_tick_then_restart(db_url: str, remote: tuple[Remote, str]) -> None:
    server, url = remote
    await prepare(db_url)
    # commits: the claim, two chunks of fired rows, then death inside the third
    assert await run_worker(db_url, DUE, url, die_at_commit=4) == -signal.SIGKILL
    assert server.received == []  # died inside the tick, before any delivery
    left = await statuses(db_url)
    assert left["done"] > 0 and left["claimed"] > 0  # some rows fired, others stuck in a dead worker's claim
    later = DUE + timedelta(minutes=2)  # the dead worker's leases ran out
    assert await run_worker(db_url, later, url) == 0
    await check_exactly_once(db_url, server)


async def test_kill_9_mid_delivery_then_restart(db_url: str, remote: tuple[Remote, str]) -> None:
    server, url = remote
    await prepare(db_url)
    assert await run_worker(db_url, DUE, url, die_after_send=3) == -signal.SIGKILL
    assert 3 <= len(server.received) <= REPS
    assert await run_worker(db_url, DUE + timedelta(minutes=2), url) == 0
    await check_exactly_once(db_url, server, max_resent=REPS)  # in-flight sends repeat; the remote drops them


class DownForAnHour:
    """A remote that refuses everything until `up_at`, then records each delivery."""

    name = "console"

    def __init__(self, clock: ManualClock, up_at: datetime) -> None:
        self.clock, self.up_at = clock, up_at
        self.refused = 0
        self.delivered: Counter[str] = Counter()
        self.texts: list[str] = []

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        if self.clock.now() < self.up_at:
            self.refused += 1
            raise DeliveryError("connection refused")
        self.delivered[dedup_key] += 1
        self.texts.append(plain_text(body))
        return {}


async def test_remote_down_for_an_hour(settings: Settings, clock: ManualClock) -> None:
    down_from, up_at = START + timedelta(hours=1, minutes=50), START + timedelta(hours=3)
    remote = DownForAnHour(clock, up_at)
    services = await build_services(settings, clock, {"console": remote})
    try:
        await _remote_down_for_an_hour(services, clock, remote, down_from)
    finally:
        await services.db.dispose()


async def _remote_down_for_an_hour(services: Services, clock: ManualClock, remote: DownForAnHour,
                                   down_from: datetime) -> None:
    from tests.test_reminders_support import make_lead

    ids = [await make_lead(services, owner=f"rep0{1 + i % 5}", customer_name=f"客户{i}") for i in range(15)]
    clock.set(down_from)
    while clock.now() < START + timedelta(hours=5):  # breaches at 12:00 (L1) and 14:00 (L2, + CC)
        clock.advance(timedelta(seconds=30))
        await tick(services)
        await services.outbox.drain()
    assert remote.refused > 0
    async with services.db.session() as session:
        rows = (await session.execute(select(OutboxMessage.status, OutboxMessage.dedup_key))).all()
    assert {status for status, _ in rows} == {"delivered"}
    assert dict(remote.delivered) == {key: 1 for _, key in rows}
    mentions = Counter(int(m) for text in remote.texts for m in LEAD_REF.findall(text))
    assert all(mentions[i] >= 2 for i in ids)  # L1 and L2 reached the rep (and L2 the manager too)


if __name__ == "__main__":
    asyncio.run(worker_main(json.loads(sys.argv[1])))
