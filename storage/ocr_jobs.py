"""The `ocr_jobs` queue: screenshots a webhook instance stored for an OCR worker process (`salesbot worker ocr`).

A job is claimed with a lease: PostgreSQL picks it `FOR UPDATE SKIP LOCKED`, both backends take it with a guarded
UPDATE (it is still queued, or its lease ran out), so two workers never hold one job. A user's jobs are taken in
order, one at a time (a second screenshot of one chat merges into the draft of the first). The claim's
`attempts` is its ticket: finishing only changes a job this claim still holds, so a worker that lost its lease
(it stalled, another took over) commits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.db import Database
from storage.models import OcrJob
from storage.notify import notify
from storage.sql import rowcount

OCR_JOBS = "salesbot_ocr_jobs"  # NOTIFY channel: a job was queued (PostgreSQL wakes the workers at once)
OPEN = ("queued", "claimed")


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    msg_id: str
    sender: str
    user_id: str
    conversation_id: str | None
    context: dict[str, Any]
    image_path: str
    file_name: str | None
    received_at: datetime
    attempts: int  # this claim's number: the ticket `finish` checks


async def add_job(session: AsyncSession, job: OcrJob) -> None:
    """Queue `job` in the caller's transaction; the workers wake when it commits (PostgreSQL)."""
    session.add(job)
    await notify(session, OCR_JOBS)


async def claim_next(db: Database, worker: str, now: datetime, lease: timedelta) -> Claimed | None:
    """The oldest job that is queued (or whose worker's lease ran out), with no earlier open job of its user."""
    j, p = OcrJob, aliased(OcrJob)
    due = or_(j.state == "queued", and_(j.state == "claimed", j.lease_until < now))
    earlier = exists().where(p.user_id == j.user_id, p.id < j.id, p.state.in_(OPEN))
    pick = select(j.id).where(due, ~earlier).order_by(j.id).limit(1)
    async with db.session() as session:
        if not db.is_sqlite:
            pick = pick.with_for_update(skip_locked=True, of=j)
        job_id = (await session.execute(pick)).scalar_one_or_none()
        if job_id is None:
            return None
        taken = await session.execute(
            update(j).where(j.id == job_id, due)
            .values(state="claimed", claimed_by=worker, lease_until=now + lease, attempts=j.attempts + 1)
            .returning(j.id, j.channel, j.msg_id, j.sender, j.user_id, j.conversation_id, j.context, j.image_path,
                       j.file_name, j.received_at, j.attempts))
        row = taken.one_or_none()
    return Claimed(*row) if row is not None else None


async def finish(session: AsyncSession, job: Claimed, state: str, now: datetime, error: str | None = None) -> bool:
    """Mark the job done (or failed) in the caller's transaction, if this claim still holds it. False: another
    worker took it over; the caller rolls back."""
    j = OcrJob
    result = await session.execute(
        update(j).where(j.id == job.id, j.state == "claimed", j.attempts == job.attempts)
        .values(state=state, finished_at=now, lease_until=None, last_error=error))
    return rowcount(result) == 1


async def hold(db: Database, job: Claimed, until: datetime, error: str | None = None) -> None:
    """Keep the job claimed until `until`: a worker still at it renews its lease; after a failed attempt
    (`error`) the job waits until then, and any worker takes it again."""
    j = OcrJob
    values: dict[str, Any] = {"lease_until": until} | ({"last_error": error[:2000]} if error else {})
    async with db.session() as session:
        await session.execute(update(j).where(j.id == job.id, j.state == "claimed", j.attempts == job.attempts)
                              .values(**values))


async def prune_finished(db: Database, before: datetime) -> int:
    """Jobs done or failed before `before` (their draft, answers and evidence live on elsewhere)."""
    j = OcrJob
    async with db.session() as session:
        gone = await session.execute(delete(j).where(j.state.in_(("done", "failed")), j.finished_at < before))
    return rowcount(gone)


async def open_counts(db: Database) -> dict[str, int]:
    """Jobs waiting, being read, and given up (for /metrics)."""
    j = OcrJob
    counts = dict.fromkeys(("queued", "claimed", "failed"), 0)
    async with db.reader() as conn:
        rows = await conn.execute(select(j.state, func.count()).where(j.state.in_(list(counts))).group_by(j.state))
        counts.update({state: int(n) for state, n in rows})
    return counts
