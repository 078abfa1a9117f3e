"""The handover list a successor gets at offboarding (`org offboard`, the console's 离职交接, chat 「离职 … 交给 …」):
the leaver's open leads with their last follow-up summary and what it told (pain points, competitors,
decision chain), the flags still open on them, the knowledge cards the leaver was shown most and the answers
they marked 有用, and their open 续约预警 (moved to the successor with their locks) — what a colleague would otherwise
have to ask them on their last day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import fmt_cn
from bot.config import RemindersSettings
from bot.messages import Markdown, Outbound
from bot.phrases import UNKNOWN_COMPANY, UNNAMED_CUSTOMER
from bot.usertext import user_text
from handlers.checks.flags import flag_line, flags_of
from handlers.leads.assignment import offboard
from handlers.leads.views import agreed_callbacks, insight_summary
from handlers.renewals.locks import ACTIVE
from storage.leads import STATUS_CN, stage_label
from storage.models import Activity, Contract, KnowledgeCard, KnowledgeFeedback, Lead, QueryLog, RenewalWarning, User

TOP_CARDS = 5
TOP_USEFUL = 5
MAX_LEADS = 30  # WeCom markdown ≤ 4096 bytes: a long list is cut with 「另有 N 条」
SUMMARY_CHARS = 60


@dataclass(frozen=True)
class LeadBrief:
    lead: Lead
    last_summary: str  # the last follow-up's summary, "" when none
    last_at: datetime | None
    insights: str  # 痛点 … · 竞品 … · 决策链 …
    flags: tuple[str, ...]  # open flag lines
    callback: datetime | None = None  # the agreed follow-up time (views.agreed_callbacks), None when none

    def callback_text(self) -> str:
        return f"约定回访 {fmt_cn(self.callback)}" if self.callback else "未约回访"


@dataclass(frozen=True)
class Handover:
    leaving_id: str
    leaving_name: str
    leads: tuple[LeadBrief, ...]
    cards: tuple[tuple[str, str, int], ...]  # (card id, title, times shown to the leaver)
    useful: tuple[tuple[str, str, str], ...]  # (question, card id, title) the leaver marked 有用
    renewals: tuple[str, ...] = ()  # the leaver's open 续约预警, now the successor's (their locks with them)

    @property
    def empty(self) -> bool:
        return not (self.leads or self.cards or self.useful or self.renewals)

    def lines(self) -> list[str]:
        """The list as lines; user text is marked for the channels' escaping (`bot.usertext.plain` for a
        terminal)."""
        u = user_text
        out = [f"【线索 {len(self.leads)} 条】" if self.leads else "【线索】无在跟线索"]
        for b in self.leads[:MAX_LEADS]:
            lead = b.lead
            head = (f"#{lead.id} {u(lead.customer_name or UNNAMED_CUSTOMER)} · {u(lead.company or UNKNOWN_COMPANY)} · "
                    f"{stage_label(lead.stage)} · {STATUS_CN.get(lead.status, lead.status)} · {b.callback_text()}")
            out.append(head)
            if b.last_summary:
                text = b.last_summary if len(b.last_summary) <= SUMMARY_CHARS else b.last_summary[:SUMMARY_CHARS] + "…"
                out.append(f"  最近跟进（{fmt_cn(b.last_at)}）：{u(text)}")
            if b.insights:
                out.append(f"  洞察：{u(b.insights)}")
            out += [f"  待处理：{u(f)}" for f in b.flags]
        if len(self.leads) > MAX_LEADS:
            out.append(f"……另有 {len(self.leads) - MAX_LEADS} 条，见「我的线索」")
        if self.renewals:
            out.append(f"【续约预警 {len(self.renewals)} 个，已一并转给你】")
            out += list(self.renewals)
        if self.cards:
            out.append("【常用话术卡片】")
            out += [f"{u(title)}（用过 {n} 次）" for _cid, title, n in self.cards]
        if self.useful:
            out.append("【标记为有用的回答】")
            out += [f"「{u(q)}」→ {u(title)}" for q, _cid, title in self.useful]
        return out

    def notice(self, to_id: str, now: datetime) -> Outbound | None:
        """The list as the successor's chat message (None when there is nothing to hand over)."""
        if self.empty:
            return None
        lines = self.lines()
        text = f"**{user_text(self.leaving_name)} 的 {len(self.leads)} 条线索已转给你**\n" + "\n".join(
            (f"**{line}**" if line.startswith("【") else line if line.startswith("  ") else f"- {line}")
            for line in lines)
        return Outbound(to_id, Markdown(title="📋 线索交接清单", text=text),
                        dedup_key=f"offboard:{self.leaving_id}:{now.isoformat()}")


