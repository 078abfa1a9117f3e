"""知识库 pages: list / search / filter, edit with the chat-card preview, deactivate, history, export.

Writes go through `knowledge.store.save_card` (version-checked) and the importer's tokeniser, then the
process's index is refreshed at once, so the next chat question is answered from the edited card.
"""

from __future__ import annotations

import asyncio
import difflib
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select

from app.console.core import allow, audit_detail, log, message_page, render, render_page, services_of, user_of
from app.console.kb_text import cn_issue
from bot.clock import to_cn
from bot.messages import Card
from bot.services import Services
from bot.usertext import dingtalk_markdown, escape_body, identity
from handlers.knowledge import answer_card, is_stale, knowledge_base
from knowledge.importer import tokenise
from knowledge.io import derived_id, write_cards
from knowledge.schema import AXES, CardError, KbCard, parse_card
from knowledge.store import row_to_card, save_card
from storage.activity import add_audit
from storage.leads import user_names
from storage.models import AuditLog, KnowledgeCard

PAGE = 50
AXIS_CN = {"role": "角色", "industry": "行业", "objection": "异议"}
FIELD_CN = {"title": "标题", "role": "角色", "industry": "行业", "objection": "异议", "talk_track": "话术",
            "quote_template": "报价模板", "success_case": "成功案例", "keywords": "关键词", "updated_at": "更新日期",
            "active": "启用"}
FORM_FIELDS = ("id", "title", "role", "industry", "objection", "talk_track", "quote_template", "success_case",
               "keywords", "updated_at")
EXPORT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "jsonl": "application/x-ndjson"}
READERS = ("manager", "admin")


def today(services: Services) -> date:
    return to_cn(services.clock.now()).date()


