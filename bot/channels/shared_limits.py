"""State that must hold across processes: per-recipient limits (both backends), access tokens (PostgreSQL).

Per-recipient limits counted from the outbox, which every sending process writes (on SQLite: `serve` and its
handler child; on PostgreSQL: every instance and its child). Each delivered row keeps its `delivered_at`, and the
outbox keeps at most one row per recipient in flight across all processes (its claim takes only a recipient's
oldest open row; a row handed straight to its sender only when nothing of theirs is open), so the count read before
a send is the count the platform sees. The outbox reads it for every row it claims, in the claiming transaction
(PostgreSQL: one statement for the whole batch, `bot.delivery_history.claimed_history`) and hands it to the
delivery (`SENT_BEFORE`); otherwise (SQLite: an inline read on the loop's thread, no round trip) the sender reads it
before the send.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bot.delivery import SENT_BEFORE
from bot.delivery_history import recent_deliveries
from storage.db import Database
from storage.locks import lock_key
from storage.models import KeyValue
from storage.notify import PAUSE, notify
from storage.sql import table_of

log = logging.getLogger(__name__)


async def shared_wait(db: Database, now: datetime, channel: str, recipient: str,
                      limits: Sequence[tuple[float, int]], count: int = 1) -> float:
    """Seconds until `count` more messages to `recipient` keep every (window s, limit) of every instance's
    deliveries together (0 = now)."""
    longest, cap = max(w for w, _ in limits), max(n for _, n in limits)
    sent = SENT_BEFORE.get()  # read when the outbox claimed the row
    if sent is None:
        sent = await recent_deliveries(db, channel, recipient, now - timedelta(seconds=longest), cap)
    ages = sorted(((now - t).total_seconds() for t in sent), reverse=True)  # oldest first
    wait = 0.0
    for window, limit in limits:
        recent = [age for age in ages if age < window]
        over = len(recent) + min(count, limit) - limit
        if over > 0:
            wait = max(wait, window - recent[over - 1])
    return wait


class SharedToken:
    """An access token kept in the database (`kv`) on PostgreSQL, so N instances of one app fetch one token,
    not N: under an advisory lock, a stored token that is not the one the platform just refused and is valid
    for more than `margin_s` is used; otherwise this instance fetches, stores and uses a new one."""

    def __init__(self, db: Database, key: str, margin_s: float = 300.0) -> None:
        self.db, self.key, self.margin_s = db, key, margin_s

    async def get(self, stale: str | None, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> tuple[str, float]:
        """(token, seconds it stays valid)."""
        kv = table_of(KeyValue)
        async with self.db.session() as session:
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(self.key)})
            stored = (await session.execute(select(kv.c.value).where(kv.c.key == self.key))).scalar_one_or_none()
            now = time.time()
            if stored and stored.get("token") != stale and stored.get("expires_at", 0) - now > self.margin_s:
                return str(stored["token"]), float(stored["expires_at"]) - now
            token, expires_in = await fetch()  # one instance at a time: the others wait on the lock
            value = {"token": token, "expires_at": now + expires_in}
            stmt = pg_insert(kv).values(key=self.key, value=value, updated_at=datetime.now(UTC))
            await session.execute(stmt.on_conflict_do_update(
                index_elements=[kv.c.key], set_={"value": value, "updated_at": stmt.excluded.updated_at}))
            return token, expires_in


async def announce_pause(db: Database, app_key: str, seconds: float) -> None:
    """The platform rate-limited the app (WeCom 45009): every instance's listener pauses it too (NOTIFY)."""
    try:
        async with db.session() as session:
            await notify(session, PAUSE, f"{app_key}:{seconds:.0f}")
    except Exception:  # the pause still holds here; the others meet the limit themselves
        log.exception("could not tell the other instances about the pause of %s", app_key)


def apply_pause(channels: Iterable[Any], payload: str) -> None:
    """A PAUSE notification ("<app key>:<seconds>") → the matching API clients stop calling for that long."""
    if not payload:
        return
    key, _, seconds = payload.rpartition(":")
    for channel in channels:
        paused_elsewhere = getattr(getattr(channel, "api", None), "paused_elsewhere", None)
        if callable(paused_elsewhere):
            paused_elsewhere(key, float(seconds))
