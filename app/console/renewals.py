"""续约: the renewal warnings of the manager's team (an admin: all) with their figures, lift a lock, the
contracts ending soon, and (admins) the contracts and payments import. Lifting runs the use case of the chat
card's 解除锁定 button (handlers/renewals/locks.lift_lock), so the rules, the message to the rep and the activity
row are the chat's; an uploaded file goes through the same import and scan as `salesbot contracts import` and a file
sent in chat."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from app.console.act import perform
from app.console.core import (
    allow,
    audit_detail,
    message_page,
    read_capped,
    render_page,
    services_of,
    upload_name,
    user_of,
)
from bot.jobs import uploaded_file
from bot.result import Result, said
from handlers.leads.permissions import find_lead, renewals_visible
from handlers.renewals.accounts import current_owner, health_of, last_paid
from handlers.renewals.importer import import_files
from handlers.renewals.locks import ACTIVE, GONE, lift_lock
from handlers.renewals.scan import outcome_lines, today_of
from storage.activity import add_audit
from storage.models import Contract, Lead, RenewalWarning, User

log = logging.getLogger(__name__)

MANAGERS = ("manager", "admin")
IMPORT_MAX_BYTES = 10 * 1024 * 1024
IMPORT_SUFFIXES = (".csv", ".xlsx")
STATUS_CN = {"new": "待处理", "open": "待处理", "contacted": "已联系，待证明", "proof": "已提交续签证明",
             "lifted": "主管已解除锁定", "withdrawn": "已回款，预警撤回"}
SHOWN = 200
UNKNOWN_MEMBER = "未知成员"
NOT_VISIBLE = "找不到这条续约预警，或它不在你的团队范围内。"


# the warnings still waiting for a proof first, then those answered; each part soonest end first
_still_open = case((RenewalWarning.status.in_(ACTIVE), 1), else_=0)


async def _owner_names(session: Any, ids: list[str | None]) -> dict[str, str]:
    """Every owner id → what a person understands: the name, 「（已离职）」 after it for a member who left, and
    「未知成员」 for an id the org does not know (never the raw id)."""
    wanted = {i for i in ids if i}
    rows = (await session.execute(select(User.id, User.name, User.active).where(User.id.in_(wanted)))).all() \
        if wanted else []
    names = {uid: name if active else f"{name}（已离职）" for uid, name, active in rows}
    return {uid: names.get(uid, UNKNOWN_MEMBER) for uid in wanted}


@allow(*MANAGERS)
async def renewals_page(request: web.Request, outcome: list[str] | None = None, ok: bool = True) -> web.Response:
    services, user = services_of(request), user_of(request)
    now = services.clock.now()
    today, cfg = today_of(now), services.settings.renewals
    owner = current_owner()
    async with services.db.read_session() as session:
        warnings = (await session.execute(
            select(RenewalWarning, Contract, Lead, last_paid(RenewalWarning.lead_id))
            .join(Contract, Contract.id == RenewalWarning.contract_id)
            .join(Lead, Lead.id == RenewalWarning.lead_id).where(renewals_visible(user))
            .options(load_only(Lead.id, Lead.customer_name, Lead.company))  # not every lead's JSON columns
            .order_by(_still_open.desc(), Contract.end_on, RenewalWarning.id).limit(SHOWN))).all()
        ending = (await session.execute(
            select(Contract, Lead, health_of(today, now), owner).join(Lead, Lead.id == Contract.lead_id)
            .where(renewals_visible(user, owner), Contract.end_on >= today,
                   Contract.end_on <= today + timedelta(days=cfg.window_days))
            .options(load_only(Lead.id, Lead.customer_name, Lead.company))
            .order_by(Contract.end_on, Contract.id).limit(SHOWN))).all()
        names = await _owner_names(session, [w.owner_id for w, _, _, _ in warnings] + [o for _, _, _, o in ending])
    return await render_page(request, "renewals.html", title="续约", warnings=warnings, ending=ending, names=names,
                  STATUS_CN=STATUS_CN, today=today, cfg=cfg, outcome=outcome, ok=ok,
                  days_left=lambda end: max((end - today).days, 0))  # jinja's |max cost 0.3 ms a row


@allow(*MANAGERS)
async def renewals_action(request: web.Request) -> web.Response:
    """解除锁定 of one warning, as the chat button."""
    services, user = services_of(request), user_of(request)
    raw = request.match_info["warning_id"]
    if not raw.isdigit() or len(raw) > 9:
        return message_page(request, "找不到续约预警", NOT_VISIBLE, 404)
    async with services.db.read_session() as session:
        visible = await session.scalar(select(RenewalWarning.id).where(
            RenewalWarning.id == int(raw), renewals_visible(user)))
    if visible is None:
        return message_page(request, "找不到续约预警", NOT_VISIBLE, 404)
    async def lift(session: AsyncSession) -> Result:  # as chat's 解除锁定 button (handlers/chat/renewals.lift)
        warning = await session.get(RenewalWarning, int(raw))
        if warning is None:
            return said(GONE)
        lead = await find_lead(session, user, warning.lead_id)
        return said(lead) if isinstance(lead, str) else await lift_lock(session, user, warning, lead,
                                                                        services.clock.now())

    ok, replies = await perform(services, user, lift, f"renewal lift {raw}")
    async with services.db.session() as session:
        add_audit(session, user.id, "console.renewal.lift", f"renewal:{raw}", services.clock.now(), ok=ok,
                  **audit_detail(request))
    return await renewals_page(request, replies or ["已完成。"], ok=ok)


@allow("admin")
async def renewals_import(request: web.Request) -> web.Response:
    """导入合同/回款: one CSV or XLSX file (recognised by its headers), then the renewal scan; the report in the
    page, the warnings out to the owners and managers."""
    services, user = services_of(request), user_of(request)
    if (request.content_length or 0) > IMPORT_MAX_BYTES + 64 * 1024:
        log.warning("console: %s contracts import refused: %s bytes", user.id, request.content_length)
        return await renewals_page(request, ["文件不能超过 10 MB，没有导入。"], ok=False)
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader):  # none, or a nested multipart: not a file
        part = None
    name = upload_name(part)
    if part is None or part.name != "file" or Path(name).suffix.lower() not in IMPORT_SUFFIXES:
        log.warning("console: %s contracts import refused: not a CSV/XLSX file (%r)", user.id, name)
        return await renewals_page(request, ["请选择 CSV 或 XLSX 文件（合同台账或回款记录）。"], ok=False)
    data = await read_capped(part, IMPORT_MAX_BYTES)
    if data is None:
        log.warning("console: %s contracts import refused: over %d bytes", user.id, IMPORT_MAX_BYTES)
        return await renewals_page(request, ["文件不能超过 10 MB，没有导入。"], ok=False)
    async with uploaded_file(data, name) as path:
        reports, outcome = await import_files(services.db, services.settings, [path], services.clock.now(),
                                              [name])
    lines = reports[0].lines() + outcome_lines(outcome)
    if outcome.new or outcome.withdrawn:
        services.wake_outbox()
    async with services.db.session() as session:
        add_audit(session, user.id, "console.contracts.import", name[:64], services.clock.now(),
                  kind=reports[0].kind, rows=reports[0].rows, warnings=outcome.new, withdrawn=outcome.withdrawn,
                  **audit_detail(request))
    return await renewals_page(request, lines, ok=reports[0].kind is not None)


def routes() -> list[web.RouteDef]:
    return [web.get("/renewals", renewals_page, name="renewals"),
            web.post("/renewals/import", renewals_import, name="renewals_import"),
            web.post("/renewals/{warning_id}", renewals_action, name="renewals_action")]
