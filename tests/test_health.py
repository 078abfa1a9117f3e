"""/healthz split (issue 20, item 5): liveness never touches the database; readiness writes, within 2 s.
Reproduced first: /healthz answered 200 while writes could not happen (a SELECT 1 went through) and took the
30 s busy timeout to notice a locked SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from storage.db import sqlite_path
from tests.fakes.dingtalk_harness import Harness, start_harness


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="http"):
        yield harness


async def get(h: Harness, path: str) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    resp = await h.client.get(path)
    return resp.status, await resp.json(), time.monotonic() - started


async def test_readiness_fails_fast_when_the_database_cannot_be_written(h: Harness, settings: Settings) -> None:
    assert (await get(h, "/healthz"))[:2] == (200, {"ok": True, "pending_jobs": 0})
    path = sqlite_path(settings.database.url)
    assert path is not None
    locker = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    # another process holds the write lock (reads still work); taken off the event loop, which the app shares
    await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")
    try:
        status, body, took = await get(h, "/healthz/ready")
        assert status == 503 and body["ok"] is False and "2 s" in str(body["error"]) and took < 5
        status, _, took = await get(h, "/healthz/live")
        assert status == 200 and took < 1
        status, _, took = await get(h, "/healthz")  # the stuck probe is shared, not stacked
        assert status == 503 and took < 5
    finally:
        await asyncio.to_thread(locker.execute, "ROLLBACK")
        locker.close()
    for _ in range(100):
        if (await get(h, "/healthz"))[0] == 200:
            break
        await asyncio.sleep(0.1)
    assert (await get(h, "/healthz"))[0] == 200
