"""The one "poll until" of the tests: wait, a bounded number of short sleeps, for something another task or
process makes true (a delivery, an ACK, a worker's claim). The bound is generous; it is no timing assertion."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(cond: Callable[[], T | Awaitable[T]], what: str = "condition", *, timeout_s: float = 10.0,
                every_s: float = 0.01, log: Callable[[], str] | None = None) -> T:
    """`cond()`'s first true value (it may be a coroutine function). Checked `timeout_s / every_s` times, so a
    loaded machine waits longer, never less; then fails naming `what` and the tail of `log()`."""
    for _ in range(max(1, round(timeout_s / every_s))):
        value = cond()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(every_s)
    raise AssertionError(f"{what} not reached within {timeout_s:.0f} s" + (f": {log()[-3000:]}" if log else ""))
