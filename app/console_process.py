"""The web console in a process of its own: `salesbot console`, or a child of `salesbot serve` (`[server]
console_port`).

In `serve`'s process a console page's rendering, ORM rows and chart share the GIL and the event loop with the
webhook: two busy console users raised the callbacks' ACK p99 from 4 ms to 28 ms. In its own process the console
costs the webhook nothing but a core's share. It reads and writes the same database: every cache the two keep
(knowledge index, org, boards) is either checked against the database per use or expires within seconds, and
rows it queues (a 改派's notice) are delivered by its own outbox sender, claimed like any instance's.

`serve` starts the child after its own start-up (migrations, seeding), restarts it if it dies, stops it on
shutdown (app/children.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from app.children import Child, exit_with
from app.console import mount_console
from app.console.core import SERVICES
from bot.clock import SystemClock
from bot.config import Settings

log = logging.getLogger("salesbot.console")


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
        task = asyncio.create_task(exit_with(parent_pid, "console"))
        yield
        task.cancel()

    return watch


class ConsoleChild(Child):
    """`serve`'s console child: `salesbot console` on `[server] console_port`."""

    name = "console"

    def args(self) -> list[str]:
        return ["console"]

    def env(self) -> dict[str, str]:
        return {**os.environ, "SALESBOT_SERVER_CONSOLE_PORT": str(self.settings.server.console_port)}


def redirect_to_console(app: web.Application, console_port: int) -> None:
    """`serve`'s own /admin/…: to the same path on the console's port (same host as asked)."""

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(request.url.with_port(console_port))

    app.router.add_route("*", "/admin", moved)
    app.router.add_route("*", "/admin/{tail:.*}", moved)
