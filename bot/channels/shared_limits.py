"""Per-recipient limits that hold across instances (PostgreSQL): counted from the outbox, which every instance
writes. Each delivered row keeps its `delivered_at`, and the outbox keeps at most one row per recipient in
flight across all instances (its claim takes only a recipient's oldest open row), so the count read before a
send is the count the platform sees. SQLite means one process: the senders' in-memory throttles are exact
and this is not consulted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import OutboxMessage


async def recent_deliveries(db: Database, channel: str, recipient: str, since: datetime, limit: int
                            ) -> list[datetime]:
    """When `recipient`'s newest delivered rows on `channel` (at most `limit`, after `since`) went out."""
    c = OutboxMessage.__table__.c
    newest = (select(c.delivered_at).where(c.channel == channel, c.recipient == recipient,
                                           c.status == "delivered")
              .order_by(c.id.desc()).limit(limit).subquery())
    async with db.reader() as conn:
        rows = await conn.execute(select(newest.c.delivered_at).where(newest.c.delivered_at > since))
        return [row[0] for row in rows]


async def shared_wait(db: Database, now: datetime, channel: str, recipient: str,
                      limits: Sequence[tuple[float, int]], count: int = 1) -> float:
    """Seconds until `count` more messages to `recipient` keep every (window s, limit) of every instance's
    deliveries together (0 = now)."""
    longest, cap = max(w for w, _ in limits), max(n for _, n in limits)
    sent = await recent_deliveries(db, channel, recipient, now - timedelta(seconds=longest), cap)
    ages = sorted(((now - t).total_seconds() for t in sent), reverse=True)  # oldest first
    wait = 0.0
    for window, limit in limits:
        recent = [age for age in ages if age < window]
        over = len(recent) + min(count, limit) - limit
        if over > 0:
            wait = max(wait, window - recent[over - 1])
    return wait
