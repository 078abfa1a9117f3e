"""Background work after an ACK: tracked tasks, bounded concurrency, in order per user, drained on shutdown.

ACKs come first: while callbacks arrive in a burst (more than `burst_rate` a second), at most `burst_running`
jobs run at once, so the event loop's ready queue stays short and an ACK never waits behind a crowd of
handler steps; the backlog is still worked through during the burst (deferring it all until the burst ended
made a 10 s burst's replies wait > 10 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class TaskPool:
    def __init__(self, max_running: int = 50, max_pending: int = 5000, *, burst_rate: float = 100.0,
                 burst_running: int = 8, burst_window_s: float = 0.2) -> None:
        self._running = asyncio.Semaphore(max_running)
        self._burst_slots = asyncio.Semaphore(burst_running)
        self._arrivals: deque[float] = deque()
        self._calm = asyncio.Event()  # clear while a burst lasts; one watcher task sets it again
        self._calm.set()
        self._watcher: asyncio.Task[None] | None = None
        self.burst_rate = burst_rate
        self.burst_window_s = burst_window_s
        self._tasks: set[asyncio.Task[None]] = set()
        self._tail: dict[str, asyncio.Task[None]] = {}  # per-key last task → in-order handling
        self.max_pending = max_pending
        self.closed = False

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def has_room(self) -> bool:
        return not self.closed and len(self._tasks) < self.max_pending

    def submit(self, key: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Run `work` after every earlier job with the same key. False when full or closed."""
        if not self.has_room():
            return False
        self._arrivals.append(time.monotonic())
        if self._calm.is_set() and self.in_burst():
            self._calm.clear()
            self._watcher = asyncio.create_task(self._watch_burst())
        previous = self._tail.get(key)
        task = asyncio.create_task(self._run(previous, work))
        self._tasks.add(task)
        self._tail[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return True

    async def _run(self, previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        async with self._running:
            try:
                if self._calm.is_set():
                    await work()
                else:
                    async with self._burst_slots:
                        await work()
            except Exception:
                log.exception("background job failed")

    def in_burst(self) -> bool:
        """More than `burst_rate` submissions a second over the last `burst_window_s`."""
        window_s = self.burst_window_s
        cutoff = time.monotonic() - window_s
        while self._arrivals and self._arrivals[0] < cutoff:
            self._arrivals.popleft()
        return len(self._arrivals) > self.burst_rate * window_s

    async def _watch_burst(self) -> None:
        while not self.closed and self.in_burst():  # noqa: ASYNC110 - polls a rate
            await asyncio.sleep(0.05)
        self._calm.set()

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tail.get(key) is task:
            del self._tail[key]

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop taking work and wait for what is in flight."""
        self.closed = True
        self._calm.set()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                log.warning("shutdown: %d background job(s) still running after %.0fs", len(pending), timeout)
