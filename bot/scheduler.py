"""APScheduler only ticks: every few seconds it runs the due work (bot/periodic.py). Timers live in the database."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.periodic import run_due_work

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


def start_scheduler(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=services.settings.reminders.timezone)

    async def run_tick() -> None:
        try:
            if await run_due_work(services):
                services.wake_outbox()
        except Exception:
            log.exception("reminder tick failed")

    scheduler.add_job(run_tick, "interval", seconds=services.settings.server.tick_seconds,
                      max_instances=1, coalesce=True, id="reminder-tick")
    scheduler.start()
    return scheduler
