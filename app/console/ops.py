"""投递 (outbox), 成员, 日历, 分类 and 系统 pages."""

from __future__ import annotations

import platform
from datetime import date
from importlib import metadata
from typing import Any

from aiohttp import BodyPartReader, web
from sqlalchemy import func, select

from app.console.act import perform
from app.console.core import allow, audit_detail, log, read_capped, render_page, services_of, user_of
from bot.clock import to_cn
from bot.jobs import uploaded_file
from bot.messages import body_from_json
from bot.org import OrgError, import_users_file, team_clause
from bot.outbox import discard_dead, retry_dead
from bot.usertext import plain
from handlers.dead_letters import failure_in_chinese
from handlers.knowledge import knowledge_base
from handlers.ramp.service import NewReps, enroll_new
from knowledge.schema import AXES
from reminders.calendar import load_overrides, statutory_workday, uncovered_years
from reminders.lifecycle import DATE_HINT, override_day, parse_day
from storage.activity import add_audit
from storage.leads import OPEN_STATUSES
from storage.models import CalendarOverride, KnowledgeCard, Lead, OutboxMessage, User

SHOWN = 100
MEMBERS_MAX_BYTES = 2 * 1024 * 1024
AXIS_CN = {"role": "角色", "industry": "行业", "objection": "异议"}


# -- 投递 ---------------------------------------------------------------------------------------------
def _summary(row: OutboxMessage) -> str:
    try:
        body = body_from_json(row.payload)
    except Exception:  # an unreadable payload is shown as its kind
        return row.kind
    for name in ("title", "text", "caption", "file_name"):
        value = getattr(body, name, "")
        if value:
            return plain(str(value))[:80]  # what users wrote is marked for the channels' escaping (bot/usertext)
    return row.kind


@allow("admin")
async def outbox(request: web.Request) -> web.Response:
    services = services_of(request)
    now = services.clock.now()
    async with services.db.read_session() as session:
        counts = dict((await session.execute(select(OutboxMessage.status, func.count())
                                             .group_by(OutboxMessage.status))).all())
        due = await _rows(session, OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        held = await _rows(session, OutboxMessage.status == "pending", OutboxMessage.next_attempt_at > now)
        dead = await _rows(session, OutboxMessage.status == "dead")
        names = dict((await session.execute(select(User.id, User.name))).all())
    return await render_page(request, "outbox.html", title="投递", counts=counts, due=due, held=held, dead=dead,
                             names=names, summary=_summary, reason=failure_in_chinese,
                  flash=request.query.get("done", "")[:200])


async def _rows(session: Any, *where: Any) -> list[OutboxMessage]:
    return list(await session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id.desc())
                                      .limit(SHOWN)))


@allow("admin")
async def outbox_action(request: web.Request) -> web.Response:
    services, user = services_of(request), user_of(request)
    data = await request.post()
    ids = [int(str(v)) for v in data.getall("id", []) if str(v).isdigit()][:500]
    action = str(data.get("action", ""))
    if not ids or action not in ("retry", "discard"):
        raise web.HTTPSeeOther("/admin/outbox?done=" + _q("请先勾选要处理的消息。"))
    now = services.clock.now()
    async with services.db.session() as session:
        n = await (retry_dead(session, ids, now) if action == "retry" else discard_dead(session, ids))
        add_audit(session, user.id, f"outbox.{action}", ",".join(map(str, ids))[:128], now, count=n,
                  **audit_detail(request))
    if action == "retry":
        services.wake_outbox()
    log.info("console: %s %s %d dead letter(s)", user.id, action, n)
    raise web.HTTPSeeOther("/admin/outbox?done=" + _q(f"已{'重新发送' if action == 'retry' else '丢弃'} {n} 条消息。"))


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


