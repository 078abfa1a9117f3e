"""Background work after an ACK: tracked tasks, bounded concurrency, in order per user, drained on shutdown.

ACKs come first: while callbacks arrive in a burst (more than `burst_rate` a second), the jobs that run at once
are limited so that the event loop's turn stays short and an ACK never waits behind a crowd of handler steps.
The limit follows the loop: every `LAG_PROBE_S` the pool measures how late a timer fires (one loop turn's
length, what each step of an ACK waits); above `lag_budget_s` the limit halves, down to `burst_running`; below
it, it grows by `burst_running`, up to `max_running`. A fixed limit of 8 kept the turn short but bounded a burst
to 8 / (one job's wall time) replies a second whatever the free CPU (~250/s on a quiet machine, far less while
jobs wait on PostgreSQL) and kept group commits small. The backlog is worked through during the burst
(deferring it all until the burst ended made a 10 s burst's replies wait > 10 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

LAG_PROBE_S = 0.05  # during a burst, the loop's lag is measured this often
MAX_PENDING = 5000  # jobs waiting or running; beyond that a channel answers 503 (the platform sends again)


class Gate:
    """A semaphore whose size may change while tasks wait on it."""

    def __init__(self, limit: int) -> None:
        self.limit, self.busy = limit, 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self.busy < self.limit and not self._waiters:
            self.busy += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over as the waiter was cancelled
            raise

    async def __aexit__(self, *_exc: object) -> None:
        self._release()

    def _release(self) -> None:
        self.busy -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.busy < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.busy += 1
                waiter.set_result(None)


class TaskPool:
    def __init__(self, max_running: int = 50, max_pending: int = MAX_PENDING, *, burst_rate: float = 100.0,
                 burst_running: int = 8, burst_window_s: float = 0.2, lag_budget_s: float = 0.005,
                 burst_ceiling: int | None = None) -> None:
        self._running = asyncio.Semaphore(max_running)
        self.burst_floor, self.burst_ceiling = burst_running, max(burst_running, burst_ceiling or max_running)
        self.lag_budget_s = lag_budget_s
        self._burst_slots = Gate(burst_running)
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
        loop = asyncio.get_running_loop()
        self._burst_slots.resize(self.burst_floor)  # each burst starts cautious
        while not self.closed and self.in_burst():
            asked = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            self._burst_slots.resize(self.next_limit(loop.time() - asked - LAG_PROBE_S))
        self._calm.set()

    def next_limit(self, lag_s: float) -> int:
        """Jobs allowed at once during a burst, after a loop turn `lag_s` late: halve above the budget, else grow."""
        limit = self._burst_slots.limit
        if lag_s > self.lag_budget_s:
            return max(self.burst_floor, limit // 2)
        return min(self.burst_ceiling, limit + self.burst_floor)

    @property
    def burst_limit(self) -> int:
        return self._burst_slots.limit

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tail.get(key) is task:
            del self._tail[key]

    async def join(self) -> None:
        """Wait until every job submitted so far, and any job those submit, has finished (tests, the console)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop taking work and wait for what is in flight."""
        self.closed = True
        self._calm.set()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                log.warning("shutdown: %d background job(s) still running after %.0fs", len(pending), timeout)
