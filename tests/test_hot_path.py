"""The per-message path under a burst (issue 19): what one 「帮助」 costs in round trips.

A morning burst from a team of thousands took ~20 ms of CPU per reply: every text loaded the whole team from the
database (and the front door compiled one pattern per person), and every SQLite statement made four trips to
aiosqlite's thread. These tests count the trips and the reads, not the time (speed lives in bench/)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from app.chat import ChatSession
from bot.services import Services
from handlers.intent import State, understand
from storage.db import Database
from storage.models import User
from tests.conftest import Transcript


def _count_team_reads(services: Services) -> list[str]:
    seen: list[str] = []

    @event.listens_for(services.db.engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        flat = " ".join(statement.split()).lower()
        if flat.startswith("select") and "from users" in flat and "users.id =" not in flat:
            seen.append(flat)

    return seen


async def test_the_team_is_read_once_for_a_run_of_messages(chat: ChatSession, transcript: Transcript,
                                                           services: Services) -> None:
    reads = _count_team_reads(services)
    for _ in range(5):
        await chat.handle_line("帮助")
    assert len(transcript.to("rep01")) == 5
    assert len(reads) <= 1, reads  # was one full read of the users table per message


async def test_a_new_colleague_is_in_the_team_at_the_next_message(chat: ChatSession, services: Services) -> None:
    from handlers.front import TEAM

    await chat.handle_line("帮助")
    before = await services.shared(TEAM).people(services.db)
    assert "rep09" not in {pid for pid, _name in before}
    async with services.db.session() as session:
        await session.execute(insert(User).values(id="rep09", name="周敏", role="rep", active=True,
                                                  created_at=services.clock.now()))
    after = await services.shared(TEAM).people(services.db)
    assert ("rep09", "周敏") in after
    async with services.db.session() as session:
        await session.execute(update(User).where(User.id == "rep09").values(active=False))
    assert "rep09" not in {pid for pid, _ in await services.shared(TEAM).people(services.db)}


async def test_recording_a_users_channel_keeps_the_caches_warm(chat: ChatSession, services: Services) -> None:
    """The first message from each rep of a burst records their channel: that must not empty everyone's cache."""
    from bot.org import UserCache, set_channel

    version = UserCache.version
    async with services.db.session() as session:
        await set_channel(session, "rep02", "wecom")
    assert UserCache.version == version
    async with services.db.session() as session:
        await session.execute(update(User).where(User.id == "rep02").values(name="李娜娜"))
    assert UserCache.version != version


def test_a_team_of_thousands_is_matched_by_name_not_by_a_pattern_each() -> None:
    team = (*((f"u{i:05d}", f"销售{i}") for i in range(3000)), ("rep02", "李娜"))
    state = State(team=team)
    assert understand("看看李娜的线索", "manager", state).slots.get("filter") == "李娜"
    assert understand("看看u00017的客户", "manager", state).slots.get("filter") == "销售17"
    assert understand("三甲医院设备科嫌贵怎么回", "manager", state).name == "knowledge"


# ---------------------------------------------------------------- the SQLite driver: one thread trip per statement

def _count_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_a_statement_is_one_trip_to_the_sqlite_thread(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/trips.db")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        trips = _count_trips(monkeypatch)
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # the connection's BEGIN is a statement too
            trips.clear()
            for _ in range(10):
                assert (await conn.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        assert trips[:10] == ["_run"] * 10  # was four: open a cursor, execute, fetch, close
    finally:
        await db.dispose()


async def test_the_one_trip_cursor_keeps_what_sqlalchemy_reads(tmp_path: Any) -> None:
    """Rows, RETURNING of an executemany, rowcount, and errors as SQLAlchemy's own exceptions."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cursor.db")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        from sqlalchemy import Column, Integer, MetaData, String, Table

        t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("name", String))
        async with db.session() as session:
            conn = await session.connection()
            got = await conn.execute(insert(t).returning(t.c.id, t.c.name), [{"name": f"n{i}"} for i in range(5)])
            assert sorted(name for _id, name in got) == [f"n{i}" for i in range(5)]
            done = await conn.execute(update(t).where(t.c.id <= 3).values(name=t.c.name + "!"))
            assert done.rowcount == 3
            rows = (await conn.execute(select(t.c.name).order_by(t.c.id))).scalars().all()
            assert rows == ["n0!", "n1!", "n2!", "n3", "n4"]
        with pytest.raises(IntegrityError):
            async with db.session() as session:
                await session.execute(insert(t).values(name="n3"))
        async with db.engine.connect() as conn:  # the failed transaction left nothing behind
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 5
            streamed = [row.name async for row in await conn.stream(select(t.c.name).order_by(t.c.id))]
            assert streamed[-1] == "n4"
        results = await asyncio.gather(*(_count(db) for _ in range(20)))  # pooled connections, side by side
        assert results == [5] * 20
    finally:
        await db.dispose()


async def _count(db: Database) -> int:
    async with db.reader() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())
