"""新人通关 page: each rep's progress (managers: their team), 开始通关 for a new rep, the manager's 确认跟岗
(the chat button's use case, same rules and messages), and for admins the path as text — the same line format
as `salesbot ramp path set` — with a default made from the knowledge base."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select

from app.console.act import perform
from app.console.core import allow, audit_detail, log, render_page, services_of, user_of
from bot.org import manages, team_clause
from handlers.knowledge import knowledge_base
from handlers.ramp import service, shadow
from handlers.ramp.path import PathError, path_text
from storage.activity import add_audit
from storage.models import RampEnrollment, User

MAX_PATH_CHARS = 10_000


def _back(text: str, kind: str = "ok") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/admin/ramp?kind={kind}&done=" + quote(text))


@allow("manager", "admin")
async def ramp_page(request: web.Request) -> web.Response:
    services, user = services_of(request), user_of(request)
    cfg = services.settings.ramp
    kb = knowledge_base(services)
    await kb.refresh_if_stale(services.db)
    cards = kb.cards()  # the process's index of the active cards, not a 20,000-row read per page
    async with services.db.read_session() as session:
        rows = await service.team_progress(session, None if user.is_admin else user.id, cfg)
        found = await service.current_path(session)
        specs = service.specs_of(found[1]) if found else await service.default_specs(session, cfg, cards)
        warnings = await service.empty_tasks(session, specs, cfg, cards)
        stmt = select(User).where(User.role == "rep", User.active.is_(True),
                                  User.id.not_in(select(RampEnrollment.user_id)), team_clause(user, User.id)
                                  ).order_by(User.id)
        newcomers = list(await session.scalars(stmt))
    draft = request.query.get("text")
    return await render_page(request, "ramp.html", title="新人通关", rows=rows, current=found[0] if found else None,
                  tasks=[(s, s.title(cfg.questions)) for s in specs], text=draft or path_text(specs),
                  warnings=warnings, newcomers=newcomers, rights=service.unlocked_text(cfg),
                  locked=service.locked_text(cfg),
                  flash=request.query.get("done", "")[:500], flash_kind=request.query.get("kind", "ok"))


@allow("manager", "admin")
async def ramp_enroll(request: web.Request) -> web.Response:
    services, user = services_of(request), user_of(request)
    data = await request.post()
    rep_id = str(data.get("user", ""))[:64]
    now = services.clock.now()
    try:
        async with services.db.session() as session:
            rep = await session.get(User, rep_id)
            if rep is None or not manages(user, rep):
                raise service.RampError("只能为自己团队的销售开启新人通关。")
            await service.enroll(session, rep_id, services.settings.ramp, now, user.id)
            add_audit(session, user.id, "ramp.enroll.console", rep_id, now, **audit_detail(request))
    except service.RampError as exc:
        log.warning("console: %s ramp enroll %s refused: %s", user.id, rep_id, exc)
        raise _back(str(exc), "error") from None
    raise _back(f"{rep.name} 已开始新人通关，发「通关」即可看到第一关。")


@allow("manager", "admin")
async def ramp_confirm(request: web.Request) -> web.Response:
    """确认跟岗: the use case of chat's 确认完成 button (handlers/ramp/shadow.confirm, which decides who may)."""
    services, user = services_of(request), user_of(request)
    data = await request.post()
    task = str(data.get("task", ""))
    rep_id = str(data.get("user", ""))[:64]
    if not task.isdigit() or not rep_id:
        raise _back("请选择要确认的任务。", "error")
    ok, replies = await perform(services, user, lambda session: shadow.confirm(
        session, user, rep_id, int(task), True, services.clock.now(), services.settings.ramp), f"ramp confirm {task}")
    raise _back("\n".join(replies) or "已处理。", "ok" if ok else "error")


@allow("admin")
async def ramp_path_set(request: web.Request) -> web.Response:
    services, user = services_of(request), user_of(request)
    data = await request.post()
    text, name = str(data.get("text", ""))[:MAX_PATH_CHARS], str(data.get("name", "")).strip()[:64]
    now = services.clock.now()
    try:
        async with services.db.session() as session:
            if data.get("action") == "default":
                specs: Any = await service.default_specs(session, services.settings.ramp)
                name = name or service.DEFAULT_NAME
            else:
                specs = service.parse(text, services.settings)
            change = await service.replace_path(session, specs, now, user.id, name, services.settings.ramp)
            add_audit(session, user.id, "ramp.path.console", str(change.path.id), now, tasks=len(specs),
                      **audit_detail(request))
    except (PathError, service.RampError) as exc:
        log.warning("console: %s ramp path refused: %s", user.id, exc)
        raise web.HTTPSeeOther("/admin/ramp?kind=error&done=" + quote(f"没有保存：{exc}") + "&text="
                               + quote(text)) from None
    raise _back(change.summary_cn())


def routes() -> list[web.RouteDef]:
    return [
        web.get("/ramp", ramp_page, name="ramp"),
        web.post("/ramp/enroll", ramp_enroll, name="ramp_enroll"),
        web.post("/ramp/confirm", ramp_confirm, name="ramp_confirm"),
        web.post("/ramp/path", ramp_path_set, name="ramp_path"),
    ]
