"""命中测试 (why a question hits or misses), 知识缺口 (pin a card / new card from a gap), 导入 (dry run first)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp import BodyPartReader, web
from sqlalchemy import select

from app.console.act import perform
from app.console.core import (
    allow,
    audit_detail,
    log,
    message_page,
    render,
    render_page,
    services_of,
    upload_name,
    user_of,
)
from app.console.kb_text import cn_issue
from bot.clock import to_cn
from bot.jobs import ImportJob, Progress, nothing_imported, save_job, start_job
from bot.services import Services, Shared
from handlers.kb_gaps import WEEK, field_gaps
from handlers.knowledge import knowledge_base, pin
from knowledge.importer import Landed, dated, import_file, undated_text
from knowledge.io import SUFFIXES, read_cards
from knowledge.schema import AXES
from knowledge.search import Hit, KnowledgeBase
from knowledge.store import Gap, gaps, row_to_card
from storage.activity import add_audit
from storage.models import KeyValue, KnowledgeCard, User
from storage.sql import insert_ignore

AXIS_CN = {"role": "角色", "industry": "行业", "objection": "异议"}
MAX_UPLOAD_MB = 20
BACKGROUND_BYTES = 256 * 1024  # a bigger file (some thousand cards) is imported as a background job
MAX_PREVIEW_ROWS = 200
MAX_GROUPS = 50  # gap groups shown (each gets a ranked card list)
GAP_DONE = "console:gap_done:"
STAGING = Path(tempfile.gettempdir()) / "salesbot-console-imports"
_PUNCT = re.compile(r"[\s\W_]+")


# -- 命中测试 --------------------------------------------------------------------------------------------
@allow("manager", "admin")
async def hit_test(request: web.Request) -> web.Response:
    services = services_of(request)
    query = request.query.get("q", "").strip()[:500]
    result, rows = None, []
    if query:
        kb = knowledge_base(services)
        await kb.refresh_if_stale(services.db)
        result = await kb.asearch(query, top=10)
        top = max((h.score for h in result.hits), default=0.0)
        rows = [_explain(kb, result.matched, query, hit, top) for hit in result.hits]
    return await render_page(request, "hits.html", title="命中测试", q=query, result=result, rows=rows)


def _explain(kb: KnowledgeBase, matched: dict[str, tuple[str, ...]], query: str, hit: Hit, top: float
             ) -> dict[str, Any]:
    """What decided a card's place: axes it shares with the question, its keywords in it, shared words."""
    card, why = hit.card, []
    for axis in AXES:
        value = getattr(card, axis)
        wanted = matched.get(axis, ())
        if value and value in wanted:
            why.append(f"{AXIS_CN[axis]}一致：{value}")
        elif wanted and not value:
            why.append(f"{AXIS_CN[axis]}通用（问题提到 {'、'.join(wanted)}）")
        elif wanted:
            why.append(f"{AXIS_CN[axis]}不同：卡片是 {value}")
    normalize = kb.tokenizer.normalize
    text = normalize(query)
    keywords = [k for k in card.keywords if normalize(k) and normalize(k) in text]
    if keywords:
        why.append("关键词：" + "、".join(keywords))
    words = sorted(set(kb.tokenizer.tokens(query)) & set(card.tokens), key=len, reverse=True)[:8]
    if words:
        why.append("相同词语：" + "、".join(words))
    width = int(max(hit.score, 0.0) / top * 100) if top > 0 else 0
    return {"card": card, "score": hit.score, "why": why, "width": width}


# -- 知识缺口 --------------------------------------------------------------------------------------------
def _gap_key(query: str) -> str:
    return GAP_DONE + hashlib.sha1(query.encode()).hexdigest()


