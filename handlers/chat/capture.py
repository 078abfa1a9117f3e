"""Lead capture from chat screenshots: OCR → draft card → 确认 / 修改 / 放弃, merging and conflicts.

- A screenshot becomes a draft card through `handlers.leads.screenshots` (merging, evidence, conflicts): read here
  (`[ocr] mode = "inline"`), or queued for an OCR worker process (`"worker"`, handlers/leads/ocr_jobs.py).
- A customer already in the system (same phone, or company + name) → the card names the owner and since when and
  offers 合并到已有线索 / 仍然新建; the owner's manager is told about the conflict.
- Field corrections are plain replies ("电话 13812345678", "公司 华东医疗") applied to the caller's latest draft.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phrases as P
from bot.actions import CreateAnyway, EditDraft, MergeDraft
from bot.context import Context
from bot.messages import Inbound, Text
from bot.phrases import UNNAMED_CUSTOMER
from bot.router import Router, normalize_text
from bot.usertext import user_text
from handlers.chat.received import not_received
from handlers.leads.assignment import activate_lead, plan_follow_up
from handlers.leads.permissions import load_lead
from handlers.leads.records import draft_duplicates
from handlers.leads.screenshots import capture_screenshot, checked_card, latest_draft, queue_screenshot, tell_conflicts
from handlers.renewals.locks import locked_accounts
from ocr.extract import budget_in, normalise_phone
from ocr.timeparse import find_time
from storage.activity import add_activity
from storage.leads import clean_value, set_field
from storage.models import Evidence, Lead

log = logging.getLogger(__name__)
router: Router[Context] = Router("capture")

EDIT_HINT = ("直接回复要改的字段即可，例如：\n电话 13812345678\n公司 华东医疗\n"
             "客户 王强 · 职位 设备科主任 · 预算 50万\n时间 明天下午3点 · 需求 CRM、数据分析\n改完点「确认」。")
EDIT_FIELDS = {"客户": "customer_name", "姓名": "customer_name", "公司": "company", "职位": "title", "职务": "title",
               "电话": "phone", "手机": "phone", "邮箱": "email", "微信": "wechat_id", "预算": "budget_cny",
               "需求": "needs", "时间": "follow_up", "回访时间": "follow_up", "跟进时间": "follow_up"}


# -- screenshot → draft ---------------------------------------------------------------------------
@router.image()
async def screenshot(ctx: Context, msg: Inbound) -> None:
    if msg.data is None:
        ctx.reply(Text(not_received(msg)))
        return
    if ctx.settings.ocr.mode == "worker":
        await queue_screenshot(ctx, msg.data, msg.file_name)
    else:
        await capture_screenshot(ctx, msg.data, msg.file_name)


# -- buttons ----------------------------------------------------------------------------------------
async def _own_draft(ctx: Context, draft_id: int) -> Lead | None:
    session = await ctx.db()
    lead = await session.get(Lead, draft_id)
    if lead is None or lead.created_by != ctx.user.id:
        ctx.reply(Text("找不到这份草稿，或它不是你录入的。"))
        return None
    if lead.status != "draft":
        ctx.reply(Text(f"草稿 #{lead.id} 已经处理过了。"))
        return None
    return lead


@router.card_action(EditDraft)
async def click_edit(ctx: Context, action: EditDraft) -> None:
    """The hint; the draft is now the lead in view, so a bare 「预算 50万」 next goes to it (front door edits)."""
    draft = await _own_draft(ctx, action.draft_id)
    if draft is not None:
        draft.extra = {**(draft.extra or {}), "shown_at": ctx.now().isoformat()}
        ctx.reply(Text(EDIT_HINT))


@router.card_action(CreateAnyway)
async def click_create_anyway(ctx: Context, action: CreateAnyway) -> None:
    draft = await _own_draft(ctx, action.draft_id)
    if draft is None:
        return
    session, now = await ctx.db(), ctx.now()
    if await _renewal_account_refusal(ctx, session, draft):
        return
    dups = await draft_duplicates(session, draft)
    await activate_lead(session, draft, ctx.user.id, ctx.user.id, now, ctx.settings.reminders,
                        reason="本人录入（与已有线索重复，仍新建）")
    add_activity(session, draft.id, ctx.user.id, "duplicate_override", now, "确认与已有线索不是同一客户",
                 duplicates=[d.id for d in dups])
    await tell_conflicts(ctx, session, draft, dups)
    ctx.update_card(f"已新建 · 线索 #{draft.id}")
    ctx.reply(Text(f"✅ 已新建线索 #{draft.id}，主管会看到这条重复提醒。"))


async def _renewal_account_refusal(ctx: Context, session: AsyncSession, draft: Lead) -> bool:
    """A customer under a renewal lock keeps one lead, whoever asks (as 确认 refuses it): a second one would
    slip past the lock and split the account for the next contracts import. True when refused (and replied)."""
    accounts = await locked_accounts(session, draft.phone, draft.company)
    if not accounts:
        return False
    account = accounts[0]
    way = ("提交续签证明或主管解除锁定后，在这条线索上继续跟进" if account.owner_id == ctx.user.id
           else "这个客户的续约由同事负责，如需协作请联系主管")
    ctx.reply(Text(f"🔒 客户「{user_text(account.company or account.customer_name or UNNAMED_CUSTOMER)}」正在续约预警中"
                   f"（线索 #{account.id}），不能另建新线索：{way}。这份草稿可以「合并到已有线索」或「放弃」。"))
    return True


@router.card_action(MergeDraft)
async def click_merge(ctx: Context, action: MergeDraft) -> None:
    draft, target_id = await _own_draft(ctx, action.draft_id), action.target_id
    if draft is None:
        return
    session, now = await ctx.db(), ctx.now()
    target = await load_lead(session, ctx.user, target_id, for_update=True)
    other = None if target else next((d for d in await draft_duplicates(session, draft) if d.id == target_id), None)
    if target is None and other is None:  # someone else's lead may only be the one the draft was flagged against
        ctx.reply(Text(f"线索 #{target_id} 已不存在。"))
        return
    draft.status, draft.close_reason = "lost", f"合并到 #{target_id}"
    if other is not None:  # someone else's customer: the details go to its owner
        _merge_into(draft, other, ctx.user.id, now)  # unknown fields only: nothing the owner entered changes
        await _move_evidence(session, draft.id, other.id)
        add_activity(session, other.id, ctx.user.id, "merge", now, f"{ctx.user.name} 补充了截图信息", draft=draft.id)
        if other.owner_id:
            by = user_text(ctx.user.name)
            ctx.send(other.owner_id, Text(f"{by} 给你的线索 #{other.id} 补充了客户截图，未知的字段已补全，"
                                          f"发送「线索 {other.id}」查看。"), key=f"merge:{draft.id}:{other.id}")
        ctx.update_card(f"已转交给线索 #{other.id} 的负责人")
        ctx.reply(Text(f"这位客户由同事负责，已把截图信息转交给线索 #{other.id} 的负责人。"))
        return
    assert target is not None
    _merge_into(draft, target, ctx.user.id, now)
    await plan_follow_up(session, target, (draft.extra or {}).get("follow_up"), ctx.user.id, now,
                         ctx.settings.reminders)
    await _move_evidence(session, draft.id, target.id)
    if not target.evidence_hash:
        target.evidence_hash, target.evidence_path = draft.evidence_hash, draft.evidence_path
    add_activity(session, target.id, ctx.user.id, "merge", now, f"合并截图草稿 #{draft.id}")
    ctx.update_card(f"已合并到线索 #{target.id}")
    ctx.reply(Text(f"✅ 已合并到线索 #{target.id}，补充了未知的字段。"))


def _merge_into(draft: Lead, target: Lead, by: str, now: datetime) -> None:
    for name in ("customer_name", "company", "title", "phone", "email", "wechat_id", "budget_cny"):
        value = getattr(draft, name)
        if getattr(target, name) in (None, "") and value not in (None, ""):
            set_field(target, name, value, draft.source, by, now)
    if draft.needs:
        set_field(target, "needs", list(dict.fromkeys([*(target.needs or []), *draft.needs])), draft.source, by, now)


async def _move_evidence(session: AsyncSession, from_id: int, to_id: int) -> None:
    rows = await session.execute(select(Evidence).where(Evidence.lead_id == from_id))
    for evidence in rows.scalars():
        evidence.lead_id = to_id


# -- field corrections ("电话 13812345678") ---------------------------------------------------------
def _edit_handler(word: str, name: str) -> Any:
    async def edit(ctx: Context, msg: Inbound) -> None:
        session = await ctx.db()
        draft = await latest_draft(session, ctx.user.id)
        raw = normalize_text(msg.text)[len(word):].strip(" :：")
        if draft is None:  # 「预算 abc」: the value is what is wrong, whichever lead it was meant for
            unread = raw and _value(name, raw, ctx.now()) in (None, "", [])
            ctx.reply(Text(P.EDIT_BAD.format(value=raw, field=word) if unread else
                           "没有待确认的线索草稿。发客户聊天截图或「新线索 …」开始录入。"))
            return
        if not raw:
            ctx.reply(Text(f"请在「{word}」后面写上新的内容，例如：{word} …"))
            return
        if not _apply_edit(draft, name, raw, ctx):
            ctx.reply(Text(f"「{raw}」不像有效的{word}，请再检查一下。"))
            return
        dups = await draft_duplicates(session, draft)
        await tell_conflicts(ctx, session, draft, dups)  # a corrected phone may reveal a colleague's customer
        ctx.reply(await checked_card(ctx, session, draft, dups))

    return edit


def _value(name: str, raw: str, now: datetime) -> Any:
    """`raw` read as the field `name` (a moment for 时间); None or empty when it is not one."""
    if name == "follow_up":
        return find_time(raw, now)
    if name == "phone":
        return normalise_phone(raw)
    return budget_in(raw) if name == "budget_cny" else clean_value(name, raw)


def _apply_edit(draft: Lead, name: str, raw: str, ctx: Context) -> bool:
    now = ctx.now()
    value = _value(name, raw, now)
    if value in (None, "", []):
        return False
    if name == "follow_up":
        draft.extra = {**(draft.extra or {}), "follow_up": value.isoformat()}
        return True
    return set_field(draft, name, value, "manual", ctx.user.id, now) or True


for _word, _name in EDIT_FIELDS.items():
    router.command(_word)(_edit_handler(_word, _name))
