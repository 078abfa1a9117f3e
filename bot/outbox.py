"""The outbox: every outbound message is a row first, delivered later, exactly once per dedup key.

- `enqueue` writes rows inside the caller's transaction (state change + message commit together).
- `OutboxSender` claims due rows atomically with a lease (only the oldest undelivered row
  per recipient, so each recipient gets messages in order; a row held for later by `Outbound.not_before`
  does not count until it is due), delivers them outside any transaction,
  then marks them delivered, or schedules a retry with exponential backoff and jitter, or
  dead-letters them after `max_attempts` with a log line. A crashed sender's lease expires and
  another takes the row over.
- `run_forever` claims again whenever a delivery slot frees up or a wake-up arrives, without waiting
  for slower deliveries: a recipient whose delivery hangs or retries holds back only their own rows.
  `run_once` (console, tests) claims what can start now and waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.channels.base import ChannelSender, DeliveryError
from bot.clock import Clock
from bot.messages import Outbound, body_from_json, body_to_json
from storage.db import Database
from storage.models import OutboxMessage, User
from storage.sql import insert_ignore

log = logging.getLogger(__name__)


async def enqueue(session: AsyncSession, messages: Iterable[Outbound], now: datetime, default_channel: str) -> None:
    """Add messages to the outbox in the session's transaction; repeats of a dedup key are ignored."""
    rows = []
    for msg in messages:
        channel = msg.channel or await _user_channel(session, msg.to) or default_channel
        rows.append(
            {
                "channel": channel,
                "recipient": msg.to,
                "kind": msg.body.kind,
                "payload": body_to_json(msg.body),
                "dedup_key": (msg.dedup_key or f"auto:{uuid.uuid4().hex}")[:191],
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": max(now, msg.not_before) if msg.not_before else now,
                "created_at": now,
            }
        )
    if rows:
        await session.execute(insert_ignore(session, OutboxMessage), rows)


async def _user_channel(session: AsyncSession, user_id: str) -> str | None:
    return (await session.execute(select(User.channel).where(User.id == user_id))).scalar_one_or_none()


HOL_ATTEMPTS = 3  # a failing row keeps its recipient's later rows back for this many attempts (≈ 3–10 s)
HOL_MAX_ATTEMPTS = 8  # … or this many (≥ 127 s of backoff) while its channel delivers nothing at all (an outage)
HEALTHY_WINDOW = timedelta(seconds=60)  # a channel that delivered a row this recently is up


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 24  # ≈ 1.3–2.6 h of retries (delays cap at max_delay_s): an hour-long outage loses nothing
    base_delay_s: float = 2.0
    max_delay_s: float = 600.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempts - 1))
        jittered = backoff * random.uniform(0.5, 1.0)
        return max(jittered, retry_after or 0.0)


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    dedup_key: str
    attempts: int


