"""Console sign-in inside DingTalk (免登): the page DingTalk's browser gets asks DingTalk's JSAPI for an authCode
and signs in with it. Real headless Chromium; the JSAPI script (DingTalk's, loaded from its CDN) is served by the
test as a fake of the platform, and the code exchange goes to the fake DingTalk API on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from app.channels import build_with_channels
from bot.clock import ManualClock
from bot.config import DingtalkSettings, Settings
from tests.console_support import console_app
from tests.fakes.dingtalk_api import FakeDingtalk
from tests.test_console_browser import CHROMIUM, CHROMIUM_ARGS

async_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists(),
                                reason="Chromium not installed at /usr/bin/chromium (scripts/setup installs it)")

CORP = "dingcorp-test"
JSAPI = "https://jsapi.example.test/dingtalk.open.js"
IN_DINGTALK = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/120 Mobile DingTalk/7.6.0"
# DingTalk's JSAPI as its container answers: the code is the one the fake API knows for the corp it was asked for
FAKE_JSAPI = """window.dd = {ready: function (f) { setTimeout(f, 0); }, runtime: {permission: {
  requestAuthCode: function (o) {
    if (window.DENY) { o.onFail({errorMessage: "denied"}); return; }
    o.onSuccess({code: o.corpId === "CORP" ? "AUTH-" + window.WHO : "wrong-corp"});
  }}}};""".replace("CORP", CORP)


@pytest.fixture
async def site(settings: Settings, clock: ManualClock) -> AsyncIterator[tuple[str, FakeDingtalk]]:
    fake = FakeDingtalk()
    base = await fake.start()
    cfg = DingtalkSettings(client_id=fake.client_id, client_secret=fake.client_secret, api_base=base,
                           oapi_base=base, corp_id=CORP, jsapi_url=JSAPI)
    # as the console's process does: the sign-in uses the channel's client
    services, _channels = await build_with_channels(replace(settings, dingtalk=cfg), clock)
    runner = web.AppRunner(console_app(services), access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", fake
    finally:
        await runner.cleanup()
        await services.db.dispose()
        await fake.close()


async def _open_in_dingtalk(url: str, who: str, deny: bool = False) -> tuple[str, str]:
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(user_agent=IN_DINGTALK, locale="zh-CN")
            context.set_default_timeout(15_000)

            async def jsapi(route: Any) -> None:
                await route.fulfill(content_type="application/javascript", body=FAKE_JSAPI)

            await context.route(JSAPI, jsapi)
            await context.add_init_script(f"window.WHO = {who!r}; window.DENY = {str(deny).lower()};")
            page = await context.new_page()
            await page.goto(url + "/admin/team")
            if deny:
                await page.wait_for_selector("#dingtalk-failed", state="visible")
            else:
                await page.wait_for_load_state("networkidle")
                await page.wait_for_function("!document.getElementById('dingtalk-sign-in')")
            return page.url, await page.inner_text("body")
        finally:
            await browser.close()


async def test_a_manager_inside_dingtalk_is_signed_in_without_a_link(site: tuple[str, FakeDingtalk]) -> None:
    url, fake = site
    fake.auth_codes["AUTH-manager01"] = "manager01"
    where, body = await _open_in_dingtalk(url, "manager01")
    assert "退出" in body and "主管" in body and "/admin/" in where
    assert [c.body["code"] for c in fake.calls("getuserinfo")] == ["AUTH-manager01"]  # the corp id reached the JSAPI


async def test_a_rep_or_a_refusal_inside_dingtalk_gets_a_chinese_answer(site: tuple[str, FakeDingtalk]) -> None:
    url, fake = site
    fake.auth_codes["AUTH-rep01"] = "rep01"
    _where, body = await _open_in_dingtalk(url, "rep01")
    assert "网页后台供主管和管理员使用" in body and "退出" not in body
    _where, body = await _open_in_dingtalk(url, "manager01", deny=True)
    assert "钉钉没有确认你的身份" in body and "退出" not in body