async def offboard_with_handover(session: AsyncSession, leaving_id: str, to_id: str, now: datetime,
                                 cfg: RemindersSettings, *, actor_id: str | None = None) -> Handover:
    """`offboard` (handlers/leads/assignment.py) and the successor's handover list, for CLI, console and chat
    alike; raises ValueError as `offboard` does."""
    renewals = await _open_renewals(session, leaving_id)  # before `offboard` moves them to the successor
    leads = await offboard(session, leaving_id, to_id, now, cfg, actor_id=actor_id)
    leaving = await session.get(User, leaving_id)
    handover = await build_handover(session, leaving_id, leaving.name if leaving else leaving_id, leads)
    return replace(handover, renewals=renewals)


async def _open_renewals(session: AsyncSession, owner_id: str) -> tuple[str, ...]:
    """Each open 续约预警 of `owner_id`, soonest end first, with its lock and the way out: whoever owns the warning
    is the one the lock holds, so the successor must know before touching those customers."""
    rows = (await session.execute(
        select(RenewalWarning, Contract.end_on, Lead).join(Contract, Contract.id == RenewalWarning.contract_id)
        .join(Lead, Lead.id == RenewalWarning.lead_id)
        .where(RenewalWarning.owner_id == owner_id, RenewalWarning.status.in_(ACTIVE))
        .order_by(Contract.end_on, RenewalWarning.id))).all()
    out = []
    for warning, end_on, lead in rows:
        state = "🔒 锁定中" if warning.locked else "未锁定"
        done = "，已联系客户" if warning.status == "contacted" else ""
        out.append(f"#{lead.id} {user_text(lead.customer_name or UNNAMED_CUSTOMER)} · "
                   f"{user_text(lead.company or UNKNOWN_COMPANY)} · 合同 {end_on.isoformat()} 到期 · {state}{done}"
                   f"：发「证据 {lead.id}」提交续签合同或回款凭证{'后解锁' if warning.locked else ''}")
    return tuple(out)


async def build_handover(session: AsyncSession, leaving_id: str, leaving_name: str, leads: Sequence[Lead]
                         ) -> Handover:
    ids = [lead.id for lead in leads]
    last: dict[int, Activity] = {}
    if ids:
        acts = await session.execute(select(Activity).where(Activity.lead_id.in_(ids), Activity.kind == "contact")
                                     .order_by(Activity.created_at, Activity.id))
        for act in acts.scalars():
            last[act.lead_id] = act
    flags: dict[int, list[str]] = {}
    for flag in await flags_of(session, ids):
        flags.setdefault(flag.lead_id, []).append(flag_line(flag))
    callbacks = await agreed_callbacks(session, leads)
    briefs = tuple(LeadBrief(lead, (last[lead.id].summary if lead.id in last else "").strip(),
                             last[lead.id].created_at if lead.id in last else None,
                             insight_summary((lead.extra or {}).get("insights") or {}),
                             tuple(flags.get(lead.id, ())), callbacks.get(lead.id)) for lead in leads)
    return Handover(leaving_id, leaving_name, briefs, await _cards_used(session, leaving_id),
                    await _useful(session, leaving_id))


async def _cards_used(session: AsyncSession, user_id: str) -> tuple[tuple[str, str, int], ...]:
    shown = func.count(QueryLog.id).label("n")
    rows = await session.execute(
        select(QueryLog.shown_card, KnowledgeCard.title, shown)
        .join(KnowledgeCard, KnowledgeCard.id == QueryLog.shown_card)
        .where(QueryLog.user_id == user_id, KnowledgeCard.active.is_(True))
        .group_by(QueryLog.shown_card, KnowledgeCard.title).order_by(desc(shown), QueryLog.shown_card)
        .limit(TOP_CARDS))
    return tuple((str(cid), title, int(n)) for cid, title, n in rows.all())


async def _useful(session: AsyncSession, user_id: str) -> tuple[tuple[str, str, str], ...]:
    rows = await session.execute(
        select(QueryLog.query, KnowledgeFeedback.card_id, KnowledgeCard.title)
        .join(QueryLog, QueryLog.id == KnowledgeFeedback.query_id)
        .join(KnowledgeCard, KnowledgeCard.id == KnowledgeFeedback.card_id)
        .where(KnowledgeFeedback.user_id == user_id, KnowledgeFeedback.vote == "up", KnowledgeCard.active.is_(True))
        .order_by(KnowledgeFeedback.created_at.desc(), KnowledgeFeedback.id.desc()).limit(TOP_USEFUL * 4))
    out: list[tuple[str, str, str]] = []
    for query, card_id, title in rows.all():
        if all(card_id != c for _, c, _ in out):
            out.append((query[:40], card_id, title))
    return tuple(out[:TOP_USEFUL])
