"""Flags in chat: a rep answers a flag in one line (「预算 确认 客户集团总预算」, with the lead number when there
are several: 「预算 确认 12 客户集团总预算」); the manager gets the answer with a 清除 button, or clears by text
(「清除标记 12 预算」, 「清除标记 12」 for all of a lead's flags); 「我的标记」 lists open flags (a manager:
the team's)."""

from __future__ import annotations

from sqlalchemy import or_, select

from bot.actions import ClearFlag, ViewLead
from bot.context import Context
from bot.messages import Button, Card, Inbound, Text
from bot.router import Router, normalize_kept
from bot.usertext import user_text
from handlers.checks import flags, rules
from handlers.leads.chat_gate import command_arg, lead_for
from handlers.leads.permissions import list_leads
from handlers.leads.rules import parse_id
from storage.leads import OPEN_STATUSES
from storage.models import Lead, LeadFlag

router: Router[Context] = Router("checks")

MAX_LISTED = 20


def parse_answer(text: str) -> tuple[str, int | None, str] | None:
    """(topic word, lead id or None, answer) of a one-line flag answer, else None; the answer keeps its Chinese
    punctuation (「客户直接签约，演示在总部做过」 is stored as typed)."""
    m = rules.FLAG_ANSWER.match(normalize_kept(text))
    if not m:
        return None
    return m.group("topic"), int(m.group("lead")) if m.group("lead") else None, m.group("answer").strip()


# 「预算 确认 …」 is registered as a command word of its own: longer than the draft edit 「预算 …」, so it wins there
# (and handlers/intent.py reads such a line as intent "flag_answer", which routes by this command word).
ANSWER_WORDS = tuple(f"{t}{sep}{v}" for t in rules._TOPIC_WORDS for v in rules.ANSWER_VERBS for sep in ("", " "))


async def _own_open_flags(ctx: Context, rule_names: set[str], lead_id: int | None) -> list[LeadFlag]:
    session = await ctx.db()
    stmt = (select(LeadFlag).join(Lead, Lead.id == LeadFlag.lead_id)
            .where(or_(Lead.owner_id == ctx.user.id, LeadFlag.owner_id == ctx.user.id),
                   LeadFlag.status.in_(flags.OPEN), LeadFlag.rule.in_(rule_names)))
    if lead_id is not None:
        stmt = stmt.where(LeadFlag.lead_id == lead_id)
    return list((await session.execute(stmt.order_by(LeadFlag.id))).scalars())


@router.command(*ANSWER_WORDS)
async def answer_flag(ctx: Context, msg: Inbound) -> None:
    parsed = parse_answer(msg.text or "")
    if parsed is None:
        ctx.reply(Text("请在后面写上说明，例如「预算 确认 客户集团总预算」。"))
        return
    topic, lead_id, text = parsed
    if lead_id is None and text.isdigit():  # 「预算 确认 2」: the lead number without the explanation
        ctx.reply(Text(f"请在编号后面写上说明，例如「{topic} 确认 {text} 客户集团总预算」。"))
        return
    found = await _own_open_flags(ctx, flags.topic_rules(topic), lead_id)
    leads = sorted({f.lead_id for f in found})
    if not found:
        where = f"线索 #{lead_id} 上" if lead_id is not None else ""
        ctx.reply(Text(f"{where}没有找到需要你说明的「{topic}」标记。发送「我的标记」可查看全部。"))
        return
    if len(leads) > 1:
        shown = "、".join(f"#{i}" for i in leads[:MAX_LISTED])
        ctx.reply(Text(f"你有多条线索带「{topic}」标记（{shown}），请写上线索编号，"
                       f"例如「{topic} 确认 {leads[0]} {user_text(text[:20])}」。"))
        return
    now = ctx.now()
    for flag in found:
        await flags.answer(await ctx.db(), flag, text, ctx.user.id, now)
    ctx.reply(Text(f"✅ 已记录你对线索 #{leads[0]} 的说明，等主管核实后清除。"))
    if ctx.user.manager_id:
        lines = "\n".join(flags.flag_line(f) for f in found)
        said = f"{user_text(ctx.user.name)}：{user_text(text[:300])}"
        ctx.send(ctx.user.manager_id, Card(
            title=f"标记说明 · 线索 #{leads[0]}", description=f"{said}\n{lines}",
            buttons=(Button(ClearFlag(found[0].id).pack(), "核实无误，清除", "primary"),
                     Button(ViewLead(leads[0]).pack(), "查看线索"))),
            key=f"flag-answer:{found[0].id}:{now.isoformat()}")


