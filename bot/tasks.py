"""Background work after an ACK: tracked tasks, bounded concurrency, in order per user, drained on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class TaskPool:
    def __init__(self, max_running: int = 50, max_pending: int = 5000) -> None:
        self._running = asyncio.Semaphore(max_running)
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
                await work()
            except Exception:
                log.exception("background job failed")

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tail.get(key) is task:
            del self._tail[key]

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop taking work and wait for what is in flight."""
        self.closed = True
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                log.warning("shutdown: %d background job(s) still running after %.0fs", len(pending), timeout)
