"""Storage on both backends: migrations, inbound dedup under concurrency, UTC round-trips."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import DateTime, func, inspect, select
from sqlalchemy.dialects import sqlite

from bot.clock import CN_TZ
from bot.dedup import claim_inbound
from storage.db import Database
from storage.leads import same_company
from storage.migrate import MigrationsPending, current_revision, ensure_schema, head_revision, upgrade
from storage.models import Base, InboundDedup, Lead, User, UTCDateTime
from tests.waiting import until

pytestmark = pytest.mark.asyncio


async def test_migrations_create_every_table(empty_db_url: str) -> None:
    db_url = empty_db_url
    await upgrade(db_url)
    assert await current_revision(db_url) == head_revision()
    db = Database(db_url)
    async with db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    await db.dispose()
    assert set(Base.metadata.tables) <= tables
    await upgrade(db_url)  # idempotent


async def test_postgres_refuses_to_start_before_upgrade(pg_url: str) -> None:
    with pytest.raises(MigrationsPending, match="salesbot db upgrade"):
        await ensure_schema(pg_url)
    await upgrade(pg_url)
    await ensure_schema(pg_url)


async def test_sqlite_migrates_itself(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path}/sub/dir/x.db"
    await ensure_schema(url)
    assert await current_revision(url) == head_revision()


async def test_dedup_under_concurrent_inserts(db_url: str) -> None:
    await upgrade(db_url)
    db = Database(db_url)
    now = datetime.now(UTC)
    try:
        ids = [f"m{i % 25}" for i in range(100)]  # 25 distinct ids, each sent 4 times at once
        results = await asyncio.gather(*(claim_inbound(db, "wecom", mid, now) for mid in ids))
        assert sum(results) == 25
        # the same id on another channel is a different message
        assert await claim_inbound(db, "dingtalk", "m0", now) is True
        async with db.session() as s:
            assert (await s.execute(select(func.count()).select_from(InboundDedup))).scalar_one() == 26
    finally:
        await db.dispose()


async def test_sqlite_times_are_the_text_sqlalchemy_writes() -> None:
    """The one-step SQLite conversion writes what SQLAlchemy's own DATETIME wrote before it (rows already stored
    and rows written now compare and sort alike in SQL), microseconds always, any zone turned to UTC."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    for moment in (datetime(2026, 11, 23, 15, 0, tzinfo=CN_TZ), datetime(2026, 1, 1, 0, 0, 0, 7, tzinfo=UTC),
                   datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime.now(UTC)):
        assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(datetime(2026, 3, 1, 7, 30, tzinfo=CN_TZ)) == "2026-02-28 23:30:00.000000"
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        ours(datetime(2026, 1, 1))


async def test_times_are_stored_utc_and_come_back_aware(db_url: str) -> None:
    await upgrade(db_url)
    db = Database(db_url)
    local = datetime(2026, 11, 23, 15, 0, tzinfo=CN_TZ)
    try:
        async with db.session() as s:
            s.add(User(id="u1", name="U", role="rep", created_at=local))
            await s.flush()
            s.add(Lead(owner_id="u1", created_at=local, next_follow_up_at=local + timedelta(hours=1),
                       field_sources={}, extra={}, needs=[]))
        async with db.session() as s:
            lead = (await s.execute(select(Lead))).scalar_one()
        assert lead.created_at == local and lead.created_at.tzinfo is not None
        assert lead.created_at.utcoffset() == timedelta(0)
        with pytest.raises(Exception, match="naive datetime"):
            async with db.session() as s:
                s.add(User(id="u2", name="N", role="rep", created_at=datetime(2026, 1, 1)))
        async with db.session() as s:
            assert await s.get(User, "u2") is None  # nothing half-written
    finally:
        await db.dispose()


async def test_migrations_match_the_models(db_url: str) -> None:
    """A model change without its Alembic revision fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    await upgrade(db_url)
    db = Database(db_url)
    try:
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await db.dispose()
    assert diff == []


@pytest.mark.parametrize(("a", "b", "same"), [
    ("星河医疗", "星河医疗科技有限公司", True),
    ("华东医疗", "华东医疗器械有限公司", True),
    ("宏达科技", "宏达科技有限公司", True),
    ("宏达", "宏达集团", True),
    ("华东", "华东医疗", False),  # a short prefix alone is not enough
    ("华东医疗", "华西医疗", False),
    ("星河医疗", None, False),
])
async def test_short_and_full_company_names(a: str, b: str | None, same: bool) -> None:
    assert same_company(a, b) is same


async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(pg_url: str) -> None:
    """No pre-ping round trips (storage/db.py): a backend terminated while its connection sat in the pool (as a
    restart of PostgreSQL does to all of them) is noticed at checkout, and the next transaction runs on a new one."""
    import asyncpg
    from sqlalchemy import text

    from storage.notify import asyncpg_dsn

    db = Database(pg_url)
    try:
        async with db.session() as session:
            first = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(asyncpg_dsn(pg_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
            await until(lambda: _gone(admin, first), "the terminated backend gone")
        finally:
            await admin.close()
        await asyncio.sleep(0)  # its socket's end of file is there: the loop reads it while the connection is pooled
        async with db.session() as session:
            second = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await db.dispose()



async def _gone(admin, pid):  # type: ignore[no-untyped-def]
    return not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