# -- 成员 ----------------------------------------------------------------------------------------------
@allow("manager", "admin")
async def members(request: web.Request) -> web.Response:
    services, user = services_of(request), user_of(request)
    async with services.db.read_session() as session:
        stmt = select(User).order_by(User.role.desc(), User.id)
        stmt = stmt.where(team_clause(user, User.id))
        people = list(await session.scalars(stmt))
        load = dict((await session.execute(select(Lead.owner_id, func.count()).where(
            Lead.status.in_(OPEN_STATUSES)).group_by(Lead.owner_id))).all())
        names = dict((await session.execute(select(User.id, User.name))).all())
    return await render_page(request, "members.html", title="成员", people=people, load=load, names=names,
                  flash=request.query.get("done", "")[:300], flash_kind=request.query.get("kind", "ok"))


@allow("admin")
async def members_import(request: web.Request) -> web.Response:
    services, user = services_of(request), user_of(request)
    too_big = "/admin/members?kind=error&done=" + _q("文件不能超过 2 MB。")
    if (request.content_length or 0) > MEMBERS_MAX_BYTES + 64 * 1024:
        raise web.HTTPSeeOther(too_big)
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "file" or not str(part.filename or "").endswith(".csv"):
        raise web.HTTPSeeOther("/admin/members?kind=error&done=" + _q("请选择 CSV 文件。"))
    data = await read_capped(part, MEMBERS_MAX_BYTES)
    if data is None:
        raise web.HTTPSeeOther(too_big)
    async with uploaded_file(data, "users.csv") as path:
        now, ramp = services.clock.now(), list[NewReps]()

        async def ramp_up(session: Any, ids: list[str]) -> None:
            ramp.append(await enroll_new(session, ids, services.settings.ramp, now, user.id))

        try:
            n = await import_users_file(services.db, path, now, ramp_up)
        except (OrgError, UnicodeDecodeError, ValueError) as exc:
            log.warning("console: %s member import refused: %s", user.id, exc)
            raise web.HTTPSeeOther("/admin/members?kind=error&done=" + _q(f"没有导入：{_org_cn(str(exc))}")) from None
    async with services.db.session() as session:
        add_audit(session, user.id, "org.import", "users.csv", services.clock.now(), users=n, **audit_detail(request))
    said = ramp[0].text() if ramp else ""
    raise web.HTTPSeeOther("/admin/members?done=" + _q(f"已导入 {n} 位成员。" + (f"{said}。" if said else "")))


def _org_cn(message: str) -> str:
    import re

    m = re.match(r"line (\d+): (.*)", message)
    if m and "required" in m.group(2):
        return f"第 {m.group(1)} 行缺少工号或姓名"
    if m and "role" in m.group(2):
        return f"第 {m.group(1)} 行的角色应为 rep / manager / admin"
    m = re.match(r"user (\S+): manager '(.*)' is unknown", message)
    if m:
        return f"成员 {m.group(1)} 的主管「{m.group(2)}」不存在"
    return "文件格式不对（需要 UTF-8 编码的 CSV，表头含 工号/id、姓名/name）"


@allow("admin")
async def members_offboard(request: web.Request) -> web.Response:
    """离职交接: the same use case as `salesbot org offboard` (open leads, timers, drafts, team), with the
    successor's handover list in chat."""
    from handlers.leads.handover import offboard_with_handover

    services, user = services_of(request), user_of(request)
    data = await request.post()
    leaving, taking = str(data.get("user", ""))[:64], str(data.get("to", ""))[:64]
    now = services.clock.now()
    try:
        async with services.outbox.sending() as out:
            session = out.session
            handover = await offboard_with_handover(session, leaving, taking, now, services.settings.reminders,
                                                    actor_id=user.id)
            notice = handover.notice(taking, now)
            if notice is not None:
                await out.add([notice])
            leads = handover.leads
            add_audit(session, user.id, "org.offboard", leaving, now, to=taking, leads=len(leads),
                      **audit_detail(request))
    except ValueError as exc:
        log.warning("console: %s offboard %s → %s refused: %s", user.id, leaving, taking, exc)
        refused = "没有交接：请选择两位不同的成员，接手人须在职。"
        raise web.HTTPSeeOther("/admin/members?kind=error&done=" + _q(refused)) from None
    done = (f"已办理离职交接：{len(leads)} 条线索转给接手人，原账号已停用。接手人已在聊天里收到交接清单"
            f"（线索的最近跟进与洞察、待处理标记、常用话术 {len(handover.cards)} 张、"
            f"有用回答 {len(handover.useful)} 条）。")
    raise web.HTTPSeeOther("/admin/members?done=" + _q(done))


