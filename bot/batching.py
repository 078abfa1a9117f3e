"""Many callers' writes as one: `Batcher.submit(item)` queues an item and waits for its own result while one
flusher task writes up to `max_batch` queued items at a time (one transaction, one fsync for all of them).

`write(items)` returns one result per item, in order. When it raises, `on_failure(items, exc)` says what each
caller gets: a result, or an exception to raise in that caller (by default every caller gets `exc`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    def __init__(self, write: Callable[[list[T]], Awaitable[Sequence[R]]], *, max_batch: int,
                 on_failure: Callable[[list[T], Exception], Awaitable[Sequence[R | BaseException]]] | None = None,
                 ) -> None:
        self.write, self.max_batch, self.on_failure = write, max_batch, on_failure
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
            items = [item for item, _future in batch]
            answers: Sequence[R | BaseException]
            try:
                answers = await self.write(items)
            except Exception as exc:
                answers = await self.on_failure(items, exc) if self.on_failure else [exc] * len(items)
            for (_item, future), answer in zip(batch, answers, strict=True):
                if future.done():
                    continue
                if isinstance(answer, BaseException):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)

    async def join(self) -> None:
        """Wait until everything submitted so far is written."""
        if self._flusher is not None:
            await asyncio.wait([self._flusher])
