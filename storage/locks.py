"""Locks that hold across processes, for work that must run once when N instances start together.

PostgreSQL: a session advisory lock (`pg_advisory_lock`) on a connection of its own, released when the
block ends (or when the process dies: the server drops a dead session's locks). SQLite file: an exclusive
`flock` on a sidecar `<db>.lock` file (released by the kernel when the process dies). SQLite in memory
lives in one process: a no-op.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import Database, sqlite_path

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(f"salesbot:{name}".encode()).digest()[:8], "big", signed=True)


def advisory_xact_lock(conn: Connection, name: str) -> None:
    """Inside a PostgreSQL transaction: wait for the lock `name`, held until the transaction ends (sync form,
    for Alembic's environment). Nothing on other dialects."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})


@asynccontextmanager
async def exclusive(db: Database, name: str) -> AsyncIterator[None]:
    """Run the block while no other process holds `name` on this database."""
    path = sqlite_path(db.url)
    if db.is_sqlite:
        if path is None:
            yield
            return
        async with file_lock(path.with_name(f"{path.name}.{name}.lock")):
            yield
        return
    async with db.engine.connect() as conn:
        key = lock_key(name)
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        await conn.commit()  # the lock belongs to the session, not to a transaction
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            await conn.commit()


@asynccontextmanager
async def file_lock(path: os.PathLike[str] | str) -> AsyncIterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
