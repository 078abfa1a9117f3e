"""Writes to the users table that the hot path batches (bot/group_commit.py): a rep's channel on record."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Update

from storage.models import User
from storage.sql import table_of

CHANNEL_ONLY = "salesbot_channel_only"  # execution option: an UPDATE of users.channel alone (bot/org.py's hook)
NEWCOMER = "salesbot_newcomer"  # execution option: an insert-if-absent of an auto-registered user (same hook)


async def set_channels(session: AsyncSession, changes: list[tuple[str, str]]) -> None:
    """`set_channel` for many users in one statement (bot/group_commit.py)."""
    if changes:
        conn = await session.connection()
        await conn.execute(_channel_update(), [{"c_id": uid, "c_channel": ch} for uid, ch in changes],
                           execution_options={CHANNEL_ONLY: True})


@cache
def _channel_update() -> Update:
    c = table_of(User).c
    return update(table_of(User)).where(c.id == bindparam("c_id")).values(channel=bindparam("c_channel"))


@dataclass(frozen=True)
class ChannelWrite:
    """The write `set_channel` as a value (a Context's on_open step): group commit gathers them in one UPDATE."""

    user_id: str
    channel: str

    async def __call__(self, session: AsyncSession) -> None:
        await set_channels(session, [(self.user_id, self.channel)])
