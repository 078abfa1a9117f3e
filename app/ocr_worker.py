"""`salesbot worker ocr` (also `salesbot serve --role ocr`): a process that reads queued screenshots.

With `[ocr] mode = "worker"` the webhook instances only store a screenshot and queue a job (handlers/chat/
capture.py); this process claims jobs (storage/ocr_jobs.py) in `[ocr] workers` lanes, runs the same capture use
case as the inline handler (handlers/leads/ocr_jobs.py) and commits the draft, its answers and the job's end together.
It sends nothing itself and needs no channel credentials: the webhook instances' outboxes deliver (on
PostgreSQL woken by NOTIFY, on SQLite within `[server] tick_seconds`). A worker killed mid-job leaves its job
claimed; a live worker renews its lease every third of `[ocr] job_lease_s`, so once that much time has
passed without a renewal any worker takes the job again. SIGTERM: no new job is taken, the jobs
in hand finish within `[server] shutdown_grace_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from datetime import timedelta

from app.runtime import build_services
from bot.clock import SystemClock
from bot.config import Settings
from bot.faults import FailureLog
from bot.router import Router
from bot.services import Services
from handlers.leads.ocr_jobs import give_up, run_job
from storage.ocr_jobs import OCR_JOBS, Claimed, claim_next, hold, prune_finished

log = logging.getLogger(__name__)

POLL_S = 1.0  # look for jobs this often when no NOTIFY wakes the worker (SQLite; PostgreSQL's fallback)
RETRY_AFTER_S = 5.0  # a failed attempt is retried after this × its attempt number
KEEP_FINISHED = timedelta(days=7)
PRUNE_EVERY_S = 3600.0


class OcrWorker:
    def __init__(self, services: Services, name: str | None = None) -> None:
        self.services = services
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.claims = FailureLog(log, "ocr job claim (retried)")
        self.finished = 0
        self._prune_at = 0.0

    async def run(self) -> None:
        """`[ocr] workers` lanes until `stop`; each lane finishes the job it holds before it ends."""
        lanes = max(1, self.services.settings.ocr.workers)
        await asyncio.gather(*(self.lane() for _ in range(lanes)))

    async def lane(self) -> None:
        lease = timedelta(seconds=self.services.settings.ocr.job_lease_s)
        while not self.stop.is_set():
            self.wake.clear()
            try:
                job = await claim_next(self.services.db, self.name, self.services.clock.now(), lease)
            except Exception as exc:
                self.claims.failed(exc)
                job = None
            else:
                self.claims.succeeded()
            if job is None:
                await self._idle()
            else:
                await self.handle(job)

    async def handle(self, job: Claimed) -> None:
        """One attempt, its lease renewed while it runs; a failure leaves the job for a later attempt (a log
        line with the cause)."""
        renewing = asyncio.create_task(self._renew(job))
        try:
            if job.attempts > self.services.settings.ocr.job_attempts:
                done = await give_up(self.services, job)
            else:
                done = await run_job(self.services, job)
        except Exception as exc:
            log.exception("ocr job %s: attempt %d failed", job.id, job.attempts)
            renewing.cancel()
            until = self.services.clock.now() + timedelta(seconds=RETRY_AFTER_S * job.attempts)
            with contextlib.suppress(Exception):  # else its lease runs out: retried all the same
                await hold(self.services.db, job, until, f"{type(exc).__name__}: {exc}")
            return
        finally:
            renewing.cancel()
        self.finished += done

    async def _renew(self, job: Claimed) -> None:
        """While this process is alive the job stays its own; once it dies, the lease runs out."""
        lease_s = self.services.settings.ocr.job_lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                await hold(self.services.db, job, self.services.clock.now() + timedelta(seconds=lease_s))
            except Exception:
                log.warning("ocr job %s: lease not renewed (retried)", job.id, exc_info=True)

    async def _idle(self) -> None:
        if time.monotonic() >= self._prune_at:  # finished jobs are kept a week (like inbound claims), then dropped
            self._prune_at = time.monotonic() + PRUNE_EVERY_S
            with contextlib.suppress(Exception):
                await prune_finished(self.services.db, self.services.clock.now() - KEEP_FINISHED)
        waiters = [asyncio.ensure_future(self.stop.wait()), asyncio.ensure_future(self.wake.wait())]
        await asyncio.wait(waiters, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()


def run_ocr_worker(settings: Settings) -> int:
    if settings.ocr.mode != "worker":
        log.warning('[ocr] mode is "inline": webhook instances read screenshots themselves and queue no jobs')
    asyncio.run(_main(settings))
    return 0


async def _main(settings: Settings) -> None:
    # No routes: a worker handles no messages (the chat modules' imports would cost ~55 MB of RSS: issue 14)
    services = await build_services(settings, SystemClock(), {}, seed=False, router=Router("ocr-worker"))
    worker = OcrWorker(services)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop.set)
    listener = _listen(services, worker)
    log.info("ocr worker %s: %d lanes, lease %.0f s", worker.name, settings.ocr.workers, settings.ocr.job_lease_s)
    lanes = asyncio.create_task(worker.run())
    await worker.stop.wait()
    log.info("shutdown: finishing the jobs in hand")
    try:
        await asyncio.wait_for(lanes, settings.server.shutdown_grace_s)
    except TimeoutError:
        log.warning("shutdown: a job did not finish in %.0f s; another worker takes it after its lease",
                    settings.server.shutdown_grace_s)
    if listener is not None:
        await listener
    await services.db.dispose()
    log.info("ocr worker %s stopped after %d jobs", worker.name, worker.finished)


def _listen(services: Services, worker: OcrWorker) -> asyncio.Task[None] | None:
    """PostgreSQL: a queued job wakes the worker at once (storage/notify.py); SQLite polls every POLL_S."""
    if services.db.is_sqlite:
        return None
    from storage.notify import Listener

    listener = Listener(services.settings.database.url, {OCR_JOBS: lambda _p: worker.wake.set()})
    return asyncio.create_task(listener.run(worker.stop))