class OutboxSender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        channels: Mapping[str, ChannelSender],
        *,
        policy: RetryPolicy | None = None,
        default_channel: str = "console",
        lease_s: float = 60.0,
        batch: int = 200,
        concurrency: int = 32,
    ) -> None:
        self.db, self.clock, self.channels = db, clock, channels
        self.default_channel = default_channel  # for a recipient we have never heard from (Settings.default_channel)
        self.policy = policy or RetryPolicy()
        self.lease = timedelta(seconds=lease_s)
        self.deadline_s = lease_s / 2  # a delivery is cut off here, so a live claim never outlasts its lease
        self.batch = batch
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._delivered_at: dict[str, datetime] = {}  # channel → its last delivery by this sender
        self._failed_alone: set[int] = set()  # rows that failed while their channel delivered others (bounded)

    async def send_now(self, messages: Iterable[Outbound]) -> None:
        """Messages outside any handler (a CLI command, a digest, a refusal): their rows in one transaction of
        their own, then a wake-up for a running sender."""
        async with self.db.session() as session:
            await self.enqueue(session, messages)
        self.wake()

    async def enqueue(self, session: AsyncSession, messages: Iterable[Outbound]) -> None:
        """`enqueue` with this outbox's clock and default channel, in the caller's transaction."""
        await enqueue(session, messages, self.clock.now(), self.default_channel)

    def wake(self) -> None:
        """Ask a running `run_forever` loop to look at the outbox now."""
        self._wake.set()

    async def run_forever(self, interval_s: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # before the claim: a wake() meanwhile makes the next wait return at once
            try:
                await self._start_due()
            except Exception:
                log.exception("outbox round failed; will retry")
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=interval_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _start_due(self) -> int:
        """Claim as many due rows as there are free slots (a claimed row never waits for one: its lease
        would run out) and start each delivery as its own task; returns how many were started."""
        started = 0
        while (room := min(self.batch, self.concurrency - len(self._running))) > 0:
            claimed = await self._claim(room)
            for row in claimed:
                task = asyncio.create_task(self._deliver(row))
                self._running.add(task)
                task.add_done_callback(self._finished)
            started += len(claimed)
            if len(claimed) < room:
                break
        return started

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()  # a slot is free, and the recipient's next row may be due
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox delivery task failed; its lease will expire and the row is retried",
                      exc_info=task.exception())

    async def run_once(self) -> int:
        """Start what can start now and wait for it; returns how many rows were attempted."""
        started = await self._start_due()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        return started

    async def drain(self, max_rounds: int = 100_000) -> int:
        """Deliver until nothing is due now (console, tests, benchmarks), refilling slots as they free up."""
        total = 0
        for _ in range(max_rounds):
            total += await self._start_due()
            if not self._running:
                break
            await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)
        return total

    async def _claim(self, limit: int | None = None) -> list[Claimed]:
        now = self.clock.now()
        o, p = OutboxMessage, aliased(OutboxMessage)
        due = or_(
            and_(o.status == "pending", o.next_attempt_at <= now),
            and_(o.status == "sending", o.lease_until <= now),
        )
        # Per-recipient order: an older open row keeps this one back, except a row held for later (`not_before`:
        # never tried, not due yet). It is meant for a later moment (an FYI for the morning), so what is due now
        # (the answer to the rep's own click, an urgent notice) must not wait behind it; once due it is the oldest
        # open row again and goes first. A row waiting for a retry (it has a last_error) still blocks, for its first
        # HOL_ATTEMPTS attempts when it failed while its channel was delivering other rows (the fault is this
        # row's): then it steps aside and is retried on its own schedule (or dead-letters), so one failing message
        # holds its recipient's later ones back for seconds, not hours. A row that failed while the channel
        # delivered nothing (an outage: everyone's rows fail) keeps the order for HOL_MAX_ATTEMPTS attempts
        # (≥ 2 minutes of backoff) before it steps aside too.
        aside = list(self._failed_alone)
        failing_briefly = and_(p.last_error.is_not(None), or_(
            p.attempts < HOL_ATTEMPTS, and_(p.attempts < HOL_MAX_ATTEMPTS, p.id.not_in(aside))))
        in_the_way = or_(p.status == "sending",
                         and_(p.status == "pending", or_(p.next_attempt_at <= now, failing_briefly)))
        earlier_open = exists().where(p.channel == o.channel, p.recipient == o.recipient, p.id < o.id, in_the_way)
        pick = select(o.id).where(o.channel.in_(list(self.channels)), due, ~earlier_open).order_by(o.id)
        pick = pick.limit(limit or self.batch)
        async with self.db.session() as session:
            if not self.db.is_sqlite:
                pick = pick.with_for_update(skip_locked=True, of=o)
            ids = list((await session.execute(pick)).scalars())
            if not ids:
                return []
            stmt = (
                update(o)
                .where(o.id.in_(ids), due)
                .values(status="sending", lease_until=now + self.lease, attempts=o.attempts + 1)
                .returning(o.id, o.channel, o.recipient, o.payload, o.dedup_key, o.attempts)
            )
            rows = (await session.execute(stmt)).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    async def _deliver(self, row: Claimed) -> None:
        try:
            body = body_from_json(row.payload)
            async with asyncio.timeout(self.deadline_s):  # always ends well inside the lease
                result = await self.channels[row.channel].deliver(row.recipient, body, dedup_key=row.dedup_key)
        except DeliveryError as exc:
            await self._failed(row, f"[{exc.kind}] {exc}", exc.permanent, exc.retry_after, exc.counted)
        except TimeoutError:
            await self._failed(row, f"[retryable] no answer within {self.deadline_s:.0f}s", False, None)
        except Exception as exc:
            log.exception("outbox %s: unexpected error delivering to %s", row.id, row.recipient)
            await self._failed(row, f"[retryable] {type(exc).__name__}: {exc}", False, None)
        else:
            await self._delivered(row, result)

    async def _finish(self, row: Claimed, values: dict[str, Any]) -> bool:
        """Update the row only while this claim still holds it (False: it was taken over; change nothing)."""
        o = OutboxMessage
        async with self.db.session() as session:
            done = await session.execute(
                update(o).where(o.id == row.id, o.status == "sending", o.attempts == row.attempts).values(**values)
            )
        if done.rowcount == 0:  # type: ignore[attr-defined]
            log.warning("outbox %s: lease lost during attempt %s (another sender took the row over); "
                        "this attempt's outcome is dropped", row.id, row.attempts)
            return False
        return True

    async def _delivered(self, row: Claimed, result: dict[str, Any]) -> None:
        self._delivered_at[row.channel] = self.clock.now()
        self._failed_alone.discard(row.id)
        await self._finish(row, {"status": "delivered", "delivered_at": self.clock.now(), "lease_until": None,
                                 "result": result or None})

    async def _failed(self, row: Claimed, error: str, permanent: bool, retry_after: float | None,
                      counted: bool = True) -> None:
        delivered = self._delivered_at.get(row.channel)
        if counted and delivered is not None and self.clock.now() - delivered <= HEALTHY_WINDOW:
            if len(self._failed_alone) >= 10_000:
                self._failed_alone.clear()
            self._failed_alone.add(row.id)
        dead = permanent or (counted and row.attempts >= self.policy.max_attempts)
        values: dict[str, Any] = {"last_error": error[:2000], "lease_until": None}
        if counted:
            delay = 0.0 if dead else self.policy.delay(row.attempts, retry_after)
        else:  # a wait, not a failure: the attempt is given back and the backoff does not grow
            values["attempts"] = row.attempts - 1
            delay = retry_after or self.policy.base_delay_s
        if dead:
            values["status"] = "dead"
        else:
            values.update(status="pending", next_attempt_at=self.clock.now() + timedelta(seconds=delay))
        if not await self._finish(row, values):
            return
        if dead:
            log.error(
                "outbox %s dead-lettered after %s attempt(s) to %s:%s: %s",
                row.id, row.attempts, row.channel, row.recipient, error,
            )
        elif counted:
            log.warning("outbox %s attempt %s failed (%s); retry in %.1fs", row.id, row.attempts, error, delay)
        else:
            log.info("outbox %s waits %.1fs (%s)", row.id, delay, error)
