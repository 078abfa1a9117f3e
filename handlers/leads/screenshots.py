"""Lead capture from chat screenshots, below the chat routes: OCR → draft card, merging and conflicts. The one
use case of the inline screenshot handler (handlers/chat/capture.py) and of the OCR worker process
(handlers/leads/ocr_jobs.py, `[ocr] mode = "worker"`).

- Screenshots of one chat sent within `ocr.merge_window_s` merge into one draft.
- The screenshot is kept as evidence (SHA-256 + file) on the draft and, once confirmed, on the lead.
- A customer already in the system (same phone, or company + name) → the card names the owner and since when and
  offers 合并到已有线索 / 仍然新建; the owner's manager is told about the conflict.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import CreateAnyway, DropDraft, MergeDraft
from bot.clock import fmt_cn
from bot.context import Context
from bot.messages import Button, Card, Outbound, Text
from bot.metrics import OCR, timed
from bot.phrases import UNNAMED_CUSTOMER
from bot.usertext import user_text
from handlers.checks import flags, hooks
from handlers.leads.evidence import EvidenceStore
from handlers.leads.records import draft_duplicates, fields_from_extract, save_draft
from handlers.leads.views import draft_card
from handlers.products import lead_catalog
from ocr.extract import LeadFields
from ocr.llm_assist import assist
from ocr.negatives import looks_like
from ocr.pipeline import OcrRejected, read_screenshot
from ocr.timeparse import Found, agreed
from storage.leads import set_field, user_names
from storage.models import Evidence, Lead, OcrJob, User
from storage.ocr_jobs import add_job

log = logging.getLogger(__name__)

BUSY_AFTER_S = 1.0
QUEUED = "收到截图，正在识别…"  # worker mode: the webhook's answer; the card follows from an OCR worker

NO_LEAD = {
    "not_chat": "这张图不像聊天截图，所以没有生成线索。请发与客户的聊天截图，或用「新线索 …」手动录入。",
    "group_chat": "这是群聊截图，分不清谁是客户，没有生成线索。请发与客户的单聊截图。",
    "colleague_chat": "这是同事之间的聊天截图，没有生成线索。请发与客户的聊天截图，或用「新线索 …」手动录入。",
    "no_details": "截图里没找到客户的联系方式或公司等信息，没有生成线索。可以用「新线索 …」手动录入。",
}


def no_lead_reply(reason: str | None) -> str:
    """Why no lead was made, naming what the image looked like (a courier chat, a bank SMS, a receipt …)."""
    if reason in NO_LEAD:
        return NO_LEAD[reason]
    seen = looks_like(reason)
    if seen:
        return f"这张图{seen}，所以没有生成线索。如有客户信息，可用「新线索 …」手动录入。"
    return NO_LEAD["no_details"]


async def queue_screenshot(ctx: Context, data: bytes, file_name: str | None) -> None:
    """`[ocr] mode = "worker"`: the image stored, its job queued in this message's transaction with a short reply;
    an OCR worker process runs `capture_screenshot` on it (handlers/leads/ocr_jobs.py)."""
    _digest, path = await EvidenceStore(ctx.settings.ocr.evidence_dir).keep(data, file_name)
    msg = ctx.msg
    job = OcrJob(channel=msg.channel, msg_id=msg.msg_id, sender=msg.user_id, user_id=ctx.user.id,
                 conversation_id=msg.conversation_id, image_path=path, file_name=file_name,
                 context={"group_ok": ctx.group_ok, "display_name": msg.display_name},
                 received_at=msg.received_at, state="queued", attempts=0, created_at=ctx.now())
    await add_job(await ctx.db(), job)
    ctx.reply(Text(QUEUED))


async def capture_screenshot(ctx: Context, data: bytes, file_name: str | None, *,
                             busy_after: float | None = BUSY_AFTER_S) -> None:
    """Screenshot → draft card, or the reason there is none: the one use case of the inline handler and of the
    OCR worker (which said 「收到截图」 already: `busy_after=None`, no 识别中…)."""
    fields = await _recognize(ctx, data, busy_after)
    if fields is None:
        return
    if not fields.is_lead:
        log.info("screenshot is no lead: %s", fields.reject_reason)
        ctx.reply(Text(no_lead_reply(fields.reject_reason)))
        return
    digest, path = await EvidenceStore(ctx.settings.ocr.evidence_dir).keep(data, file_name)
    session, now = await ctx.db(), ctx.now()
    draft = await _recent_draft(session, ctx.user.id, now)
    if draft is not None and _same_chat(draft, fields):
        _merge_fields(draft, fields, ctx.user.id, now)
        dups = await draft_duplicates(session, draft)
    else:
        values, follow, confidence = fields_from_extract(fields)
        draft, dups = await save_draft(session, values, source="ocr", by=ctx.user.id, now=now, confidence=confidence,
                                       follow_up=follow, extra={"text": fields.text[:4000],
                                                                "follow_up_precision": fields.follow_up_precision})
    draft.extra = {**draft.extra, "merge_until": (now + _merge_window(ctx)).isoformat(),
                   "chat_title": draft.extra.get("chat_title") or fields.chat_title,
                   "field_confidence": dict(fields.field_confidence)}
    draft.evidence_hash, draft.evidence_path = digest, path
    session.add(Evidence(lead_id=draft.id, kind="screenshot", sha256=digest, path=path, added_by=ctx.user.id,
                         created_at=now))
    await tell_conflicts(ctx, session, draft, dups)
    ctx.reply(await checked_card(ctx, session, draft, dups))


async def checked_card(ctx: Context, session: AsyncSession, draft: Lead, dups: list[Lead]) -> Card:
    """The draft card after the cross-checks a typed 新线索 gets (budget, shared contact …): the draft's open flags
    above it, so an odd value is questioned before 确认, not after."""
    await hooks.after_values(session, draft, ctx.now(), ctx.settings.checks)
    card = await capture_card(session, draft, dups, ctx.user.id, ctx.now())
    found = flags.sort_flags(await flags.flags_of(session, [draft.id]))
    if not found:
        return card
    lines = [flags.flag_line(f) for f in found]
    if any(f.rule == "budget_outlier" for f in found):
        lines.append(hooks.DRAFT_BUDGET_ASK)
    return dataclasses.replace(card, description="\n".join([*lines, card.description]).strip())


async def _recognize(ctx: Context, data: bytes, busy_after: float | None) -> LeadFields | None:
    """OCR in the bounded executor; a short 识别中… goes out at once when it takes over `busy_after` seconds."""
    job = asyncio.ensure_future(_timed_read(data, ctx))
    if busy_after is not None:
        done, _ = await asyncio.wait({job}, timeout=busy_after)
        if not done:
            await _send_now(ctx, Text("识别中…"))
    try:
        fields = await job
    except OcrRejected as exc:
        ctx.reply(Text(exc.message_cn))
        return None
    return await assist(fields, ctx.settings.llm, ctx.msg.received_at)


async def _timed_read(data: bytes, ctx: Context) -> LeadFields:
    with timed(OCR):
        catalog = await lead_catalog(ctx.services)
        return await read_screenshot(data, now=ctx.msg.received_at, settings=ctx.settings.ocr,
                                     engines=ctx.services.engines, catalog=catalog)


async def _send_now(ctx: Context, body: Text) -> None:
    """A progress message committed on its own, before the handler's transaction exists."""
    out = Outbound(to=ctx.msg.user_id, body=body, channel=ctx.msg.channel,
                   dedup_key=f"in:{ctx.msg.channel}:{ctx.msg.msg_id}:busy")
    await ctx.services.outbox.send_now([out])


