"""Seeding helpers for the lead tests: leads written straight into the database with given times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.clock import CN_TZ
from bot.services import Services
from storage.leads import new_lead
from storage.models import Activity, Lead, LeadFlag


def cn(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 Asia/Shanghai wall time (23 = Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=CN_TZ)


async def seed_lead(services: Services, owner: str | None, *, status: str = "active", stage: str = "new",
                    assigned_at: datetime | None = None, source: str = "import", **fields: Any) -> int:
    """One lead with provenance; times given as aware datetimes. Extra keyword `extra`, `first_contact_at`,
    `last_activity_at`, `next_follow_up_at` are set as they are."""
    times = {k: fields.pop(k) for k in ("first_contact_at", "last_activity_at", "next_follow_up_at", "extra")
             if k in fields}
    created = assigned_at or cn(23, 9)
    async with services.db.session() as s:
        lead = new_lead(fields, source=source, by="seed", now=created, status=status)
        lead.owner_id, lead.stage, lead.assigned_at = owner, stage, assigned_at
        for k, v in times.items():
            setattr(lead, k, v)
        s.add(lead)
        await s.flush()
        return lead.id


async def add_act(services: Services, lead_id: int, kind: str, at: datetime, actor: str = "rep01",
                  **detail: Any) -> None:
    async with services.db.session() as s:
        s.add(Activity(lead_id=lead_id, actor_id=actor, kind=kind, summary="", detail=detail, created_at=at))


async def get_lead(services: Services, lead_id: int) -> Lead:
    async with services.db.session() as s:
        lead = await s.get(Lead, lead_id)
        assert lead is not None
        return lead


async def lead_flags(services: Services, lead_id: int, **where: Any) -> list[LeadFlag]:
    """The flags of one lead, optionally only those whose columns have the given values (`rule=`, `status=`)."""
    async with services.db.session() as s:
        stmt = select(LeadFlag).where(LeadFlag.lead_id == lead_id)
        for k, v in where.items():
            stmt = stmt.where(getattr(LeadFlag, k) == v)
        return list((await s.execute(stmt)).scalars())
