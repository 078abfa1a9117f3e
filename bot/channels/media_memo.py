"""Media ids uploaded for an outbox row, kept in the database before the message that uses them is sent.

After a crash (kill -9) mid-delivery the row's lease expires and another sender sends it again. Only a byte-for-byte
identical request lets the platform recognise the repeat (WeCom `enable_duplicate_check`, DingTalk's drop of an
identical message within a day): an image uploaded afresh would get a new media id and arrive twice. So the media
id of a row is written here first and reused by every later attempt, in this process or another.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete

from storage.db import Database
from storage.models import KeyValue
from storage.sql import insert_ignore

PREFIX = "media:"


async def media_for(db: Database | None, now: datetime, channel: str, dedup_key: str, valid: timedelta,
                    upload: Callable[[], Awaitable[str]]) -> str:
    """The media id this row used before (while the platform keeps it, `valid`), else a fresh upload, remembered."""
    if db is None:
        return await upload()
    key = f"{PREFIX}{channel}:{dedup_key}"[:128]
    async with db.session() as session:
        row = await session.get(KeyValue, key)
        if row is not None and now - row.updated_at < valid and row.value.get("id"):
            return str(row.value["id"])
    media_id = await upload()
    async with db.session() as session:
        await session.execute(delete(KeyValue).where(KeyValue.key == key))
        await session.execute(insert_ignore(session, KeyValue).values(key=key, value={"id": media_id}, updated_at=now))
    return media_id



ATTEMPT_PREFIX = "attempt:"


async def first_attempt(db: Database | None, now: datetime, channel: str, ref: str) -> bool:
    """Record that a send of `ref` (a platform idempotency key: DingTalk's cardBizId) starts now, before the
    call. False when an earlier attempt was recorded: it may have reached the platform (its answer lost, or the
    process killed before the row was marked delivered), so the caller asks the platform before sending again."""
    if db is None:
        return True
    key = f"{ATTEMPT_PREFIX}{channel}:{ref}"[:128]
    async with db.session() as session:
        inserted = await session.execute(
            insert_ignore(session, KeyValue).values(key=key, value={}, updated_at=now).returning(KeyValue.key))
        return inserted.first() is not None
