"""The HTTP edge: every POST body is read here, within a deadline and a cap on bodies still arriving.

- A body that does not arrive within `[server] read_timeout_s` gets 408 and the connection is closed, so a slow
  client cannot hold a socket (and a file descriptor) for ever.
- At most `[server] max_slow_reads` bodies may be arriving at once; beyond that a request waiting for its body
  gets 503 at once (a callback whose body is already here never waits for that).
- A client that goes away mid-body or before the answer is one INFO line, not an ERROR traceback.
- A body over `[server] max_body_kb` is 413 with a WARNING line naming the path.
The handler's own `request.read()` then returns the body already read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import ClientPayloadError, web

from bot.config import ServerSettings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Edge:
    def __init__(self, settings: ServerSettings, metrics: Counter[str]) -> None:
        self.settings = settings
        self.metrics = metrics
        self.reading = 0  # bodies still arriving

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and request.body_exists:
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
            log.info("%s %s: %d bodies already arriving; answered 503", request.method, request.path, self.reading)
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
            log.info("%s %s from %s: body not received within %.0f s; closed", request.method, request.path,
                     request.remote, self.settings.read_timeout_s)
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

    def gone(self, request: web.Request, exc: BaseException) -> web.StreamResponse:
        self.metrics["edge_client_gone"] += 1
        log.info("%s %s from %s: client went away (%s)", request.method, request.path, request.remote,
                 type(exc).__name__)
        return _close(web.Response(status=400))


def _close(response: web.StreamResponse) -> web.StreamResponse:
    response.force_close()
    return response
