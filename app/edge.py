"""The HTTP edge: request heads and bodies arrive within deadlines, and slow clients are capped.

- A connection that has not sent a complete request head (request line and headers) within
  `[server] header_timeout_s` is closed (slowloris: a client trickling header bytes held its socket until aiohttp's
  75 s keep-alive check). At most `[server] max_waiting_connections` may wait for their head at once; a new one
  beyond that closes the oldest waiting one (a real client sends its head at once, so it is never the oldest).
  `ConnectionGuard`, attached to the aiohttp server by `salesbot serve`.
Every POST body to serve's own routes (the channel callbacks) is read here, within a deadline and a cap on bodies
still arriving. The web console, a sub-application when serve hosts it, reads and limits its own bodies: its file
uploads stream through `request.multipart()`, which finds nothing once the body has been read (audit 18b F1: every
console upload answered 500, "Could not find starting boundary").
- A body that does not arrive within `[server] read_timeout_s` gets 408 and the connection is closed, so a slow
  client cannot hold a socket (and a file descriptor) for ever.
- At most `[server] max_slow_reads` bodies may be arriving at once; beyond that a request waiting for its body
  gets 503 at once (a callback whose body is already here never waits for that).
- A client that goes away mid-body or before the answer is one INFO line, not an ERROR traceback.
- A body over `[server] max_body_kb` is 413 with a WARNING line naming the path.
- A request aiohttp's own parser refuses (a raw non-UTF-8 byte in the URL, NUL in a header, an over-long header,
  a negative Content-Length, a bad chunk size) is answered 400 by aiohttp and counted (`edge_malformed`), said once
  at INFO: aiohttp logged an ERROR traceback for each. `ServerLog`, given to aiohttp as the server's `logger`.
The handler's own `request.read()` then returns the body already read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger
from aiohttp.web_protocol import RequestHandler

from bot.config import ServerSettings
from bot.faults import FailureLog

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Edge:
    def __init__(self, settings: ServerSettings, metrics: Counter[str]) -> None:
        self.settings = settings
        self.metrics = metrics
        self.reading = 0  # bodies still arriving
        # thousands of slow or vanishing clients: one INFO line per cause and a summary a minute, not one each
        self.clients = FailureLog(log, "client connections", level=logging.INFO)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and request.body_exists and serves_route(request):
            refused = await self.read_body(request)
            if refused is not None:
                return refused
        try:
            return await handler(request)
        except (ConnectionResetError, ClientPayloadError) as exc:
            return self.gone(request, exc)

    async def read_body(self, request: web.Request) -> web.StreamResponse | None:
        """None when the body is read (and cached on the request); else the answer for the client."""
        if request.content.is_eof() or request.content.total_bytes >= (request.content_length or 0) > 0:
            return await self._read(request)  # all here already: no deadline, no slot
        if self.reading >= self.settings.max_slow_reads:
            self.metrics["edge_busy"] += 1
            self.clients.failed(SlowClient(f"{self.reading} bodies already arriving; answered 503"), request.path)
            return _close(web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "5"}))
        self.reading += 1
        try:
            async with asyncio.timeout(self.settings.read_timeout_s):
                return await self._read(request)
        except asyncio.CancelledError:  # the server cancels handlers of closed connections (handler_cancellation)
            self.gone(request, ConnectionResetError("connection lost, handler cancelled"))
            raise
        except TimeoutError:
            self.metrics["edge_read_timeout"] += 1
            self.clients.failed(SlowClient(f"body not received within {self.settings.read_timeout_s:g} s; closed"),
                                f"{request.method} {request.path} from {request.remote}")
            return _close(web.json_response({"error": "request timeout"}, status=408))
        finally:
            self.reading -= 1

    async def _read(self, request: web.Request) -> web.StreamResponse | None:
        try:
            await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.metrics["edge_too_large"] += 1
            log.warning("%s %s from %s: body over %d KB; answered 413", request.method, request.path,
                        request.remote, self.settings.max_body_kb)
            return _close(web.json_response({"error": "body too large"}, status=413))
        except (ConnectionResetError, ClientPayloadError) as exc:
            return self.gone(request, exc)
        return None

    def malformed(self, exc: HttpProcessingError) -> None:
        self.metrics["edge_malformed"] += 1
        self.clients.failed(SlowClient("malformed HTTP request; answered 400"), type(exc).__name__)

    def gone(self, request: web.Request, exc: BaseException) -> web.StreamResponse:
        self.metrics["edge_client_gone"] += 1
        self.clients.failed(SlowClient(f"client went away ({type(exc).__name__})"),
                            f"{request.method} {request.path} from {request.remote}")
        return _close(web.Response(status=400))


def serves_route(request: web.Request) -> bool:
    """The route is serve's own, not a sub-application's (the console reads its own bodies: module docstring)."""
    return len(request.match_info.apps) == 1


def _close(response: web.StreamResponse) -> web.StreamResponse:
    response.force_close()
    return response


class SlowClient(Exception):
    """Why a waiting connection was closed (the FailureLog's cause: logged once, then counted)."""


class ServerLog(logging.LoggerAdapter):
    """aiohttp's server logger (`handler_args["logger"]`): a request its parser refused goes to `Edge.malformed`;
    anything else (a handler's exception, answered 500) is logged as aiohttp would."""

    def __init__(self, edge: Edge) -> None:
        super().__init__(server_logger, {})
        self.edge = edge

    def log(self, level: int, msg: object, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.edge.malformed(exc_info)
            return
        super().log(level, msg, *args, exc_info=exc_info, **kwargs)


class ConnectionGuard:
    """Bounds connections that have not sent a complete request head: in time and in number (module docstring)."""

    def __init__(self, settings: ServerSettings, metrics: Counter[str]) -> None:
        self.timeout_s, self.cap, self.metrics = settings.header_timeout_s, settings.max_waiting_connections, metrics
        self.waiting: dict[RequestHandler, asyncio.TimerHandle] = {}  # oldest first
        self.closed = FailureLog(log, "slow clients", level=logging.INFO)  # no traceback: SlowClient is raised nowhere

    def attach(self, server: web.Server) -> None:
        """Watch every connection of `server` from its accept to its first request head."""
        made, lost, make_request = server.connection_made, server.connection_lost, server.request_factory

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            self.arrived(handler)

        def connection_lost(handler: RequestHandler, exc: BaseException | None = None) -> None:
            self.done(handler)
            lost(handler, exc)

        def request_factory(message: Any, payload: Any, protocol: RequestHandler, *rest: Any) -> web.BaseRequest:
            self.done(protocol)  # its head is complete
            return make_request(message, payload, protocol, *rest)

        setattr(server, "connection_made", connection_made)  # noqa: B010 - per instance: aiohttp calls these
        setattr(server, "connection_lost", connection_lost)  # noqa: B010
        server.request_factory = request_factory

    def arrived(self, handler: RequestHandler) -> None:
        if len(self.waiting) >= self.cap:
            self.close(next(iter(self.waiting)), "edge_waiting_evicted",
                       f"{self.cap} connections already waiting for their request head; the oldest closed")
        loop = asyncio.get_running_loop()
        self.waiting[handler] = loop.call_later(self.timeout_s, self.expire, handler)

    def expire(self, handler: RequestHandler) -> None:
        if handler in self.waiting:
            self.close(handler, "edge_head_timeout", f"no complete request head within {self.timeout_s:g} s; closed")

    def done(self, handler: RequestHandler) -> None:
        timer = self.waiting.pop(handler, None)
        if timer is not None:
            timer.cancel()

    def close(self, handler: RequestHandler, counter: str, why: str) -> None:
        self.done(handler)
        self.metrics[counter] += 1
        self.closed.failed(SlowClient(why))
        handler.force_close()
