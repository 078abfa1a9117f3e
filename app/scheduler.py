"""APScheduler only ticks: every few seconds it runs the due work (app/periodic.py). Timers live in the database.
The holiday-data check runs at start-up and every morning."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.periodic import check_calendar_years, run_due_work
from reminders.calendar import parse_hhmm

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

    async def check_calendar() -> None:
        try:
            await check_calendar_years(services)
        except Exception:
            log.exception("holiday data check failed")

    scheduler.add_job(run_tick, "interval", seconds=services.settings.server.tick_seconds,
                      max_instances=1, coalesce=True, id="reminder-tick")
    cfg = services.settings.reminders
    opens = parse_hhmm(cfg.work_start)
    scheduler.add_job(check_calendar, "cron", hour=opens.hour, minute=opens.minute, coalesce=True,
                      id="calendar-check", next_run_time=datetime.now(ZoneInfo(cfg.timezone)))  # and at start-up
    scheduler.start()
    return scheduler
