"""Media ids uploaded for an outbox row, kept in the database before the message that uses them is sent.

After a crash (kill -9) mid-delivery the row's lease expires and another sender sends it again. Only a byte-for-byte
identical request lets the platform recognise the repeat (WeCom `enable_duplicate_check`, DingTalk's drop of an
identical message within a day): an image uploaded afresh would get a new media id and arrive twice. So the media
id of a row is written here first and reused by every later attempt, in this process or another.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update

from storage.db import Database
from storage.models import KeyValue
from storage.sql import insert_ignore, rowcount

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


async def call_starts(db: Database | None, now: datetime, channel: str, ref: str) -> dict[str, Any]:
    """Record that a call sending `ref` (one message of one outbox row; no platform idempotency key) starts now,
    before the call; returns what the earlier attempts left: {} (none, or each ended with the platform's refusal),
    {"state": "sent", "result": …} (the platform took it; the outbox row was not marked before a crash), or
    {"state": "calling", "unknown": n}: n earlier calls whose outcome nobody saw (a kill -9 or a lost answer)."""
    if db is None:
        return {}
    key = f"{ATTEMPT_PREFIX}{channel}:{ref}"[:128]
    async with db.session() as session:
        row = await session.get(KeyValue, key)
        earlier = dict(row.value) if row is not None else {}
        if earlier.get("state") == "sent":
            return earlier
        unknown = int(earlier.get("unknown", 0)) + (earlier.get("state") == "calling")
        value = {"state": "calling", "unknown": unknown}
        if row is None:
            session.add(KeyValue(key=key, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now
    return {"state": "calling", "unknown": unknown} if unknown else {}


async def call_ended(db: Database | None, now: datetime, channel: str, ref: str, result: dict[str, Any] | None,
                     unknown: int = 0) -> None:
    """The call of `call_starts` ended: `result` when the platform took the message, None when it answered with a
    refusal (nothing was sent; a later attempt sends without counting this one as unknown)."""
    if db is None:
        return
    value = {"state": "sent", "result": result} if result is not None else {"state": "refused", "unknown": unknown}
    async with db.session() as session:
        await session.execute(update(KeyValue).where(KeyValue.key == f"{ATTEMPT_PREFIX}{channel}:{ref}"[:128])
                              .values(value=value, updated_at=now))


async def forget_send_records(db: Database, now: datetime) -> int:
    """Send records nobody reads again deleted (hourly, app/scheduler.py): attempt records after two days (an outbox
    row is retried for a few hours at most) and media ids after four (the platforms keep an upload three days)."""
    async with db.session() as session:
        done = await session.execute(delete(KeyValue).where(or_(
            KeyValue.key.like(f"{ATTEMPT_PREFIX}%") & (KeyValue.updated_at < now - timedelta(days=2)),
            KeyValue.key.like(f"{PREFIX}%") & (KeyValue.updated_at < now - timedelta(days=4)))))
    return rowcount(done)
