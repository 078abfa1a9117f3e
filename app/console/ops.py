"""Team, leads, outbox, members, calendar, taxonomy and system pages."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.RouteDef]:
    return []
