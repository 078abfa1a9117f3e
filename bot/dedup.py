"""Inbound dedup: a UNIQUE (channel, msg_id) insert decides who handles a message, once."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.models import InboundDedup
from storage.sql import insert_ignore


async def claim_inbound(db: Database, channel: str, msg_id: str, now: datetime) -> bool:
    """True the first time (channel, msg_id) is seen; False for every repeat."""
    async with db.session() as session:
        stmt = insert_ignore(session, InboundDedup).values(channel=channel, msg_id=msg_id[:191], received_at=now)
        result = await session.execute(stmt.returning(InboundDedup.id))
        return result.scalar_one_or_none() is not None
