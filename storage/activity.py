"""Activity (per lead) and audit (per actor) rows: every transition leaves a trace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Activity, AuditLog


def add_activity(
    session: AsyncSession, lead_id: int, actor_id: str | None, kind: str, now: datetime,
    summary: str = "", **detail: Any,
) -> Activity:
    row = Activity(lead_id=lead_id, actor_id=actor_id, kind=kind, summary=summary, detail=detail, created_at=now)
    session.add(row)
    return row


def add_audit(session: AsyncSession, actor_id: str | None, action: str, target: str | None, now: datetime,
              **detail: Any) -> AuditLog:
    row = AuditLog(actor_id=actor_id, action=action, target=target, detail=detail, created_at=now)
    session.add(row)
    return row
