"""团队看板, the lead list and a lead's page with 改派 / 延期 / 接手.

Who sees what is handlers/leads/permissions.py (`visible_clause`, `load_lead`, the lead gate): a manager's team
and pool, an admin everything. Actions are the use cases chat's commands run (handlers/leads/manage.py), through
app/console/act.perform.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.act import UseCase, perform
from app.console.core import allow, audit_detail, log, message_page, render_page, services_of, user_of
from app.console.offload import OFFLOAD
from bot import phrases as P
from bot.context import UserInfo
from bot.org import team_clause
from bot.result import Result, said
from bot.services import Services, Shared
from bot.usertext import user_text
from handlers.leads import manage
from handlers.leads.assignment import reassign_options
from handlers.leads.permissions import can_see, gate, load_lead, visible_clause
from handlers.leads.views import (
    colour,
    lead_fields,
    next_action_text,
    next_actions,
    owner_name,
    timeline_lines,
    waiting_hours,
)
from handlers.report import DIGEST_WINDOW, compute_report, pct, render_chart
from reminders.messages import lead_name
from reminders.policies import EXTEND_DEFAULT_REASON
from storage.activity import add_audit
from storage.leads import STAGES, STATUS_CN, stage_label, user_names
from storage.models import Activity, Evidence, Lead, User

PAGE = 50
MANAGERS = ("manager", "admin")
NOT_VISIBLE = "找不到这条线索，或它不在你的团队范围内。"


def _team_scope(user: UserInfo) -> str | None:
    return None if user.is_admin else user.id


# -- 团队看板 ----------------------------------------------------------------------------------------------
# The board and its chart share one computation, which reads every lead of the scope (seconds at 10,000
# leads). It runs on the console's worker thread (app.console.offload), at most once a minute per scope and
# process; a board up to REPORT_STALE old is shown at once (the page says 「截至」 when) while the next one is
# computed in the background, so only the very first visit of a scope waits.
REPORT_TTL = timedelta(seconds=60)
REPORT_STALE = timedelta(minutes=10)
FRESH_WAIT = 3.0  # seconds a visit waits for the recomputed board before showing the older one (audit 16c #3)


@dataclass(frozen=True)
class Board:
    at: datetime
    report: Any
    png: bytes


@dataclass
class Boards:
    ready: dict[str | None, Board] = field(default_factory=dict)
    building: dict[str | None, asyncio.Task[Board]] = field(default_factory=dict)
    warming: asyncio.Task[None] | None = None  # the start-up warm-up of every scope's board


REPORTS: Shared[Boards] = Shared("console_reports", lambda _s: Boards())


async def _compute_board(services: Services, scope: str | None, now: datetime) -> Board:
    cfg, ramp = services.settings.reminders, services.settings.ramp

    async def work(db: Any) -> Board:
        async with db.read_session() as session:  # no SQLite write lock held for seconds
            report = await compute_report(session, scope, now - DIGEST_WINDOW, now, cfg, ramp=ramp)
        # already off the server's loop: draw right here
        return Board(now, report, render_chart(report, services.engines))

    board = await services.shared(OFFLOAD).run(work)
    services.shared(REPORTS).ready[scope] = board
    return board


def warm_board(services: Services, *, teams: bool = False) -> asyncio.Task[None] | None:
    """`[server] warm_up`: right after start, the all-teams board; with `teams`, then each manager's team's,
    computed one after another on the worker thread, so nobody's first visit of 团队看板 waits for its report."""
    if not services.settings.server.warm_up:
        return None
    boards = services.shared(REPORTS)
    boards.building[None] = _start_board(services, None)
    if not teams:
        return None
    boards.warming = asyncio.create_task(_warm_teams(services, boards.building[None]))
    boards.warming.add_done_callback(_logged)
    return boards.warming


def _start_board(services: Services, scope: str | None) -> asyncio.Task[Board]:
    task = asyncio.create_task(_compute_board(services, scope, services.clock.now()))
    task.add_done_callback(_logged)
    return task


async def _warm_teams(services: Services, all_teams: asyncio.Task[Board]) -> None:
    await asyncio.wait([all_teams])
    boards = services.shared(REPORTS)
    async with services.db.reader() as conn:
        managers = list((await conn.execute(select(User.id).where(User.role == "manager", User.active.is_(True))
                                            .order_by(User.id))).scalars())
    for scope in managers:
        if scope in boards.ready or scope in boards.building:
            continue  # opened meanwhile
        boards.building[scope] = task = _start_board(services, scope)
        await asyncio.wait([task])


async def stop_boards(services: Services) -> None:
    """Boards still being computed when the server stops are abandoned (the worker's engine closes next)."""
    boards = services.shared(REPORTS)
    if boards.warming is not None:
        boards.warming.cancel()
    for task in boards.building.values():
        task.cancel()


