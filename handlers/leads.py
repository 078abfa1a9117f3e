"""Lead commands and buttons: 我的线索, 团队线索, 线索, 跟进, 阶段, 赢单, 输单, 证据, 新线索, 改派.

Every handler loads leads through `handlers.permissions.lead_for` (rep → own, manager → team + pool,
admin → all), so a lead the caller may not see answers exactly like a missing one.
Reusable by other features: `save_draft` (draft lead + provenance) and `confirm_draft` (activation).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phrases as P
from bot.config import RemindersSettings
from bot.context import Context, UserInfo
from bot.messages import Button, Card, Image, Inbound, Markdown, Text
from bot.router import Router, split_command
from bot.services import Services
from bot.usertext import user_text
from handlers import leads_view as view
from handlers.assignment import activate_lead, change_owner, plan_follow_up, reassign_options
from handlers.checks import flags as checks_flags
from handlers.checks import hooks
from handlers.checks.evidence import read_image, read_name
from handlers.checks.rules import budget_from_text
from handlers.insights import InsightMiner, Insights, build_miner
from handlers.intent import split_person
from handlers.permissions import (
    closed_refusal,
    command_arg,
    frozen_refusal,
    key_id,
    lead_for,
    list_leads,
    manager_refusal,
    parse_id,
    visible_clause,
)
from handlers.when import first_future, say_when, workdays
from reminders import actions, lifecycle
from storage.activity import add_activity
from storage.leads import (
    SOURCE_CN,
    STAGE_CODES,
    STAGES,
    STATUS_CN,
    create_lead,
    evidence_state,
    find_duplicates,
    parse_stage,
    stage_index,
    stage_label,
    user_names,
)
from storage.models import Activity, Evidence, KeyValue, Lead, User

log = logging.getLogger(__name__)
router = Router("leads")

EVIDENCE_WAIT = timedelta(minutes=5)
NEED_EVIDENCE = ("推进到「签约回款」或赢单需要证据：发送「证据 {id}」后 5 分钟内发合同/回款截图，"
                 "或发送「证据 {id} <说明>」由主管确认。")
PENDING_EVIDENCE = "线索 #{id} 的证据说明还在等主管确认，确认后才能签约/赢单。"


# -- shared helpers (also used by screenshot capture) -----------------------------------------
@dataclass(frozen=True)
class ConfirmResult:
    ok: bool
    message: str
    duplicate_of: int | None = None


async def save_draft(session: AsyncSession, fields: Mapping[str, Any], *, source: str, by: str, now: datetime,
                     confidence: float | None = None, follow_up: datetime | None = None,
                     extra: Mapping[str, Any] | None = None) -> tuple[Lead, list[Lead]]:
    """A draft lead with provenance on every known field, and the open leads it duplicates."""
    data = dict(extra or {})
    if follow_up is not None:
        data["follow_up"] = follow_up.isoformat()
    lead = await create_lead(session, fields, source=source, by=by, now=now, confidence=confidence, extra=data)
    add_activity(session, lead.id, by, "created", now, f"{SOURCE_CN.get(source, source)}草稿")
    dups = await find_duplicates(session, phone=lead.phone, company=lead.company, customer_name=lead.customer_name,
                                 exclude_id=lead.id)
    return lead, dups


async def confirm_draft(session: AsyncSession, lead: Lead, user: UserInfo, now: datetime,
                        cfg: RemindersSettings) -> ConfirmResult:
    """Activate a draft for its creator: owner, assigned_at, timers, the agreed follow-up.

    Refused when the customer already has an open lead (same phone, or company + name)."""
    if lead.status != "draft":
        return ConfirmResult(False, f"线索 #{lead.id} 已经处理过了（{STATUS_CN.get(lead.status, lead.status)}）。")
    dups = await find_duplicates(session, phone=lead.phone, company=lead.company, customer_name=lead.customer_name,
                                 exclude_id=lead.id)
    if dups:
        other = dups[0]
        if other.owner_id == (lead.created_by or user.id):
            return ConfirmResult(False, f"你已有同一客户的线索 #{other.id}，请直接在那条线索上跟进。", other.id)
        return ConfirmResult(False, f"同一客户已有同事在跟进（线索 #{other.id}），这条草稿未启用，如需协作请联系主管。",
                             other.id)
    owner = lead.created_by if lead.created_by and await session.get(User, lead.created_by) else user.id
    await activate_lead(session, lead, owner, user.id, now, cfg, reason="本人录入")
    hours = cfg.first_contact_hours
    return ConfirmResult(True, f"✅ 线索 #{lead.id} 已启用，请在 {hours:g} 个工作小时内完成首次联系。")


def fields_from_extract(extracted: Any) -> tuple[dict[str, Any], datetime | None, float | None]:
    """Fields, follow-up time and confidence from `ocr.extract` output (dataclass or dict)."""
    get = extracted.get if isinstance(extracted, dict) else (lambda k, d=None: getattr(extracted, k, d))
    fields = {k: get(k) for k in ("customer_name", "company", "title", "phone", "email", "wechat_id",
                                  "budget_cny", "needs", "industry", "region", "product_line")}
    follow = get("follow_up")
    if isinstance(follow, str) and follow:
        try:
            follow = datetime.fromisoformat(follow)
        except ValueError:
            follow = None
    if not isinstance(follow, datetime) or follow.tzinfo is None:
        follow = None
    conf = get("confidence")
    return fields, follow, float(conf) if isinstance(conf, int | float) else None


def _miner(ctx: Context) -> InsightMiner:
    return insight_miner(ctx.services)


def insight_miner(services: Services) -> InsightMiner:
    """One visit-summary miner per process (its jieba dictionary loads on first use)."""
    return services.component("lead_insights", lambda s: build_miner(s.settings.knowledge.taxonomy_path))


async def _names_for(session: AsyncSession, lead: Lead, acts: list[Activity]) -> dict[str, str]:
    ids: set[str | None] = {lead.owner_id, lead.created_by, *(a.actor_id for a in acts)}
    ids |= {v.get("by") for v in (lead.field_sources or {}).values()}
    return await user_names(session, ids)


async def show_lead(ctx: Context, lead: Lead) -> None:
    session = await ctx.db()
    acts = list((await session.execute(
        select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.created_at, Activity.id))).scalars())
    names = await _names_for(session, lead, acts)
    if lead.status == "draft":
        dups = await find_duplicates(session, phone=lead.phone, company=lead.company,
                                     customer_name=lead.customer_name, exclude_id=lead.id)
        ctx.reply(view.draft_card(lead, names, dups, ctx.user.id))
        return
    timers = await view.next_actions(session, [lead.id])
    next_text = view.next_action_text(lead, timers, ctx.settings.reminders.first_contact_hours)
    card = view.detail_card(lead, names, acts, next_text, manager_view=ctx.user.is_manager)
    ctx.reply(await with_flags(session, card, lead))


async def with_flags(session: AsyncSession, card: Card, lead: Lead) -> Card:
    """The lead card with its open flags (🔴 first) above the timeline."""
    found = checks_flags.sort_flags(await checks_flags.flags_of(session, [lead.id]))
    if not found:
        return card
    lines = "\n".join(checks_flags.flag_line(f) for f in found)
    return dataclasses.replace(card, description=f"待核实:\n{lines}\n{card.description}")


# -- lists --------------------------------------------------------------------------------------
@router.command("我的线索", "我的客户")
async def my_leads(ctx: Context, msg: Inbound) -> None:
    session = await ctx.db()
    leads = await list_leads(session, ctx.user, scope="own")
    now = ctx.now()
    leads.sort(key=lambda lead: -view.waiting_hours(lead, now))
    timers = await view.next_actions(session, [lead.id for lead in leads])
    fc = ctx.settings.reminders.first_contact_hours
    lines = [view.list_line(lead, now, view.next_action_text(lead, timers, fc)) for lead in leads]
    empty = "你还没有线索。发客户聊天截图或「新线索 <客户信息>」录入。"
    ctx.reply(view.lead_list_card("我的线索", lines, leads, empty))


@router.command("团队线索", roles={"manager", "admin"})
async def team_leads(ctx: Context, msg: Inbound) -> None:
    session = await ctx.db()
    leads = await list_leads(session, ctx.user, scope="visible")
    now = ctx.now()
    leads.sort(key=lambda lead: -view.waiting_hours(lead, now))
    timers = await view.next_actions(session, [lead.id for lead in leads])
    names = await user_names(session, [lead.owner_id for lead in leads])
    words = (split_command(msg.text, "团队线索") or "").split()  # 「团队线索 华东」, 「团队线索 张伟」
    leads = [lead for lead in leads if all(_lead_matches(lead, w, names) for w in words)]
    fc = ctx.settings.reminders.first_contact_hours
    lines = [view.list_line(lead, now, view.next_action_text(lead, timers, fc),
                            names.get(lead.owner_id or "", "线索池")) for lead in leads]
    title = f"团队线索 · {' '.join(words)}" if words else "团队线索"
    empty = f"没有符合「{' '.join(words)}」的线索。" if words else "团队暂时没有进行中的线索。"
    ctx.reply(view.lead_list_card(title, lines, leads, empty))


def _lead_matches(lead: Lead, word: str, names: Mapping[str, str]) -> bool:
    """One filter word: the owner (name or id), a region/industry/product line/company/customer, a status or
    a stage."""
    owner = lead.owner_id or ""
    if word in (owner, names.get(owner)) or (word == "线索池" and not owner):
        return True
    texts = (lead.region, lead.industry, lead.product_line, lead.company, lead.customer_name,
             STATUS_CN.get(lead.status), stage_label(lead.stage))
    return any(t and word in t for t in texts)


@router.command("线索")
async def lead_detail(ctx: Context, msg: Inbound) -> None:
    lead_id, _ = parse_id(split_command(msg.text, "线索") or "")
    lead = await lead_for(ctx, lead_id, "线索 12")
    if lead is not None:
        await show_lead(ctx, lead)


@router.card_action("lead:view:")
async def click_view(ctx: Context, msg: Inbound) -> None:
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is not None:
        await show_lead(ctx, lead)


# -- follow-up ----------------------------------------------------------------------------------
async def log_contact(session: AsyncSession, lead: Lead, actor_id: str, summary: str, insights: Insights,
                      now: datetime, cfg: RemindersSettings) -> None:
    """Activity row + first/last contact times + insights on the lead + timers."""
    add_activity(session, lead.id, actor_id, "contact", now, summary, insights=insights.to_json(),
                 insights_text=insights.describe())
    if lead.first_contact_at is None:
        lead.first_contact_at = now
    lead.last_activity_at = now
    if lead.next_follow_up_at is not None and lead.next_follow_up_at <= now + timedelta(hours=12):
        lead.next_follow_up_at = None
    if lead.status == "dormant":
        lead.status = "active"
    if not insights.empty:
        extra = dict(lead.extra or {})
        merged = dict(extra.get("insights") or {})
        for key, values in insights.to_json().items():
            merged[key] = list(dict.fromkeys([*merged.get(key, []), *values]))
        extra["insights"] = merged
        lead.extra = extra
    await lifecycle.on_contact_logged(session, lead, now, cfg)


@router.command("跟进", "跟进记录")
async def follow_up(ctx: Context, msg: Inbound) -> None:
    lead_id, summary = parse_id(command_arg(msg.text, "跟进", "跟进记录") or "")
    if lead_id is not None and not summary:
        ctx.reply(Text(f"请写上跟进摘要，例如「跟进 {lead_id} 已电话沟通，客户下周看方案」。"))
        return
    insights = await _miner(ctx).mine_async(summary) if summary else Insights()  # slow work before the db
    lead = await lead_for(ctx, lead_id, "跟进 12 已电话沟通")
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    session, now = await ctx.db(), ctx.now()
    await log_contact(session, lead, ctx.user.id, P.cn_punct(summary[:2000]), insights, now, ctx.settings.reminders)
    extra = f"\n🔎 {insights.describe()}" if not insights.empty else ""
    flags_text = "".join(f"\n{x}" for x in await hooks.after_values(session, lead, now, ctx.settings.checks))
    when = first_future(summary, now, await workdays(ctx))  # 「约了后天下午3点再打」 → the next call and its reminder
    if when is not None:
        await plan_follow_up(session, lead, when.isoformat(), ctx.user.id, now, ctx.settings.reminders)
        ctx.reply(Text(P.FOLLOW_UP_TIMED.format(when=say_when(when, now), id=lead.id) + extra + flags_text))
        return
    ctx.reply(Text(P.FOLLOW_UP_DONE.format(id=lead.id) + extra + flags_text))


async def _hint_for_open_lead(ctx: Context, msg: Inbound, hint: str) -> None:
    """A lead-card button that needs words from the rep: say what to send (`hint` formatted with the id)."""
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    ctx.reply(Text(hint.format(id=lead.id)))


@router.card_action("lead:fu:")
async def click_follow_up(ctx: Context, msg: Inbound) -> None:
    await _hint_for_open_lead(ctx, msg,
                              "请发送「跟进 {id} <摘要>」记录这次沟通，例如「跟进 {id} 已电话沟通，客户关心价格」。")


# -- stages, won, lost --------------------------------------------------------------------------
async def _evidence_refusal(ctx: Context, lead: Lead) -> bool:
    """签约回款 / 赢单 need a contract page or a payment record (a receipt or a chat proves neither)."""
    session = await ctx.db()
    why = await hooks.gate_refusal(session, lead, ctx.settings.checks)
    state = await evidence_state(session, lead.id)
    if why is None and (state.ok or ctx.settings.checks.enabled):
        return False
    pending = state.pending_notes and not state.ok
    ctx.reply(Text(PENDING_EVIDENCE.format(id=lead.id) if pending else why or NEED_EVIDENCE.format(id=lead.id)))
    return True


async def move_stage(ctx: Context, lead: Lead, stage: str) -> None:
    if stage == lead.stage:
        ctx.reply(Text(f"线索 #{lead.id} 已经在「{stage_label(stage)}」。"))
        return
    if stage == "close" and await _evidence_refusal(ctx, lead):
        return
    session, now = await ctx.db(), ctx.now()
    before = lead.stage
    lead.stage, lead.stage_changed_at, lead.last_activity_at = stage, now, now
    extra = dict(lead.extra or {})
    extra["max_stage"] = STAGE_CODES[max(stage_index(stage), stage_index(extra.get("max_stage", "new")))]
    lead.extra = extra
    add_activity(session, lead.id, ctx.user.id, "stage", now, f"{stage_label(before)} → {stage_label(stage)}",
                 before=before, after=stage)
    await lifecycle.on_stage_changed(session, lead, now, ctx.settings.reminders)
    lines = await hooks.after_stage(session, lead, before, ctx.user.id, now, ctx.settings.checks)
    ctx.reply(Text("\n".join([f"✅ 线索 #{lead.id} 阶段: {stage_label(before)} → {stage_label(stage)}", *lines])))


@router.command("阶段", "推进")
async def stage_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, rest = parse_id(command_arg(msg.text, "阶段", "推进") or "")
    stage = parse_stage(rest) if rest else None
    if lead_id is not None and stage is None:
        names = " ".join(f"{i}.{n}" for i, (_, n) in enumerate(STAGES, 1))
        ctx.reply(Text(f"没认出阶段「{rest}」。可用: {names}，例如「阶段 {lead_id} 3」。"))
        return
    lead = await lead_for(ctx, lead_id, "阶段 12 3")
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    assert stage is not None
    await move_stage(ctx, lead, stage)


@router.card_action("lead:next:")
async def click_next_stage(ctx: Context, msg: Inbound) -> None:
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    idx = stage_index(lead.stage)
    if idx + 1 >= len(STAGE_CODES):
        ctx.reply(Text(f"线索 #{lead.id} 已在最后阶段，成交请点「赢单」或发送「赢单 {lead.id}」。"))
        return
    await move_stage(ctx, lead, STAGE_CODES[idx + 1])


async def close_lead(ctx: Context, lead: Lead, won: bool, reason: str) -> None:
    if won and await _evidence_refusal(ctx, lead):
        return
    session, now = await ctx.db(), ctx.now()
    lead.status = "won" if won else "lost"
    if won:
        lead.stage = "close"
    lead.close_reason = reason[:255] or None
    lead.last_activity_at = now
    lead.next_follow_up_at = None
    add_activity(session, lead.id, ctx.user.id, "won" if won else "lost", now, reason)
    await lifecycle.on_lead_closed(session, lead, now)
    lines = await hooks.after_close(session, lead, reason, ctx.user.id, now, ctx.settings.checks)
    head = f"🎉 线索 #{lead.id} 已赢单！" if won else f"已记录线索 #{lead.id} 输单：{reason}"
    ctx.reply(Text("\n".join([head, *lines])))


@router.command("赢单")
async def won_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, reason = parse_id(split_command(msg.text, "赢单") or "")
    lead = await lead_for(ctx, lead_id, "赢单 12 合同已签")
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    await close_lead(ctx, lead, True, reason)


@router.command("输单")
async def lost_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, reason = parse_id(split_command(msg.text, "输单") or "")
    if lead_id is not None and not reason:
        ctx.reply(Text(f"请写上输单原因，例如「输单 {lead_id} 预算砍掉了」。"))
        return
    lead = await lead_for(ctx, lead_id, "输单 12 预算砍掉了")
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    await close_lead(ctx, lead, False, reason)


@router.card_action("lead:won:")
async def click_won(ctx: Context, msg: Inbound) -> None:
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    await close_lead(ctx, lead, True, "")


@router.card_action("lead:lost:")
async def click_lost(ctx: Context, msg: Inbound) -> None:
    await _hint_for_open_lead(ctx, msg, "请发送「输单 {id} <原因>」记录输单，例如「输单 {id} 预算砍掉了」。")


# -- evidence -----------------------------------------------------------------------------------
def _wait_key(user_id: str) -> str:
    return f"evidence_wait:{user_id}"


async def _await_evidence(ctx: Context, lead: Lead) -> None:
    """The next image or file the user sends within 5 minutes becomes evidence for `lead`."""
    session, now = await ctx.db(), ctx.now()
    row = await session.get(KeyValue, _wait_key(ctx.user.id))
    value = {"lead_id": lead.id, "until": (now + EVIDENCE_WAIT).isoformat()}
    if row is None:
        session.add(KeyValue(key=_wait_key(ctx.user.id), value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    ctx.reply(Text(f"好的，请在 5 分钟内发送线索 #{lead.id} 的合同/回款截图或文件；"
                   f"也可以发送「证据 {lead.id} <说明>」。"))


@router.card_action("lead:ev:")
async def click_evidence_wait(ctx: Context, msg: Inbound) -> None:
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    await _await_evidence(ctx, lead)


@router.command("证据")
async def evidence_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, note = parse_id(split_command(msg.text, "证据") or "")
    lead = await lead_for(ctx, lead_id, "证据 12")
    if lead is None or frozen_refusal(ctx, lead) or closed_refusal(ctx, lead):
        return
    if not note:
        await _await_evidence(ctx, lead)
        return
    session, now = await ctx.db(), ctx.now()
    ev = Evidence(lead_id=lead.id, kind="note", note=note[:2000], added_by=ctx.user.id, created_at=now)
    session.add(ev)
    await session.flush()
    add_activity(session, lead.id, ctx.user.id, "evidence", now, f"说明（待确认）: {note[:200]}", evidence_id=ev.id)
    if ctx.user.is_manager:
        ev.confirmed_by = ctx.user.id
    lines = await hooks.after_evidence(session, lead, ev, None, ctx.user.id, now, ctx.settings.checks)
    if ctx.user.is_manager:
        ctx.reply(Text("\n".join([f"✅ 已记录线索 #{lead.id} 的证据说明（主管录入，直接生效）。", *lines])))
        return
    manager = ctx.user.manager_id
    ctx.reply(Text(f"已记录证据说明，等待主管确认后即可签约/赢单（线索 #{lead.id}）。"))
    if manager:
        ctx.send(manager, Card(
            title=f"证据待确认 · 线索 #{lead.id}", description=f"{user_text(ctx.user.name)}: {user_text(note[:500])}",
            buttons=(Button(f"ev:ok:{ev.id}", "确认", "primary"), Button(f"ev:no:{ev.id}", "驳回")),
            note="确认后销售才能推进到「签约回款」或赢单"), key=f"evidence:{ev.id}")


async def pending_evidence(ctx: Context, msg: Inbound) -> int | None:
    """The lead a recent 「证据 <编号>」 is waiting for (short separate read; no lock held)."""
    async with ctx.services.db.session() as session:
        row = await session.get(KeyValue, _wait_key(ctx.user.id))
        if row is None:
            return None
        until = datetime.fromisoformat(row.value.get("until", "1970-01-01T00:00:00+00:00"))
        return int(row.value["lead_id"]) if until >= ctx.now() else None


async def _has_pending_evidence(ctx: Context, msg: Inbound) -> bool:
    return msg.data is not None and await pending_evidence(ctx, msg) is not None


@router.image(when=_has_pending_evidence)
@router.file(when=_has_pending_evidence)
async def evidence_media(ctx: Context, msg: Inbound) -> None:
    lead_id = await pending_evidence(ctx, msg)
    data = msg.data or b""
    if not data:
        ctx.reply(Text(f"收到的文件是空的（0 字节），没有保存。请重新发送线索 #{lead_id} 的证据。"))
        return
    reading = (await read_image(data, ctx.now(), ctx.settings.ocr) if msg.kind == "image"
               else read_name(msg.file_name or ""))  # slow work before the transaction
    digest = hashlib.sha256(data).hexdigest()
    ext = Path(msg.file_name or "").suffix[:8] or (".png" if msg.kind == "image" else ".bin")
    path = Path(ctx.settings.ocr.evidence_dir) / f"{digest}{ext}"
    await _write_file(path, data)  # before the transaction
    lead = await lead_for(ctx, lead_id)
    if lead is None:
        return
    session, now = await ctx.db(), ctx.now()
    row = await session.get(KeyValue, _wait_key(ctx.user.id))
    if row is not None:
        await session.delete(row)
    ev = Evidence(lead_id=lead.id, kind="image" if msg.kind == "image" else "file", sha256=digest, path=str(path),
                  added_by=ctx.user.id, created_at=now)
    session.add(ev)
    await session.flush()
    lead.evidence_hash, lead.evidence_path = digest, str(path)
    add_activity(session, lead.id, ctx.user.id, "evidence", now, f"{'截图' if msg.kind == 'image' else '文件'}证据",
                 evidence_id=ev.id, sha256=digest)
    lines = await hooks.after_evidence(session, lead, ev, reading, ctx.user.id, now, ctx.settings.checks)
    ctx.reply(Text("\n".join([f"📎 已保存线索 #{lead.id} 的证据。", *lines])))


async def _write_file(path: Path, data: bytes) -> None:
    import asyncio

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(data)

    await asyncio.get_running_loop().run_in_executor(None, write)


@router.card_action("ev:", roles={"manager", "admin"})
async def click_evidence(ctx: Context, msg: Inbound) -> None:
    parts = (msg.click_key or "").split(":")
    verdict = parts[1] if len(parts) > 2 else ""
    ev_id = key_id(msg.click_key or "")
    session = await ctx.db()
    ev = await session.get(Evidence, ev_id) if ev_id is not None else None
    lead = await lead_for(ctx, ev.lead_id if ev is not None else None, "线索 12")
    if ev is None or lead is None or ev.kind != "note" or ev.confirmed_by or verdict not in ("ok", "no"):
        if lead is not None:
            ctx.reply(Text("这条证据已处理过了。"))
        return
    now = ctx.now()
    if verdict == "ok":
        ev.confirmed_by = ctx.user.id
        text = f"已确认线索 #{lead.id} 的证据"
    else:
        ev.kind = "rejected"
        text = f"已驳回线索 #{lead.id} 的证据说明"
    add_activity(session, lead.id, ctx.user.id, "evidence", now, text, evidence_id=ev.id)
    await hooks.after_decision(session, lead, ev, ctx.user.id, verdict == "ok", now, ctx.settings.checks)
    ctx.update_card(f"{text}（{user_text(ctx.user.name)}）")
    if lead.owner_id and lead.owner_id != ctx.user.id:
        ctx.send(lead.owner_id, Text(f"主管{text}。"), key=f"evidence:{ev.id}:{verdict}")


# -- new lead from free text --------------------------------------------------------------------
def _extract(text: str, now: datetime) -> Any:
    try:
        from ocr.extract import extract_from_text
    except ImportError:
        return _fallback_extract(text)
    return extract_from_text(text, now)


def _fallback_extract(text: str) -> dict[str, Any]:
    """Phone, e-mail and budget only, until `ocr.extract` exists; everything else stays unknown."""
    import re

    phone = re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)
    email = re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
    budget = re.search(r"预算\s*[:：]?\s*(\d+(?:\.\d+)?\s*[万亿wk]?)", text)
    return {"phone": phone.group(0) if phone else None, "email": email.group(0) if email else None,
            "budget_cny": budget.group(1) if budget else None, "confidence": None}


@router.command("新线索", "录入线索")
async def new_lead_cmd(ctx: Context, msg: Inbound) -> None:
    text = command_arg(msg.text, "新线索", "录入线索") or ""
    if not text:
        ctx.reply(Text("请把客户信息写在后面，例如「新线索 张三 某某医院 设备科主任 13800138000 预算50万」。"))
        return
    now = ctx.now()
    # jieba (needs) loads its dictionary on first use: keep it off the event loop
    extracted = await asyncio.get_running_loop().run_in_executor(None, _extract, text[:4000], now)
    fields, follow, conf = fields_from_extract(extracted)
    fields["budget_cny"] = budget_from_text(text) or fields.get("budget_cny")  # 5千万 / 5e7 / 50000000 alike
    session = await ctx.db()
    lead, dups = await save_draft(session, fields, source="manual", by=ctx.user.id, now=now, confidence=conf,
                                  follow_up=follow, extra={"text": text[:4000]})
    names = await user_names(session, [ctx.user.id])
    lines = await hooks.after_values(session, lead, now, ctx.settings.checks)
    if lines:
        ctx.reply(Text("\n".join(lines)))
    ctx.reply(view.draft_card(lead, names, dups, ctx.user.id))


@router.card_action("lead:confirm:")
async def click_confirm(ctx: Context, msg: Inbound) -> None:
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is None:
        return
    session = await ctx.db()
    result = await confirm_draft(session, lead, ctx.user, ctx.now(), ctx.settings.reminders)
    lines: list[str] = []
    if result.ok:
        ctx.update_card(f"已确认 · 线索 #{lead.id}")
        lines = await hooks.after_values(session, lead, ctx.now(), ctx.settings.checks)
    ctx.reply(Text("\n".join([result.message, *lines])))


async def forget_screenshots(ctx: Context, draft: Lead) -> None:
    """放弃 a draft: its screenshots stop being evidence; a file no other evidence row shares is deleted once the
    transaction has committed (content-addressed: the same screenshot may back another lead)."""
    session = await ctx.db()
    rows = list((await session.execute(select(Evidence).where(Evidence.lead_id == draft.id,
                                                              Evidence.kind == "screenshot"))).scalars())
    for row in rows:
        await session.delete(row)
    draft.evidence_hash = draft.evidence_path = None
    await session.flush()
    hashes = {row.sha256 for row in rows if row.sha256}
    still_used = set((await session.execute(select(Evidence.sha256).where(Evidence.sha256.in_(hashes)))).scalars())
    paths = [Path(row.path) for row in rows if row.path and row.sha256 not in still_used]

    async def unlink() -> None:
        await asyncio.get_running_loop().run_in_executor(None, lambda: [p.unlink(missing_ok=True) for p in paths])

    if paths:
        ctx.after_commit.append(unlink)


@router.card_action("lead:drop:")
async def click_drop(ctx: Context, msg: Inbound) -> None:
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is None:
        return
    if lead.status != "draft":
        ctx.reply(Text(f"线索 #{lead.id} 已启用，不能放弃；不跟了请发送「输单 {lead.id} <原因>」。"))
        return
    add_activity(await ctx.db(), lead.id, ctx.user.id, "dropped", ctx.now(), "放弃草稿")
    await forget_screenshots(ctx, lead)
    lead.status = "lost"
    lead.close_reason = "草稿放弃"
    ctx.update_card("已放弃")
    ctx.reply(Text(f"已放弃草稿 #{lead.id}。"))


# -- reassignment (managers) --------------------------------------------------------------------
async def _find_rep(session: AsyncSession, who: str, user: UserInfo) -> User | None:
    """A rep by id or name inside the caller's reach (team for a manager, anyone for an admin)."""
    who = who.strip().lstrip("@")
    rows = await session.execute(select(User).where((User.id == who) | (User.name == who), User.active.is_(True)))
    for rep in rows.scalars():
        if user.is_admin or rep.manager_id == user.id or rep.id == user.id:
            return rep
    return None


