"""`/healthz/live`: the process answers. `/healthz/ready` (and `/healthz`): it can also write to its database.

Readiness writes one small row (kv `healthz`) within `PROBE_TIMEOUT_S`: a read-only ping answered 200 while every
write failed (disk full), and a locked SQLite file was only noticed after its 30 s busy timeout. One probe runs
at a time; a probe still stuck in the database is shared by the requests that come meanwhile (no pile-up).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import update

from bot.services import Services
from storage.models import KeyValue
from storage.sql import insert_ignore

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0
PROBE_KEY = "healthz"


class Health:
    def __init__(self, services: Services, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.services = services
        self.timeout_s = timeout_s
        self.probe: asyncio.Task[None] | None = None

    async def ready(self) -> str:
        """"" when a write went through within the timeout, else why not (for the log and the JSON answer)."""
        if self.probe is None or self.probe.done():
            self.probe = asyncio.create_task(self.write())
        try:
            await asyncio.wait_for(asyncio.shield(self.probe), self.timeout_s)
        except TimeoutError:
            why = f"database write took over {self.timeout_s:g} s"
        except Exception as exc:
            why = f"database write failed: {type(exc).__name__}: {str(exc)[:200]}"
        else:
            return ""
        log.warning("not ready: %s", why)
        return why

    async def write(self) -> None:
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            await session.execute(insert_ignore(session, KeyValue).values(key=PROBE_KEY, value={}, updated_at=now))
            await session.execute(update(KeyValue).where(KeyValue.key == PROBE_KEY).values(updated_at=now))
