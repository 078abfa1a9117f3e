"""Log-in without a link inside the chat apps' own browsers.

- WeCom (网页授权): an unauthenticated page opened in WeCom's browser is sent to WeCom's OAuth2 authorize URL;
  WeCom redirects back to /admin/oauth/wecom?code=…, and the code is exchanged for the member's userid.
- DingTalk (免登): the micro-app's page obtains an authCode (dd.runtime.permission.requestAuthCode) and opens
  /admin/oauth/dingtalk?code=…; the code is exchanged for the staff member's userid.
Either way the userid must be an active manager or admin, as with a link. The API clients are the channels' own
(app/channels.py: one client and one token cache per channel and process); a channel that is off has no route.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.console import sessions
from app.console.core import audit_detail, log, message_page, render, services_of
from bot.services import Services
from storage.activity import add_audit
from storage.models import User

REP_PAGE = "网页后台供主管和管理员使用。你的线索、跟进和话术都可以直接在聊天里查看 🙂"


def _api(services: Services, name: str) -> Any:
    """The enabled channel's own client: app/channels.py built it with the channel's sender (in the server and
    in the console's process alike); None when the channel is off."""
    return getattr(services.channels.get(name), "api", None)


async def oauth_wecom(request: web.Request) -> web.Response:
    services = services_of(request)
    api = _api(services, "wecom") if services.settings.wecom.enabled else None
    if api is None:
        return message_page(request, "未启用", "企业微信没有配置，请用聊天里的「后台」链接登录。", 404)
    return await _finish(request, "wecom", api.oauth_userid)


async def oauth_dingtalk(request: web.Request) -> web.Response:
    services = services_of(request)
    api = _api(services, "dingtalk") if services.settings.dingtalk.enabled else None
    if api is None:
        return message_page(request, "未启用", "钉钉没有配置，请用聊天里的「后台」链接登录。", 404)
    return await _finish(request, "dingtalk", api.auth_code_userid)


async def _finish(request: web.Request, channel: str, exchange: Any) -> web.Response:
    services = services_of(request)
    code = request.query.get("code", "")[:256]
    try:
        userid = await exchange(code) if code else None
    except Exception as exc:  # the platform refused or is unreachable: say so, sign nobody in
        log.warning("console %s sign-in: code exchange failed: %s", channel, exc)
        userid = None
    if userid is None:
        log.warning("console %s sign-in refused: code not accepted (from %s)", channel, request.remote)
        return message_page(request, "登录失败", "身份验证没有通过。请在聊天里发送「后台」获取登录链接。", 403)
    now = services.clock.now()
    async with services.db.session() as session:
        user = await session.get(User, userid)
        if user is None or not user.active or user.role not in ("manager", "admin"):
            log.warning("console %s sign-in refused for %s: not a manager or admin", channel, userid)
            return message_page(request, "没有权限", REP_PAGE, 403)
        token = await sessions.start(session, user.id, request.headers.get("User-Agent", ""), now)
        add_audit(session, user.id, "console.login", user.id, now, method=channel, **audit_detail(request))
    # The redirect from the platform is a cross-site navigation: the Strict cookie rides only on a
    # navigation this page starts itself.
    response = render(request, "signed_in.html", title="登录成功")
    response.set_cookie(sessions.COOKIE, token, path="/admin", httponly=True, samesite="Strict",
                        secure=services.settings.server.base_url.startswith("https://") or request.secure)
    return response
