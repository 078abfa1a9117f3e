"""Shared fixtures: a fresh SQLite (and PostgreSQL when reachable) database, services on a manual
clock, and a console chat session whose output is collected as JSON dicts.

Set-up shared per test process (each xdist worker), so a test pays only for what is its own:
- `ENGINES`: jieba's and OpenCC's dictionaries and the OCR engine, built from code and machine only
  (bot/engines.py), as one server process keeps them for all its messages;
- a migrated SQLite file copied into each test's folder (`migrated_sqlite`), and a migrated PostgreSQL database
  each test's own database is created from (`pg_db_url`): every test still gets a database of its own, at head.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from app.chat import ChatSession
from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import CN_TZ, ManualClock
from bot.config import DatabaseSettings, KnowledgeSettings, Settings
from bot.engines import Engines
from bot.org import DEMO_ORG, upsert_users
from bot.services import Services
from storage.db import Database
from storage.migrate import upgrade

PG_URL = os.environ.get("SALESBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Monday 2026-11-23 10:00 Asia/Shanghai: inside working hours on a normal working day.
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)
ENGINES = Engines()  # this test process's expensive objects built from code and machine (bot/engines.py)


# Longest first (pytest-xdist hands tests out in collection order): the modules whose tests start server, worker or
# CLI processes, slowest single test first as measured with --durations. Collected in file order they came last
# (test_r… to test_w…), so one worker sat out the end of the run while the other finished a minute-long test.
SLOW_FIRST = ("test_scale_out", "test_handler_process", "test_reminders_faults", "test_ocr_worker",
              "test_serve_console_uploads", "test_console_process", "test_inbound_crash", "test_concurrent_start",
              "test_slow_clients", "test_warm_up", "test_kb_roundtrip", "test_kb_learning", "test_operations",
              "test_kb_cut_apart", "test_renewals_typed", "test_tour")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: every other test in file order


def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/salesbot.db"


_TEMPLATES: dict[str, str] = {}
_TEMPLATE_LOCK = threading.Lock()


def _in_thread(run: Any) -> None:
    """`run()` on a thread of its own (Alembic's env runs its own event loop; a caller may be inside one)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _sqlite_template() -> str:
    """A SQLite file migrated to head once for this test process (a test copies it instead of migrating)."""
    with _TEMPLATE_LOCK:
        if "sqlite" not in _TEMPLATES:
            folder = tempfile.mkdtemp(prefix="salesbot-template-")
            url = sqlite_url(folder)
            _in_thread(lambda: asyncio.run(upgrade(url)))
            path = f"{folder}/salesbot.db"
            with sqlite3.connect(path) as conn:  # everything in the main file: one file to copy
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            _TEMPLATES["sqlite"] = path
        return _TEMPLATES["sqlite"]


def migrated_sqlite(tmp_path: Any) -> str:
    """`sqlite_url(tmp_path)` holding a database already at head (what the first `upgrade` would leave)."""
    shutil.copyfile(_sqlite_template(), f"{tmp_path}/salesbot.db")
    return sqlite_url(tmp_path)


def _pg_admin(sql: str | None = None) -> bool:
    """Run one admin statement on the test server; False when no server is reachable."""
    import asyncpg

    async def run() -> bool:
        dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
        try:
            conn = await asyncpg.connect(dsn, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        try:
            if sql:
                await conn.execute(sql)
        finally:
            await conn.close()
        return True

    return asyncio.run(run())


def _pg_named(name: str) -> str:
    return f"{PG_URL.rsplit('/', 1)[0]}/{name}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database for one test (skips when no server is reachable)."""
    name = f"salesbot_t_{uuid.uuid4().hex[:10]}"
    if not _pg_admin(f'CREATE DATABASE "{name}"'):
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    yield _pg_named(name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once for this test process, never connected to afterwards."""
    name = f"salesbot_tmpl_{uuid.uuid4().hex[:10]}"
    if not _pg_admin(f'CREATE DATABASE "{name}"'):
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    try:
        asyncio.run(upgrade(_pg_named(name)))
        yield name
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_db_url(pg_template: str) -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, already at head (a copy of `pg_template`)."""
    name = f"salesbot_t_{uuid.uuid4().hex[:10]}"
    if not _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'):
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    yield _pg_named(name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Both backends, each database of its own and already at head: SQLite always, PostgreSQL when reachable."""
    if request.param == "sqlite":
        return migrated_sqlite(tmp_path)
    return str(request.getfixturevalue("pg_db_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Both backends, each an empty database of its own (for what migrations and a first start do)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def org_db(db_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend with the demo org in it (no knowledge base, no services)."""
    await upgrade(db_url)
    database = Database(db_url)
    async with database.session() as s:
        await upsert_users(s, DEMO_ORG, datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ))
    yield database
    await database.dispose()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """The test defaults. The services are frozen once built, so a test that needs other settings says so
    up front: `@pytest.mark.parametrize("settings", [change], indirect=True)`, `change(Settings) -> Settings`."""
    base = Settings()
    settings = replace(
        base,
        database=DatabaseSettings(url=migrated_sqlite(tmp_path)),
        knowledge=replace(KnowledgeSettings(), seed_demo=False),
        reminders=replace(base.reminders, digest_time=""),  # digests off unless a test turns them on
        ocr=replace(base.ocr, evidence_dir=str(tmp_path / "evidence")),
        server=replace(base.server, warm_up=False,  # tests/test_warm_up.py turns it on
                       spool_dir=str(tmp_path / "spool")),
        audit=replace(base.audit, anchor_time=""),  # the daily anchor message off unless a test turns it on
        renewals=replace(base.renewals, scan_time=""),  # the daily renewal scan off unless a test turns it on
    )
    change = getattr(request, "param", None)
    return change(settings) if change is not None else settings


def run_cli(db_url: str, *argv: str) -> int:
    """`salesbot ARGV…` in this process against `db_url` (call it through asyncio.to_thread from a test)."""
    from app.cli import main

    os.environ["SALESBOT_DATABASE_URL"] = db_url
    try:
        return main(list(argv))
    finally:
        del os.environ["SALESBOT_DATABASE_URL"]


def with_digests(settings: Settings) -> Settings:
    return replace(settings, reminders=replace(settings.reminders, digest_time="09:30"))


def with_renewal_scan(settings: Settings) -> Settings:
    return replace(settings, renewals=replace(settings.renewals, scan_time="09:30"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10AM)


class Transcript(list[dict[str, Any]]):
    """Console output as the `--json` dicts, with small helpers for assertions."""

    def write(self, line: str) -> None:
        self.append(json.loads(line))

    def to(self, user: str) -> list[dict[str, Any]]:
        return [m for m in self if m["to"] == user]

    def texts(self, user: str | None = None) -> list[str]:
        return [f"{m['title']}\n{m['text']}" for m in self if user is None or m["to"] == user]

    def last(self, user: str) -> dict[str, Any]:
        return self.to(user)[-1]


@pytest.fixture
def transcript() -> Transcript:
    return Transcript()


@pytest.fixture
async def services(settings: Settings, clock: ManualClock, transcript: Transcript) -> AsyncIterator[Services]:
    console = ConsoleChannel(transcript.write, json_mode=True)
    svc = await build_services(settings, clock, {"console": console}, engines=ENGINES)
    yield svc
    await svc.db.dispose()


@pytest.fixture
async def services_both(db_url: str, settings: Settings, clock: ManualClock, transcript: Transcript
                        ) -> AsyncIterator[Services]:
    """Services with the console channel on SQLite and on PostgreSQL (when reachable)."""
    await upgrade(db_url)
    svc = await build_services(replace(settings, database=DatabaseSettings(url=db_url)), clock,
                               {"console": ConsoleChannel(transcript.write, json_mode=True)}, engines=ENGINES)
    yield svc
    await svc.db.dispose()


def console_chat(services: Services, clock: ManualClock, transcript: Transcript) -> ChatSession:
    """rep01 typing into the console channel of `services`."""
    console = services.channels["console"]
    assert isinstance(console, ConsoleChannel)
    return ChatSession(services, console, clock, "rep01", transcript.write)  # type: ignore[arg-type]


@pytest.fixture
def chat(services: Services, clock: ManualClock, transcript: Transcript) -> ChatSession:
    return console_chat(services, clock, transcript)
