"""Timer rows in the `reminders` table: add, cancel, claim with a lease, fence.

Claiming is atomic: on SQLite one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` inside the
BEGIN IMMEDIATE transaction the Database opens; on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`
then the UPDATE in the same transaction. A row whose lease ran out (crashed worker) is due again.
Every later write by the claimer is fenced on (status='claimed', claimed_by=me).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reminders.policies import NOTICE
from storage.db import Database
from storage.models import Reminder
from storage.notify import TICKER, notify

OPEN = ("pending", "claimed")


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    lead_id: int | None
    rule: str
    level: int
    due_at: datetime
    payload: dict[str, Any]


async def add_timer(
    session: AsyncSession, lead_id: int | None, rule: str, due_at: datetime, now: datetime,
    level: int = 1, payload: dict[str, Any] | None = None,
) -> int:
    stmt = insert(Reminder).values(
        lead_id=lead_id, rule=rule, due_at=due_at, level=level, status="pending",
        payload=payload or {}, created_at=now, updated_at=now,
    ).returning(Reminder.id)
    new_id = int((await session.execute(stmt)).scalar_one())
    if due_at <= now:  # due at once: every instance's ticker wakes at the commit (PostgreSQL)
        await notify(session, TICKER)
    return new_id


async def cancel_timers(
    session: AsyncSession, lead_id: int, now: datetime, rules: Iterable[str] | None = None,
) -> int:
    """Cancel open rows of a lead (claimed ones too: the claimer's fence then fails)."""
    stmt = update(Reminder).where(Reminder.lead_id == lead_id, Reminder.status.in_(OPEN))
    if rules is not None:
        stmt = stmt.where(Reminder.rule.in_(list(rules)))
    result = await session.execute(stmt.values(status="cancelled", updated_at=now, lease_until=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def open_timers(session: AsyncSession, lead_id: int, rules: Iterable[str]) -> list[Reminder]:
    stmt = select(Reminder).where(Reminder.lead_id == lead_id, Reminder.status == "pending",
                                  Reminder.rule.in_(list(rules))).order_by(Reminder.id)
    return list((await session.execute(stmt)).scalars())


def _due(now: datetime) -> Any:
    r = Reminder
    return or_(and_(r.status == "pending", r.due_at <= now), and_(r.status == "claimed", r.lease_until <= now))


async def claim(
    db: Database, now: datetime, worker: str, lease: timedelta, limit: int, notices: bool,
) -> list[ClaimedRow]:
    """Atomically take up to `limit` due rows (timer rules, or notices) for `worker`."""
    r = Reminder
    kind = r.rule == NOTICE if notices else r.rule != NOTICE
    pick = select(r.id).where(_due(now), kind).order_by(r.due_at, r.id).limit(limit)
    async with db.session() as session:
        if db.is_sqlite:
            ids: Any = pick.scalar_subquery()
        else:
            ids = list((await session.execute(pick.with_for_update(skip_locked=True))).scalars())
            if not ids:
                return []
        stmt = (
            update(r)
            .where(r.id.in_(ids), _due(now))
            .values(status="claimed", claimed_by=worker, lease_until=now + lease, updated_at=now)
            .returning(r.id, r.lead_id, r.rule, r.level, r.due_at, r.payload)
        )
        rows = (await session.execute(stmt)).all()
    return sorted((ClaimedRow(*row) for row in rows), key=lambda c: (c.due_at, c.id))


async def fence(session: AsyncSession, ids: Sequence[int], worker: str, now: datetime, status: str = "done",
                **values: Any) -> list[int]:
    """Move rows this worker still holds to `status`; returns the ids it really held."""
    r = Reminder
    stmt = (
        update(r)
        .where(r.id.in_(list(ids)), r.status == "claimed", r.claimed_by == worker)
        .values(status=status, lease_until=None, updated_at=now, **values)
        .returning(r.id)
    )
    return list((await session.execute(stmt)).scalars())


async def release(db: Database, row: ClaimedRow, worker: str, now: datetime, retry_in: timedelta,
                  max_attempts: int = 5) -> bool:
    """After an unexpected error: give the row back for a later retry, or cancel it for good."""
    attempts = int(row.payload.get("errors", 0)) + 1
    payload = {**row.payload, "errors": attempts}
    async with db.session() as session:
        if attempts >= max_attempts:
            await fence(session, [row.id], worker, now, status="cancelled", payload=payload)
            return False
        await fence(session, [row.id], worker, now, status="pending", due_at=now + retry_in, payload=payload)
    return True
