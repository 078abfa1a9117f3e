"""PostgreSQL lock order: a handler locks the lead, then cancels its timers; a ticker firing that lead's timer
must take the lead lock first too, or the two deadlock (and one of them is aborted)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.services import Services
from reminders.policies import SLA_RULES
from reminders.store import cancel_timers, claim
from reminders.ticker import _env, _fire_rows, tick, worker_id
from storage.migrate import upgrade
from storage.models import Lead, Reminder
from tests.conftest import Transcript
from tests.test_reminders_support import make_lead


@pytest.fixture
async def pg_services(pg_db_url: str, settings: Settings, clock: ManualClock,
                      transcript: Transcript) -> AsyncIterator[Services]:
    settings = replace(settings, database=DatabaseSettings(url=pg_db_url),
                       reminders=replace(settings.reminders, warn_fraction=0))  # the first row is the L1 breach
    await upgrade(pg_db_url)
    svc = await build_services(settings, clock, {"console": ConsoleChannel(transcript.write, json_mode=True)})
    yield svc
    await svc.db.dispose()


async def test_firing_waits_for_the_handler_that_holds_the_lead(pg_services: Services, clock: ManualClock) -> None:
    services = pg_services
    lead_id = await make_lead(services)
    clock.set(clock.now() + timedelta(hours=2, minutes=5))
    now = clock.now()
    rows = await claim(services.db, now, worker_id(services), timedelta(seconds=60), 10, notices=False)
    assert [r.rule for r in rows] == ["first_contact"]
    env = await _env(services, now)

    async with services.db.session() as handler:  # e.g. 跟进: lead row locked first
        lead = await handler.get(Lead, lead_id, with_for_update=True)
        assert lead is not None
        firing = asyncio.create_task(_fire_rows(services, env, rows))
        await waiting_for_a_lock(services)  # the ticker is inside its transaction, waiting for the lead
        await asyncio.wait_for(cancel_timers(handler, lead_id, now, SLA_RULES), 5)
    assert await asyncio.wait_for(firing, 10) == 0  # it waited, then saw the cancelled row: nothing fired
    async with services.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.timeout_count in (0, None)


async def waiting_for_a_lock(services: Services) -> None:
    """Until some transaction waits for a row lock (PostgreSQL's pg_locks), not a guess of how long that takes."""
    for _ in range(500):
        async with services.db.session() as s:
            if await s.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("nobody waited for the lead's lock")


class LongTick(ManualClock):
    """Every reading is 61 s after the previous one: a tick long enough for a 60 s lease to run out."""

    def now(self) -> datetime:
        self._now += timedelta(seconds=61)
        return self._now


async def test_each_claim_of_a_long_tick_reads_the_clock(services: Services, clock: ManualClock) -> None:
    lead_id = await make_lead(services)
    services = replace(services, clock=LongTick(clock.now() + timedelta(minutes=95)))  # 11:35: warning due
    assert await tick(services) == 2  # the warning row, then its notice
    async with services.db.session() as session:
        rows = {r.rule: r for r in (await session.execute(select(Reminder).where(
            Reminder.lead_id == lead_id, Reminder.status == "done"))).scalars()}
    assert rows["notice"].updated_at - rows["first_contact"].updated_at >= timedelta(seconds=61)
