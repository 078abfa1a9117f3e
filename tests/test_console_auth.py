"""Web console log-in and authorisation over HTTP: links from chat and the CLI, sessions, roles, CSRF."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from app.runtime import build_services
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.services import Services
from storage.migrate import upgrade
from storage.models import AuditLog
from tests.conftest import Transcript, run_cli
from tests.console_support import csrf, login, start_client, token_for


@pytest.fixture
async def client(services: Services) -> Any:
    client = await start_client(services)
    yield client
    await client.close()


def _link(text: str) -> str:
    return text[text.index("http"):].split()[0]


async def test_chat_word_gives_a_manager_a_link_that_opens_a_session(services: Services, chat: ChatSession,
                                                                      transcript: Transcript, client: Any) -> None:
    await chat.handle_line("/as manager01")
    await chat.handle_line("后台")
    text = transcript.last("manager01")["text"]
    assert "10 分钟" in text and "/admin/login?t=" in text
    path = _link(text).split("127.0.0.1:8080", 1)[1]  # [server] public_url default: http://127.0.0.1:<port>
    page = await client.get(path)
    assert page.status == 200 and "进入管理后台" in await page.text()
    token = path.split("t=", 1)[1]
    done = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    cookie = done.headers["Set-Cookie"]
    assert done.status == 303 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    team = await client.get("/admin/team")
    assert team.status == 200 and "团队看板" in await team.text()


async def test_a_rep_gets_no_link_and_no_page(services: Services, chat: ChatSession, transcript: Transcript,
                                             client: Any) -> None:
    await chat.handle_line("后台")  # rep01
    assert "/admin/" not in transcript.last("rep01")["text"]
    assert "主管和管理员" in transcript.last("rep01")["text"]
    token = await token_for(services, "rep01")  # even a correctly signed link for a rep opens nothing
    refused = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert refused.status == 403 and "主管和管理员" in await refused.text()
    assert (await client.get("/admin/kb")).status == 401


async def test_expired_reused_and_forged_links_are_refused(services: Services, client: Any, clock: ManualClock,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    token = await token_for(services, "admin01")
    ok = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert ok.status == 303
    client.session.cookie_jar.clear()
    reused = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert reused.status == 403 and "已经用过" in await reused.text()
    opened = await client.get(f"/admin/login?t={token}")  # opening the used link answers 403 at once
    assert opened.status == 403 and "已经用过" in await opened.text()
    assert "console login refused (already used) for admin01" in caplog.text
    for garbage in ("abc", "x.y", token[:-3] + "zzz"):
        page = await client.get("/admin/login", params={"t": garbage})
        assert page.status == 403 and "无效" in await page.text(), garbage
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    bad = await client.post("/admin/login", data={"t": forged}, allow_redirects=False)
    assert bad.status == 403 and "无效" in await bad.text()
    other_user = token.split(".")[0].replace("YWRtaW4wMS", "bWFuYWdlcjAx") + "." + token.split(".")[1]
    assert (await client.post("/admin/login", data={"t": other_user}, allow_redirects=False)).status == 403
    old = await token_for(services, "admin01")
    clock.advance(timedelta(minutes=11))
    opened = await client.get("/admin/login", params={"t": old})
    assert opened.status == 410 and "过期" in await opened.text()
    expired = await client.post("/admin/login", data={"t": old}, allow_redirects=False)
    assert expired.status == 410 and "过期" in await expired.text()
    assert "Set-Cookie" not in expired.headers
    assert "console login refused (expired)" in caplog.text and "already used" in caplog.text


async def test_logout_ends_the_session_and_a_replayed_cookie_is_refused(services: Services, client: Any) -> None:
    await login(client, services, "admin01")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/admin/"))["salesbot_console"].value
    token = await csrf(client)
    out = await client.post("/admin/logout", data={"_csrf": token})
    page = await out.text()
    assert out.status == 200 and "已退出" in page
    assert "赵管理" not in page and "退出</button>" not in page and "/admin/kb" not in page  # no name, no nav
    replay = await client.get("/admin/kb", cookies={"salesbot_console": cookie})
    assert replay.status == 401
    async with services.db.session() as session:
        actions = list(await session.scalars(select(AuditLog.action).where(AuditLog.actor_id == "admin01")))
    assert actions == ["console.login", "console.logout"]


async def test_a_cookie_from_another_browser_is_refused(services: Services, client: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    await login(client, services, "admin01")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/admin/"))["salesbot_console"].value
    caplog.set_level(logging.WARNING, "salesbot.console")
    stolen = await client.get("/admin/kb", cookies={"salesbot_console": cookie}, headers={"User-Agent": "other/1.0"})
    assert stolen.status == 401
    assert "another browser" in caplog.text
    assert (await client.get("/admin/kb")).status == 401  # the session is gone for its owner too: log in again


async def test_idle_session_expires(services: Services, client: Any, clock: ManualClock) -> None:
    await login(client, services, "manager01")
    assert (await client.get("/admin/team")).status == 200
    clock.advance(timedelta(minutes=services.settings.server.console_idle_minutes + 1))
    assert (await client.get("/admin/team")).status == 401


async def test_post_without_csrf_token_changes_nothing(services: Services, client: Any) -> None:
    from tests.console_support import seed_cards

    await seed_cards(services)
    await login(client, services, "admin01")
    form = {"title": "改掉", "talk_track": "不该保存", "version": "1"}
    refused = await client.post("/admin/kb/W1", data=form)
    assert refused.status == 403 and "没有做任何修改" in await refused.text()
    wrong = await client.post("/admin/kb/W1", data={**form, "_csrf": "x" * 32})
    assert wrong.status == 403
    page = await (await client.get("/admin/kb/W1")).text()
    assert "学校说经费要等下学期" in page and "不该保存" not in page


async def test_managers_cannot_open_admin_pages(services: Services, client: Any) -> None:
    await login(client, services, "manager01")
    for path in ("/admin/outbox", "/admin/gaps", "/admin/system", "/admin/calendar", "/admin/kb/import"):
        page = await client.get(path)
        assert page.status == 403 and "管理员权限" in await page.text(), path
    assert (await client.get("/admin/kb")).status == 200  # managers read the knowledge base


async def test_cli_link_works_against_the_same_database(services: Services, client: Any) -> None:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = await asyncio.to_thread(run_cli, services.settings.database.url, "admin", "link", "admin01")
    assert rc == 0
    token = out.getvalue().strip().split("t=", 1)[1]
    done = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert done.status == 303
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "admin", "link", "rep02") == 1


async def test_links_and_sessions_on_both_backends(db_url: str, tmp_path: Any, clock: ManualClock) -> None:
    base = Settings()
    settings = replace(base, database=DatabaseSettings(url=db_url), server=replace(base.server, warm_up=False),
                       knowledge=replace(base.knowledge, seed_demo=False))
    await upgrade(db_url)
    services = await build_services(settings, clock, {})
    client = await start_client(services)
    try:
        token = await token_for(services, "manager02")
        assert (await client.post("/admin/login", data={"t": token}, allow_redirects=False)).status == 303
        assert (await client.get("/admin/leads")).status == 200
        client.session.cookie_jar.clear()
        assert (await client.post("/admin/login", data={"t": token}, allow_redirects=False)).status == 403
    finally:
        await client.close()
        await services.db.dispose()


async def test_a_megabyte_field_is_refused_by_every_form_and_changes_nothing(
        services: Services, client: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16, bad input: form fields of 1 MB, on every state-changing form (not only the card editor)."""
    from tests.console_support import seed_cards
    from tests.test_console_kb import _announce_upload

    await seed_cards(services)
    await login(client, services, "admin01")
    token = await csrf(client)
    async with services.db.session() as session:
        audits = len(list(await session.scalars(select(AuditLog.id))))
    huge = "长" * 400_000  # 1.2 MB of UTF-8
    forms = {"/admin/login": {"t": huge}, "/admin/logout": {"note": huge}, "/admin/kb/preview": {"title": huge},
             "/admin/kb/W1": {"version": "1", "talk_track": huge}, "/admin/kb/W1/active": {"active": "0", "x": huge},
             "/admin/gaps/pin": {"q": huge, "card": "W1"}, "/admin/kb/import/commit": {"token": huge},
             "/admin/leads/1": {"action": "extend", "reason": huge}, "/admin/outbox": {"action": "retry", "id": huge},
             "/admin/members/offboard": {"user": huge, "to": "rep02"}, "/admin/calendar": {"day": huge},
             "/admin/taxonomy": {"axis": "industry", "action": "synonym", "word": huge, "value": "教育"},
             "/admin/ramp/enroll": {"user": huge}, "/admin/ramp/confirm": {"user": huge},
             "/admin/ramp/path": {"text": huge}, "/admin/renewals/1": {"x": huge}}
    caplog.set_level(logging.WARNING, "salesbot.console")
    for path, form in forms.items():
        refused = await client.post(path, data={"_csrf": token, **form}, allow_redirects=False)
        assert refused.status == 413 and "没有保存任何修改" in await refused.text(), path
    members = await _announce_upload(client, f"/admin/members/import?_csrf={token}", 200 * 1024 * 1024)
    assert members.startswith("HTTP/1.1 303") and "%E4%B8%8D%E8%83%BD%E8%B6%85%E8%BF%87" in members  # 不能超过 2 MB
    async with services.db.session() as session:
        assert len(list(await session.scalars(select(AuditLog.id)))) == audits
    assert caplog.text.count("body too large") == len(forms)
    assert (await client.get("/admin/kb")).status == 200  # still signed in: nothing was logged out either


async def test_a_cookie_replayed_from_another_browser_after_log_out_is_refused_and_logged(
        services: Services, client: Any, caplog: pytest.LogCaptureFixture) -> None:
    await login(client, services, "manager01")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/admin/"))["salesbot_console"].value
    await client.post("/admin/logout", data={"_csrf": await csrf(client, "/admin/team")})
    caplog.set_level(logging.WARNING, "salesbot.console")
    for agent in ("other/1.0", "Mozilla/5.0 (Windows NT 10.0) wxwork/4.1"):
        replay = await client.get("/admin/team", cookies={"salesbot_console": cookie}, headers={"User-Agent": agent})
        assert replay.status == 401 and "请先登录" in await replay.text()
        assert "Set-Cookie" not in replay.headers
    assert caplog.text.count("refused: unknown or logged-out session") == 2
