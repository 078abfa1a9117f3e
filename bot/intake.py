"""One intake for every channel: claim → ACK → background job → replay after a crash.

A channel verifies and parses a callback, checks `has_room()`, then hands it to `admit`: the claim (a UNIQUE
insert that keeps the raw payload, `bot.dedup`), and the work (download, then `dispatch`) submitted to the TaskPool
(`bot.tasks`: tracked, bounded, in order per user); the channel ACKs at once. A claim a crash left unhandled
comes back through the channel's replayer (`bot.replay`), registered here, and runs through `handle` like a fresh
one. Channels reach the rest of the process only through the intake: its services for what a receiver itself
needs (settings, clock; the outbox for DingTalk's refusal reply; the database for its numbered replies).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.dedup import InboundClaimer
from bot.dispatch import dispatch
from bot.faults import FailureLog
from bot.jobs import resume_orphaned_imports
from bot.messages import Inbound
from bot.replay import Replayer, prune, sweep
from bot.services import Services
from bot.spool import ClaimSpool
from bot.tasks import TaskPool

log = logging.getLogger(__name__)

Inbounds = Callable[[], Awaitable[Sequence[Inbound]]]  # a delivery's background half: downloads, then messages


class Handoff(Protocol):
    """Where admitted messages are handled when not in this process (`[server] handler_process`: the handler
    child, app/handler_process.py): `send` hands a claimed payload over (False: not now, handle it here)."""

    @property
    def pending(self) -> int: ...

    def send(self, channel: str, payload: str) -> bool: ...

SPOOL_RETRY_S = 2.0  # while claims wait in the spool, try the database this often
CLAIM_TIMEOUT_S = 3.0  # a claim the database has not confirmed by then goes to the spool (WeCom waits 5 s)


class Intake:
    def __init__(self, services: Services, tasks: TaskPool | None = None, claims: InboundClaimer | None = None,
                 metrics: Counter[str] | None = None) -> None:
        self.services = services
        inflight = services.settings.server.max_inflight
        self.tasks = tasks or TaskPool(max_running=inflight, burst_ceiling=min(inflight, services.db.burst_jobs))
        # Inbound dedup claims: own connection, group commit (see bot/dedup.py), shared by every channel.
        self.claims = claims or InboundClaimer(services.settings.database.url)
        self.metrics: Counter[str] = Counter() if metrics is None else metrics  # channels' counters, on /metrics
        self.replayers: dict[str, Replayer] = {}
        self.handoff: Handoff | None = None  # set by `serve` with a handler child
        self.claiming = 0  # admitted callbacks whose claim is being written
        spool_dir = services.settings.server.spool_dir
        self.spool = ClaimSpool(Path(spool_dir) / "claims.jsonl") if spool_dir else None
        self._spooled = asyncio.Event()
        self.spooling = FailureLog(log, "claims database (verified callbacks kept in the local spool)")
        self.sweeps = FailureLog(log, "inbound replay sweep (retried)")

    def register_replayer(self, channel: str, replayer: Replayer) -> None:
        self.replayers[channel] = replayer

    def has_room(self) -> bool:
        """Room for one more callback, counting those whose claim is still being written: each of them takes a
        place once claimed (counting only the pool, a 1,000/s burst admitted 1,200–1,800 more than it took, each
        then waiting `replay_grace_s` for the sweep)."""
        waiting = self.tasks.pending + self.handed_pending + self.claiming
        return not self.tasks.closed and waiting < self.tasks.max_pending

    @property
    def handed_pending(self) -> int:
        """Messages handed to the handler child and not handled yet (0 without one)."""
        return self.handoff.pending if self.handoff is not None else 0

    async def claim(self, channel: str, msg_id: str, payload: str | None) -> bool:
        """True the first time (channel, msg_id) is seen; the payload is kept for a replay after a crash.
        The database unreachable: the claim goes to the local spool (bot/spool.py) and is handled once it is back.
        A message of a spooled claim that runs now finds no database either; the spool's replay handles it."""
        now = self.services.clock.now()
        try:
            async with asyncio.timeout(CLAIM_TIMEOUT_S):  # no extra task on the ACK path (unlike wait_for)
                return await self.claims.claim(channel, msg_id, now, payload=payload)
        except Exception as exc:
            if self.spool is None:
                raise
            self.spooling.failed(exc)
            log.debug("%s:%s kept in the local spool", channel, msg_id)
            self.metrics["claims_spooled"] += 1
            self._spooled.set()  # the replay loop now retries the database every SPOOL_RETRY_S
            return await self.spool.add(channel, msg_id, now, payload)

    async def drain_spool(self) -> int:
        """Claims kept during a database outage: claimed now and handed to their channel (0 when none)."""
        if not self.spool:
            return 0

        async def claim(channel: str, msg_id: str, received: datetime, payload: str | None) -> bool:
            return await self.claims.claim(channel, msg_id, received, payload=payload)

        async def replay(channel: str, payload: str) -> bool:
            replayer = self.replayers.get(channel)
            return True if replayer is None else await replayer(payload)

        return await self.spool.drain(claim, replay)

    def submit(self, key: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Run `work` in the background after every earlier job of `key` (a user). False when full."""
        return self.tasks.submit(key, work)

    async def admit(self, channel: str, msg_id: str, user: str, payload: str | None, inbounds: Inbounds) -> bool:
        """The one path of a verified delivery: claim (channel, msg_id) keeping `payload` for a replay, then
        `handle` it in the background. False for a duplicate. The caller checked `has_room()` before its ACK."""
        self.claiming += 1
        try:
            first = await self.claim(channel, msg_id, payload=payload)
        finally:
            self.claiming -= 1
        if not first:
            self.metrics[f"{channel}_duplicates"] += 1
            log.info("%s duplicate %s from %s ignored", channel, msg_id, user)
            return False
        if payload is not None and self.handoff is not None and self.handoff.send(channel, payload):
            pass  # the handler process parses the payload again and handles it (its claim stays for a replay)
        elif not self.handle(user, inbounds):  # raced to full between has_room and here: rare
            self.metrics[f"{channel}_deferred_after_claim"] += 1
            log.warning("%s %s claimed but task pool full; the replay sweep will handle it", channel, msg_id)
        self.metrics[f"{channel}_accepted"] += 1
        return True

    def handle(self, user: str, inbounds: Inbounds) -> bool:
        """In the background, after `user`'s earlier jobs: make the Inbound(s) (downloads happen here), then
        dispatch each in order. A replay after a crash comes this way too. False when the pool is full."""
        async def job() -> None:
            for msg in await inbounds():
                await dispatch(self.services, msg)

        return self.tasks.submit(user, job)

    async def sweep(self) -> int:
        """Replay what a crash left unhandled, prune old claims; returns how many messages were replayed."""
        claims_db = await self.claims.database()
        now = self.services.clock.now()
        grace = timedelta(seconds=self.services.settings.server.replay_grace_s)
        replayed = await sweep(claims_db, self.services.db, self.replayers, now, grace=grace)
        await prune(claims_db, self.services.db, now)
        await resume_orphaned_imports(self.services, grace)  # a file import whose process died (bot/jobs.py)
        return replayed

    async def run_replays(self, stop: asyncio.Event) -> None:
        """Sweep at once, then every `[server] replay_interval_s` until `stop` is set (every SPOOL_RETRY_S while
        the spool holds claims)."""
        while not stop.is_set():
            try:
                await self.drain_spool()
                await self.sweep()
            except Exception as exc:
                self.sweeps.failed(exc)
            else:
                self.sweeps.succeeded()
                self.spooling.succeeded()
            self._spooled.clear()
            interval = SPOOL_RETRY_S if self.spool else self.services.settings.server.replay_interval_s
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._spooled.wait())]
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def close(self, timeout: float = 30.0) -> None:
        """Finish the jobs in flight (at most `timeout` s), then the claims connection."""
        await self.tasks.drain(timeout)
        await self.claims.close()