def _merge_window(ctx: Context) -> timedelta:
    return timedelta(seconds=ctx.settings.ocr.merge_window_s)


async def _recent_draft(session: AsyncSession, user_id: str, now: datetime) -> Lead | None:
    """The caller's screenshot draft still inside its merge window, if any."""
    draft = await latest_draft(session, user_id)
    if draft is None or draft.source != "ocr":
        return None
    until = (draft.extra or {}).get("merge_until")
    return draft if until and datetime.fromisoformat(until) >= now else None


IDENTITY = ("phone", "email", "wechat_id", "customer_name", "company")


def _same_chat(draft: Lead, fields: LeadFields) -> bool:
    """Another screenshot of the draft's chat: titles alike and no identity field disagrees."""
    title = (draft.extra or {}).get("chat_title")
    if title and fields.chat_title and SequenceMatcher(None, title, fields.chat_title).ratio() < 0.75:
        return False
    for name in IDENTITY:
        mine, theirs = getattr(draft, name), getattr(fields, name)
        if mine and theirs and not _agree(str(mine), str(theirs), partial=name in ("customer_name", "company")):
            return False
    return True


def _agree(a: str, b: str, *, partial: bool) -> bool:
    """Equal ignoring case and spaces; names and companies may also be short and full forms of each other."""
    a, b = "".join(a.lower().split()), "".join(b.lower().split())
    return a == b or (partial and (a in b or b in a))


async def latest_draft(session: AsyncSession, user_id: str) -> Lead | None:
    stmt = (select(Lead).where(Lead.status == "draft", Lead.created_by == user_id)
            .order_by(Lead.id.desc()).limit(1))
    return (await session.execute(stmt)).scalar_one_or_none()


