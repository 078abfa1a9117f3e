"""The reminder ticker: claim due reminder rows and turn them into outbox messages.

The database is the source of truth for timers; APScheduler only calls `tick` every few seconds.
First, until none is due: claim timer rows (lease) → fire each in its own transaction (state
change + notice rows + next timer). Then claim due notices → one transaction per recipient writes
the outbox rows (what is due for a recipient at once is merged).
No claim is held across an HTTP call: the outbox sender delivers later.
Several processes may tick at once; claims are atomic and every write is fenced on the claim.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.metrics import TICKER_LAG
from reminders.calendar import BusinessCalendar, load_overrides
from reminders.directory import load_directory
from reminders.ladder import TickEnv, fire_many
from reminders.notices import deliver_notices
from reminders.store import ClaimedRow, claim, release

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

TIMER_BATCH = 500  # timer rows per claim; each is processed in its own short transaction
NOTICE_BATCH = 50_000  # notices per claim: large, so what is due for a recipient merges into one message
FIRE_CHUNK = 25  # timer rows fired per transaction (all-or-nothing; each row is fenced on its claim)
MAX_ROUNDS = 1000
RETRY_AFTER_ERROR = timedelta(minutes=5)


def worker_id(services: Services) -> str:
    """This process's claim identity (host:pid:random), stable for the process's lifetime."""
    return services.component(
        "reminders.worker", lambda _s: f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )


async def _env(services: Services, now: datetime) -> TickEnv:
    async with services.db.session() as session:
        overrides = await load_overrides(session)
        people = await load_directory(session)
    cal = BusinessCalendar.from_settings(services.settings.reminders, overrides)
    return TickEnv(services.settings.reminders, cal, people, now, worker_id(services))


async def _fire_rows(services: Services, env: TickEnv, rows: list[ClaimedRow]) -> int:
    async with services.db.session() as session:
        return await fire_many(session, env, rows)


async def _fire_chunk(services: Services, env: TickEnv, rows: list[ClaimedRow]) -> int:
    """Fire a few rows in one transaction (fewer commits); if anything fails, redo them one by one
    so a single bad row cannot hold the others back; a row failing alone is released for a retry."""
    try:
        return await _fire_rows(services, env, rows)
    except Exception:
        if len(rows) > 1:
            log.warning("a chunk of %s reminders failed; firing them one by one", len(rows))
            return sum([await _fire_chunk(services, env, [row]) for row in rows])
        row = rows[0]
        log.exception("reminder %s (%s, lead %s) failed; will retry", row.id, row.rule, row.lead_id)
        if not await release(services.db, row, env.worker, env.now, RETRY_AFTER_ERROR):
            log.error("reminder %s dropped after repeated failures", row.id)
        return 0


async def tick(services: Services) -> int:
    """Process every reminder due now; returns how many were handled. The clock is read for every claim, so a
    long tick neither claims with an expired lease nor fences with a stale time."""
    db, lease = services.db, timedelta(seconds=services.settings.reminders.lease_s)
    worker = worker_id(services)
    env: TickEnv | None = None
    handled = 0
    for _ in range(MAX_ROUNDS):  # timers first, until none is due: chains that fall due at once merge
        now = services.clock.now()
        timers = await claim(db, now, worker, lease, TIMER_BATCH, notices=False)
        if not timers:
            break
        env = await _at(services, env, now)
        for row in timers:
            TICKER_LAG.observe(max(0.0, (now - row.due_at).total_seconds()))
        for i in range(0, len(timers), FIRE_CHUNK):
            handled += await _fire_chunk(services, env, timers[i:i + FIRE_CHUNK])
    for _ in range(MAX_ROUNDS):
        now = services.clock.now()
        notices = await claim(db, now, worker, lease, NOTICE_BATCH, notices=True)
        if not notices:
            break
        env = await _at(services, env, now)
        handled += await deliver_notices(db, env, notices, services.default_channel)
    return handled


async def _at(services: Services, env: TickEnv | None, now: datetime) -> TickEnv:
    """The tick's environment (calendar and people loaded once per tick) at the time of the latest claim."""
    return await _env(services, now) if env is None else replace(env, now=now)
