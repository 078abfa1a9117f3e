"""Console work that is mostly Python, run on a worker thread with its own event loop and its own engine.

The team report builds ORM rows for every lead of the scope and draws the chart: seconds of CPU at
10,000 leads. Awaited on the server's loop, the SQLAlchemy row building runs *on* that loop (asyncio drivers
only move the socket I/O away) and every webhook ACK waits behind it. Here the same coroutine runs on a
dedicated thread against a second engine on the same database, so the server's loop keeps turning; Python's
GIL is handed over every few milliseconds, which is what an ACK then waits at most.

A database that lives only inside one engine (SQLite `:memory:`) cannot be opened twice: work runs inline.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bot.services import Services, Shared
from storage.db import Database

log = logging.getLogger("salesbot.console")
T = TypeVar("T")


class Offload:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._url = services.db.url
        self._loop: asyncio.AbstractEventLoop | None = None
        self._db: Database | None = None
        self._start = threading.Lock()

    @property
    def inline(self) -> bool:
        return ":memory:" in self._url or "mode=memory" in self._url

    def _thread_loop(self) -> asyncio.AbstractEventLoop:
        with self._start:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="console-offload", daemon=True).start()
                self._db = Database(self._url)  # created here, used only from that loop
                self._loop = loop
            return self._loop

    async def run(self, work: Callable[[Database], Coroutine[Any, Any, T]]) -> T:
        """`work(db)` on the worker loop (db: the worker's own engine); awaited without blocking this loop."""
        if self.inline:
            return await work(self._services.db)
        loop = self._thread_loop()
        assert self._db is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work(self._db), loop))

    async def close(self) -> None:
        if self._loop is None or self._db is None:
            return
        loop, db = self._loop, self._db
        self._loop = self._db = None
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(db.dispose(), loop))
        loop.call_soon_threadsafe(loop.stop)


OFFLOAD: Shared[Offload] = Shared("console_offload", Offload)
