"""APScheduler only ticks: every few seconds it runs the due work (app/periodic.py). Timers live in the database.
The holiday-data check runs at start-up and every morning; the staged cards of imports whose process died are
deleted at start-up and hourly (not only when the next import starts), and send-attempt records two days old hourly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.periodic import check_calendar_years, run_due_work
from bot.channels.media_memo import forget_send_records
from bot.clock import parse_hhmm
from bot.faults import FailureLog
from handlers.renewals.importer import drop_stale_batches as drop_stale_contract_rows
from knowledge.importer import drop_stale_batches

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class Scheduler(AsyncIOScheduler):
    """APScheduler's asyncio scheduler that knows its jobs in flight, so `stop()` can let a cancelled job close
    its database session before the caller disposes of the database (else that close waits forever)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.in_flight: set[asyncio.Task[Any]] = set()

    def tracked(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self.in_flight.add(task)
            try:
                await job()
            except asyncio.CancelledError:  # stop() at shutdown: the job ends here, not as an ERROR traceback
                log.info("%s stopped by shutdown", getattr(job, "__name__", "job"))
            finally:
                if task is not None:
                    self.in_flight.discard(task)

        return run

    def run_now(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start a tracked job at once, beside its schedule (the start-up runs), so `join()` can wait for it."""
        task = asyncio.get_running_loop().create_task(job())
        self.in_flight.add(task)  # from now, not from its first step
        task.add_done_callback(self.in_flight.discard)

    async def join(self) -> None:
        """Wait for the jobs in flight (the start-up runs included): a test settles without racing them."""
        while self.in_flight:
            await asyncio.wait(set(self.in_flight))

    async def stop(self) -> None:
        self.shutdown(wait=False)  # cancels the jobs in flight
        for task in self.in_flight:
            task.cancel()  # and the start-up runs
        if self.in_flight:
            await asyncio.wait(set(self.in_flight))


def start_scheduler(services: Services) -> Scheduler:
    scheduler = Scheduler(timezone=services.settings.reminders.timezone)
    ticks = FailureLog(log, "reminder tick (retried next tick)", level=logging.ERROR)

    @scheduler.tracked
    async def run_tick() -> None:
        try:
            if await run_due_work(services):
                services.wake_outbox()
        except Exception as exc:
            ticks.failed(exc)
        else:
            ticks.succeeded()

    @scheduler.tracked
    async def check_calendar() -> None:
        try:
            await check_calendar_years(services)
        except Exception:
            log.exception("holiday data check failed")

    @scheduler.tracked
    async def clean_import_staging() -> None:
        try:
            await drop_stale_batches(services.db, services.clock.now())
            await drop_stale_contract_rows(services.db, services.clock.now())
            await forget_send_records(services.db, services.clock.now())
        except Exception:
            log.exception("deleting the staged rows of unfinished imports failed")

    scheduler.add_job(clean_import_staging, "interval", hours=1, coalesce=True, id="kb-staging-cleanup")
    scheduler.add_job(run_tick, "interval", seconds=services.settings.server.tick_seconds,
                      max_instances=1, coalesce=True, id="reminder-tick")
    cfg = services.settings.reminders
    opens = parse_hhmm(cfg.work_start)
    scheduler.add_job(check_calendar, "cron", hour=opens.hour, minute=opens.minute, coalesce=True,
                      id="calendar-check")
    scheduler.start()
    scheduler.run_now(clean_import_staging)  # and at start-up
    scheduler.run_now(check_calendar)
    return scheduler
