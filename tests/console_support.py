"""Helpers for the web console tests: own fixture cards, a console app on the test services, log-in."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.console import mount_console
from bot.login_links import issue_token
from bot.services import Services
from handlers.knowledge import knowledge_base
from knowledge.importer import import_cards_into
from knowledge.schema import parse_card

# Invented cards (our own wording; nothing from the evaluation sets).
CARDS = [
    {"id": "W1", "title": "学校说经费要等下学期", "industry": "教育", "objection": "预算",
     "talk_track": "理解经费节奏。可以先做一个班级试点，费用计入本学期的耗材预算，下学期再扩展到全校。",
     "keywords": "经费,下学期"},
    {"id": "W2", "title": "工厂担心上线影响生产", "industry": "制造", "objection": "交付",
     "talk_track": "我们安排在周末停线窗口切换，并保留旧系统并行两周，产线不会停。", "keywords": "停线,并行"},
    {"id": "W3", "title": "财务问能不能分期付款", "role": "财务", "objection": "价格",
     "talk_track": "支持按季度分四期付款，首期百分之三十，合同里写清每期对应的交付物。", "keywords": "分期,首付"},
]


async def seed_cards(services: Services, cards: list[dict[str, Any]] | None = None) -> None:
    kb = knowledge_base(services)
    parsed = [parse_card(c, kb.taxonomy.canonical_or_error) for c in (cards or CARDS)]
    await import_cards_into(services.db, kb, parsed, services.clock.now())


def console_app(services: Services) -> web.Application:
    app = web.Application(client_max_size=services.settings.server.max_body_kb * 1024)
    mount_console(app, services)
    return app


async def start_client(services: Services) -> TestClient:
    client = TestClient(TestServer(console_app(services)))
    await client.start_server()
    return client


async def token_for(services: Services, user_id: str) -> str:
    async with services.db.session() as session:
        return await issue_token(session, user_id, services.clock.now())


async def login(client: TestClient, services: Services, user_id: str) -> None:
    """Open a fresh link the way a browser does (the page, then its POST) and keep the session cookie."""
    token = await token_for(services, user_id)
    page = await client.get(f"/admin/login?t={token}")
    assert page.status == 200
    done = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert done.status == 303, await done.text()


def csrf_of(html: str) -> str:
    m = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


async def csrf(client: TestClient, path: str = "/admin/kb") -> str:
    resp = await client.get(path)
    return csrf_of(await resp.text())


async def page_as(services: Services, user_id: str, path: str) -> str:
    """The console page at `path` as `user_id` sees it, through a real login."""
    client = await start_client(services)
    try:
        await login(client, services, user_id)
        return await (await client.get(path)).text()
    finally:
        await client.close()