def _merge_fields(draft: Lead, fields: LeadFields, by: str, now: datetime) -> None:
    """Fill what the earlier screenshots left unknown; needs and text accumulate."""
    values, follow, confidence = fields_from_extract(fields)
    for name, value in values.items():
        if name == "needs":
            merged = list(dict.fromkeys([*(draft.needs or []), *(value or [])]))
            set_field(draft, "needs", merged, "ocr", by, now)
        elif getattr(draft, name, None) in (None, "") and value not in (None, "", [], ()):
            set_field(draft, name, value, "ocr", by, now)
    extra = dict(draft.extra or {})
    if follow is not None:
        extra.update(_settled_follow_up(extra, follow, fields.follow_up_precision or "hour"))
    extra["text"] = (extra.get("text", "") + "\n" + fields.text)[:8000]
    extra["screenshots"] = int(extra.get("screenshots", 1)) + 1
    draft.extra = extra
    if confidence is not None:
        draft.confidence = max(draft.confidence or 0.0, confidence)


def _settled_follow_up(extra: dict[str, Any], follow: datetime, precision: str) -> dict[str, Any]:
    """A later screenshot's time wins, unless it only repeats the day of the precise time already agreed
    (the same rule as within one screenshot, `ocr.timeparse.agreed`)."""
    times = [Found.said(follow, precision)]
    if extra.get("follow_up"):
        before = Found.said(datetime.fromisoformat(extra["follow_up"]), extra.get("follow_up_precision") or "hour")
        times.insert(0, before)
    best = agreed(times)
    assert best is not None
    return {"follow_up": best.when.isoformat(), "follow_up_precision": best.precision}


async def capture_card(session: AsyncSession, draft: Lead, dups: list[Lead], viewer: str, now: datetime) -> Card:
    names = await user_names(session, [draft.created_by, *(d.owner_id for d in dups)])
    card = _mark_past_follow_up(draft_card(draft, names, dups, viewer), draft, now)
    note = _source_note(draft)
    if not dups or draft.source != "ocr":  # a typed draft keeps its buttons; its note says who has the customer
        return dataclasses.replace(card, note="；".join(filter(None, (card.note, note))))
    dup = dups[0]
    owner = names.get(dup.owner_id or "", "线索池") if dup.owner_id else "线索池"
    since = fmt_cn(dup.assigned_at or dup.created_at)
    description = f"⚠️ 该客户已有线索 #{dup.id}，由 {owner} 负责（自 {since}）。请选择："
    buttons = (Button(MergeDraft(draft.id, dup.id).pack(), "合并到已有线索", "primary"),
               Button(CreateAnyway(draft.id).pack(), "仍然新建"), Button(DropDraft(draft.id).pack(), "放弃"))
    return dataclasses.replace(card, description=description, buttons=buttons, note=note or card.note)


def _source_note(draft: Lead) -> str:
    """Where a draft came from, for screenshots only: a typed draft (「新线索 …」, then corrected) has no
    recognition confidence to show."""
    if draft.source != "ocr":
        return ""
    n = int((draft.extra or {}).get("screenshots", 1))
    return f"来源: 截图{f' ×{n}' if n > 1 else ''} · 识别置信度 {round((draft.confidence or 0) * 100)}%"


def _mark_past_follow_up(card: Card, draft: Lead, now: datetime) -> Card:
    """A follow-up time already past gets no reminder on 确认: say so on the card."""
    follow = (draft.extra or {}).get("follow_up")
    if not follow or datetime.fromisoformat(follow) > now:
        return card
    fields = tuple(dataclasses.replace(f, value=f"{f.value}（已过期，不会提醒）") if f.label == "约定回访" else f
                   for f in card.fields)
    return dataclasses.replace(card, fields=fields)


async def tell_conflicts(ctx: Context, session: AsyncSession, draft: Lead, dups: list[Lead]) -> None:
    """The owner's manager hears about a customer another rep is trying to register."""
    for dup in dups:
        if dup.owner_id in (None, ctx.user.id):
            continue
        owner = await session.get(User, dup.owner_id)
        if owner is None or not owner.manager_id:
            continue
        who = user_text(draft.customer_name or draft.phone or UNNAMED_CUSTOMER)
        by, owner_name = user_text(ctx.user.name), user_text(owner.name)
        text = (f"⚠️ 客户冲突：{by} 提交的截图客户「{who}」与 {owner_name} 的线索 #{dup.id} 重复"
                f"（自 {fmt_cn(dup.assigned_at or dup.created_at)} 起跟进）。")
        ctx.send(owner.manager_id, Text(text), key=f"conflict:{draft.id}:{dup.id}")