# -- 日历 ----------------------------------------------------------------------------------------------
@allow("admin")
async def calendar(request: web.Request) -> web.Response:
    services = services_of(request)
    today = to_cn(services.clock.now()).date()
    year = int(request.query["year"]) if request.query.get("year", "").isdigit() else today.year
    year = min(max(year, 2000), 2100)
    async with services.db.read_session() as session:
        overrides = list(await session.scalars(select(CalendarOverride).where(
            CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
            .order_by(CalendarOverride.day)))
        missing = uncovered_years(today, await load_overrides(session))
    return await render_page(request, "calendar.html", title="日历", year=year, days=_special_days(year),
                             overrides=overrides, missing=missing, outcome=request.query.get("done", "")[:300])


def _special_days(year: int) -> list[dict[str, Any]]:
    """Statutory days off on weekdays and 调休 working weekends of `year`."""
    out, day = [], date(year, 1, 1)
    from datetime import timedelta

    while day.year == year:
        workday, weekend = statutory_workday(day), day.weekday() >= 5
        if workday == weekend:
            out.append({"day": day, "workday": workday})
        day += timedelta(days=1)
    return out


@allow("admin")
async def calendar_set(request: web.Request) -> web.Response:
    """放假 / 补班: the chat command's use case (reminders/lifecycle.override_day: its rules, the timers it moves,
    its audit row)."""
    services, user = services_of(request), user_of(request)
    data = await request.post()
    word = "补班" if data.get("kind") == "work" else "放假"
    day = str(data.get("day", ""))[:10]
    note = " ".join(str(data.get("note", "")).split())[:100]
    parsed = parse_day(f"{day} {note}".strip())
    if parsed is None:
        raise web.HTTPSeeOther("/admin/calendar?done=" + _q(DATE_HINT))
    when, said = parsed
    _, replies = await perform(services, user, lambda session: override_day(
        session, user.id, when, word == "补班", said, services.clock.now(), services.settings.reminders),
        f"{word} {day}")
    raise web.HTTPSeeOther("/admin/calendar?done=" + _q("\n".join(replies)))


# -- 分类 ----------------------------------------------------------------------------------------------
@allow("admin")
async def taxonomy(request: web.Request) -> web.Response:
    from knowledge import store

    services = services_of(request)
    kb = knowledge_base(services)
    await kb.refresh_if_stale(services.db)
    tax = kb.index_taxonomy()
    async with services.db.session() as session:
        used = {axis: await store.axis_counts(session, axis) for axis in AXES}
    axes = []
    for axis in AXES:
        synonyms: dict[str, list[str]] = {}
        for word, value in tax.synonyms.get(axis, {}).items():
            if word != value.lower():
                synonyms.setdefault(value, []).append(word)
        values = [{"name": v, "synonyms": synonyms.get(v, []), "cards": used[axis].get(v, 0)}
                  for v in tax.values.get(axis, ())]
        axes.append({"axis": axis, "label": AXIS_CN[axis], "values": values})
    return await render_page(request, "taxonomy.html", title="分类", axes=axes, AXIS_CN=AXIS_CN,
                  flash=request.query.get("done", "")[:300], flash_kind=request.query.get("kind", "ok"))


@allow("admin")
async def taxonomy_change(request: web.Request) -> web.Response:
    """Add a synonym, or rename / merge a value: the KB's own store functions (as `salesbot kb taxonomy`)."""
    from knowledge import store

    services, user = services_of(request), user_of(request)
    data = await request.post()
    axis, action = str(data.get("axis", "")), str(data.get("action", ""))
    word, value = (" ".join(str(data.get(k, "")).split())[:32] for k in ("word", "value"))
    if axis not in AXES or action not in ("synonym", "merge") or not word or not value or word == value:
        raise web.HTTPSeeOther("/admin/taxonomy?kind=error&done=" + _q("请填写完整：两个不同的名称。"))
    now = services.clock.now()
    async with services.db.session() as session:
        if action == "synonym":
            await store.add_synonym(session, axis, word, value, now)
            done = f"已添加同义词：「{word}」→ {value}"
        else:
            changed = await store.merge_value(session, axis, word, value, now)
            done = f"已把「{word}」合并到「{value}」，{changed} 张卡片已更新。"
        add_audit(session, user.id, f"kb.taxonomy.{action}", f"{axis}:{word}", now, value=value,
                  **audit_detail(request))
    await knowledge_base(services).refresh_if_stale(services.db)
    raise web.HTTPSeeOther("/admin/taxonomy?done=" + _q(done))


# -- 系统 ----------------------------------------------------------------------------------------------
@allow("admin")
async def system(request: web.Request) -> web.Response:
    services = services_of(request)
    settings = services.settings
    ok = await services.db.ping()
    async with services.db.read_session() as session:
        counts = {"卡片": await session.scalar(select(func.count()).select_from(KnowledgeCard)),
                  "线索": await session.scalar(select(func.count()).select_from(Lead)),
                  "成员": await session.scalar(select(func.count()).select_from(User)),
                  "失败消息": await session.scalar(select(func.count()).select_from(OutboxMessage)
                                               .where(OutboxMessage.status == "dead"))}
    checks = await _channel_checks(services) if request.query.get("check") == "1" else None
    versions = {"salesbot": _version("salesbot"), "Python": platform.python_version(), "aiohttp": _version("aiohttp"),
                "SQLAlchemy": _version("sqlalchemy"), "chinesecalendar": _version("chinesecalendar")}
    return await render_page(request, "system.html", title="系统", db_ok=ok,
                             backend="PostgreSQL" if not services.db.is_sqlite else "SQLite", counts=counts,
                             checks=checks, versions=versions, base_url=settings.server.base_url,
                             wecom=settings.wecom.enabled, dingtalk=settings.dingtalk.enabled,
                             dingtalk_mode=settings.dingtalk.mode)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "未安装"


async def _channel_checks(services: Any) -> list[tuple[str, bool, str]]:
    """Can we get an access token from each configured channel right now? (a fresh client: no cached token)"""
    settings = services.settings
    checks: list[tuple[str, Any]] = []
    if settings.wecom.enabled:
        from bot.channels.wecom.api import WecomApi

        checks.append(("企业微信：获取访问令牌", WecomApi(settings.wecom, retry_delays=(), timeout_s=5)))
    if settings.dingtalk.enabled:
        from bot.channels.dingtalk.api import DingtalkApi

        checks.append(("钉钉：获取访问令牌", DingtalkApi(settings.dingtalk)))
    return [await _token_check(label, api) for label, api in checks]


async def _token_check(label: str, api: Any) -> tuple[str, bool, str]:
    try:
        await api.access_token()
        return label, True, "正常"
    except Exception as exc:
        return label, False, f"失败：{str(exc)[:120]}"
    finally:
        await api.close()


def routes() -> list[web.RouteDef]:
    return [
        web.get("/outbox", outbox, name="outbox"),
        web.post("/outbox", outbox_action, name="outbox_action"),
        web.get("/members", members, name="members"),
        web.post("/members/import", members_import, name="members_import"),
        web.post("/members/offboard", members_offboard, name="members_offboard"),
        web.get("/calendar", calendar, name="calendar"),
        web.post("/calendar", calendar_set, name="calendar_set"),
        web.get("/taxonomy", taxonomy, name="taxonomy"),
        web.post("/taxonomy", taxonomy_change, name="taxonomy_change"),
        web.get("/system", system, name="system"),
    ]

