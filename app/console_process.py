"""The web console in a process of its own: `salesbot console`, or a child of `salesbot serve` (`[server]
console_port`).

In `serve`'s process a console page's rendering, ORM rows and chart share the GIL and the event loop with the
webhook: two busy console users raised the callbacks' ACK p99 from 4 ms to 28 ms. In its own process the console
costs the webhook nothing but a core's share. It reads and writes the same database: every cache the two keep
(knowledge index, org, boards) is either checked against the database per use or expires within seconds, and
rows it queues (a 改派's notice) are delivered by its own outbox sender, claimed like any instance's.

`serve` starts the child after its own start-up (migrations, seeding), restarts it if it dies, stops it on
shutdown; the child exits by itself when its parent is gone (even after `kill -9`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from app.console import mount_console
from app.console.core import SERVICES
from bot.clock import SystemClock
from bot.config import Settings

log = logging.getLogger("salesbot.console")

RESTART_DELAY_S = 2.0  # a child that died is started again after this long
PARENT_CHECK_S = 1.0  # how often a child looks whether its parent is still there


async def create_console_app(settings: Settings) -> web.Application:
    """/admin/ and a liveness probe; the outbox sender for the rows console actions queue."""
    from app.channels import build_with_channels
    from app.runtime import warm_up

    # the channels for their senders, for the rows console actions queue (nothing is received here)
    services, _channels = await build_with_channels(settings, SystemClock())
    app = web.Application()
    app[SERVICES] = services
    app.router.add_get("/healthz/live", _live)
    app.router.add_get("/", _to_console)
    mount_console(app, services, warm_teams=True)

    async def background(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        sender = asyncio.create_task(services.outbox.run_forever(settings.server.tick_seconds, stop))
        warming = asyncio.create_task(warm_up(services))  # the knowledge index of 命中测试 and the card list
        yield
        warming.cancel()
        stop.set()
        await sender
        for channel in services.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()
        await services.db.dispose()

    app.cleanup_ctx.append(background)
    return app


async def _live(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _to_console(request: web.Request) -> web.Response:
    raise web.HTTPFound("/admin/")


def run_console(settings: Settings, parent_pid: int | None = None) -> int:
    """Serve the console on `[server] console_port` (its `port` when that is 0) until SIGTERM, or until
    `parent_pid` is gone."""
    port = settings.server.console_port or settings.server.port

    async def app() -> web.Application:
        console = await create_console_app(settings)
        if parent_pid is not None:
            console.cleanup_ctx.append(_exit_with(parent_pid))
        return console

    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(app(), host=settings.server.host, port=port, print=None)
    return 0


def _exit_with(parent_pid: int) -> Callable[[web.Application], AsyncIterator[None]]:
    async def watch(_app: web.Application) -> AsyncIterator[None]:
        async def orphaned() -> None:
            while os.getppid() == parent_pid:  # noqa: ASYNC110 - no event tells a child its parent died
                await asyncio.sleep(PARENT_CHECK_S)
            log.warning("console: serve (pid %d) is gone; stopping", parent_pid)
            os.kill(os.getpid(), signal.SIGTERM)

        task = asyncio.create_task(orphaned())
        yield
        task.cancel()

    return watch


class ConsoleChild:
    """`serve`'s console child: started, kept running, stopped."""

    def __init__(self, settings: Settings, config_path: Path | None) -> None:
        self.settings, self.config_path = settings, config_path
        self.proc: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "app.cli", "console", "--exit-with", str(os.getpid())]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        return cmd

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running())

    async def _keep_running(self) -> None:
        env = {**os.environ, "SALESBOT_SERVER_CONSOLE_PORT": str(self.settings.server.console_port)}
        while not self._stopping:
            self.proc = await asyncio.create_subprocess_exec(*self.command(), env=env, stdin=asyncio.subprocess.DEVNULL)
            log.info("console: serving /admin/ on port %d (pid %d)", self.settings.server.console_port, self.proc.pid)
            code = await self.proc.wait()
            if self._stopping:
                return
            log.error("console process exited with %s; starting it again in %.0f s", code, RESTART_DELAY_S)
            await asyncio.sleep(RESTART_DELAY_S)

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                log.warning("console process did not stop within %.0f s; killed", timeout)
                proc.kill()
                await proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def redirect_to_console(app: web.Application, console_port: int) -> None:
    """`serve`'s own /admin/…: to the same path on the console's port (same host as asked)."""

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(request.url.with_port(console_port))

    app.router.add_route("*", "/admin", moved)
    app.router.add_route("*", "/admin/{tail:.*}", moved)