async def _clear(ctx: Context, lead: Lead, found: list[LeadFlag]) -> None:
    now = ctx.now()
    for flag in found:
        await flags.clear(await ctx.db(), flag, ctx.user.id, now)
    if lead.owner_id and lead.owner_id != ctx.user.id:
        ctx.send(lead.owner_id, Text(f"主管已核实并清除线索 #{lead.id} 的 {len(found)} 条标记。"),
                 key=f"flag-clear:{lead.id}:{now.isoformat()}")


@router.card_action(ClearFlag, roles={"manager", "admin"})
async def click_clear(ctx: Context, action: ClearFlag) -> None:
    session = await ctx.db()
    flag = await session.get(LeadFlag, action.flag_id)
    lead = await lead_for(ctx, flag.lead_id if flag is not None else None)
    if flag is None or lead is None:
        return
    same = [f for f in await flags.flags_of(session, [lead.id]) if f.rule == flag.rule]
    if not same:
        ctx.reply(Text("这条标记已处理过了。"))
        return
    await _clear(ctx, lead, same)
    ctx.update_card(f"已清除（{ctx.user.name}）")


@router.command("清除标记", roles={"manager", "admin"})
async def clear_cmd(ctx: Context, msg: Inbound) -> None:
    lead_id, topic = parse_id(command_arg(msg.text, "清除标记") or "")
    lead = await lead_for(ctx, lead_id, "清除标记 12 预算")
    if lead is None:
        return
    wanted = flags.topic_rules(topic.strip()) if topic.strip() else set(rules.TOPICS)
    found = [f for f in await flags.flags_of(await ctx.db(), [lead.id]) if f.rule in wanted]
    if not found:
        ctx.reply(Text(f"线索 #{lead.id} 没有待清除的{f'「{topic.strip()}」' if topic.strip() else ''}标记。"))
        return
    await _clear(ctx, lead, found)
    ctx.reply(Text(f"✅ 已清除线索 #{lead.id} 的 {len(found)} 条标记。"))


@router.command("我的标记", "标记", "团队标记")
async def list_flags(ctx: Context, msg: Inbound) -> None:
    session = await ctx.db()
    if ctx.user.is_manager:
        leads = await list_leads(session, ctx.user, scope="visible", statuses=(*OPEN_STATUSES, "won"))
        found = await flags.flags_of(session, [lead.id for lead in leads])
    else:  # the rep's drafts too: a draft's flag waits for them, not for the manager
        leads = await list_leads(session, ctx.user, scope="own", statuses=(*OPEN_STATUSES, "won", "draft"))
        found = await flags.rep_flags(session, ctx.user.id, [lead.id for lead in leads])
    found = flags.sort_flags(found)
    if not found:
        ctx.reply(Text("目前没有待处理的标记 👍"))
        return
    lines = [f"线索 #{f.lead_id} {flags.flag_line(f, manager=ctx.user.is_manager)}" for f in found[:MAX_LISTED]]
    more = f"\n…共 {len(found)} 条" if len(found) > MAX_LISTED else ""
    hint = ("主管核实后可发送「清除标记 <编号>」。" if ctx.user.is_manager
            else f"回复示例：「{rules.TOPICS.get(found[0].rule, ('预算',))[0]} 确认 <线索编号> <原因>」。")
    ctx.reply(Text("待处理的标记：\n" + "\n".join(lines) + more + "\n" + hint))
