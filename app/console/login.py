"""Log in with the one-time link from chat (「后台」 or `salesbot admin link`), log out.

Opening the link shows a tiny page that submits the token by POST at once (static JS): link previews and
prefetchers that fetch the URL without running scripts cannot use the link up. The POST answers with the
session cookie and a same-site redirect, so the SameSite=Strict cookie is sent on the next page.
"""

from __future__ import annotations

from aiohttp import web

from app.console import sessions
from app.console.core import USER, allow, audit_detail, log, message_page, render, services_of, user_of
from bot.login_links import Redeemed, check, redeem
from storage.activity import add_audit
from storage.models import User

REFUSED = {
    "expired": "这个登录链接已过期（有效期 10 分钟）。请在聊天里重新发送「后台」获取新链接。",
    "already used": "这个登录链接已经用过了，每个链接只能用一次。请在聊天里重新发送「后台」获取新链接。",
}
REP_PAGE = "网页后台供主管和管理员使用。你的线索、跟进和话术都可以直接在聊天里查看 🙂"
NO_ACCESS = "user may not use the console"
INVALID = "这个登录链接无效。请在聊天里发送「后台」获取新链接。"


async def login_page(request: web.Request) -> web.Response:
    token = request.query.get("t", "")
    if not token:
        return message_page(request, "请先登录", "在聊天里给机器人发送「后台」，点开收到的链接即可登录。", 401)
    services = services_of(request)
    async with services.db.session() as session:
        result = await check(session, token, services.clock.now())
    if result.user_id is None:  # a bad link answers 4xx at once, before the page would submit it
        return _refused(request, result)
    return render(request, "login.html", token=token[:600])


async def login_post(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    form = await request.post()
    now = services.clock.now()
    async with services.db.session() as session:
        result = await redeem(session, str(form.get("t", "")), now)
        user = await session.get(User, result.user_id) if result.user_id else None
        if user is None or not user.active or user.role not in ("manager", "admin"):
            return _refused(request, result if result.reason else Redeemed(None, NO_ACCESS, result.user_id))
        token = await sessions.start(session, user.id, request.headers.get("User-Agent", ""), now)
        add_audit(session, user.id, "console.login", user.id, now, **audit_detail(request))
    response = web.HTTPSeeOther("/admin/")
    response.set_cookie(sessions.COOKIE, token, path="/admin", httponly=True, samesite="Strict",
                        secure=_secure(request))
    raise response


def _refused(request: web.Request, result: Redeemed) -> web.Response:
    log.warning("console login refused (%s) for %s from %s", result.reason, result.named or "?", request.remote)
    if result.reason == NO_ACCESS:
        return message_page(request, "没有权限", REP_PAGE, 403)
    status = 410 if result.reason == "expired" else 403
    return message_page(request, "链接不可用", REFUSED.get(result.reason, INVALID), status)


def _secure(request: web.Request) -> bool:
    base = services_of(request).settings.server.base_url
    return base.startswith("https://") or request.secure or request.headers.get("X-Forwarded-Proto") == "https"


@allow("manager", "admin")
async def logout(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    async with services.db.session() as session:
        await sessions.end(session, request.cookies.get(sessions.COOKIE, ""))
        add_audit(session, user_of(request).id, "console.logout", user_of(request).id, services.clock.now(),
                  **audit_detail(request))
    del request[USER]  # the page after 退出 shows neither the navigation nor the name
    response = message_page(request, "已退出", "你已退出管理后台。需要时在聊天里发送「后台」重新登录。", 200)
    response.del_cookie(sessions.COOKIE, path="/admin")
    return response
