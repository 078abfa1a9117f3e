"""Console sign-in inside WeCom's browser (网页授权 code → userid) and DingTalk (免登 authCode → userid),
against the fake platform APIs on 127.0.0.1."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.channels import build_with_channels
from bot.clock import ManualClock
from bot.config import DingtalkSettings, Settings, WecomSettings
from tests.console_support import start_client
from tests.fakes.dingtalk_api import FakeDingtalk
from tests.fakes.wecom_api import FakeWecom


async def _client(settings: Settings, clock: ManualClock) -> Any:
    # as the server and the console's process do: the sign-in uses the channel's client
    services, _channels = await build_with_channels(settings, clock)
    return services, await start_client(services)


async def test_wecom_browser_signs_in_with_the_oauth_code(settings: Settings, clock: ManualClock) -> None:
    async with FakeWecom() as fake:
        cfg = WecomSettings(corp_id=fake.corp_id, agent_id=1000002, secret=fake.secret, token="t",
                            encoding_aes_key="k" * 43, api_base=fake.base_url)
        services, client = await _client(replace(settings, wecom=cfg), clock)
        try:
            first = await client.get("/admin/team", allow_redirects=False,
                                     headers={"User-Agent": "Mozilla/5.0 wxwork/4.1 MicroMessenger"})
            assert first.status == 302
            assert first.headers["Location"].startswith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=")
            assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fadmin%2Foauth%2Fwecom" in first.headers["Location"]
            fake.oauth_codes["CODE-M1"] = "manager01"
            fake.oauth_codes["CODE-R1"] = "rep01"
            signed = await client.get("/admin/oauth/wecom?code=CODE-M1&state=console")
            assert signed.status == 200 and "登录成功" in await signed.text()
            assert "SameSite=Strict" in signed.headers["Set-Cookie"]
            assert (await client.get("/admin/team")).status == 200
            assert fake.calls("auth/getuserinfo")[0].query["code"] == "CODE-M1"
            client.session.cookie_jar.clear()
            reused = await client.get("/admin/oauth/wecom?code=CODE-M1")
            assert reused.status == 403 and "身份验证没有通过" in await reused.text()
            rep = await client.get("/admin/oauth/wecom?code=CODE-R1")
            assert rep.status == 403 and "主管和管理员" in await rep.text()
            assert (await client.get("/admin/team")).status == 401
        finally:
            await client.close()
            await services.db.dispose()


async def test_dingtalk_auth_code_signs_in(settings: Settings, clock: ManualClock) -> None:
    fake = FakeDingtalk()
    base = await fake.start()
    try:
        cfg = DingtalkSettings(client_id=fake.client_id, client_secret=fake.client_secret, api_base=base,
                               oapi_base=base)
        services, client = await _client(replace(settings, dingtalk=cfg), clock)
        try:
            fake.auth_codes["AUTH-A"] = "admin01"
            signed = await client.get("/admin/oauth/dingtalk?code=AUTH-A")
            assert signed.status == 200 and "登录成功" in await signed.text()
            assert (await client.get("/admin/kb")).status == 200
            client.session.cookie_jar.clear()
            forged = await client.get("/admin/oauth/dingtalk?code=made-up")
            assert forged.status == 403
            assert (await client.get("/admin/kb")).status == 401
        finally:
            await client.close()
            await services.db.dispose()
    finally:
        await fake.close()


async def test_oauth_routes_are_off_without_the_channel(settings: Settings, clock: ManualClock) -> None:
    services, client = await _client(settings, clock)
    try:
        assert (await client.get("/admin/oauth/wecom?code=x")).status == 404
        assert (await client.get("/admin/oauth/dingtalk?code=x")).status == 404
        plain = await client.get("/admin/team", headers={"User-Agent": "wxwork"}, allow_redirects=False)
        assert plain.status == 401  # no WeCom configured: the link is the way in
    finally:
        await client.close()
        await services.db.dispose()
