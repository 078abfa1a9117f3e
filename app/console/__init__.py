"""The web console (/admin/): an aiohttp sub-application served by `salesbot serve`.

    app.add_subapp("/admin/", build_console(services))

Server-rendered Jinja2 pages, one small static script, no build step. Log-in by a one-time link from chat
(「后台」) or `salesbot admin link USER`; see `app.console.login` and `bot.login_links`.
"""

from __future__ import annotations

from aiohttp import web

from app.console import kb, kb_tools, leads, login, oauth, ops, ramp, renewals
from app.console.core import HERE, JINJA, SERVICES, allow, console_middleware, make_jinja, user_of
from app.console.offload import OFFLOAD
from bot.services import Services

UPLOAD_BODY_MB = 1  # plain forms; uploads stream (app.console.kb_tools.MAX_UPLOAD_MB)


@allow("manager", "admin")
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/admin/kb" if user_of(request).is_admin else "/admin/team")


WARM_TEAMS = web.AppKey("warm_teams", bool)


def build_console(services: Services, *, warm_teams: bool = False) -> web.Application:
    """`warm_teams`: after the all-teams board, warm every manager's team's board too (a console in a process of
    its own: charts drawn there cost the webhook nothing; in serve's process they would compete with callbacks)."""
    app = web.Application(middlewares=[console_middleware], client_max_size=UPLOAD_BODY_MB * 1024 * 1024)
    app[SERVICES] = services
    app[WARM_TEAMS] = warm_teams
    app[JINJA] = make_jinja()
    app.router.add_get("/", home, name="home")
    app.router.add_get("/login", login.login_page, name="login")
    app.router.add_post("/login", login.login_post, name="login_post")
    app.router.add_post("/logout", login.logout, name="logout")
    app.router.add_get("/oauth/wecom", oauth.oauth_wecom, name="oauth_wecom")
    app.router.add_get("/oauth/dingtalk", oauth.oauth_dingtalk, name="oauth_dingtalk")
    app.router.add_static("/static", HERE / "static", name="static")
    app.router.add_routes(kb_tools.routes())  # before kb: /kb/import is not a card id
    app.router.add_routes(kb.routes())
    app.router.add_routes(leads.routes())
    app.router.add_routes(renewals.routes())
    app.router.add_routes(ops.routes())
    app.router.add_routes(ramp.routes())
    app.on_startup.append(_warm_board)
    app.on_cleanup.append(_close_offload)
    return app


async def _warm_board(app: web.Application) -> None:
    leads.warm_board(app[SERVICES], teams=app[WARM_TEAMS])


async def _close_offload(app: web.Application) -> None:
    await leads.stop_boards(app[SERVICES])
    await app[SERVICES].shared(OFFLOAD).close()


def mount_console(app: web.Application, services: Services, *, warm_teams: bool = False) -> None:
    app.add_subapp("/admin/", build_console(services, warm_teams=warm_teams))
