"""The outbox: every outbound message is a row first, delivered later, exactly once per dedup key.

- `enqueue` writes rows inside the caller's transaction (state change + message commit together).
  Outside a handler: `OutboxSender.send_now` (rows in a transaction of their own) or `OutboxSender.sending`
  (rows in a transaction shared with the caller's own writes, e.g. a once-a-day claim), both waking the
  sender after the commit; nothing else calls `wake` by hand.
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
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.delivery import SENT_BEFORE, ChannelSender, DeliveryError
from bot.delivery_history import claimed_history
from bot.faults import FailureLog
from bot.messages import Outbound, body_from_json, body_to_json
from bot.metrics import DELIVERY
from storage.db import Database
from storage.models import OutboxMessage, User
from storage.notify import OUTBOX, notify
from storage.sql import insert_ignore, rowcount, table_of

log = logging.getLogger(__name__)


async def enqueue(session: AsyncSession, messages: Iterable[Outbound], now: datetime, default_channel: str) -> None:
    """Add messages to the outbox in the session's transaction; repeats of a dedup key are ignored."""
    rows = [await _row(session, msg, now, default_channel) for msg in messages]
    if rows:  # Core, not the ORM's bulk insert: nothing here needs the unit of work
        await session.execute(insert_ignore(session, table_of(OutboxMessage)), rows)
        await notify(session, OUTBOX)  # PostgreSQL: every instance's sender wakes at the commit


async def _row(session: AsyncSession, msg: Outbound, now: datetime, default_channel: str) -> dict[str, Any]:
    return {
        "channel": msg.channel or await _user_channel(session, msg.to) or default_channel,
        "recipient": msg.to,
        "kind": msg.body.kind,
        "payload": body_to_json(msg.body),
        "dedup_key": (msg.dedup_key or f"auto:{uuid.uuid4().hex}")[:191],
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": max(now, msg.not_before) if msg.not_before else now,
        "created_at": now,
    }


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
    sent: tuple[datetime, ...] | None = None  # the recipient's recent deliveries, read with the claim (SENT_BEFORE)


