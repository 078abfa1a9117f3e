"""Inbound dedup: a UNIQUE (channel, msg_id) insert decides who handles a message, once.

`claim_inbound` is the plain form. `InboundClaimer` is what the webhook server uses: group commit for
callbacks, so the ACK path stays fast under load.

Each callback must claim its dedup key (a UNIQUE insert, as `bot.dedup.claim_inbound`) before the ACK.
One transaction per callback makes concurrent callbacks fight for SQLite's write lock (its busy handler
backs off in coarse sleeps: p99 > 1 s at a few hundred callbacks/s). Here, concurrent claims queue up and
one flusher writes them as a single multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` on its own
connection: one transaction per batch, and the batch grows by itself when the database is slow.
On SQLite the claims live in a sidecar file (see `claims_url`): handler transactions hold the main file's
single write lock while they run, and a claim waiting behind them in SQLite's busy handler took > 1 s at p99.

A claim keeps the verified raw payload; `mark_handled` writes an `inbound_handled` row inside the handler's
own transaction. A claim without that row after a crash is replayed by `bot.replay`, and a second run of
the same message finds the row and rolls its effects back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.batching import Batcher
from bot.faults import FailureLog
from storage.db import Database, sqlite_path
from storage.models import InboundDedup, InboundHandled
from storage.sql import insert_ignore, table_of

log = logging.getLogger(__name__)


async def claim_inbound(db: Database, channel: str, msg_id: str, now: datetime) -> bool:
    """True the first time (channel, msg_id) is seen; False for every repeat."""
    async with db.session() as session:
        stmt = insert_ignore(session, InboundDedup).values(channel=channel, msg_id=msg_id[:191], received_at=now)
        result = await session.execute(stmt.returning(InboundDedup.id))
        return result.scalar_one_or_none() is not None


async def mark_handled(session: AsyncSession, channel: str, msg_id: str, now: datetime) -> bool:
    """Record (channel, msg_id) as handled in `session`'s transaction. False when it already was: the
    caller must then roll back, so a message's effects never apply twice. Console messages are not claimed."""
    if channel == "console":
        return True
    table = table_of(InboundHandled)  # Core: no ORM bookkeeping on the hot path
    stmt = insert_ignore(session, table).values(channel=channel, msg_id=msg_id[:191], handled_at=now)
    result = await session.execute(stmt.returning(table.c.id))
    return result.scalar_one_or_none() is not None


Claim = tuple[str, str, datetime, str | None]  # channel, msg_id, received, payload


def claims_url(database_url: str) -> str:
    """Where claims are written: PostgreSQL → the main database (row locks, no contention);
    SQLite file → a sidecar file next to it (`salesbot.inbound.db`), so claims never wait for SQLite's
    single write lock held by handler transactions; SQLite in memory → the main URL."""
    path = sqlite_path(database_url)
    if path is None:
        return database_url
    sidecar = path.with_name(f"{path.stem}.inbound{path.suffix or '.db'}")
    return f"{database_url.split(':///', 1)[0]}:///{sidecar}"


async def open_claims_db(database_url: str) -> Database:
    url = claims_url(database_url)
    db = Database(url)
    if url != database_url:
        async with db.engine.begin() as conn:
            await conn.run_sync(_ensure_claims_table)
    return db


def _ensure_claims_table(conn: Connection) -> None:
    """Create the sidecar table, or bring an older one up to date (new columns are nullable; new indexes)."""
    table = table_of(InboundDedup)
    table.create(conn, checkfirst=True)
    have = {column["name"] for column in inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name not in have:
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
    for index in table.indexes:
        index.create(conn, checkfirst=True)


class InboundClaimer:
    def __init__(self, database_url: str, *, max_batch: int = 500) -> None:
        self.database_url = database_url
        self.db: Database | None = None  # opened on first use
        self._opening = asyncio.Lock()
        self.max_batch = max_batch
        self._batcher: Batcher[Claim, bool] = Batcher(self._claim_all, max_batch=max_batch,
                                                     on_failure=self._failed)
        self.batches = 0
        self.failures = FailureLog(log, "inbound claims")  # an outage: one line per cause, not one per batch

    async def database(self) -> Database:
        """Where the claims live (the sidecar file on SQLite), opened once."""
        async with self._opening:  # the flusher and the replay sweep may both ask first
            if self.db is None:
                self.db = await open_claims_db(self.database_url)
        return self.db

    async def claim(self, channel: str, msg_id: str, now: datetime, payload: str | None = None) -> bool:
        """True the first time (channel, msg_id) is seen, False for every repeat (durable once it returns).
        `payload` is the verified raw message, kept so it can be replayed if the process dies before handling it."""
        return await self._batcher.submit((channel, msg_id[:191], now, payload))

    async def _claim_all(self, batch: list[Claim]) -> list[bool]:
        claimed = await self._insert(batch)
        self.failures.succeeded()
        seen: set[tuple[str, str]] = set()
        first: list[bool] = []
        for channel, msg_id, _now, _payload in batch:
            key = (channel, msg_id)
            first.append(key in claimed and key not in seen)  # a repeat inside one batch is a duplicate too
            seen.add(key)
        return first

    async def _failed(self, batch: list[Claim], exc: Exception) -> list[bool | BaseException]:
        self.failures.failed(exc, f"a batch of {len(batch)}")
        return [exc] * len(batch)

    async def _insert(self, batch: list[Claim]) -> set[tuple[str, str]]:
        rows = {(ch, key): {"channel": ch, "msg_id": key, "received_at": now, "payload": payload}
                for ch, key, now, payload in reversed(batch)}
        self.batches += 1
        db = await self.database()
        async with db.session() as session:
            # executemany of one cached statement (Core, not an ORM bulk insert): a multi-row VALUES was
            # compiled afresh for every batch size, on the event loop, while callbacks waited for their ACK.
            table = table_of(InboundDedup)
            stmt = insert_ignore(session, table).returning(table.c.channel, table.c.msg_id)
            result = await (await session.connection()).execute(stmt, list(rows.values()))
            return {(ch, key) for ch, key in result}

    async def close(self) -> None:
        await self._batcher.join()
        if self.db is not None:
            await self.db.dispose()
