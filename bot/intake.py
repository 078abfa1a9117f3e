"""One intake for every channel: claim → ACK → background job → replay after a crash.

A channel verifies and parses a callback, then asks the intake to `claim` it (a UNIQUE insert that keeps the
raw payload, `bot.dedup`), ACKs at once and `submit`s the work (download, then `dispatch`) to the TaskPool
(`bot.tasks`: tracked, bounded, in order per user). A claim a crash left unhandled comes back through the
channel's replayer (`bot.replay`), registered here. Channels reach nothing else of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from bot.dedup import InboundClaimer
from bot.dispatch import dispatch
from bot.messages import Inbound
from bot.replay import Replayer, prune, sweep
from bot.services import Services
from bot.tasks import TaskPool

log = logging.getLogger(__name__)

REPLAY_INTERVAL_S = 60.0


class Intake:
    def __init__(self, services: Services, tasks: TaskPool | None = None, claims: InboundClaimer | None = None,
                 metrics: Counter[str] | None = None) -> None:
        self.services = services
        self.tasks = tasks or TaskPool(max_running=services.settings.server.max_inflight)
        # Inbound dedup claims: own connection, group commit (see bot/dedup.py), shared by every channel.
        self.claims = claims or InboundClaimer(services.settings.database.url)
        self.metrics: Counter[str] = Counter() if metrics is None else metrics  # channels' counters, on /metrics
        self.replayers: dict[str, Replayer] = {}

    def register_replayer(self, channel: str, replayer: Replayer) -> None:
        self.replayers[channel] = replayer

    def has_room(self) -> bool:
        return self.tasks.has_room()

    async def claim(self, channel: str, msg_id: str, payload: str | None) -> bool:
        """True the first time (channel, msg_id) is seen; the payload is kept for a replay after a crash."""
        return await self.claims.claim(channel, msg_id, self.services.clock.now(), payload=payload)

    def submit(self, key: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Run `work` in the background after every earlier job of `key` (a user). False when full."""
        return self.tasks.submit(key, work)

    async def dispatch(self, msg: Inbound) -> None:
        await dispatch(self.services, msg)

    async def sweep(self) -> int:
        """Replay what a crash left unhandled, prune old claims; returns how many messages were replayed."""
        claims_db = await self.claims.database()
        now = self.services.clock.now()
        replayed = await sweep(claims_db, self.services.db, self.replayers, now)
        await prune(claims_db, self.services.db, now)
        return replayed

    async def run_replays(self, stop: asyncio.Event) -> None:
        """Sweep at once, then every REPLAY_INTERVAL_S until `stop` is set."""
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("inbound replay sweep failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REPLAY_INTERVAL_S)

    async def close(self) -> None:
        """Finish the jobs in flight, then the claims connection."""
        await self.tasks.drain()
        await self.claims.close()
