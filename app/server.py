"""`salesbot serve`: aiohttp app with channel callbacks, /healthz, /metrics, ticker and outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from app.channels import build_with_channels
from app.console import mount_console
from app.edge import ConnectionGuard, Edge, ServerLog
from app.health import Health
from app.process_setup import loaded_engines, tune_gc
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dedup import InboundClaimer
from bot.delivery import ChannelSender
from bot.engines import Engines
from bot.intake import Intake
from bot.jobs import JOBS
from bot.metrics import ACK, exposition, watch_loop
from bot.router import Router
from bot.services import Services
from bot.tasks import TaskPool

if TYPE_CHECKING:
    from app.handler_process import HandlerChild
    from app.scheduler import Scheduler

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
INTAKE = web.AppKey("intake", Intake)
TASKS = web.AppKey("tasks", TaskPool)  # = the intake's; here for /healthz, /metrics and tests
METRICS = web.AppKey("metrics", Counter)
CLAIMS = web.AppKey("claims", InboundClaimer)
EDGE = web.AppKey("edge", Edge)  # body deadlines, slow-client cap, quiet client disconnects (app/edge.py)
HEALTH = web.AppKey("health", Health)
SCHEDULER: web.AppKey[Scheduler] = web.AppKey("scheduler")  # its start-up runs and ticks: tests join() them
WARM_UP = web.AppKey("warm_up", asyncio.Task)  # loads the knowledge index and dictionaries after start
HANDLERS: web.AppKey[HandlerChild] = web.AppKey("handlers")  # the handler child, with `[server] handler_process`


async def create_app(settings: Settings, clock: Clock | None = None,
                     channels: Mapping[str, ChannelSender] | None = None,
                     router: Router[Any] | None = None, engines: Engines | None = None) -> web.Application:
    """The webhook server: the services, then the configured channels (each with its sender), then their
    receivers registered. `channels`: senders given in place of a channel's own; `router`: the product's routes
    unless given (tests give fakes and probes: the services are frozen once built); `engines`: the process's
    expensive objects when it holds some already (a test process's, built once for all its tests)."""
    clock = clock or SystemClock()
    counters: Counter[str] = Counter()
    edge = Edge(settings.server, counters)
    app = web.Application(client_max_size=settings.server.max_body_kb * 1024,
                          middlewares=[ack_timer, edge.middleware],
                          handler_args={"lingering_time": 0,  # a body we gave up on is not waited for (edge.py)
                                        "logger": ServerLog(edge)})  # parser refusals: counted, not tracebacks
    app[EDGE] = edge
    # each configured channel with its API client and sender, then the services with every sender
    services, configured = await build_with_channels(settings, clock, channels, router=router,
                                                     engines=await loaded_engines(engines))
    intake = Intake(services, metrics=counters)
    app[SERVICES], app[INTAKE] = services, intake
    app[TASKS], app[CLAIMS], app[METRICS] = intake.tasks, intake.claims, intake.metrics
    app[HEALTH] = Health(services)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/healthz/ready", healthz)
    app.router.add_get("/healthz/live", liveness)
    app.router.add_get("/metrics", metrics)
    for channel in configured:
        channel.register(app, intake)  # its receiver: the callback routes or the Stream task
    if settings.server.console_port:  # its own process (run_server starts it): here only a redirect
        from app.console_process import redirect_to_console

        redirect_to_console(app, settings.server.console_port)
    else:
        mount_console(app, services)
    app.cleanup_ctx.append(_background)
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    """Outbox sender, reminder ticker and the replay sweep run beside the web server; shutdown drains work first."""
    from app.runtime import warm_up
    from app.scheduler import start_scheduler

    services, intake = app[SERVICES], app[INTAKE]
    stop = asyncio.Event()
    sender = asyncio.create_task(services.outbox.run_forever(services.settings.server.tick_seconds, stop))
    scheduler = app[SCHEDULER] = start_scheduler(services)
    stop_replays = asyncio.Event()
    replays = asyncio.create_task(intake.run_replays(stop_replays))
    app[WARM_UP] = asyncio.create_task(warm_up(services))
    lag = asyncio.create_task(watch_loop())
    listener = listen_for_wake_ups(services, scheduler, stop)
    yield
    app[WARM_UP].cancel()
    lag.cancel()
    stop_replays.set()  # before the drain: a replay submitted now would be refused
    await replays
    await drain_gracefully(services, intake, scheduler, stop, sender)
    if listener is not None:
        await listener
    for channel in services.channels.values():
        close = getattr(channel, "close", None)
        if close is not None:
            await close()
    await services.db.dispose()


@web.middleware
async def ack_timer(request: web.Request, handler: Any) -> web.StreamResponse:
    """salesbot_ack_seconds: a channel callback (POST /<channel>/callback) from arrival to its answer."""
    if request.method != "POST" or not request.path.endswith("/callback"):
        return await handler(request)
    start = time.perf_counter()
    try:
        return await handler(request)
    finally:
        _ack_of(request.path).observe(time.perf_counter() - start)


@lru_cache(maxsize=32)  # any path ending in /callback comes here: bounded
def _ack_of(path: str) -> Any:
    """The ACK histogram of the channel a callback path names (`labels()` looked the child up on every call)."""
    return ACK.labels(channel=path.strip("/").split("/", 1)[0])


def listen_for_wake_ups(services: Services, scheduler: Any, stop: asyncio.Event) -> asyncio.Task[None] | None:
    """PostgreSQL: NOTIFY from any instance (or a CLI command) wakes this one's outbox sender and ticker at
    once; the interval polling stays as the fallback (storage/notify.py). SQLite: in-process wake-ups only."""
    if services.db.is_sqlite:
        return None
    from bot.channels.shared_limits import apply_pause
    from storage.notify import OUTBOX, PAUSE, TICKER, Listener

    def tick_now(_payload: str) -> None:
        job = scheduler.get_job("reminder-tick")
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    listener = Listener(services.settings.database.url, {
        OUTBOX: lambda _p: services.wake_outbox(), TICKER: tick_now,
        PAUSE: partial(apply_pause, services.channels.values())})
    return asyncio.create_task(listener.run(stop))


async def drain_gracefully(services: Services, intake: Intake, scheduler: Any, stop: asyncio.Event,
                           sender: asyncio.Task[None]) -> None:
    """SIGTERM: callbacks are no longer taken (the port is closed); within `[server] shutdown_grace_s` the
    handlers in flight finish and the answers they queued are delivered. What is left stays in the database:
    a claimed callback is replayed and a queued row is sent by the next instance to start (or any other)."""
    grace = services.settings.server.shutdown_grace_s
    deadline = asyncio.get_running_loop().time() + grace
    await scheduler.stop()
    await intake.close(timeout=grace)
    try:  # a file import in the background: its chunks are committed; the one in flight finishes or rolls back
        await services.shared(JOBS).join(max(0.1, deadline - asyncio.get_running_loop().time()))
    except TimeoutError:
        log.warning("shutdown: a background import did not finish; its committed chunks stay")
    stop.set()
    await sender
    left = deadline - asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(max(0.1, left)):
            await services.outbox.drain()
    except TimeoutError:
        log.warning("shutdown: outbox not empty after %.0f s; the rest is delivered after the next start", grace)
    log.info("shutdown: in-flight work drained")


async def healthz(request: web.Request) -> web.Response:
    """Readiness: a bounded write probe (app/health.py). Liveness is /healthz/live."""
    why = await request.app[HEALTH].ready()
    body = {"ok": not why, "pending_jobs": request.app[TASKS].pending, **({"error": why} if why else {})}
    return web.json_response(body, status=503 if why else 200)


async def liveness(request: web.Request) -> web.Response:
    """The process and its event loop answer; no database (a database outage is readiness, not a restart)."""
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: counters kept by the channels, outbox rows by status, background jobs, and the
    latency histograms (bot/metrics.py). docs/operations.md says what each means."""
    from sqlalchemy import func, select

    from storage.models import OutboxMessage
    from storage.ocr_jobs import open_counts

    lines = []
    for name, value in sorted(request.app[METRICS].items()):
        lines += [f"# TYPE salesbot_{name} counter", f"salesbot_{name} {value}"]
    lines += ["# HELP salesbot_outbox Outbox rows by status", "# TYPE salesbot_outbox gauge"]
    async with request.app[SERVICES].db.reader() as conn:  # a read: no write lock on SQLite
        rows = await conn.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        lines += [f'salesbot_outbox{{status="{status}"}} {n}' for status, n in rows]
    lines += ["# HELP salesbot_ocr_jobs Screenshots queued for OCR workers, being read, given up ([ocr] mode = worker)",
              "# TYPE salesbot_ocr_jobs gauge"]
    counts = await open_counts(request.app[SERVICES].db)
    lines += [f'salesbot_ocr_jobs{{state="{state}"}} {n}' for state, n in counts.items()]
    lines += ["# HELP salesbot_background_jobs Inbound messages ACKed and not yet handled",
              "# TYPE salesbot_background_jobs gauge", f"salesbot_background_jobs {request.app[TASKS].pending}"]
    handlers = request.app.get(HANDLERS)  # its histograms (handler, knowledge search, delivery) beside serve's
    return web.Response(text="\n".join(lines) + "\n" + exposition({"handlers": handlers.samples} if handlers else None))


def run_server(settings: Settings, config_path: Path | None = None) -> int:
    """`salesbot serve`; with `[server] console_port`, the web console runs as a child process on that port;
    with `[server] handler_process`, the message handlers run in a child process (both started with the same
    config file and environment)."""
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every tick at INFO
    if not (settings.wecom.enabled or settings.dingtalk.enabled):
        log.warning("no channel configured: fill [wecom] or [dingtalk] (see README); serving /healthz and /metrics")
    tune_gc()
    loop = asyncio.new_event_loop()
    main = loop.create_task(serve(settings, config_path))
    try:  # as web.run_app does, with the connection guard attached to the server between setup and listen
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):  # SIGTERM / SIGINT (handle_signals)
        pass
    finally:
        main.cancel()  # its `finally` runs the app's cleanup (drain_gracefully) with the other tasks still alive
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(main)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return 0


async def serve(settings: Settings, config_path: Path | None) -> None:
    runner = web.AppRunner(await _with_console(settings, config_path), handle_signals=True)
    await runner.setup()
    try:
        assert runner.server is not None
        ConnectionGuard(settings.server, runner.app[METRICS]).attach(runner.server)
        await web.TCPSite(runner, settings.server.host, settings.server.port).start()
        await asyncio.Event().wait()  # until a signal raises GracefulExit
    finally:
        await runner.cleanup()


async def _with_console(settings: Settings, config_path: Path | None) -> web.Application:
    app = await create_app(settings)
    if settings.server.handler_process:
        from app.handler_process import HandlerChild

        handlers = app[HANDLERS] = HandlerChild(settings, config_path)
        app[INTAKE].handoff = handlers

        async def handler_child(_app: web.Application) -> AsyncIterator[None]:
            handlers.start()  # messages are handled here until it says it is ready
            yield
            await handlers.stop(settings.server.shutdown_grace_s + 5)  # it drains its jobs and outbox first

        app.cleanup_ctx.append(handler_child)
    if settings.server.console_port:
        from app.console_process import ConsoleChild

        child = ConsoleChild(settings, config_path)

        async def console(_app: web.Application) -> AsyncIterator[None]:
            child.start()  # after this process's start-up: migrations checked, first-start seeding done
            yield
            await child.stop()

        app.cleanup_ctx.append(console)
    return app