class OutboxBatch:
    """The caller's session (`.session`) and the messages queued in it (see `OutboxSender.sending`)."""

    def __init__(self, outbox: OutboxSender, session: AsyncSession) -> None:
        self.outbox, self.session, self.count = outbox, session, 0

    async def add(self, messages: Iterable[Outbound]) -> int:
        """Queue `messages` in this transaction; how many there were."""
        listed = list(messages)
        await self.outbox.enqueue(self.session, listed)
        self.count += len(listed)
        return len(listed)


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
        self._done: list[tuple[Claimed, dict[str, Any] | None, datetime, asyncio.Future[None]]] = []
        self._marker: asyncio.Task[None] | None = None
        self._handed: set[asyncio.Task[None]] = set()  # deliveries started by `start`, not by a claim
        self._starved = False  # the last claim round stopped for want of a free slot
        self._handover: tuple[Any, Any] | None = None
        # channels with a per-recipient limit counted over every process (bot/channels/shared_limits.py)
        self._limited = {name for name, sender in channels.items() if getattr(sender, "limited", False)}
        self.rounds = FailureLog(log, "outbox claim round (retried)")
        self.marks = FailureLog(log, "outbox: marking rows delivered")

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

    @asynccontextmanager
    async def sending(self) -> AsyncIterator[OutboxBatch]:
        """One transaction of the caller's (a once-a-day claim, a state change) whose messages are queued in it
        with `await out.add(...)`, and a wake-up after it commits when any were queued. Nothing is queued if
        the block raises (the transaction rolls back)."""
        async with self.db.session() as session:
            queued = OutboxBatch(self, session)
            yield queued
        if queued.count:
            self.wake()

    async def enqueue_handing_over(self, session: AsyncSession, messages: list[Outbound], to: str
                                   ) -> tuple[list[Claimed], bool]:
        """`enqueue`, except that the first message due now to `to` (the person a handler answers) is written
        already claimed by this process (status 'sending', a lease, attempt 1) when nothing of theirs is open:
        after the commit, `start` delivers it with no claim round trip, and a crash before that only means the
        lease runs out and any sender takes the row over. Returns those claims and whether rows were left for
        the claim loop (the caller then wakes it)."""
        now = self.clock.now()
        claimed: list[Claimed] = []
        rest: list[Outbound] = []
        for msg in messages:
            due = msg.not_before is None or msg.not_before <= now
            if not claimed and due and msg.to == to and msg.channel in self.channels:
                row = await self._claimed_insert(session, msg, now)
                if row is not None:
                    claimed.append(row)
                    continue
            rest.append(msg)
        await enqueue(session, rest, now, self.default_channel)
        return claimed, bool(rest)

    async def enqueue_many_handing_over(self, session: AsyncSession, groups: list[tuple[list[Outbound], str]]
                                        ) -> list[tuple[list[Claimed], bool]]:
        """`enqueue_handing_over` for several handled messages in one transaction (bot/group_commit.py), in a
        fixed number of statements: one read of which senders have something open, one insert of every row.
        Rows are inserted in the groups' order; a sender another group of the batch queued a row to before
        theirs is treated as busy, so per-recipient order holds inside the batch too."""
        now = self.clock.now()
        wanted: dict[int, Outbound] = {}  # group index → its message to hand over
        for i, (messages, to) in enumerate(groups):
            first = next((m for m in messages if (m.not_before is None or m.not_before <= now) and m.to == to
                          and m.channel in self.channels), None)
            if first is not None:
                wanted[i] = first
        busy = await self._busy_recipients(session, {(m.channel or "", m.to) for m in wanted.values()}, now)
        rows: list[dict[str, Any]] = []
        handed: dict[str, int] = {}  # dedup key of a handed-over row → its group
        queued = [False] * len(groups)
        for i, (messages, _to) in enumerate(groups):
            for msg in messages:
                row = await _row(session, msg, now, self.default_channel)
                if wanted.get(i) is msg and (row["channel"], msg.to) not in busy:
                    row.update(status="sending", attempts=1, lease_until=now + self.lease)
                    handed[row["dedup_key"]] = i
                else:
                    row["lease_until"] = None
                    queued[i] = True
                busy.add((row["channel"], msg.to))  # whatever follows for this recipient waits its turn
                rows.append(row)
        claimed: list[list[Claimed]] = [[] for _ in groups]
        if rows:
            table = table_of(OutboxMessage)
            stmt = insert_ignore(session, table).returning(table.c.id, table.c.dedup_key)
            inserted = {key: new_id for new_id, key in await (await session.connection()).execute(stmt, rows)}
            for row in rows:
                i = handed.get(row["dedup_key"], -1)
                if i >= 0 and row["dedup_key"] in inserted:  # an ignored repeat of a dedup key: queued once already
                    claimed[i].append(Claimed(inserted[row["dedup_key"]], row["channel"], row["recipient"],
                                              row["payload"], row["dedup_key"], 1))
            if any(claimed):  # (`_with_history` reads nothing on SQLite)
                every = await self._with_history(session, [c for group in claimed for c in group], now)
                ordered = iter(every)
                claimed = [[next(ordered) for _c in group] for group in claimed]
            if any(queued):
                await notify(session, OUTBOX)
        return [(claimed[i], queued[i]) for i in range(len(groups))]

    async def _busy_recipients(self, session: AsyncSession, pairs: set[tuple[str, str]], now: datetime
                               ) -> set[tuple[str, str]]:
        """Which (channel, recipient) pairs have an older row open (sending, due, or failing): one statement."""
        if not pairs:
            return set()
        c = table_of(OutboxMessage).c
        in_the_way = or_(c.status == "sending",
                         and_(c.status == "pending", or_(c.next_attempt_at <= now, c.last_error.is_not(None))))
        found = await session.execute(select(c.channel, c.recipient).where(
            c.channel.in_(sorted({ch for ch, _to in pairs})), c.recipient.in_(sorted({to for _ch, to in pairs})),
            in_the_way).distinct())
        return {(ch, to) for ch, to in found if (ch, to) in pairs}

    async def _claimed_insert(self, session: AsyncSession, msg: Outbound, now: datetime) -> Claimed | None:
        busy, insert = self._handover_statements(session)
        if (await session.execute(busy, {"h_channel": msg.channel, "h_to": msg.to, "h_now": now})).first():
            return None  # an older message of theirs goes first: the claim loop keeps the order
        row = await _row(session, msg, now, self.default_channel)
        row.update(status="sending", attempts=1, lease_until=now + self.lease)
        new_id = (await session.execute(insert, row)).scalar_one_or_none()
        if new_id is None:  # a repeat of a dedup key: already queued once
            return None
        claimed = Claimed(new_id, row["channel"], msg.to, row["payload"], row["dedup_key"], 1)
        return (await self._with_history(session, [claimed], now))[0]

    def _handover_statements(self, session: AsyncSession) -> tuple[Any, Any]:
        """Built once (the hot path: building a statement per message cost more than running it)."""
        if self._handover is None:
            table = table_of(OutboxMessage)
            c = table.c
            now = bindparam("h_now", type_=c.next_attempt_at.type)
            in_the_way = or_(c.status == "sending",
                             and_(c.status == "pending", or_(c.next_attempt_at <= now, c.last_error.is_not(None))))
            busy = select(c.id).where(c.channel == bindparam("h_channel"), c.recipient == bindparam("h_to"),
                                      in_the_way).limit(1)
            self._handover = (busy, insert_ignore(session, table).returning(c.id))
        return self._handover

    def start(self, claimed: Iterable[Claimed]) -> None:
        """Deliver rows this process claimed in a committed transaction (`enqueue_handing_over`), now."""
        for row in claimed:
            task = asyncio.create_task(self._deliver(row))
            self._running.add(task)
            self._handed.add(task)
            task.add_done_callback(self._finished)

    async def run_forever(self, interval_s: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # before the claim: a wake() meanwhile makes the next wait return at once
            try:
                await self._start_due()
            except Exception as exc:
                self.rounds.failed(exc)
            else:
                self.rounds.succeeded()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=interval_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _start_due(self) -> int:
        """Claim as many due rows as there are free slots (a claimed row never waits for one: its lease
        would run out) and start each delivery as its own task; returns how many were started."""
        started, self._starved = 0, False
        while True:
            room = min(self.batch, self.concurrency - len(self._running))
            if room <= 0:
                self._starved = True  # rows may be waiting: a finished delivery must wake the loop
                break
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
        if task in self._handed and not self._starved:  # nothing waits for it: no claim round needed
            self._handed.discard(task)
        else:
            self._handed.discard(task)
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
            claimed = await self._with_history(session, [Claimed(*row) for row in rows], now)
        return sorted(claimed, key=lambda c: c.id)

    async def _with_history(self, session: AsyncSession, claimed: list[Claimed], now: datetime) -> list[Claimed]:
        """PostgreSQL: each claimed row of a limited channel with its recipient's recent deliveries, read in the
        claiming transaction in one statement for the batch — the send needs no read of its own (the profile of
        a burst: one round trip per delivery). No other process delivers to these recipients meanwhile: their
        next rows wait behind the claimed ones. SQLite: the sender reads them inline (no round trip)."""
        if self.db.is_sqlite:
            return claimed
        pairs = {(c.channel, c.recipient) for c in claimed if c.channel in self._limited}
        if not pairs:
            return claimed
        history = await claimed_history(session, pairs, now)
        return [replace(c, sent=history[(c.channel, c.recipient)]) if (c.channel, c.recipient) in history else c
                for c in claimed]

    async def _deliver(self, row: Claimed) -> None:
        start = time.perf_counter()
        SENT_BEFORE.set(row.sent)  # this task's own context: the one delivery of this row
        try:
            body = body_from_json(row.payload)
            async with asyncio.timeout(self.deadline_s):  # always ends well inside the lease
                result = await self.channels[row.channel].deliver(row.recipient, body, dedup_key=row.dedup_key)
        except DeliveryError as exc:
            DELIVERY.labels(channel=row.channel, outcome="failed").observe(time.perf_counter() - start)
            await self._failed(row, f"{exc} [{exc.kind}]", exc.permanent, exc.retry_after, exc.counted)
        except TimeoutError:
            DELIVERY.labels(channel=row.channel, outcome="timeout").observe(time.perf_counter() - start)
            await self._failed(row, f"no answer within {self.deadline_s:.0f}s [retryable]", False, None)
        except Exception as exc:
            log.exception("outbox %s: unexpected error delivering to %s", row.id, row.recipient)
            await self._failed(row, f"{type(exc).__name__}: {exc} [retryable]", False, None)
        else:
            DELIVERY.labels(channel=row.channel, outcome="delivered").observe(time.perf_counter() - start)
            await self._delivered(row, result)

    async def _finish(self, row: Claimed, values: dict[str, Any]) -> bool:
        """Update the row only while this claim still holds it (False: it was taken over; change nothing)."""
        o = OutboxMessage
        async with self.db.session() as session:
            done = await session.execute(
                update(o).where(o.id == row.id, o.status == "sending", o.attempts == row.attempts).values(**values)
            )
        if rowcount(done) == 0:
            log.warning("outbox %s: lease lost during attempt %s (another sender took the row over); "
                        "this attempt's outcome is dropped", row.id, row.attempts)
            return False
        return True

    async def _delivered(self, row: Claimed, result: dict[str, Any]) -> None:
        """Group commit: deliveries that end together are marked in one transaction (one statement, many rows)."""
        self._delivered_at[row.channel] = self.clock.now()
        self._failed_alone.discard(row.id)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._done.append((row, result or None, self.clock.now(), future))
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_delivered())
        await future

    async def _mark_delivered(self) -> None:
        while self._done:
            batch, self._done = self._done[:500], self._done[500:]
            try:
                await self._mark_batch(batch)
                self.marks.succeeded()
            except Exception as exc:  # the rows stay 'sending'; their lease expires and they are retried
                self.marks.failed(exc, f"{len(batch)} row(s) stay 'sending' until their lease expires")
                for *_rest, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for *_rest, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _mark_batch(self, batch: list[tuple[Claimed, dict[str, Any] | None, datetime, asyncio.Future[None]]]
                          ) -> None:
        """One statement for the batch, on a connection of its own (no session: the outbox is not in the
        tamper-evident record, and a session's set-up and commit cost more than the statement)."""
        params = [{"b_id": row.id, "b_attempts": row.attempts, "b_at": at, "b_result": result}
                  for row, result, at, _f in batch]
        async with self.db.engine.begin() as conn:
            done = await conn.execute(_MARK_DELIVERED, params)
            exact = conn.dialect.supports_sane_multi_rowcount
        if exact and done.rowcount < len(batch):
            log.warning("outbox: %d of %d delivered row(s) had lost their lease (another sender took them "
                        "over); those attempts' outcomes are dropped", len(batch) - done.rowcount, len(batch))

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


def _mark_delivered_statement() -> Any:
    c = table_of(OutboxMessage).c
    return (update(table_of(OutboxMessage))
            .where(c.id == bindparam("b_id"), c.status == "sending", c.attempts == bindparam("b_attempts"))
            .values(status="delivered", delivered_at=bindparam("b_at"), lease_until=None, result=bindparam("b_result")))


_MARK_DELIVERED = _mark_delivered_statement()  # built once: the statement is the same for every batch


async def retry_dead(session: AsyncSession, ids: Iterable[int], now: datetime) -> int:
    """Dead letters back to pending, due now, with a fresh attempt budget (an admin fixed the cause)."""
    done = await session.execute(update(OutboxMessage).where(
        OutboxMessage.id.in_(list(ids)), OutboxMessage.status == "dead").values(
        status="pending", attempts=0, next_attempt_at=now, lease_until=None))
    return rowcount(done)


async def discard_dead(session: AsyncSession, ids: Iterable[int]) -> int:
    """Dead letters an admin gave up on: kept for the record, never sent."""
    done = await session.execute(update(OutboxMessage).where(
        OutboxMessage.id.in_(list(ids)), OutboxMessage.status == "dead").values(status="discarded"))
    return rowcount(done)
