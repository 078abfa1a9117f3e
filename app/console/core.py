"""The console's HTTP plumbing: templates, the per-request user, role checks, CSRF and error pages.

Every route is denied unless its handler is wrapped by `allow(...)` (or listed as public): a route
someone forgets to mark answers 403, never an open page. State-changing requests (POST) must carry the
session's CSRF token (form field `_csrf` or header `X-CSRF-Token`).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import jinja2
from aiohttp import web

from app.console import sessions
from bot.clock import to_cn
from bot.context import UserInfo
from bot.org import to_info
from bot.services import Services
from bot.usertext import plain
from storage.models import User

log = logging.getLogger("salesbot.console")

SERVICES = web.AppKey("console_services", Services)
USER = web.RequestKey("console_user", UserInfo)
WEB_SESSION = web.RequestKey("console_session", sessions.WebSession)
JINJA = web.AppKey("console_jinja", jinja2.Environment)
HERE = Path(__file__).parent
PUBLIC = {"login", "login_post", "static", "oauth_wecom", "oauth_dingtalk"}
ROLE_CN = {"rep": "销售", "manager": "主管", "admin": "管理员"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


F = TypeVar("F", bound=Callable[..., Awaitable[web.StreamResponse]])


def allow(*roles: str) -> Callable[[F], F]:
    """Mark a handler with the roles that may open it (checked by the middleware before it runs)."""

    def mark(fn: F) -> F:
        fn.console_roles = frozenset(roles)  # type: ignore[attr-defined]
        return fn

    return mark


def make_jinja() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["cn"] = lambda d: to_cn(d).strftime("%Y-%m-%d %H:%M") if d else ""
    env.filters["plain"] = plain  # a line composed for the chat (names marked as user text): autoescaped here
    env.globals["ROLE_CN"] = ROLE_CN
    return env


def services_of(request: web.Request) -> Services:
    return request.config_dict[SERVICES]


def user_of(request: web.Request) -> UserInfo:
    return request[USER]


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    env = request.config_dict[JINJA]
    web_session = request.get(WEB_SESSION)
    html = env.get_template(template).render(
        request=request, user=request.get(USER), csrf=web_session.csrf if web_session else "",
        path=request.path, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def render_page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """`render` on a worker thread, for pages of many rows: tens of ms of Jinja that, on the server's loop,
    every webhook ACK would wait behind (on the thread, the loop gets its turn every few ms)."""
    env = request.config_dict[JINJA]
    web_session = request.get(WEB_SESSION)
    compiled = env.get_template(template)
    html = await asyncio.get_running_loop().run_in_executor(None, functools.partial(
        compiled.render, request=request, user=request.get(USER), csrf=web_session.csrf if web_session else "",
        path=request.path, **context))
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def message_page(request: web.Request, title: str, text: str, status: int) -> web.Response:
    return render(request, "message.html", status=status, title=title, text=text)


async def read_capped(part: Any, cap: int) -> bytes | None:
    """An uploaded part's bytes, read a chunk at a time; None as soon as more than `cap` came (the rest unread)."""
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > cap:
            return None
    return bytes(data)


def upload_name(part: Any, limit: int = 100) -> str:
    """The real name of an uploaded file, without folders. aiohttp's client percent-encodes a non-ASCII name
    (filename="%E5%A4%A7.csv") and Chromium sends it as UTF-8 with `"` as %22; `filename*=UTF-8''...` (RFC 5987) is
    decoded by aiohttp already. A percent sequence that is not valid UTF-8 is kept as sent."""
    raw = str(getattr(part, "filename", "") or "")
    if re.search(r"%[0-9A-Fa-f]{2}", raw):
        try:
            raw = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            pass
    raw = re.sub(r"[\x00-\x1f\x7f]", "", raw).replace("\\", "/")
    return Path(raw).name[-limit:]


