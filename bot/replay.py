"""Replay inbound messages a crash left unhandled.

The webhook ACKs right after the dedup claim and handles the message in a background task, so a crash
(kill -9, OOM) in between would lose it: the channel does not resend, and the claim turns any resend into a
duplicate. Claims therefore keep the verified raw payload, and handlers record an `inbound_handled` row in
their own transaction (`bot.dedup.mark_handled`). This sweep (`bot.intake.Intake.sweep`) runs at start-up and
every minute: a claim older than the grace period without that row is marked replayed (one sweeper wins, even
across processes) and its payload goes back to the channel's replayer, which submits it to the TaskPool as a
fresh callback would.
Should the first run still finish after all, the second one finds the row and rolls back.
Claims live in the sidecar file on SQLite (see `bot.dedup.claims_url`), so the check runs in batches, no join.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storage.db import Database
from storage.models import InboundDedup, InboundHandled

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=120)  # a message younger than this may still be in a handler
HORIZON = timedelta(hours=24)  # older claims are not replayed any more
KEEP = timedelta(days=7)  # claims and handled rows are pruned after this
BATCH = 200

Key = tuple[str, str]  # channel, msg_id
# channel → submit a claimed message's raw payload to the TaskPool again (False: no room, try later)
Replayer = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True)
class Claim:
    id: int
    channel: str
    msg_id: str
    payload: str


async def sweep(claims_db: Database, main_db: Database, replayers: Mapping[str, Replayer], now: datetime,
                *, grace: timedelta = GRACE) -> int:
    """Replay every due claim that has no handled row; returns how many were replayed."""
    total = 0
    while due := await due_claims(claims_db, now, grace):
        handled = await handled_keys(main_db, [(c.channel, c.msg_id) for c in due])
        await forget_payloads(claims_db, [c.id for c in due if (c.channel, c.msg_id) in handled])
        taken = await take(claims_db, [c.id for c in due if (c.channel, c.msg_id) not in handled], now)
        later = [c.id for c in taken if not await replay_one(replayers, c)]
        total += len(taken) - len(later)
        if later:  # the TaskPool is full: the next sweep tries again
            await release(claims_db, later)
            break
        if len(due) < BATCH:
            break
    return total


async def due_claims(db: Database, now: datetime, grace: timedelta) -> list[Claim]:
    """Claims with a payload, never replayed, received between HORIZON and `grace` ago (oldest first)."""
    d = InboundDedup
    stmt = (select(d.id, d.channel, d.msg_id, d.payload)
            .where(d.payload.is_not(None), d.replayed_at.is_(None), d.received_at <= now - grace,
                   d.received_at > now - HORIZON)
            .order_by(d.received_at, d.id).limit(BATCH))
    async with db.session() as session:
        return [Claim(*row) for row in await session.execute(stmt)]


async def handled_keys(db: Database, keys: list[Key]) -> set[Key]:
    """Which of `keys` have an inbound_handled row (in the main database)."""
    by_channel: dict[str, list[str]] = defaultdict(list)
    for channel, msg_id in keys:
        by_channel[channel].append(msg_id)
    h = InboundHandled
    found: set[Key] = set()
    async with db.session() as session:
        for channel, ids in by_channel.items():
            for start in range(0, len(ids), BATCH):
                stmt = select(h.channel, h.msg_id).where(h.channel == channel, h.msg_id.in_(ids[start:start + BATCH]))
                found.update((ch, msg_id) for ch, msg_id in await session.execute(stmt))
    return found


async def forget_payloads(db: Database, ids: list[int]) -> None:
    """Handled: the payload is not needed any more (and the claim leaves the sweep)."""
    if ids:
        stmt = update(InboundDedup).where(InboundDedup.id.in_(ids)).values(payload=None)
        async with db.session() as session:
            await session.execute(stmt.execution_options(synchronize_session=False))


async def take(db: Database, ids: list[int], now: datetime) -> list[Claim]:
    """Mark claims replayed; only the rows this call marked come back, so two sweepers never share one."""
    if not ids:
        return []
    d = InboundDedup
    stmt = (update(d).where(d.id.in_(ids), d.replayed_at.is_(None)).values(replayed_at=now)
            .returning(d.id, d.channel, d.msg_id, d.payload).execution_options(synchronize_session=False))
    async with db.session() as session:
        rows = [Claim(*row) for row in await session.execute(stmt)]
    return sorted(rows, key=lambda c: c.id)  # claim order ≈ arrival order: replay in order per user


async def release(db: Database, ids: list[int]) -> None:
    stmt = update(InboundDedup).where(InboundDedup.id.in_(ids)).values(replayed_at=None)
    async with db.session() as session:
        await session.execute(stmt.execution_options(synchronize_session=False))


async def replay_one(replayers: Mapping[str, Replayer], claim: Claim) -> bool:
    """Hand the payload to its channel. False only when the channel had no room (retry later)."""
    replayer = replayers.get(claim.channel)
    if replayer is None:
        log.error("cannot replay %s:%s: channel not enabled; message dropped", claim.channel, claim.msg_id)
        return True
    log.warning("replaying %s:%s not handled before a crash", claim.channel, claim.msg_id)
    try:
        return await replayer(claim.payload)
    except Exception:
        log.exception("replay of %s:%s failed; message dropped", claim.channel, claim.msg_id)
        return True


async def prune(claims_db: Database, main_db: Database, now: datetime, keep: timedelta = KEEP) -> None:
    """Claims and handled rows older than `keep` go."""
    cutoff = now - keep
    async with claims_db.session() as session:
        await session.execute(delete(InboundDedup).where(InboundDedup.received_at < cutoff)
                              .execution_options(synchronize_session=False))
    async with main_db.session() as session:
        await session.execute(delete(InboundHandled).where(InboundHandled.handled_at < cutoff)
                              .execution_options(synchronize_session=False))
