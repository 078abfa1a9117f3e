"""No verified callback is lost while PostgreSQL is away (issue 20, item 6).

Reproduced first: the ACK needed a database write, so callbacks arriving during an outage longer than WeCom's
retries were lost (11 of 60 in a 20 s outage). Here the test database refuses connections (ALLOW_CONNECTIONS false,
its sessions terminated) while callbacks arrive: each is answered 200, kept in the local spool, and handled exactly
once when the database is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from app.server import INTAKE
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from storage.migrate import upgrade
from tests.conftest import PG_URL
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness

N = 12


@pytest.fixture
async def h(settings: Settings, clock: ManualClock, pg_url: str) -> AsyncIterator[WecomHarness]:
    await upgrade(pg_url)
    s = replace(settings, database=DatabaseSettings(url=pg_url))
    async for harness in start_wecom_harness(s, clock):
        yield harness


async def allow_connections(pg_url: str, allow: bool) -> None:
    name = pg_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allow else "false"}')
        if not allow:
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
    finally:
        await conn.close()


async def test_callbacks_during_a_database_outage_are_acked_kept_and_handled_once(
        h: WecomHarness, pg_url: str) -> None:
    assert (await h.text("rep01", "帮助")).status == 200  # the pool is warm
    await h.settle()
    await allow_connections(pg_url, False)
    try:
        statuses = []
        for i in range(N):
            statuses.append((await h.text(f"rep0{i % 5 + 1}", f"帮助 {i}")).status)
            await asyncio.sleep(0.2)  # callbacks keep arriving for a while
        assert statuses == [200] * N
        assert len(h.app[INTAKE].spool or ()) == N
    finally:
        await allow_connections(pg_url, True)
    for _ in range(600):  # the replay loop drains the spool every 2 s
        if not h.app[INTAKE].spool:
            break
        await asyncio.sleep(0.05)
    await h.settle()
    answered = sum(len(h.fake.texts_to(f"rep0{u}")) for u in range(1, 6))
    assert answered == 1 + N  # every callback answered once, none lost, none twice