async def reassign(ctx: Context, lead: Lead, rep: User, reason: str) -> bool:
    """False when `rep` already owns it (a no-op must not restart the SLA clocks and hide what is overdue)."""
    if rep.id == lead.owner_id:
        ctx.reply(Text(f"线索 #{lead.id} 已经由 {user_text(rep.name)} 负责，无需改派。"))
        return False
    session, now = await ctx.db(), ctx.now()
    previous = await change_owner(session, lead, rep.id, ctx.user.id, now, ctx.settings.reminders, reason=reason)
    ctx.reply(Text(f"✅ 线索 #{lead.id} 已改派给 {user_text(rep.name)}（{user_text(reason)}）"))
    if rep.id != ctx.user.id:
        by = user_text(ctx.user.name)
        ctx.send(rep.id, Card(title=f"新分配线索 #{lead.id}", description=f"{by} 分配给你：{user_text(reason)}",
                              buttons=(Button(f"lead:view:{lead.id}", "查看", "primary"),)),
                 key=f"assign:{lead.id}:{rep.id}:{now.isoformat()}")
    if previous and previous not in (rep.id, ctx.user.id):
        ctx.send(previous, Text(f"线索 #{lead.id} 已由主管改派给同事。"), key=f"unassign:{lead.id}:{now.isoformat()}")
    return True


