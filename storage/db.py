"""Engine and session set-up for SQLite (default) and PostgreSQL.

SQLite: WAL, busy_timeout, foreign keys, and every transaction opened with BEGIN IMMEDIATE so a
read-modify-write never meets a lock upgrade failure. Open transactions late (after slow work).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver
from storage.inline_read import InlineReader, Statement
from storage.recorder import RecordingSession

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_POOL = 64  # connections kept open to a SQLite file, each an idle thread (as many again for a moment)
# Handler jobs run at once during a burst on SQLite: each holds at most one connection at a time, so with the
# pool's other users (group commit, outbox, ticker) they stay within the kept connections. Above the pool, every
# job opened an overflow connection (a thread, its PRAGMAs and functions) and closed it again: ~6% of a burst's CPU.
SQLITE_BURST_JOBS = SQLITE_POOL - 16
# PostgreSQL connections per engine: kept, and opened for a moment above that. Each process has its engine (serve,
# its handler child) and serve a claims engine (1–2 in use): N instances open up to ~N × (2 × 20 + 3) at a peak,
# within PostgreSQL's max_connections (default 100) for 2 instances of full peaks or 3 with the usual ones
# (docs/operations.md, sizing).
PG_POOL, PG_OVERFLOW = 15, 5


class Database:
    """Owns the engine and hands out sessions (one transaction each)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.burst_jobs = SQLITE_BURST_JOBS if self.is_sqlite else 10_000  # PostgreSQL: the pool's timeout decides
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            if "+aiosqlite" in url.split(":", 1)[0]:
                kwargs["module"] = sqlite_driver.dbapi()  # one thread trip per statement, none for an inline read
                kwargs["connect_args"]["check_same_thread"] = False  # inline reads run on the loop's thread
            if sqlite_path(url) is not None:
                # Each connection is a thread and a file open with its PRAGMAs: with the default pool (5 kept)
                # a burst's 50 handlers opened and closed overflow connections all the time.
                kwargs.update(pool_size=SQLITE_POOL, max_overflow=SQLITE_POOL)
        else:
            # No pool_pre_ping: on asyncpg it is BEGIN; SELECT; ROLLBACK — three round trips per checkout,
            # 15–25 % of a PostgreSQL burst's samples (bench/scaleout.py). A checkout looks at the socket instead
            # (`_drop_closed_connections`, no round trip), and a statement that meets a dead connection invalidates
            # the pool (SQLAlchemy does this for every disconnect error), so after a restart of PostgreSQL at most
            # one statement per process fails (its transaction rolls back: the message is replayed, the outbox row
            # retried) and every other connection is replaced at its next checkout.
            # The same peak as before (20 a process), more of it kept: with 10 kept, a burst's handlers checked
            # out and returned overflow connections all the time, each new one costing a connect (TLS tried first)
            # and every statement prepared again (~10 % of a burst's samples in the handler child).
            kwargs.update(pool_size=PG_POOL, max_overflow=PG_OVERFLOW)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if not self.is_sqlite:
            _drop_closed_connections(self.engine)
        self._inline: InlineReader | None = None
        if self.is_sqlite:
            _tune_sqlite(self.engine)
            if (path := sqlite_path(url)) is not None:
                self._inline = InlineReader(path, self.engine.dialect, timeout_s=kwargs["connect_args"]["timeout"])
        # every session records the facts it changes in the tamper-evident record (storage/recorder.py)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=RecordingSession)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reader(self, *, snapshot: bool = False, inline: bool = False) -> AsyncIterator[AsyncConnection]:
        """A read-only connection: on SQLite no BEGIN at all (each statement reads its own snapshot, in one trip
        to the driver's thread), so a lookup never queues for the write lock that BEGIN IMMEDIATE takes and
        costs no BEGIN/ROLLBACK. Never write through it; a read needing one snapshot over several statements
        uses `snapshot=True` (a plain deferred BEGIN: still no write lock). On PostgreSQL a read without
        `snapshot` runs in autocommit: each statement its own snapshot, no BEGIN/ROLLBACK trips (each trip wakes
        the server's backend: ~30% of a burst's handler samples, bench/scaleout.py). `inline=True` (SQLite): each
        SELECT runs on the event loop's own thread, no trip at all — only for small indexed reads of the hot path (a
        WAL read never waits for a lock, and it costs less than the trip's hand-offs); never for a report."""
        options: dict[str, Any] = {"salesbot_read_only": True, "salesbot_snapshot": snapshot,
                                   "salesbot_inline": inline}
        if not self.is_sqlite and not snapshot:  # PostgreSQL: no BEGIN/ROLLBACK round trips around a lookup
            options["isolation_level"] = "AUTOCOMMIT"
        async with self.engine.connect() as conn:
            yield await conn.execution_options(**options)

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one write statement outside the tamper-evident record (no session): on PostgreSQL in
        autocommit — the statement is its own transaction, no BEGIN/COMMIT round trips; on SQLite a BEGIN
        IMMEDIATE … COMMIT. Only for a single statement: two would not be atomic on PostgreSQL."""
        if self.is_sqlite:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def read_rows(self, statement: Statement, params: Mapping[str, Any]) -> Sequence[Any]:
        """The rows of a small indexed read of the hot path (a statement built once), as `reader(inline=True)`
        reads them; on a SQLite file straight through sqlite3 (storage/inline_read.py)."""
        if self._inline is not None:
            return self._inline.rows(statement, params)
        async with self.reader(inline=True) as conn:
            return (await conn.execute(statement, params)).all()

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (console pages, reports) on a `reader()` connection: on SQLite a long read
        never holds the write lock that every message handler's claim needs. Nothing it does is committed."""
        async with self.reader(snapshot=True) as conn, AsyncSession(bind=conn, expire_on_commit=False) as session:
            yield session

    async def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
        await self.engine.dispose()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            log.exception("database ping failed")
            return False


def _drop_closed_connections(engine: AsyncEngine) -> None:
    """A pooled connection whose socket the server closed (PostgreSQL restarted, the backend terminated, an idle
    timeout) is replaced at checkout: asyncpg notices the close on the event loop while the connection sits in the
    pool, so `is_closed()` answers without a round trip. Raising DisconnectionError makes the pool discard it and
    check out another (SQLAlchemy retries the checkout)."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        is_closed = getattr(record.driver_connection, "is_closed", None)  # asyncpg's Connection
        if callable(is_closed) and is_closed():
            raise exc.DisconnectionError("connection closed by the server while it was pooled")


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        driver = conn.connection.dbapi_connection
        if isinstance(driver, sqlite_driver.OneTripConnection):  # set on every use: the pool hands it on
            driver.inline = bool(options.get("salesbot_inline")) and not options.get("salesbot_snapshot")
        if not options.get("salesbot_read_only"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get("salesbot_snapshot"):
            conn.exec_driver_sql("BEGIN")


def sqlite_path(url: str) -> Path | None:
    """File path of a sqlite URL, None for memory or other backends."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    return Path(rest) if rest and rest != ":memory:" else None
