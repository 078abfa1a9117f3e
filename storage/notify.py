"""Wake-ups across processes on PostgreSQL: `LISTEN/NOTIFY`.

A transaction that queues work calls `notify(session, OUTBOX)` (or `TICKER`); PostgreSQL delivers the
notification to every listening instance when — and only if — the transaction commits, and folds repeats
of the same channel and payload inside one transaction into one (10,000 rows queued in one transaction wake
each instance once). `Listener` keeps one asyncpg connection per process listening and calls a handler per
channel; after a lost connection it reconnects with backoff and calls every handler once, because
notifications sent meanwhile are gone. Polling stays as the slow fallback. SQLite: nothing (one process;
in-process wake-ups do the job).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

OUTBOX = "salesbot_outbox"  # outbox rows are due: claim them
TICKER = "salesbot_ticker"  # a reminder is due now: tick
PAUSE = "salesbot_pause"  # payload "<channel>:<app key>:<seconds>": the platform rate-limited the app, all pause


async def notify(session: AsyncSession, channel: str, payload: str = "") -> None:
    """Wake every listening instance when `session`'s transaction commits (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})


def asyncpg_dsn(url: str) -> str:
    """postgresql+asyncpg://… (SQLAlchemy) → postgresql://… (asyncpg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    def __init__(self, url: str, handlers: Mapping[str, Callable[[str], Any]], *, max_backoff_s: float = 30.0
                 ) -> None:
        """`handlers`: channel → a function of the payload ("" for the catch-up call after (re)connecting)."""
        self.dsn = asyncpg_dsn(url)
        self.handlers = dict(handlers)
        self.max_backoff_s = max_backoff_s
        self.connected = asyncio.Event()
        self.received = 0

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self.received += 1
        handler = self.handlers.get(channel)
        if handler is not None:
            try:
                handler(payload)
            except Exception:
                log.exception("wake-up handler for %s failed (payload %r)", channel, payload[:100])

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting after a lost connection."""
        import asyncpg

        backoff = 0.5
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("LISTEN connection failed (%s); polling only, retry in %.0f s", exc, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(self.max_backoff_s, backoff * 2)
                continue
            backoff = 0.5
            try:
                await self._listen(conn, stop)
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    async def _listen(self, conn: Any, stop: asyncio.Event) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        for channel in self.handlers:
            await conn.add_listener(channel, self._on_notify)
        self.connected.set()
        for handler in self.handlers.values():  # whatever was notified while we were not listening
            handler("")
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if lost.is_set() and not stop.is_set():
            log.warning("LISTEN connection lost; reconnecting (polling meanwhile)")
