"""Publishing an import's staged rows a bounded number per transaction (issue 20, 6b).

An import stages its good rows under a batch id (knowledge/importer.py, handlers/renewals/importer.py), each chunk
its own short transaction, invisible to everyone. Making them live was one INSERT … SELECT of the whole batch:
100,000 rows held SQLite's single writer 5–10 s, and every reply (its handled mark and outbox row) waited behind
it. Now `publish` first marks the batch as publishing (a `kv` row, `import:publishing:<batch>`), then moves
PUBLISH_ROWS rows per transaction (upserted into the live table, deleted from staging), on SQLite leaving the
writer free between chunks at least as long as the last chunk held it (PostgreSQL locks rows: no pause); the last
transaction also drops the mark and runs the kind's `last` step (the card generation bump: every index takes the
new cards at once).

From the mark on, an import rolls forward: if the database fails or the process dies midway, `resume` (at
start-up, hourly, and when the next import of that kind starts) finishes the batch; it is never deleted by age.
Before the mark nothing is live and a failed import's batch is deleted (`drop`). For the seconds a publish lasts a
reader may see part of the batch. One publish at a time across processes (`storage.locks.exclusive`), so a resume
never moves a batch a live publish is moving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.locks import exclusive
from storage.models import KeyValue
from storage.sql import insert_ignore, rowcount

log = logging.getLogger(__name__)

PUBLISH_ROWS = 500  # rows made live per transaction: a reply waits for at most one such chunk (~10–50 ms)
MAX_PAUSE_S = 0.1  # the writer is left free after each chunk as long as the chunk held it, up to this
MARK = "import:publishing:"
LOCK = "import-publish"

Move = Callable[[AsyncSession, ColumnElement[bool]], Awaitable[Any]]  # upsert the staged rows matching into live
Last = Callable[[AsyncSession, datetime], Awaitable[Any]]


class BatchIncomplete(SQLAlchemyError):
    """The staging table holds fewer rows of a batch than were staged (deleted as stale meanwhile)."""


class PublishInterrupted(SQLAlchemyError):
    """The publish began (part of the batch may be live) and a chunk failed: the rest lands by `resume`."""

    def __init__(self, batch: str, cause: BaseException) -> None:
        super().__init__(f"batch {batch}: publish interrupted ({cause!r}); the rest is published by resume")
        self.cause = cause


@dataclass(frozen=True)
class Staged:
    """One kind of staged import: its staging table (`batch_id` + `key` unique), how a chunk of it is made
    live, and what the last transaction of a publish also does."""

    kind: str
    table: Table
    key: str  # rows are published in this column's order
    move: Move
    last: Last | None = None

    async def publish(self, db: Any, batch: str, expected: int, now: datetime) -> int:
        """Mark `batch`, then make it live PUBLISH_ROWS rows a transaction; the rows published. Raises
        BatchIncomplete (nothing published, nothing marked) unless exactly `expected` rows are staged, and
        PublishInterrupted when a chunk fails after the mark."""
        async with exclusive(db, LOCK):
            async with db.session() as session:
                staged = int(await session.scalar(select(func.count()).select_from(self.table)
                                                  .where(self.table.c.batch_id == batch)) or 0)
                if staged != expected:
                    raise BatchIncomplete(f"batch {batch}: {staged} rows staged, {expected} expected")
                if not staged:
                    return 0
                await session.execute(insert_ignore(session, KeyValue).values(
                    key=MARK + batch, value={"kind": self.kind, "rows": staged}, updated_at=now))
            try:
                return await self._finish(db, batch, now)
            except Exception as exc:
                raise PublishInterrupted(batch, exc) from exc

    async def resume(self, db: Any, now: datetime) -> int:
        """Batches of this kind whose publish began and did not finish, published now; the rows published. A
        batch that fails again is logged and left marked for the next sweep."""
        async with db.reader() as conn:
            marks = (await conn.execute(select(KeyValue.key, KeyValue.value)
                                        .where(KeyValue.key.startswith(MARK)))).all()
        done = 0
        for key, value in marks:
            if (value or {}).get("kind") != self.kind:
                continue
            async with exclusive(db, LOCK):
                async with db.reader() as conn:  # a live publish may have finished it while we waited
                    if await conn.scalar(select(KeyValue.key).where(KeyValue.key == key)) is None:
                        continue
                batch = key[len(MARK):]
                try:
                    moved = await self._finish(db, batch, now)
                except Exception:
                    log.exception("import: batch %s of %s still cannot be published; tried again later", batch,
                                  self.kind)
                    continue
                log.warning("import: finished publishing %d staged %s rows of batch %s", moved, self.kind, batch)
                done += moved
        return done

    async def _finish(self, db: Any, batch: str, now: datetime) -> int:
        mine, key = self.table.c.batch_id == batch, self.table.c[self.key]
        moved = 0
        while True:
            started = time.perf_counter()
            async with db.session() as session:
                bound = await session.scalar(select(key).where(mine).order_by(key)
                                             .offset(PUBLISH_ROWS - 1).limit(1))
                chunk = mine if bound is None else and_(mine, key <= bound)
                await self.move(session, chunk)
                moved += rowcount(await session.execute(delete(self.table).where(chunk)))
                if bound is None:
                    await session.execute(delete(KeyValue).where(KeyValue.key == MARK + batch))
                    if self.last is not None:
                        await self.last(session, now)
            if bound is None:
                return moved
            # SQLite has one writer: the others' turn at it. PostgreSQL locks rows, nobody waits for the chunk.
            await asyncio.sleep(min(MAX_PAUSE_S, time.perf_counter() - started) if _one_writer(db) else 0)


def _one_writer(db: Any) -> bool:
    return bool(getattr(db, "is_sqlite", True))


async def drop(db: Any, table: Table, batch: str) -> None:
    """A failed import's staged rows deleted, unless its publish began (then `resume` finishes it). Best
    effort: if this fails too, age deletes them later."""
    try:
        async with db.session() as session:
            if await session.scalar(select(KeyValue.key).where(KeyValue.key == MARK + batch)) is None:
                await session.execute(delete(table).where(table.c.batch_id == batch))
    except Exception:
        log.exception("import: staged batch %s could not be deleted; it is deleted by age later", batch)


async def drop_stale(session: AsyncSession, table: Table, staged_before: datetime) -> int:
    """Staged rows of imports started before `staged_before` (a process that died mid-import) deleted, but
    never those of a batch whose publish began."""
    marked = select(func.substr(KeyValue.key, len(MARK) + 1)).where(KeyValue.key.startswith(MARK))
    return rowcount(await session.execute(delete(table).where(
        table.c.staged_at < staged_before, table.c.batch_id.not_in(marked))))