def audit_detail(request: web.Request) -> dict[str, str]:
    """Who and from where, for audit rows written by console actions."""
    return {"via": "console", "ip": request.remote or ""}


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await _authorised(request, handler)
    except web.HTTPRequestEntityTooLarge:
        log.warning("console: %s %s refused: body too large", request.method, request.path)
        response = message_page(request, "内容太大", "提交的内容超过了大小限制，没有保存任何修改。请精简后再试。", 413)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _authorised(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    name = route.name or ""
    if name in PUBLIC:
        return await handler(request)
    services = services_of(request)
    now = services.clock.now()
    idle = timedelta(minutes=services.settings.server.console_idle_minutes)
    token, agent = request.cookies.get(sessions.COOKIE, ""), request.headers.get("User-Agent", "")
    async with services.db.read_session() as session:
        web_session, why, write = await sessions.peek(session, token, agent, now, idle)
        user = await session.get(User, web_session.user_id) if web_session else None
    if write:  # ends, or last-seen due (once a minute): the only requests that take the write lock here
        async with services.db.session() as session:
            web_session, why = await sessions.load(session, token, agent, now, idle)
            user = await session.get(User, web_session.user_id) if web_session else None
    if web_session is None or user is None or not user.active:
        if request.cookies.get(sessions.COOKIE):
            log.warning("console: %s %s refused: %s", request.method, request.path, why or "inactive user")
        return _login_needed(request)
    request[WEB_SESSION], request[USER] = web_session, to_info(user)
    roles = getattr(handler, "console_roles", None)
    if roles is None or user.role not in roles:
        log.warning("console: %s (%s) refused %s %s", user.id, user.role, request.method, request.path)
        return _forbidden(request, user.role)
    if request.method not in ("GET", "HEAD") and not await _csrf_ok(request, web_session.csrf):
        log.warning("console: %s %s %s refused: CSRF token missing or wrong", user.id, request.method, request.path)
        return message_page(request, "请求已过期", "页面已过期或来源不明，没有做任何修改。请刷新页面后再试。", 403)
    return await handler(request)


async def _csrf_ok(request: web.Request, expected: str) -> bool:
    given = request.headers.get("X-CSRF-Token", "")
    if not given and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if request.content_type == "multipart/form-data":
            given = request.query.get("_csrf", "")  # uploads stream their body: the token rides in the URL
        else:
            given = str((await request.post()).get("_csrf", ""))
    return bool(given) and hmac.compare_digest(given, expected)


AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"


def wecom_authorize_url(services: Services) -> str | None:
    """Where WeCom's browser goes to sign in silently (None: WeCom not configured)."""
    cfg = services.settings.wecom
    if not cfg.enabled:
        return None
    back = quote(services.settings.server.base_url + "/admin/oauth/wecom", safe="")
    return (f"{AUTHORIZE}?appid={cfg.corp_id}&redirect_uri={back}&response_type=code&scope=snsapi_base"
            f"&state=console&agentid={cfg.agent_id}#wechat_redirect")


def _login_needed(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    agent = request.headers.get("User-Agent", "").lower() if request.method == "GET" else ""
    authorize = wecom_authorize_url(services)
    if authorize and "wxwork" in agent:
        # WeCom's own browser: sign in silently with 网页授权 (a raw header: redirect_uri must stay encoded)
        return web.Response(status=302, headers={"Location": authorize})
    dingtalk = services.settings.dingtalk
    if dingtalk.enabled and dingtalk.corp_id and "dingtalk" in agent:
        return dingtalk_sign_in_page(request, dingtalk.corp_id, dingtalk.jsapi_url)
    return message_page(request, "请先登录", "在企业微信或钉钉里给机器人发送「后台」，点开收到的链接即可登录"
                                           "（链接 10 分钟内有效，只能使用一次）。", 401)


def dingtalk_sign_in_page(request: web.Request, corp_id: str, jsapi_url: str) -> web.Response:
    """Inside DingTalk: the page asks DingTalk's JSAPI for a 免登 authCode and signs in with it
    (/admin/oauth/dingtalk). Its script origin is allowed on this page only."""
    response = render(request, "dingtalk_login.html", status=401, title="钉钉登录", corp_id=corp_id,
                      jsapi_url=jsapi_url)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(jsapi_url))
    response.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "script-src 'self'", f"script-src 'self' {origin}")
    return response


def _forbidden(request: web.Request, role: str) -> web.Response:
    if role == "rep":
        text = "网页后台供主管和管理员使用。你的线索、跟进和话术都可以直接在聊天里查看 🙂"
    else:
        text = "这个页面需要管理员权限。如需开通，请联系管理员。"
    return message_page(request, "没有权限", text, 403)