@router.command("改派", "分配")
async def reassign_cmd(ctx: Context, msg: Inbound) -> None:
    if manager_refusal(ctx):
        return
    lead_id, who = parse_id(command_arg(msg.text, "改派", "分配") or "")
    lead = await lead_for(ctx, lead_id, "改派 12 rep02")
    if lead is None or closed_refusal(ctx, lead):
        return
    session = await ctx.db()
    if who:
        people = (await session.execute(select(User.id, User.name).where(User.active.is_(True)))).all()
        name, why = split_person(who, tuple((p.id, p.name) for p in people))  # 「张伟 客户在他片区」
        rep = await _find_rep(session, name or who, ctx.user)
        if rep is None:
            ctx.reply(Text(P.NOT_IN_TEAM.format(who=name or who)))
            return
        if not await _reassign_frozen(ctx, lead, rep.id):
            await reassign(ctx, lead, rep, why or f"主管 {ctx.user.name} 改派")
        return
    await _suggest(ctx, lead)


async def _reassign_frozen(ctx: Context, lead: Lead, rep_id: str) -> bool:
    """A frozen lead is reassigned through its escalation, as the freeze card's 改派 does (the escalation is
    settled, the rep it was frozen from is told, handing it straight back is refused). False: not frozen."""
    from handlers.escalation import apply_result, ranker

    rid = (lead.extra or {}).get("frozen", {}).get("reminder_id")
    if lead.status != "frozen" or rid is None:
        return False
    result = await actions.assign_to(await ctx.db(), ctx.user, lead.id, int(rid), rep_id, ctx.now(),
                                     ctx.settings.reminders, ranker(ctx))
    await apply_result(ctx, result)
    return True