def _group(items: list[Gap], kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Gaps grouped by similar wording (same words, punctuation and order aside), most asked first."""
    groups: list[dict[str, Any]] = []
    for gap in items:
        words = frozenset(kb.tokenizer.tokens(gap.query)) or frozenset([_PUNCT.sub("", gap.query)])
        for group in groups:
            if len(words & group["words"]) / max(1, len(words | group["words"])) >= 0.6:
                group["items"].append(gap)
                group["count"] += gap.count
                break
        else:
            groups.append({"words": words, "items": [gap], "count": gap.count, "query": gap.query})
    return sorted(groups, key=lambda g: -g["count"])


@allow("admin")
async def gap_list(request: web.Request) -> web.Response:
    services = services_of(request)
    days = 30 if request.query.get("days") == "30" else 7
    kb = knowledge_base(services)
    await kb.refresh_if_stale(services.db)
    async with services.db.read_session() as session:
        items = await gaps(session, since=services.clock.now() - WEEK * (days / 7), limit=200)
        done = set((await session.scalars(select(KeyValue.key).where(
            KeyValue.key.in_([_gap_key(g.query) for g in items])))).all())
        field = await field_gaps(session, kb, services.clock.now(), services.settings.knowledge)
    items = [g for g in items if _gap_key(g.query) not in done]
    loop = asyncio.get_running_loop()
    groups = (await loop.run_in_executor(None, _group, items, kb))[:MAX_GROUPS]
    suggestions = await _suggestions(services, kb, [g["query"] for g in groups])
    return await render_page(request, "gaps.html", title="知识缺口", groups=groups, suggestions=suggestions, days=days,
                  card_title=lambda card_id: (kb.card(card_id) or SimpleNamespace(title=card_id)).title,
                  field=field, field_days=services.settings.knowledge.field_days,
                  flash=request.query.get("done", "")[:200])


SUGGESTED: Shared[dict[str, Any]] = Shared("console_gap_suggestions", lambda _s: {})


async def _suggestions(services: Services, kb: KnowledgeBase, queries: list[str]) -> dict[str, list[Hit]]:
    """The 3 best cards for each gap, searched once per index build (50 searches cost ~120 ms a visit), on a
    worker thread: the server's loop keeps answering meanwhile."""
    cache = services.shared(SUGGESTED)
    built = (id(kb.cards()), id(kb.learned), len(kb.learned.pins))
    if cache.get("built") != built:
        cache.clear()
        cache["built"], cache["hits"] = built, {}
    known: dict[str, list[Hit]] = cache["hits"]
    todo = [q for q in queries if q not in known]
    if todo:
        found = await asyncio.get_running_loop().run_in_executor(
            None, lambda: {q: list(kb.search(q, top=3).hits) for q in todo})
        if cache.get("built") == built:
            known.update(found)
    return {q: known.get(q, []) for q in queries}


@allow("admin")
async def gap_pin(request: web.Request) -> web.Response:
    """指定卡片: the use case of chat's 「置顶 问法 卡片编号」 (handlers/knowledge.pin: the same pin every process
    reads)."""
    services = services_of(request)
    data = await request.post()
    query = " ".join(str(data.get("q", ""))[:500].split())
    card_id = str(data.get("card", ""))[:32].strip()
    if not query or not card_id or " " in card_id:
        return message_page(request, "缺少内容", "请选择要指定的卡片。", 400)
    now, user = services.clock.now(), user_of(request)
    ok, replies = await perform(services, user, lambda session: pin(session, knowledge_base(services), query, card_id,
                                                                   now), f"pin {card_id}")
    if not ok:
        return message_page(request, "没有指定成功", "\n".join(replies) or "请刷新后再试。", 409)
    async with services.db.session() as session:
        await session.execute(insert_ignore(session, KeyValue).values(
            key=_gap_key(query), value={"card": card_id, "by": user.id}, updated_at=now))
        add_audit(session, user.id, "kb.card.pin", f"card:{card_id}", now, query=query, **audit_detail(request))
    log.info("console: %s pinned card %s to %r", user.id, card_id, query[:40])
    card = knowledge_base(services).card(card_id)
    done = f"已把「{query}」指定给卡片「{card.title if card else card_id}」，再问就会用它回答。"
    raise web.HTTPSeeOther("/admin/gaps?done=" + _quote(done))


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


# -- 导入 ------------------------------------------------------------------------------------------------
@allow("admin")
async def import_form(request: web.Request) -> web.Response:
    return render(request, "kb_import.html", title="导入卡片", max_mb=MAX_UPLOAD_MB)


@allow("admin")
async def import_upload(request: web.Request) -> web.Response:
    """Store the upload (streamed, size-capped), read it, and show what an import would do."""
    services = services_of(request)
    if (request.content_length or 0) > MAX_UPLOAD_MB * 1024 * 1024 + 64 * 1024:
        log.warning("console: %s upload refused: %s bytes", user_of(request).id, request.content_length)
        return message_page(request, "文件太大", f"文件不能超过 {MAX_UPLOAD_MB} MB，没有导入任何内容。", 413)
    staged = await _stage(request)
    if isinstance(staged, web.Response):
        return staged
    token, path = staged
    kb = knowledge_base(services)
    read = await asyncio.get_running_loop().run_in_executor(None, read_cards, path, kb.taxonomy)
    day = to_cn(services.clock.now()).date()
    plan, undated = await _plan(services, [c for _, c in read.cards], day)
    rows = [{"line": line, "card": card, "status": plan[card.id]} for line, card in read.cards[:MAX_PREVIEW_ROWS]]
    counts = {s: sum(1 for v in plan.values() if v == s) for s in ("add", "change", "same")}
    issues = [{"line": i.line, "text": cn_issue(i.message)} for i in read.issues]
    return render(request, "kb_import.html", title="导入预览", max_mb=MAX_UPLOAD_MB, name=path.name,
                  token=token, rows=rows, counts=counts, issues=issues, total=read.rows,
                  undated=undated_text(undated, day) if undated else "",
                  more=max(0, len(read.cards) - MAX_PREVIEW_ROWS))


async def _stage(request: web.Request) -> tuple[str, Path] | web.Response:
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and getattr(part, "name", None) != "file":
        part = await reader.next()
    if not isinstance(part, BodyPartReader) or not part.filename:  # none, or a nested multipart
        return message_page(request, "没有文件", "请选择要导入的 CSV 或 XLSX 文件。", 400)
    name = upload_name(part)
    if Path(name).suffix.lower() not in SUFFIXES:
        log.warning("console: %s upload refused: type %r", user_of(request).id, name)
        return message_page(request, "文件类型不支持", "只能导入 CSV、XLSX、Markdown、JSON 或 JSONL 文件。", 415)
    token = secrets.token_hex(12)
    folder = STAGING / token
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".owner").write_text(user_of(request).id)
    path, size, limit = folder / name, 0, MAX_UPLOAD_MB * 1024 * 1024
    with path.open("wb") as out:
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size > limit:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                log.warning("console: %s upload refused: over %d MB", user_of(request).id, MAX_UPLOAD_MB)
                return message_page(request, "文件太大", f"文件不能超过 {MAX_UPLOAD_MB} MB，没有导入任何内容。", 413)
            out.write(chunk)
    return token, path