def _logged(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("console: team board refresh failed", exc_info=task.exception())


async def _board(services: Services, user: UserInfo) -> Board:
    """This user's scope's board: fresh, or recent while a fresh one is computed, or computed now."""
    boards, scope, now = services.shared(REPORTS), _team_scope(user), services.clock.now()
    hit = boards.ready.get(scope)
    if hit is not None and timedelta(0) <= now - hit.at < REPORT_TTL:
        return hit
    task = boards.building.get(scope)
    if task is None or task.done():
        task = asyncio.create_task(_compute_board(services, scope, now))
        task.add_done_callback(_logged)
        boards.building[scope] = task
    if hit is not None and timedelta(0) <= now - hit.at < REPORT_STALE:
        done, _ = await asyncio.wait([task], timeout=FRESH_WAIT)  # the page promises a board at most a minute old
        return task.result() if done and not task.exception() else hit
    return await asyncio.shield(task)


@allow(*MANAGERS)
async def team(request: web.Request) -> web.Response:
    services, user = services_of(request), user_of(request)
    board = await _board(services, user)
    report, updating = board.report, services.clock.now() - board.at >= REPORT_TTL
    funnel = [{"name": name, "n": n} for (_, name), n in zip(STAGES, report.reached, strict=False)]
    return await render_page(request, "team.html", title="团队看板", report=report, funnel=funnel, pct=pct,
                  updating=updating, conversions=report.conversions())


@allow(*MANAGERS)
async def team_chart(request: web.Request) -> web.Response:
    board = await _board(services_of(request), user_of(request))
    return web.Response(body=board.png, content_type="image/png")


# -- lead list ---------------------------------------------------------------------------------------------
@allow(*MANAGERS)
async def lead_list(request: web.Request) -> web.Response:
    services, user, q = services_of(request), user_of(request), request.query
    page = max(1, int(q.get("page", "1")) if q.get("page", "1").isdigit() else 1)
    stmt = select(Lead).where(visible_clause(user), Lead.status != "draft")
    status = q.get("status", "open")
    if status == "open":
        stmt = stmt.where(Lead.status.in_(("active", "frozen", "dormant")))
    elif status in STATUS_CN:
        stmt = stmt.where(Lead.status == status)
    if q.get("owner"):
        stmt = stmt.where(Lead.owner_id == q["owner"][:64])
    if q.get("stage"):
        stmt = stmt.where(Lead.stage == q["stage"][:16])
    text = q.get("q", "").strip()[:64]
    if text:
        stmt = stmt.where(or_(Lead.company.like(f"%{text}%"), Lead.customer_name.like(f"%{text}%"),
                              Lead.phone == text))
    now = services.clock.now()
    async with services.db.read_session() as session:
        total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        leads = list(await session.scalars(stmt.order_by(Lead.id.desc()).offset((page - 1) * PAGE).limit(PAGE)))
        leads = [lead for lead in leads if lead.owner_id is not None or await can_see(session, user, lead)]
        names = await user_names(session, [lead.owner_id for lead in leads])
        timers = await next_actions(session, [lead.id for lead in leads])
        owners = await _reachable_reps(session, user)
    cfg = services.settings.reminders
    rows = [{"lead": lead, "name": lead_name(lead), "owner": owner_name(lead, names),
             "colour": colour(waiting_hours(lead, now)),
             "next": next_action_text(lead, timers, cfg.first_contact_hours)}
            for lead in leads]
    return await render_page(request, "leads.html", title="线索", rows=rows, total=total, page=page,
                  pages=max(1, -(-total // PAGE)), q=q, owners=owners, STAGES=STAGES, STATUS_CN=STATUS_CN,
                  stage_label=stage_label)


async def _reachable_reps(session: Any, user: UserInfo) -> list[User]:
    stmt = select(User).where(User.active.is_(True), User.role == "rep", team_clause(user, User.id))
    return list(await session.scalars(stmt.order_by(User.id)))


# -- one lead ------------------------------------------------------------------------------------------------
async def _visible(request: web.Request) -> Lead | None:
    services, user = services_of(request), user_of(request)
    raw = request.match_info["lead_id"]
    if not raw.isdigit() or len(raw) > 9:
        return None
    async with services.db.read_session() as session:
        lead = await load_lead(session, user, int(raw))
    if lead is None:
        log.warning("console: %s (%s) asked for lead %s outside their reach", user.id, user.role, raw)
    return lead


@allow(*MANAGERS)
async def lead_page(request: web.Request, outcome: list[str] | None = None, ok: bool = True) -> web.Response:
    services, user = services_of(request), user_of(request)
    lead = await _visible(request)
    if lead is None:
        return message_page(request, "找不到线索", NOT_VISIBLE, 404)
    now = services.clock.now()
    async with services.db.read_session() as session:
        acts = list(await session.scalars(select(Activity).where(Activity.lead_id == lead.id)
                                           .order_by(Activity.created_at, Activity.id)))
        evidence = list(await session.scalars(select(Evidence).where(Evidence.lead_id == lead.id)
                                              .order_by(Evidence.id)))
        names = await user_names(session, [lead.owner_id, *(a.actor_id for a in acts), *(e.added_by for e in evidence)])
        timers = await next_actions(session, [lead.id])
        picks = (await reassign_options(session, lead, user, now, limit=20, ramp=services.settings.ramp)
                 if lead.status != "won" else [])
        team_reps = await _reachable_reps(session, user)
    frozen = (lead.extra or {}).get("frozen", {}) if lead.status == "frozen" else {}
    next_text = next_action_text(lead, timers, services.settings.reminders.first_contact_hours)
    return await render_page(request, "lead.html", title=f"线索 #{lead.id}", lead=lead, name=lead_name(lead),
                  fields=lead_fields(lead, names, next_text), timeline=timeline_lines(acts, names, keep=len(acts)),
                  names=names, evidence=evidence, stage=stage_label(lead.stage),
                  status_cn=STATUS_CN.get(lead.status, lead.status), picks=picks, team_reps=team_reps,
                  frozen_rid=frozen.get("reminder_id"), outcome=outcome, ok=ok, owner=owner_name(lead, names))


@allow(*MANAGERS)
async def lead_action(request: web.Request) -> web.Response:
    """改派 / 延期 / 接手: the use cases chat's commands run (handlers/leads/manage.py); their answer is shown on
    the page."""
    services, user = services_of(request), user_of(request)
    lead = await _visible(request)
    if lead is None:
        return message_page(request, "找不到线索", NOT_VISIBLE, 404)
    data = await request.post()
    action = str(data.get("action", ""))
    use_case, command = _use_case(services, user, lead, action, data)
    if use_case is None:
        return await lead_page(request, ["请把要做的操作填写完整。"], ok=False)
    ok, replies = await perform(services, user, use_case, command)
    async with services.db.session() as session:
        add_audit(session, user.id, f"console.lead.{action}", f"lead:{lead.id}", services.clock.now(),
                  ok=ok, command=command, **audit_detail(request))
    return await lead_page(request, replies or ["已完成。"], ok=ok)


def _use_case(services: Services, user: UserInfo, lead: Lead, action: str, data: Any) -> tuple[UseCase | None, str]:
    """The form's action as a use case on `lead` (after the lead gate, in its transaction), and the chat command it
    stands for (the audit's words); None: the form is incomplete."""
    now, settings = services.clock.now(), services.settings

    def gated(act: Callable[[AsyncSession, Lead], Awaitable[Result]]) -> UseCase:
        async def run(session: AsyncSession) -> Result:
            found = await gate(session, user, lead.id, "manage")
            return said(found) if isinstance(found, str) else await act(session, found)

        return run

    if action == "reassign":
        who = str(data.get("rep", "")).strip()[:64]
        if not who:
            return None, ""

        async def reassign(session: AsyncSession, found: Lead) -> Result:
            rep = await manage.find_rep(session, who, user)
            if rep is None:
                return said(P.NOT_IN_TEAM.format(who=user_text(who)))
            return await manage.reassign(session, user, found, rep, "", now, settings)

        return gated(reassign), f"改派 {lead.id} {who}"
    if action == "extend":
        raw = str(data.get("hours", "")).strip()[:6]
        reason = " ".join(str(data.get("reason", "")).split())[:100] or EXTEND_DEFAULT_REASON
        if not raw.replace(".", "", 1).isdigit():
            return None, ""
        hours = manage.span_hours(raw, settings.reminders)
        why = P.EXTEND_UNREAD.format(span=raw[:12]) if hours is None else manage.extend_refusal(hours)

        async def extend(session: AsyncSession, found: Lead) -> Result:
            return await manage.extend(session, user, found, hours or 0.0, reason, now, settings.reminders)

        command = f"延期 {lead.id} {raw} {reason}".strip()
        return (_refused(why) if why is not None else gated(extend)), command
    if action == "take" and manage.frozen_escalation(lead) is not None:
        async def take(session: AsyncSession, found: Lead) -> Result:
            return await manage.take_over(session, user, found, now, settings.reminders)

        return gated(take), f"接手 {lead.id}"
    return None, ""


def _refused(why: str) -> UseCase:
    async def run(session: AsyncSession) -> Result:
        return said(why)

    return run


@allow(*MANAGERS)
async def evidence_file(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    lead = await _visible(request)
    raw = request.match_info["evidence_id"]
    if lead is None or not raw.isdigit():
        return message_page(request, "找不到图片", NOT_VISIBLE, 404)
    async with services.db.read_session() as session:
        row = await session.get(Evidence, int(raw))
    if row is None or row.lead_id != lead.id or not row.path:
        return message_page(request, "找不到图片", "这张图片不存在。", 404)
    path = Path(row.path)
    if not path.is_absolute():
        path = Path(services.settings.ocr.evidence_dir) / path
    if not path.is_file():
        return message_page(request, "找不到图片", "图片文件已不在服务器上。", 404)
    return web.FileResponse(path, headers={"Content-Disposition": "inline"})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/team", team, name="team"),
        web.get("/team/chart.png", team_chart, name="team_chart"),
        web.get("/leads", lead_list, name="leads"),
        web.get("/leads/{lead_id}", lead_page, name="lead"),
        web.post("/leads/{lead_id}", lead_action, name="lead_action"),
        web.get("/leads/{lead_id}/evidence/{evidence_id}", evidence_file, name="lead_evidence"),
    ]

