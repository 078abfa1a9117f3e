"""Lead chat routes: 我的线索, 团队线索, 线索, 跟进, 阶段, 赢单, 输单, 证据, 新线索, 改派 and the lead card buttons.

Routes only translate: words or a typed button (bot/actions.py) in, a use case of handlers/leads/records.py,
a reply out. Every lead is loaded through the lead gate (handlers/leads/permissions.py: rep → own, manager →
team + pool, admin → all), so a lead the caller may not see answers exactly like a missing one; buttons
declare their gate on the route (`lead="open"`) and get the lead passed in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phrases as P
from bot.actions import (
    ApproveEvidence,
    AwaitEvidence,
    Cancel,
    ConfirmDraft,
    ConfirmLost,
    DropDraft,
    FollowUpHint,
    LostHint,
    MarkWon,
    NextStage,
    ReassignPicker,
    ReassignTo,
    RejectEvidence,
    ViewLead,
)
from bot.context import Context
from bot.engines import Engines
from bot.messages import Button, Card, Image, Inbound, Markdown, Text
from bot.org import manages
from bot.router import Router, split_command
from bot.usertext import user_text
from handlers.checks import flags as checks_flags
from handlers.checks import hooks
from handlers.checks.evidence import read_image, read_name
from handlers.intent import reading_pair, split_person
from handlers.leads import manage, records
from handlers.leads import views as view
from handlers.leads.assignment import plan_follow_up, reassign_options
from handlers.leads.chat_gate import command_arg, lead_for, lead_gate, ramp_refused
from handlers.leads.evidence import EvidenceStore
from handlers.leads.insights import InsightMiner, Insights, insight_miner
from handlers.leads.permissions import list_leads
from handlers.leads.records import EVIDENCE_WAIT, confirm_draft, fields_from_extract, log_contact, save_draft
from handlers.leads.rules import empty_note, parse_id, parse_stage
from handlers.leads.typed import place_industry, typed_extras
from handlers.products import lead_catalog
from handlers.renewals.locks import proof_pending
from handlers.report import DIGEST_WINDOW, chart_png, compute_report, report_lines
from handlers.when import first_future, replaced, say_when, workdays
from knowledge.query import SIMPLIFIER
from ocr.catalog import Catalog
from ocr.extract import LeadFields, extract_from_text
from ocr.people import NAMES
from reminders import messages
from reminders.lifecycle import paused_until
from reminders.renewal_hold import held_lead_ids
from storage.leads import (
    STAGE_CODES,
    STAGES,
    previous_owner,
    stage_index,
    stage_label,
    user_names,
)
from storage.models import Activity, Evidence, KeyValue, Lead, User

log = logging.getLogger(__name__)
router: Router[Context] = Router("leads")


def _miner(ctx: Context) -> InsightMiner:
    return insight_miner(ctx.services)


async def _names_for(session: AsyncSession, lead: Lead, acts: list[Activity]) -> dict[str, str]:
    ids: set[str | None] = {lead.owner_id, lead.created_by, *(a.actor_id for a in acts)}
    ids |= {(a.detail or {}).get("owner") for a in acts if a.kind == "reassign"}  # 「改派给 李娜」
    ids |= {v.get("by") for v in (lead.field_sources or {}).values()}
    return await user_names(session, ids)


async def show_lead(ctx: Context, lead: Lead) -> None:
    session = await ctx.db()
    acts = list((await session.execute(
        select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.created_at, Activity.id))).scalars())
    names = await _names_for(session, lead, acts)
    if lead.status == "draft":
        dups = await records.draft_duplicates(session, lead)
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
    held = await held_lead_ids(session, leads)
    lines = [view.list_line(lead, now, view.next_action_text(lead, timers, fc), held=lead.id in held)
             for lead in leads]
    empty = "你还没有线索。发客户聊天截图或「新线索 <客户信息>」录入。"
    ctx.reply(view.lead_list_card("我的线索", lines, leads, empty))


@router.command("团队线索", roles={"manager", "admin"})
async def team_leads(ctx: Context, msg: Inbound) -> None:
    """The team's open leads, frozen ones in the pool included (marked, with whom they were frozen from);
    each filter word matches one kind of field on purpose (`lead_filter`)."""
    session = await ctx.db()
    leads = await list_leads(session, ctx.user, scope="visible")
    now = ctx.now()
    leads.sort(key=lambda lead: -view.waiting_hours(lead, now))
    people = {uid: name for uid, name in (await session.execute(select(User.id, User.name))).all()}
    words = (split_command(msg.text, "团队线索") or "").split()  # 「团队线索 华东」, 「团队线索 张伟」
    for word in words:
        leads = list(filter(lead_filter(word, people, leads, now), leads))
    timers = await view.next_actions(session, [lead.id for lead in leads])
    fc = ctx.settings.reminders.first_contact_hours
    held = await held_lead_ids(session, leads)
    lines = [view.list_line(lead, now, view.next_action_text(lead, timers, fc), _holder(lead, people),
                            held=lead.id in held) for lead in leads]
    title = f"团队线索 · {' '.join(words)}" if words else "团队线索"
    empty = f"没有符合「{' '.join(words)}」的线索。" if words else "团队暂时没有进行中的线索。"
    ctx.reply(view.lead_list_card(title, lines, leads, empty))


def _holder(lead: Lead, people: Mapping[str, str]) -> str:
    """Who holds the lead: its owner, else the pool (「线索池（原 张伟）」 for a lead frozen from someone)."""
    if lead.owner_id:
        return people.get(lead.owner_id, "同事")
    before = people.get(previous_owner(lead) or "")
    return f"线索池（原 {before}）" if before else "线索池"


STATUS_WORDS = {"冻结": "frozen", "已冻结": "frozen", "冻结的": "frozen", "休眠": "dormant", "沉睡": "dormant",
                "跟进中": "active", "进行中": "active"}
PAUSED_WORDS = frozenset({"暂停", "已暂停", "暂停中"})


def lead_filter(word: str, people: Mapping[str, str], leads: list[Lead], now: datetime) -> Callable[[Lead], bool]:
    """What one 团队线索 filter word means, decided once for the word, then matched on that field alone: a
    colleague (id or name: the leads they hold, and those frozen from them), 线索池, a status, a stage, a
    region / industry / product line some lead has; only a word that is none of these is looked for in the
    company and customer names (so 「演示」 or 「张伟」 never matches a company that happens to contain it)."""
    who = {uid for uid, name in people.items() if word in (uid, name)}
    if who:
        return lambda lead: lead.owner_id in who or (lead.owner_id is None and previous_owner(lead) in who)
    if word == "线索池":
        return lambda lead: lead.owner_id is None
    if word in STATUS_WORDS:
        return lambda lead: lead.status == STATUS_WORDS[word]
    if word in PAUSED_WORDS:
        return lambda lead: (paused := paused_until(lead)) is not None and paused > now
    stages = {code for code, name in STAGES if word in (name, stage_label(code)) or (len(word) >= 2 and word in name)}
    if stages:
        return lambda lead: lead.stage in stages
    low = word.casefold()

    def field_of(lead: Lead) -> bool:
        return any(v and (v.casefold() == low or (v.casefold().startswith(low) and v is lead.region))
                   for v in (lead.region, lead.industry, lead.product_line))

    if any(field_of(lead) for lead in leads):
        return field_of
    return lambda lead: any(t and low in t.casefold() for t in (lead.company, lead.customer_name, lead.region))


@router.command("线索")
async def lead_detail(ctx: Context, msg: Inbound) -> None:
    lead_id, _ = parse_id(split_command(msg.text, "线索") or "")
    lead = await lead_gate(ctx, lead_id, "any", "线索 12")
    if lead is not None:
        await show_lead(ctx, lead)


@router.card_action(ViewLead, lead="any")
async def click_view(ctx: Context, action: ViewLead, lead: Lead) -> None:
    await show_lead(ctx, lead)


@router.command("跟进", "跟进记录")
async def follow_up(ctx: Context, msg: Inbound) -> None:
    lead_id, summary = parse_id(command_arg(msg.text, "跟进", "跟进记录") or "")
    if lead_id is not None and not summary:
        ctx.reply(Text(f"请写上跟进摘要，例如「跟进 {lead_id} 已电话沟通，客户下周看方案」。"))
        return
    if summary and empty_note(summary):  # the voice notes' check: a 「嗯」 contact would hide an account at risk
        log.info("follow-up from %s not recorded: no content (%.20r)", ctx.user.id, summary)
        ctx.reply(Text(f"这条跟进没有具体内容，没有记下。请写上见了谁、聊了什么、下一步怎么安排，"
                       f"例如「跟进 {lead_id or 12} 已电话沟通，客户下周看方案」。"))
        return
    insights = await _miner(ctx).mine_async(summary) if summary else Insights()  # slow work before the db
    lead = await lead_gate(ctx, lead_id, "open", "跟进 12 已电话沟通")
    if lead is None:
        return
    ctx.reply(Text(await record_follow_up(ctx, lead, summary, insights)))


async def record_follow_up(ctx: Context, lead: Lead, summary: str, insights: Insights, source: str = "text",
                           said: str | None = None, keep_callback: bool = False) -> str:
    """A visit summary on `lead` (typed or spoken): the contact, its insights, the checks, and a time it names
    (in `said`, the summary without its lead reference, when given) as the next follow-up with its reminder.
    `keep_callback`: the lead was guessed (the note named none), so a callback still ahead is not moved.
    Returns the reply."""
    session, now, previous = await ctx.db(), ctx.now(), lead.next_follow_up_at
    await log_contact(session, lead, ctx.user.id, P.cn_punct(summary[:2000]), insights, now, ctx.settings.reminders,
                      source=source)
    extra = f"\n🔎 {insights.describe()}" if not insights.empty else ""
    flags_text = "".join(f"\n{x}" for x in await hooks.after_values(session, lead, now, ctx.settings.checks))
    when = first_future(said or summary, now, await workdays(ctx))  # 「约了后天下午3点再打」 → the next call
    if when is not None and keep_callback and previous is not None and previous > now:
        return (P.FOLLOW_UP_DONE.format(id=lead.id) + P.CALLBACK_KEPT.format(when=say_when(previous, now), id=lead.id)
                + extra + flags_text)
    if when is not None:
        await plan_follow_up(session, lead, when.isoformat(), ctx.user.id, now, ctx.settings.reminders)
        timed = P.FOLLOW_UP_TIMED.format(when=say_when(when, now), id=lead.id) + replaced(previous, when, now)
        return timed + extra + flags_text
    return P.FOLLOW_UP_DONE.format(id=lead.id) + extra + flags_text


@router.card_action(FollowUpHint, lead="open")
async def click_follow_up(ctx: Context, action: FollowUpHint, lead: Lead) -> None:
    """A lead-card button that needs words from the rep: say what to send."""
    ctx.reply(Text(f"请发送「跟进 {lead.id} <摘要>」记录这次沟通，例如「跟进 {lead.id} 已电话沟通，客户关心价格」。"))


# -- stages, won, lost --------------------------------------------------------------------------
async def move_stage(ctx: Context, lead: Lead, stage: str) -> None:
    if stage == "close" and await ramp_refused(ctx, "close"):
        return
    outcome = await records.change_stage(await ctx.db(), lead, stage, ctx.user.id, ctx.now(), ctx.settings.reminders,
                                         ctx.settings.checks)
    ctx.reply(Text(outcome.message))


@router.command("阶段", "推进")
async def stage_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, rest = parse_id(command_arg(msg.text, "阶段", "推进") or "")
    stage = parse_stage(rest) if rest else None
    if lead_id is not None and stage is None:
        names = " ".join(f"{i}.{n}" for i, (_, n) in enumerate(STAGES, 1))
        ctx.reply(Text(f"没认出阶段「{rest}」。可用: {names}，例如「阶段 {lead_id} 3」。"))
        return
    lead = await lead_gate(ctx, lead_id, "open", "阶段 12 3")
    if lead is None or stage is None:
        return
    await move_stage(ctx, lead, stage)


@router.card_action(NextStage, lead="open")
async def click_next_stage(ctx: Context, action: NextStage, lead: Lead) -> None:
    idx = stage_index(lead.stage)
    if idx + 1 >= len(STAGE_CODES):
        ctx.reply(Text(f"线索 #{lead.id} 已在最后阶段，成交请点「赢单」或发送「赢单 {lead.id}」。"))
        return
    await move_stage(ctx, lead, STAGE_CODES[idx + 1])


async def close_lead(ctx: Context, lead: Lead, won: bool, reason: str) -> None:
    if won and await ramp_refused(ctx, "close"):
        return
    outcome = await records.close_lead(await ctx.db(), lead, won, reason, ctx.user.id, ctx.now(), ctx.settings.checks)
    ctx.reply(Text(outcome.message))


@router.command("赢单")
async def won_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, reason = parse_id(split_command(msg.text, "赢单") or "")
    lead = await lead_gate(ctx, lead_id, "open", "赢单 12 合同已签")
    if lead is not None:
        await close_lead(ctx, lead, True, reason)


@router.command("输单")
async def lost_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, reason = parse_id(split_command(msg.text, "输单") or "")
    if lead_id is not None and not reason:
        ctx.reply(Text(f"请写上输单原因，例如「输单 {lead_id} 预算砍掉了」。"))
        return
    lead = await lead_gate(ctx, lead_id, "open", "输单 12 预算砍掉了")
    if lead is not None and ctx.confirmed:
        await close_lead(ctx, lead, False, reason)
    elif lead is not None:  # closing a lead is not undone: one confirm click first
        ctx.reply(Card(title=P.LOST_CONFIRM.format(id=lead.id, who=messages.lead_name(lead)),
                       description=P.LOST_CONFIRM_NOTE.format(reason=user_text(reason)),
                       buttons=(Button(ConfirmLost(lead.id, reason[:200]).pack(), "确认输单", "primary"),
                                Button(Cancel().pack(), "取消"))))


@router.card_action(ConfirmLost, lead="open")
async def click_lost_confirmed(ctx: Context, action: ConfirmLost, lead: Lead) -> None:
    ctx.update_card(f"已确认输单 · 线索 #{lead.id}")
    await close_lead(ctx, lead, False, action.reason)


@router.card_action(MarkWon, lead="open")
async def click_won(ctx: Context, action: MarkWon, lead: Lead) -> None:
    await close_lead(ctx, lead, True, "")


@router.card_action(LostHint, lead="open")
async def click_lost(ctx: Context, action: LostHint, lead: Lead) -> None:
    ctx.reply(Text(f"请发送「输单 {lead.id} <原因>」记录输单，例如「输单 {lead.id} 预算砍掉了」。"))


# -- evidence -----------------------------------------------------------------------------------
def _wait_key(user_id: str) -> str:
    return f"evidence_wait:{user_id}"


async def await_evidence(ctx: Context, lead: Lead) -> None:
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


@router.card_action(AwaitEvidence, lead="evidence")
async def click_evidence_wait(ctx: Context, action: AwaitEvidence, lead: Lead) -> None:
    await await_evidence(ctx, lead)


@router.command("证据")
async def evidence_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, note = parse_id(split_command(msg.text, "证据") or "")
    lead = await lead_gate(ctx, lead_id, "evidence", "证据 12")
    if lead is None:
        return
    if not note:
        await await_evidence(ctx, lead)
        return
    session = await ctx.db()
    ev, outcome = await records.add_evidence_note(session, lead, ctx.user, note, ctx.now(), ctx.settings.checks)
    ctx.reply(Text(outcome.message))
    if not outcome.ok and ctx.user.manager_id:  # waits for the manager
        lock = await proof_pending(session, lead.id) is not None
        ctx.send(ctx.user.manager_id, view.evidence_card(lead, ev, ctx.user.name, renewal_lock=lock),
                 key=f"evidence:{ev.id}")


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
    reading = (await read_image(data, ctx.now(), ctx.settings.ocr, ctx.services.engines) if msg.kind == "image"
               else read_name(msg.file_name or ""))  # slow work before the transaction
    default_suffix = ".png" if msg.kind == "image" else ".bin"
    digest, path = await EvidenceStore(ctx.settings.ocr.evidence_dir).keep(data, msg.file_name,
                                                                           default_suffix)  # before the transaction
    lead = await lead_for(ctx, lead_id)
    if lead is None:
        return
    session = await ctx.db()
    row = await session.get(KeyValue, _wait_key(ctx.user.id))
    if row is not None:
        await session.delete(row)
    kind = "image" if msg.kind == "image" else "file"
    outcome = await records.attach_evidence_file(session, lead, ctx.user.id, kind, digest, path, ctx.now(), reading,
                                                 ctx.settings.checks)
    ctx.reply(Text(outcome.message))


@router.card_action(ApproveEvidence, roles={"manager", "admin"})
@router.card_action(RejectEvidence, roles={"manager", "admin"})
async def click_evidence(ctx: Context, action: ApproveEvidence | RejectEvidence) -> None:
    session = await ctx.db()
    ev = await session.get(Evidence, action.evidence_id)
    lead = await lead_for(ctx, ev.lead_id if ev is not None else None, "线索 12")
    if ev is None or lead is None or ev.kind != "note" or ev.confirmed_by:
        if lead is not None:
            ctx.reply(Text("这条证据已处理过了。"))
        return
    approve = isinstance(action, ApproveEvidence)
    text = await records.decide_evidence(session, ev, lead, ctx.user, approve, ctx.now(), ctx.settings.checks)
    ctx.update_card(f"{text}（{user_text(ctx.user.name)}）")
    if lead.owner_id and lead.owner_id != ctx.user.id:
        verdict = "ok" if approve else "no"
        ctx.send(lead.owner_id, Text(f"主管{text}。"), key=f"evidence:{ev.id}:{verdict}")


# -- new lead from free text --------------------------------------------------------------------
def _extract(text: str, now: datetime, catalog: Catalog, engines: Engines) -> LeadFields:
    """The screenshot extractor on typed text, with the company's catalog and the knowledge base's products;
    English field words and 繁體 read as Chinese and 简体, names and needs kept in the script they were typed in."""
    said, read = reading_pair(text, engines.get(SIMPLIFIER))
    got = extract_from_text(read, now, catalog, names=engines.get(NAMES))
    if said == read or len(said) != len(read):
        return got

    def written(value: str | None) -> str | None:
        at = read.find(value) if value else -1
        return said[at:at + len(value)] if value and at >= 0 else value

    return dataclasses.replace(got, customer_name=written(got.customer_name), company=written(got.company),
                               title=written(got.title), needs=tuple(written(n) or n for n in got.needs))


@router.command("新线索", "录入线索")
async def new_lead_cmd(ctx: Context, msg: Inbound) -> None:
    text = command_arg(msg.text, "新线索", "录入线索") or ""
    if not text:
        ctx.reply(Text("请把客户信息写在后面，例如「新线索 张三 某某医院 设备科主任 13800138000 预算50万」。"))
        return
    now = ctx.now()
    # jieba (needs) and OpenCC load their dictionaries on first use: keep them off the event loop
    catalog = await lead_catalog(ctx.services)
    extras, rest = typed_extras(text[:4000])
    extracted = await asyncio.get_running_loop().run_in_executor(None, _extract, rest, now, catalog,
                                                                   ctx.services.engines)
    fields, follow, conf = fields_from_extract(extracted)
    fields.update({k: v for k, v in extras.items() if not fields.get(k)})
    place_industry(ctx.services, fields, rest)
    session = await ctx.db()
    lead, dups = await save_draft(session, fields, source="manual", by=ctx.user.id, now=now, confidence=conf,
                                  follow_up=follow, extra={"text": text[:4000]})
    names = await user_names(session, [ctx.user.id])
    lines = await hooks.after_values(session, lead, now, ctx.settings.checks)
    if not lead.phone and (near := NEAR_MOBILE.search(text)):  # a digit too many or too few: ask, do not drop
        lines.append(P.EDIT_ASK_PHONE.format(value=near.group(0), n=len(near.group(0))) + "更正请发「电话 …」。")
    if lines:
        ctx.reply(Text("\n".join(lines)))
    ctx.reply(view.draft_card(lead, names, dups, ctx.user.id))


NEAR_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{8}(?:\d{2})?(?!\d)")  # 10 or 12 digits: a mobile number mistyped


@router.card_action(ConfirmDraft, lead="any")
async def click_confirm(ctx: Context, action: ConfirmDraft, lead: Lead) -> None:
    session = await ctx.db()
    result = await confirm_draft(session, lead, ctx.user, ctx.now(), ctx.settings.reminders)
    lines: list[str] = []
    if result.ok:
        ctx.update_card(f"已确认 · 线索 #{lead.id}")
        lines = await hooks.after_values(session, lead, ctx.now(), ctx.settings.checks)
    ctx.reply(Text("\n".join([result.message, *lines])))


@router.card_action(DropDraft, lead="any")
async def click_drop(ctx: Context, action: DropDraft, lead: Lead) -> None:
    outcome, unused = await records.drop_draft(await ctx.db(), lead, ctx.user.id, ctx.now())
    if unused:
        ctx.after_commit.append(lambda: EvidenceStore.forget(unused))
    if outcome.ok:
        ctx.update_card("已放弃")
    ctx.reply(Text(outcome.message))


# -- reassignment (managers): handlers/leads/manage.py ----------------------------------------------
@router.command("改派", "分配", roles={"manager", "admin"})
async def reassign_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, who = parse_id(command_arg(msg.text, "改派", "分配") or "")
    lead = await lead_gate(ctx, lead_id, "manage", "改派 12 rep02")
    if lead is None:
        return
    session = await ctx.db()
    if who:
        people = (await session.execute(select(User.id, User.name).where(User.active.is_(True)))).all()
        name, why = split_person(who, tuple((p.id, p.name) for p in people))  # 「张伟 客户在他片区」
        rep = await manage.find_rep(session, name or who, ctx.user)
        if rep is None:
            await _ask_who(ctx, session, lead, name or who)
            return
        ctx.apply(await manage.reassign(session, ctx.user, lead, rep, why, ctx.now(), ctx.settings))
        return
    await _suggest(ctx, lead)


_CALLED = re.compile(r"^(?:小|老|阿)|(?:哥|姐|总|工|老师)$")


async def _ask_who(ctx: Context, session: AsyncSession, lead: Lead, who: str) -> None:
    """「改派 3 小李」: no one of that name; colleagues it may mean (a surname, part of a name) are offered as
    buttons — a guess is asked, never acted on — else the name is said to be unknown."""
    core = _CALLED.sub("", who.strip().lstrip("@")) or who
    rows = (await session.execute(select(User).where(User.active.is_(True), User.role == "rep")
                                  .order_by(User.id))).scalars()
    near = [u for u in rows if manages(ctx.user, u) and u.name
            and (u.name.startswith(core) if len(core) == 1 else core in u.name)][:5]
    if not near:
        ctx.reply(Text(P.NOT_IN_TEAM.format(who=user_text(who))))
        return
    ctx.reply(Card(title=P.WHICH_REP.format(who=user_text(who), id=lead.id),
                   buttons=tuple(Button(ReassignTo(lead.id, u.id).pack(), user_text(u.name)) for u in near)))


async def _suggest(ctx: Context, lead: Lead) -> None:
    """A card with the engine's ranking (current owner and the rep a freeze took it from excluded) as buttons."""
    picks = await reassign_options(await ctx.db(), lead, ctx.user, ctx.now(), ramp=ctx.settings.ramp)
    if not picks:
        ctx.reply(Text(f"团队里暂时没有可接收线索 #{lead.id} 的销售（都已满负荷）。"))
        return
    lines = [f"{i}. {user_text(p.rep.name)}（{user_text(p.reason)}）" for i, p in enumerate(picks, 1)]
    ctx.reply(Card(title=f"改派线索 #{lead.id}", description="\n".join(lines),
                   buttons=tuple(Button(ReassignTo(lead.id, p.rep.id).pack(), user_text(p.rep.name)) for p in picks),
                   note="按区域/产品线/行业赢单/负荷排序"))