# -- list ----------------------------------------------------------------------------------------------
@allow(*READERS)
async def card_list(request: web.Request) -> web.Response:
    services = services_of(request)
    q = request.query
    page = max(1, _int(q.get("page"), 1))
    stmt = _filtered(select(KnowledgeCard), q, services)
    async with services.db.read_session() as session:
        total = int(await session.scalar(_filtered(select(func.count()).select_from(KnowledgeCard), q, services))
                    or 0)
        rows = list(await session.scalars(stmt.order_by(KnowledgeCard.modified_at.desc(), KnowledgeCard.id.desc())
                                          .offset((page - 1) * PAGE).limit(PAGE)))
    cards = [row_to_card(r) for r in rows]
    taxonomy = knowledge_base(services).taxonomy
    stale = {c.id for c in cards if is_stale(c, today(services), services.settings.knowledge.stale_months)}
    return await render_page(request, "kb_list.html", title="知识库", cards=cards, stale=stale, total=total, page=page,
                  pages=max(1, -(-total // PAGE)), q=q, axes={a: taxonomy.values.get(a, ()) for a in AXES},
                  AXIS_CN=AXIS_CN, flash=q.get("done", "")[:200])


def _filtered(stmt: Any, q: Any, services: Services) -> Any:
    text = q.get("q", "").strip()[:100]
    if text:
        like = f"%{text}%"
        stmt = stmt.where(or_(KnowledgeCard.title.like(like), KnowledgeCard.talk_track.like(like),
                              KnowledgeCard.id == text))
    for axis in AXES:
        value = q.get(axis, "")[:32]
        if value == "-":
            stmt = stmt.where(getattr(KnowledgeCard, axis).is_(None))
        elif value:
            stmt = stmt.where(getattr(KnowledgeCard, axis) == value)
    status = q.get("status", "active")
    if status in ("active", "inactive"):
        stmt = stmt.where(KnowledgeCard.active.is_(status == "active"))
    if q.get("stale") == "1":
        cutoff = _months_back(today(services), services.settings.knowledge.stale_months)
        stmt = stmt.where(or_(KnowledgeCard.updated_at.is_(None), KnowledgeCard.updated_at < cutoff))
    return stmt


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


# -- edit ----------------------------------------------------------------------------------------------
async def _load(services: Services, card_id: str) -> KbCard | None:
    async with services.db.read_session() as session:
        row = await session.get(KnowledgeCard, card_id[:32])
        return row_to_card(row) if row is not None else None


@allow(*READERS)
async def card_edit(request: web.Request) -> web.Response:
    services = services_of(request)
    card_id = request.match_info.get("card_id", "")
    if card_id == "new":
        prefill = {"title": request.query.get("title", "")[:255], "keywords": request.query.get("keywords", "")[:500],
                   "objection": request.query.get("objection", "")[:64], "updated_at": today(services).isoformat()}
        return _edit_page(request, None, prefill, version=None)
    card = await _load(services, card_id)
    if card is None:
        return message_page(request, "找不到卡片", "这张卡片不存在或已被删除。", 404)
    return _edit_page(request, card, _form_of(card), version=card.version, history=await _history(services, card.id))


def _form_of(card: KbCard) -> dict[str, str]:
    return {"id": card.id, "title": card.title, "role": card.role, "industry": card.industry,
            "objection": card.objection, "talk_track": card.talk_track, "quote_template": card.quote_template,
            "success_case": card.success_case, "keywords": "，".join(card.keywords),
            "updated_at": card.updated_at.isoformat() if card.updated_at else ""}


def _edit_page(request: web.Request, card: KbCard | None, form: dict[str, str], *, version: int | None,
               status: int = 200, **extra: Any) -> web.Response:
    services = services_of(request)
    taxonomy = knowledge_base(services).taxonomy
    preview = _preview(services, form)
    return render(request, "kb_edit.html", status=status, title=card.title if card else "新建卡片", card=card,
                  form=form, version=version, axes={a: taxonomy.values.get(a, ()) for a in AXES}, AXIS_CN=AXIS_CN,
                  preview=preview, can_edit=user_of(request).is_admin, **extra)


async def _history(services: Services, card_id: str) -> list[tuple[AuditLog, str]]:
    """The card's last changes, each with who made it by name (系统 for none, 未知成员 for an unknown id)."""
    async with services.db.read_session() as session:
        rows = list(await session.scalars(select(AuditLog).where(AuditLog.target == f"card:{card_id}")
                                          .order_by(AuditLog.id.desc()).limit(30)))
        names = await user_names(session, [r.actor_id for r in rows])
    return [(r, names.get(r.actor_id, "未知成员") if r.actor_id else "系统") for r in rows]


def _parse_form(services: Services, form: dict[str, str]) -> KbCard:
    taxonomy = knowledge_base(services).taxonomy
    return parse_card({k: form.get(k, "") for k in FORM_FIELDS}, taxonomy.canonical_or_error)


async def _form_dict(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {k: str(data.get(k, "")) for k in (*FORM_FIELDS, "version")}


@allow("admin")
async def card_save(request: web.Request) -> web.Response:
    services = services_of(request)
    form = await _form_dict(request)
    url_id = request.match_info["card_id"]
    is_new = url_id == "new"
    if not is_new:
        form["id"] = url_id
    elif not form["id"].strip() and form["title"].strip():
        form["id"] = derived_id(form["title"])
    version = None if is_new else _int(form.get("version"), 0)
    try:
        card = _parse_form(services, form)
    except CardError as exc:
        return _edit_page(request, await _load(services, url_id) if not is_new else None, form, version=version,
                          status=400, flash=cn_issue(str(exc)), flash_kind="error")
    kb = knowledge_base(services)
    ready = (await tokenise(kb, [card]))[0]
    user, now = user_of(request), services.clock.now()
    async with services.db.session() as session:
        before = await session.get(KnowledgeCard, card.id)
        old = row_to_card(before) if before is not None else None
        result = await save_card(session, ready, version, now)
        if result.saved is not None:
            add_audit(session, user.id, "kb.card.create" if is_new else "kb.card.update", f"card:{card.id}", now,
                      version=result.saved.version, changed=_changed_fields(old, card), **audit_detail(request))
    if result.saved is None:
        return _conflict(request, card, form, result.current, is_new)
    await kb.refresh_if_stale(services.db)  # the next question in this process gets the new text
    log.info("console: %s saved card %s (version %s)", user.id, card.id, result.saved.version)
    raise web.HTTPSeeOther(f"/admin/kb/{card.id}?saved=1")


def _changed_fields(old: KbCard | None, new: KbCard) -> list[str]:
    if old is None:
        return ["新建"]
    names = ("title", *AXES, "talk_track", "quote_template", "success_case", "keywords", "updated_at")
    return [FIELD_CN[n] for n in names if getattr(old, n) != getattr(new, n)]


def _conflict(request: web.Request, mine: KbCard, form: dict[str, str], current: KbCard | None,
              is_new: bool) -> web.Response:
    if current is None:
        return message_page(request, "找不到卡片", "这张卡片已不存在，没有保存。", 409)
    if is_new:
        form["id"] = ""
        return _edit_page(request, None, form, version=None, status=409, flash_kind="error",
                          flash=f"编号「{current.id}」已被卡片「{current.title}」使用，请换一个编号。")
    log.info("console: %s edit of card %s refused: version %s is current", user_of(request).id, mine.id,
             current.version)
    return _edit_page(request, current, form, version=current.version, status=409, flash_kind="warn",
                      flash="已被他人修改：你编辑期间这张卡片已被保存过。下面是对方版本与你的修改之间的差异；"
                            "确认无误后再次点「保存」会以你的内容为准。",
                      diff=_diff(current, mine))


def _diff(theirs: KbCard, mine: KbCard) -> list[dict[str, Any]]:
    out = []
    for name in ("title", *AXES, "talk_track", "quote_template", "success_case", "keywords"):
        a, b = _text_of(getattr(theirs, name)), _text_of(getattr(mine, name))
        if a != b:
            out.append({"label": FIELD_CN[name], "parts": _segments(a, b)})
    return out


def _text_of(value: Any) -> str:
    return "，".join(value) if isinstance(value, tuple) else str(value or "")


def _segments(a: str, b: str) -> list[tuple[str, str]]:
    """('same'|'del'|'ins', text) pieces turning their text `a` into mine `b`."""
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", a[i1:i2]))
            continue
        if i2 > i1:
            out.append(("del", a[i1:i2]))
        if j2 > j1:
            out.append(("ins", b[j1:j2]))
    return out


# -- live preview ----------------------------------------------------------------------------------------
@allow(*READERS)
async def card_preview(request: web.Request) -> web.Response:
    form = await _form_dict(request)
    env_preview = _preview(services_of(request), form)
    return render(request, "kb_preview.html", preview=env_preview)


def _preview(services: Services, form: dict[str, str]) -> dict[str, Any]:
    """The answer card as WeCom's template_card and DingTalk's card markdown will show it."""
    from bot.channels.dingtalk.render import card_markdown
    from bot.channels.wecom.render import card_payload

    raw = {k: form.get(k, "") for k in FORM_FIELDS}
    raw["id"] = raw["id"] or "new"
    try:
        card = _parse_form(services, raw)
    except CardError as exc:
        return {"error": cn_issue(str(exc))}
    body: Card = answer_card(card, 0, today(services), services.settings.knowledge.stale_months)
    # escaped as each channel's sender escapes what people wrote (template_card fields are plain text)
    return {"wecom": card_payload(escape_body(body, identity), "preview")["template_card"],
            "dingtalk": card_markdown(escape_body(body, dingtalk_markdown), heading=True)}


# -- deactivate / activate -------------------------------------------------------------------------------
@allow("admin")
async def card_active(request: web.Request) -> web.Response:
    services = services_of(request)
    data = await request.post()
    card = await _load(services, request.match_info["card_id"])
    if card is None:
        return message_page(request, "找不到卡片", "这张卡片不存在。", 404)
    active = data.get("active") == "1"
    kb, user, now = knowledge_base(services), user_of(request), services.clock.now()
    ready = (await tokenise(kb, [card.with_(active=active)]))[0]
    async with services.db.session() as session:
        result = await save_card(session, ready, _int(str(data.get("version", "")), 0), now)
        if result.saved is not None:
            add_audit(session, user.id, "kb.card.activate" if active else "kb.card.deactivate", f"card:{card.id}",
                      now, version=result.saved.version, **audit_detail(request))
    if result.saved is None:
        return message_page(request, "已被他人修改", "这张卡片刚被别人修改过，请刷新后再操作。", 409)
    await kb.refresh_if_stale(services.db)
    raise web.HTTPSeeOther(f"/admin/kb/{card.id}?saved=1")


# -- export ----------------------------------------------------------------------------------------------
@allow("admin")
async def export(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    kind = request.query.get("fmt", "csv")
    if kind not in EXPORT_TYPES:
        return message_page(request, "格式不支持", "可以导出 CSV、XLSX 或 JSONL。", 400)
    from knowledge.store import all_cards

    async with services.db.session() as session:
        cards = await all_cards(session)
        add_audit(session, user_of(request).id, "kb.export", kind, services.clock.now(), cards=len(cards),
                  **audit_detail(request))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"cards.{kind}"
        await asyncio.get_running_loop().run_in_executor(None, write_cards, path, cards)
        data = path.read_bytes()
    name = f"knowledge-{today(services).isoformat()}.{kind}"
    return web.Response(body=data, content_type=EXPORT_TYPES[kind],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/kb", card_list, name="kb_list"),
        web.get("/kb/export", export, name="kb_export"),
        web.post("/kb/preview", card_preview, name="kb_preview"),
        web.get("/kb/{card_id}", card_edit, name="kb_edit"),
        web.post("/kb/{card_id}", card_save, name="kb_save"),
        web.post("/kb/{card_id}/active", card_active, name="kb_active"),
    ]
