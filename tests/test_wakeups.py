"""LISTEN/NOTIFY on PostgreSQL (storage/notify.py): a committed outbox row wakes every listening process once
per transaction, a rolled-back one wakes nobody, a lost listening connection comes back and catches up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.messages import Outbound, Text
from bot.outbox import enqueue
from reminders.store import add_timer
from storage.db import Database
from storage.migrate import upgrade
from storage.notify import OUTBOX, TICKER, Listener
from tests.conftest import MONDAY_10AM


class Counts:
    def __init__(self) -> None:
        self.outbox = 0
        self.ticker = 0
        self.changed = asyncio.Event()

    def bump(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)
        self.changed.set()

    async def wait(self, name: str, at_least: int) -> None:
        async with asyncio.timeout(10):
            while getattr(self, name) < at_least:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def pg(pg_db_url: str) -> AsyncIterator[Database]:
    await upgrade(pg_db_url)
    db = Database(pg_db_url)
    yield db
    await db.dispose()


async def _listening(pg: Database, counts: Counts) -> tuple[Listener, asyncio.Event, asyncio.Task[None]]:
    listener = Listener(pg.url, {OUTBOX: lambda _p: counts.bump("outbox"), TICKER: lambda _p: counts.bump("ticker")},
                        max_backoff_s=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    async with asyncio.timeout(10):
        await listener.connected.wait()
    await counts.wait("outbox", 1)  # the catch-up call on connect
    return listener, stop, task


async def test_commit_wakes_once_per_transaction_and_rollback_never(pg: Database) -> None:
    counts = Counts()
    _listener, stop, task = await _listening(pg, counts)
    try:
        start = counts.outbox
        async with pg.session() as session:  # a storm: 10,000 rows in one transaction
            await enqueue(session, [Outbound(f"u{i}", Text("好"), channel="wecom", dedup_key=f"storm:{i}")
                                    for i in range(10_000)], MONDAY_10AM, "wecom")
        await counts.wait("outbox", start + 1)
        with pytest.raises(RuntimeError):
            async with pg.session() as session:
                await enqueue(session, [Outbound("u1", Text("不发"), channel="wecom", dedup_key="rolled")],
                              MONDAY_10AM, "wecom")
                raise RuntimeError("handler failed")
        async with pg.session() as session:  # a due reminder wakes the tickers
            await add_timer(session, None, "test", MONDAY_10AM - timedelta(minutes=1), MONDAY_10AM)
        # PostgreSQL delivers notifications on one connection in commit order: once the reminder's wake (committed
        # last) is here, any wake of the storm or of the rolled-back transaction has been handled before it.
        await counts.wait("ticker", 2)
        assert counts.outbox == start + 1  # one wake for the storm, none for the rolled-back transaction
    finally:
        stop.set()
        await task


async def test_a_lost_listening_connection_reconnects_and_catches_up(pg: Database) -> None:
    counts = Counts()
    listener, stop, task = await _listening(pg, counts)
    try:
        before = counts.outbox
        async with pg.session() as session:  # the server drops the listener (restart, failover, idle kill)
            await session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"))
        await counts.wait("outbox", before + 1)  # reconnected: one catch-up wake
        async with pg.session() as session:
            await enqueue(session, [Outbound("u2", Text("好"), channel="wecom", dedup_key="after")],
                          MONDAY_10AM, "wecom")
        await counts.wait("outbox", before + 2)
        assert listener.connected.is_set()
    finally:
        stop.set()
        await task
