"""The per-message path under a burst (issue 19): what one 「帮助」 costs in round trips.

A morning burst from a team of thousands took ~20 ms of CPU per reply: every text loaded the whole team from the
database (and the front door compiled one pattern per person), and every SQLite statement made four trips to
aiosqlite's thread. These tests count the trips and the reads, not the time (speed lives in bench/)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from app.chat import ChatSession
from bot.services import Services
from handlers.intent import State, understand
from knowledge.query import SIMPLIFIER
from storage.db import Database
from storage.models import User
from tests.conftest import ENGINES, Transcript

T2S = ENGINES.get(SIMPLIFIER)  # OpenCC's tables of this test process (no services here)


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
    from bot.dispatch import TEAM

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


async def _elsewhere(db_url: str, sql: str) -> None:
    """A write made by another process: straight through the driver, unseen by this process's engine hooks."""
    if db_url.startswith("sqlite"):
        async with aiosqlite.connect(db_url.split(":///", 1)[1]) as conn:
            await conn.execute(sql)
            await conn.commit()
        return
    import asyncpg

    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_the_team_reloads_when_another_process_changed_it_and_only_then(db_url: str) -> None:
    """The snapshot reads one counter row (kept by triggers, migration 0013), not every user every 10 s."""
    from bot.org import DEMO_ORG, TeamCache, upsert_users

    db = Database(db_url)
    try:
        async with db.session() as session:
            await upsert_users(session, DEMO_ORG, datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
        team = TeamCache(check_s=0)  # the counter is read at every use
        team.LOAD_GAP = 0  # and a change is loaded at once
        assert ("rep01", "张伟") in await team.people(db)
        for _ in range(3):
            await team.people(db)
        await _elsewhere(db_url, "UPDATE users SET channel = 'dingtalk' WHERE id = 'rep01'")  # a channel only
        await team.people(db)
        assert team.loads == 1
        await _elsewhere(db_url, "INSERT INTO users (id, name, role, active, capacity, product_lines, industries, "
                                 "created_at) VALUES ('rep09', '周敏', 'rep', true, 30, '[]', '[]', "
                                 "'2026-12-07 09:00:00')")
        assert ("rep09", "周敏") in await team.people(db)
        await _elsewhere(db_url, "UPDATE users SET name = '张伟伟' WHERE id = 'rep01'")
        assert ("rep01", "张伟伟") in await team.people(db)
        await _elsewhere(db_url, "UPDATE users SET active = false WHERE id = 'rep09'")
        assert "rep09" not in {pid for pid, _ in await team.people(db)}
        assert team.loads == 4
    finally:
        await db.dispose()


def _count_one_user_reads(services: Services) -> list[str]:
    seen: list[str] = []

    @event.listens_for(services.db.engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        flat = " ".join(statement.split()).lower()
        if flat.startswith("select") and "from users" in flat and "users.id =" in flat:
            seen.append(flat)

    return seen


async def test_the_first_message_of_each_rep_of_a_burst_reads_no_user_row(
        services: Services, clock: Any, transcript: Transcript) -> None:
    """A morning burst is mostly first messages (nobody is in the per-user cache yet): who each sender is comes
    from the team snapshot the front door loads anyway, not from one read per message."""
    await ChatSession(services, services.channels["console"], clock, "admin01",  # type: ignore[arg-type]
                      transcript.write).handle_line("帮助")  # the snapshot is loaded once here
    reads = _count_one_user_reads(services)
    for rep in ("rep01", "rep02", "rep03", "rep04", "rep05", "manager02"):
        await ChatSession(services, services.channels["console"], clock, rep,  # type: ignore[arg-type]
                          transcript.write).handle_line("帮助")
        assert transcript.to(rep), rep
    assert reads == []  # was one read of the sender's row per first message


async def test_a_rep_deactivated_after_the_snapshot_is_refused_at_the_next_message(
        services: Services, clock: Any, transcript: Transcript) -> None:
    admin = ChatSession(services, services.channels["console"], clock, "admin01",  # type: ignore[arg-type]
                        transcript.write)
    await admin.handle_line("帮助")
    async with services.db.session() as session:
        await session.execute(update(User).where(User.id == "rep03").values(active=False))
    await ChatSession(services, services.channels["console"], clock, "rep03",  # type: ignore[arg-type]
                      transcript.write).handle_line("帮助")
    assert "没有开通" in transcript.last("rep03")["text"]


def test_a_team_of_thousands_is_matched_by_name_not_by_a_pattern_each() -> None:
    team = (*((f"u{i:05d}", f"销售{i}") for i in range(3000)), ("rep02", "李娜"))
    state = State(team=team)
    assert understand("看看李娜的线索", "manager", state, t2s=T2S).slots.get("filter") == "李娜"
    assert understand("看看u00017的客户", "manager", state, t2s=T2S).slots.get("filter") == "销售17"
    assert understand("三甲医院设备科嫌贵怎么回", "manager", state, t2s=T2S).name == "knowledge"


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


# ---------------------------------------------------------------- group commit of handlers that only answer

PEOPLE = ("rep01", "rep02", "rep03", "rep04", "rep05", "manager01", "manager02", "admin01")


def _help_from(services: Services, user: str, msg_id: str) -> Any:
    from bot.messages import Inbound

    return Inbound("wecom", user, msg_id, "text", services.clock.now(), text="帮助")


async def _outbox_rows(services: Services) -> list[tuple[str, str]]:
    from storage.models import OutboxMessage

    async with services.db.reader() as conn:
        rows = await conn.execute(select(OutboxMessage.recipient, OutboxMessage.dedup_key))
        return sorted((r, k) for r, k in rows)


async def test_a_burst_of_answers_commits_in_a_few_transactions_each_exactly_once(services: Services) -> None:
    from bot.dispatch import dispatch
    from bot.group_commit import GROUP_COMMIT

    await asyncio.gather(*(dispatch(services, _help_from(services, u, f"m-{u}")) for u in PEOPLE))
    assert [r for r, _k in await _outbox_rows(services)] == sorted(PEOPLE)  # one answer each
    assert services.shared(GROUP_COMMIT).batches < len(PEOPLE)  # was one transaction per message
    # WeCom re-sends, or a replay after a crash runs them again: nothing more is written
    await asyncio.gather(*(dispatch(services, _help_from(services, u, f"m-{u}")) for u in PEOPLE))
    assert len(await _outbox_rows(services)) == len(PEOPLE)


async def test_one_bad_message_in_a_batch_costs_only_its_own_answer(services: Services) -> None:
    from bot.group_commit import GROUP_COMMIT, Handled
    from bot.messages import Outbound, Text
    from storage.models import InboundHandled

    async def broken(session: Any) -> None:
        await session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    now = services.clock.now()
    group = services.shared(GROUP_COMMIT)

    def item(user: str, writes: list[Any]) -> Handled:
        out = Outbound(to=user, body=Text("好"), channel="wecom", dedup_key=f"in:wecom:b-{user}:0")
        return Handled("wecom", f"b-{user}", user, now, [out], writes)

    results = await asyncio.gather(group.commit(item("rep01", [])), group.commit(item("rep02", [broken])),
                                   group.commit(item("rep03", [])), return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["Outcome", "OperationalError", "Outcome"]
    assert [r for r, _k in await _outbox_rows(services)] == ["rep01", "rep03"]
    async with services.db.reader() as conn:
        handled = (await conn.execute(select(InboundHandled.msg_id).order_by(InboundHandled.msg_id))).scalars().all()
    assert handled == ["b-rep01", "b-rep03"]  # the bad one is not marked: its replay will try again


async def test_the_conversation_state_is_one_read_on_each_backend(org_db: Database) -> None:
    """load_state's single UNION ALL (handlers/chat/front.py): the last card, the lead last acted on, open leads and
    drafts — on SQLite and PostgreSQL, with the types each part needs (a card's JSON, a timestamp)."""
    from datetime import datetime, timedelta

    from bot.clock import CN_TZ
    from bot.messages import Button, Card, body_from_json, body_to_json
    from handlers.chat.front import _state_statement
    from storage.models import Activity, Lead, OutboxMessage

    now = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)
    card = Card("线索 #1", "张三", buttons=(Button("跟进", "lead:follow:1"),))
    async with org_db.session() as s:
        s.add_all([Lead(id=1, owner_id="rep01", customer_name="张三", status="active", created_at=now),
                   Lead(id=2, owner_id="rep01", customer_name="李四", status="closed", created_at=now),
                   Lead(id=3, created_by="rep01", customer_name="王五", status="draft", created_at=now)])
        await s.flush()
        s.add(Activity(lead_id=1, actor_id="rep01", kind="follow_up", summary="", detail={},
                       created_at=now - timedelta(minutes=5)))
        for i, body in enumerate((card, card)):
            s.add(OutboxMessage(channel="wecom", recipient="rep01", kind="card", payload=body_to_json(body),
                                dedup_key=f"k{i}", status="delivered", attempts=1, next_attempt_at=now,
                                created_at=now - timedelta(minutes=i)))
    params = {"s_to": "rep01", "s_user": "rep01", "s_since": now - timedelta(minutes=30), "s_channel": "wecom"}
    async with org_db.reader() as conn:
        rows = (await conn.execute(_state_statement(), params)).all()
    parts = sorted((r.part, r.num, r.name, r.status) for r in rows)
    assert parts == [(1, 2, "k1", None), (2, 1, None, None), (3, 1, "张三", "active"), (3, 3, "王五", "draft"),
                     (4, 1, "k0", None), (4, 2, "k1", None)]  # what was sent last on the channel: a pick's card
    first = next(r for r in rows if r.part == 1)
    assert body_from_json(first.payload) == card and first.at is not None
    # the hot path's own read (on a SQLite file straight through sqlite3): the same rows, the same types
    assert sorted(await org_db.read_rows(_state_statement(), params)) == sorted(tuple(r) for r in rows)
    params["s_since"] = now  # nothing acted on since: no second part
    async with org_db.reader() as conn:
        assert {r.part for r in (await conn.execute(_state_statement(), params)).all()} == {1, 3, 4}
    assert {r.part for r in await org_db.read_rows(_state_statement(), params)} == {1, 3, 4}
    async with org_db.session() as s:  # a commit after the first read: the next read sees it
        s.add(OutboxMessage(channel="wecom", recipient="rep01", kind="text", payload={"text": "好"}, dedup_key="k9",
                            status="pending", attempts=0, next_attempt_at=now, created_at=now))
    assert "k9" in {r.name for r in await org_db.read_rows(_state_statement(), params) if r.part == 4}


async def test_a_burst_of_newcomers_keeps_the_caches_warm(services: Services) -> None:
    """Reps nobody imported write for the first time (auto-registered): each registration emptied every cache,
    so the team of thousands was read again for every message of the burst."""
    from bot.dispatch import dispatch
    from bot.org import UserCache

    await dispatch(services, _help_from(services, "rep01", "warm-1"))
    version = UserCache.version
    await asyncio.gather(*(dispatch(services, _help_from(services, f"new{i:02d}", f"n-{i}")) for i in range(5)))
    assert UserCache.version == version
    assert len([r for r, _k in await _outbox_rows(services) if r.startswith("new")]) == 5


async def test_a_snapshot_reader_sees_one_moment_and_a_plain_one_reads_each_statement_afresh(tmp_path: Any) -> None:
    """db.reader() sends no BEGIN on SQLite (one trip a lookup); reads that compare several statements (the audit
    chain's verification, read_session) ask for snapshot=True and see the database as of their first read."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/snap.db")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        for snapshot, expected in ((True, [1, 1]), (False, [2, 3])):
            seen = []
            async with db.reader(snapshot=snapshot) as conn:
                seen.append((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())
                async with db.session() as session:  # a writer commits in between
                    await session.execute(text("INSERT INTO t (id) VALUES (NULL)"))
                seen.append((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())
            assert seen == expected
    finally:
        await db.dispose()