async def _plan(services: Services, cards: list[Any], day: date) -> tuple[dict[str, str], int]:
    """card id → 'add' | 'change' | 'same' against the cards stored now, and how many new cards have no date."""
    plan: dict[str, str] = {}
    undated = 0
    async with services.db.read_session() as session:
        for lo in range(0, len(cards), 500):
            chunk = cards[lo:lo + 500]
            rows = {r.id: r for r in await session.scalars(
                select(KnowledgeCard).where(KnowledgeCard.id.in_([c.id for c in chunk])))}
            for card in chunk:
                row = rows.get(card.id)
                stored = row_to_card(row) if row is not None else None
                undated += card.updated_at is None and stored is None
                plan[card.id] = "add" if stored is None else (
                    "same" if stored.content_equal(dated(card, stored, day)) else "change")
    return plan, undated


@allow("admin")
async def import_commit(request: web.Request) -> web.Response:
    services = services_of(request)
    data = await request.post()
    token = str(data.get("token", ""))
    folder = STAGING / token if re.fullmatch(r"[0-9a-f]{24}", token) else None
    owner = folder / ".owner" if folder else None
    if folder is None or owner is None or not owner.exists() or owner.read_text() != user_of(request).id:
        return message_page(request, "预览已失效", "请重新上传文件。", 410)
    files = [p for p in folder.iterdir() if p.name != ".owner"]
    kb, now, user, detail = knowledge_base(services), services.clock.now(), user_of(request), audit_detail(request)

    async def run(landed: Landed | None = None, total: Callable[[int], None] | None = None) -> str:
        try:  # staged per chunk, then published (knowledge/importer.py)
            report = await import_file(services.db, kb, files[0], now, total=total, landed=landed)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        async with services.db.session() as session:
            add_audit(session, user.id, "kb.import", files[0].name, now, rows=report.rows, inserted=report.inserted,
                      updated=report.updated, unchanged=report.unchanged, skipped=len(report.issues), **detail)
        log.info("console: %s imported %s: %s", user.id, files[0].name, json.dumps(
            {"rows": report.rows, "inserted": report.inserted, "updated": report.updated}))
        return (f"导入完成：{files[0].name} 共 {report.rows} 行，新增 {report.inserted}，更新 {report.updated}，"
                f"未变 {report.unchanged}，跳过 {len(report.issues)}。"
                + (f"{undated_text(report.undated, report.import_day)}。" if report.undated else ""))

    if files[0].stat().st_size <= BACKGROUND_BYTES:
        done = await run()
    else:  # a large file: a background job that reports in chat (bot/jobs.py), not one long request
        await _import_in_background(services, user.id, files[0], token, run)
        done = f"已开始导入 {files[0].name}：文件较大，在后台分批写入，完成后在聊天里告诉你结果。"
    raise web.HTTPSeeOther("/admin/kb?status=all&done=" + _quote(done))


async def _import_in_background(services: Services, user_id: str, path: Path, token: str,
                                run: Callable[[Landed, Callable[[int], None]], Awaitable[str]]) -> None:
    """Durable like a chat import (bot/jobs.py): the file is kept with the job, and a process killed meanwhile
    leaves it to be imported again (as a chat import of the same file) by the replay sweep."""
    name = path.name
    data = await asyncio.get_running_loop().run_in_executor(None, path.read_bytes)
    async with services.db.session() as session:
        row = await session.get(User, user_id)
        channel = (row.channel if row else None) or services.default_channel
        job = ImportJob("knowledge", f"import:web:{token}", name, data, user_id, channel, services.clock.now())
        await save_job(session, job)
    progress = Progress(services, user_id, channel, job.key, durable=True)

    async def work(p: Progress) -> list[str]:
        return ["📚 " + await run(p.landed, p.set_total)]

    def failed(p: Progress) -> str:
        return nothing_imported(name, p, "请重新上传这个文件")

    start_job(services, progress, work, failed)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/hits", hit_test, name="hits"),
        web.get("/gaps", gap_list, name="gaps"),
        web.post("/gaps/pin", gap_pin, name="gap_pin"),
        web.get("/kb/import", import_form, name="kb_import"),
        web.post("/kb/import", import_upload, name="kb_import_upload"),
        web.post("/kb/import/commit", import_commit, name="kb_import_commit"),
    ]
