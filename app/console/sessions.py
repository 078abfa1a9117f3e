"""Web console sessions, kept in the database (kv rows) so every `salesbot serve` process shares them.

The cookie holds a random token; the row is keyed by its SHA-256 (a database leak reveals no usable
cookie). A session is bound to the browser's User-Agent, ends after `console_idle_minutes` without a
request, and is deleted at log-out, so a cookie replayed afterwards (or from another browser) is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KeyValue

PREFIX = "console:session:"
COOKIE = "salesbot_console"
TOUCH_EVERY = timedelta(minutes=1)  # last-seen is written at most this often


@dataclass(frozen=True)
class WebSession:
    key: str
    user_id: str
    csrf: str
    last_seen: datetime


def _key(token: str) -> str:
    return PREFIX + hashlib.sha256(token.encode()).hexdigest()


def _agent(user_agent: str) -> str:
    return hashlib.sha256(user_agent.encode()).hexdigest()[:32]


async def start(session: AsyncSession, user_id: str, user_agent: str, now: datetime) -> str:
    """A new session for `user_id`; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    session.add(KeyValue(key=_key(token), updated_at=now, value={
        "user": user_id, "csrf": secrets.token_urlsafe(24), "agent": _agent(user_agent), "last": now.isoformat()}))
    return token


async def peek(session: AsyncSession, token: str, user_agent: str, now: datetime, idle: timedelta
               ) -> tuple[WebSession | None, str, bool]:
    """`load` through a read-only session: (session or None, why, whether `load` must run to write — the
    session ends or its last-seen time is due). Most requests need no write, so no write lock."""
    if not token or len(token) > 100:
        return None, "no session", False
    value = await session.scalar(select(KeyValue.value).where(KeyValue.key == _key(token)))
    if not value:
        return None, "unknown or logged-out session", False
    last = datetime.fromisoformat(value["last"])
    if value.get("agent") != _agent(user_agent) or now - last > idle or now - last > TOUCH_EVERY:
        return None, "", True
    return WebSession(_key(token), str(value["user"]), str(value["csrf"]), last), "", False


async def load(session: AsyncSession, token: str, user_agent: str, now: datetime, idle: timedelta
               ) -> tuple[WebSession | None, str]:
    """The live session of this cookie, or None and why (unknown, other browser, idle)."""
    if not token or len(token) > 100:
        return None, "no session"
    key = _key(token)
    value = await session.scalar(select(KeyValue.value).where(KeyValue.key == key))
    if not value:
        return None, "unknown or logged-out session"
    if value.get("agent") != _agent(user_agent):
        await end(session, token)
        return None, "session cookie from another browser"
    last = datetime.fromisoformat(value["last"])
    if now - last > idle:
        await end(session, token)
        return None, "idle timeout"
    if now - last > TOUCH_EVERY:
        await session.execute(update(KeyValue).where(KeyValue.key == key)
                              .values(value={**value, "last": now.isoformat()}, updated_at=now))
    return WebSession(key, str(value["user"]), str(value["csrf"]), last), ""


async def end(session: AsyncSession, token: str) -> None:
    await session.execute(delete(KeyValue).where(KeyValue.key == _key(token)))