@router.card_action(ReassignPicker, lead="manage")
async def click_reassign(ctx: Context, action: ReassignPicker, lead: Lead) -> None:
    await _suggest(ctx, lead)


@router.card_action(ReassignTo, lead="manage")
async def click_assign_to(ctx: Context, action: ReassignTo, lead: Lead) -> None:
    session = await ctx.db()
    rep = await manage.find_rep(session, action.rep_id, ctx.user)
    if rep is None:
        ctx.reply(Text(P.REP_NOT_IN_TEAM))
        return
    frozen = manage.frozen_escalation(lead) is not None
    picks = {} if frozen else {p.rep.id: p for p in await reassign_options(session, lead, ctx.user, ctx.now(),
                                                                            limit=100, ramp=ctx.settings.ramp)}
    reason = picks[rep.id].reason if rep.id in picks else ""
    result = await manage.reassign(session, ctx.user, lead, rep, reason, ctx.now(), ctx.settings)
    ctx.apply(result)
    if result.changed and not frozen:
        ctx.update_card(f"已改派给 {user_text(rep.name)}")


@router.command("团队日报", "日报", roles={"manager", "admin"})
async def team_report(ctx: Context, msg: Inbound) -> None:
    """The digest on demand (same figures as the morning push)."""
    now = ctx.now()
    async with ctx.services.db.session() as session:  # read-only; the chart renders outside any transaction
        report = await compute_report(session, None if ctx.user.is_admin else ctx.user.id, now - DIGEST_WINDOW,
                                      now, ctx.settings.reminders, ramp=ctx.settings.ramp)
    ctx.reply(Markdown(title="📊 团队跟进日报", text="\n".join(report_lines(report))))
    png = await chart_png(report, ctx.services.engines)
    ctx.reply(Image(data=png, file_name="report.png", caption="漏斗与健康指数"))