async def _suggest(ctx: Context, lead: Lead) -> None:
    """A card with the engine's ranking (current owner and the rep a freeze took it from excluded) as buttons."""
    picks = await reassign_options(await ctx.db(), lead, ctx.user, ctx.now())
    if not picks:
        ctx.reply(Text(f"团队里暂时没有可接收线索 #{lead.id} 的销售（都已满负荷）。"))
        return
    lines = [f"{i}. {user_text(p.rep.name)}（{user_text(p.reason)}）" for i, p in enumerate(picks, 1)]
    ctx.reply(Card(title=f"改派线索 #{lead.id}", description="\n".join(lines),
                   buttons=tuple(Button(f"lead:to:{lead.id}:{p.rep.id}", user_text(p.rep.name)) for p in picks),
                   note="按区域/产品线/行业赢单/负荷排序"))


@router.card_action("lead:reassign:")
async def click_reassign(ctx: Context, msg: Inbound) -> None:
    if manager_refusal(ctx):
        return
    lead = await lead_for(ctx, key_id(msg.click_key or ""))
    if lead is not None and not closed_refusal(ctx, lead):
        await _suggest(ctx, lead)


@router.card_action("lead:to:")
async def click_assign_to(ctx: Context, msg: Inbound) -> None:
    if manager_refusal(ctx):
        return
    key = msg.click_key or ""
    lead = await lead_for(ctx, key_id(key))
    if lead is None or closed_refusal(ctx, lead):
        return
    rep = await _find_rep(await ctx.db(), key.split(":", 3)[3] if key.count(":") >= 3 else "", ctx.user)
    if rep is None:
        ctx.reply(Text("这位销售不在你的团队里。"))
        return
    if await _reassign_frozen(ctx, lead, rep.id):
        return
    picks = {p.rep.id: p for p in await reassign_options(await ctx.db(), lead, ctx.user, ctx.now(), limit=100)}
    reason = picks[rep.id].reason if rep.id in picks else f"主管 {ctx.user.name} 改派"
    if await reassign(ctx, lead, rep, reason):
        ctx.update_card(f"已改派给 {user_text(rep.name)}")


__all__ = ["ConfirmResult", "confirm_draft", "fields_from_extract", "router", "save_draft", "show_lead",
           "visible_clause"]


@router.command("团队日报", "日报", roles={"manager", "admin"})
async def team_report(ctx: Context, msg: Inbound) -> None:
    """The digest on demand (same figures as the morning push)."""
    from handlers.report import DIGEST_WINDOW, chart_png, compute_report, report_lines

    now = ctx.now()
    async with ctx.services.db.session() as session:  # read-only; the chart renders outside any transaction
        report = await compute_report(session, None if ctx.user.is_admin else ctx.user.id, now - DIGEST_WINDOW,
                                      now, ctx.settings.reminders)
    ctx.reply(Markdown(title="📊 团队跟进日报", text="\n".join(report_lines(report))))
    ctx.reply(Image(data=await chart_png(report), file_name="report.png", caption="漏斗与 PHI"))
