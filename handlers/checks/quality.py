"""Data quality per rep for the manager's digest: the share of open leads whose key fields are complete, open 🔴
flags and how long they have been open, open 🟡 flags (counted, the oldest few listed), and the 「数据清洁日」 list
(each rep's three oldest open flags).

Complete = customer, company, a way to reach them (phone or WeChat), budget, needs and industry known, and from
方案演示 on also decision chain, next step and objection. Unknown is never complete; a rep without open leads has
an unknown share (未知), not 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usertext import user_text
from handlers.checks.flags import OPEN, flag_line, key_known
from handlers.checks.rules import RED, YELLOW
from storage.leads import OPEN_STATUSES, is_filled, stage_index
from storage.models import Lead, LeadFlag

BASE_FIELDS = ("customer_name", "company", "budget_cny", "needs", "industry")
CLEANUP_TOP = 3
YELLOW_TOP = 2  # 🟡 are many and less urgent: a couple listed, the rest counted


def complete(lead: Lead) -> bool:
    if not all(is_filled(getattr(lead, f)) for f in BASE_FIELDS):
        return False
    if not (is_filled(lead.phone) or is_filled(lead.wechat_id)):
        return False
    return stage_index(lead.stage) < stage_index("demo") or len(key_known(lead)) == 3


@dataclass
class Quality:
    complete: int = 0
    open_leads: int = 0
    red_open: int = 0
    oldest_red_days: float | None = None
    oldest: list[LeadFlag] = field(default_factory=list)  # the 数据清洁日 list
    reds: list[LeadFlag] = field(default_factory=list)  # the oldest open 🔴 flags, shown every day
    yellow_open: int = 0
    yellows: list[LeadFlag] = field(default_factory=list)  # the oldest open 🟡 flags, shown every day

    @property
    def share(self) -> float | None:
        return self.complete / self.open_leads if self.open_leads else None


async def quality_by_rep(session: AsyncSession, rep_ids: Sequence[str], now: datetime) -> dict[str, Quality]:
    out = {r: Quality() for r in rep_ids}
    if not rep_ids:
        return out
    leads = (await session.execute(select(Lead).where(Lead.owner_id.in_(list(rep_ids)),
                                                      Lead.status.in_(OPEN_STATUSES)))).scalars()
    for lead in leads:
        q = out[str(lead.owner_id)]
        q.open_leads += 1
        q.complete += complete(lead)
    # a flag counts for the rep who entered the value it is about (the lead's owner when it was raised): it stays
    # theirs after the lead is frozen into the pool or handed over; a draft's flags are the rep's questions, not yet
    # the team's record
    rep = func.coalesce(LeadFlag.owner_id, Lead.owner_id)
    rows = (await session.execute(select(LeadFlag, rep).join(Lead, Lead.id == LeadFlag.lead_id)
                                  .where(rep.in_(list(rep_ids)), LeadFlag.status.in_(OPEN), Lead.status != "draft")
                                  .order_by(LeadFlag.created_at, LeadFlag.id))).all()
    for flag, owner in rows:
        q = out[str(owner)]
        if len(q.oldest) < CLEANUP_TOP:
            q.oldest.append(flag)
        if flag.level == RED:
            q.red_open += 1
            if len(q.reds) < CLEANUP_TOP:
                q.reds.append(flag)
            age = (now - flag.created_at).total_seconds() / 86400
            q.oldest_red_days = max(q.oldest_red_days or 0.0, age)
        elif flag.level == YELLOW:
            q.yellow_open += 1
            if len(q.yellows) < YELLOW_TOP:
                q.yellows.append(flag)
    return out


def days(value: float) -> str:
    return "不到 1 天" if value < 1 else f"{value:.0f} 天"


def quality_lines(names: Iterable[tuple[str, str]], quality: dict[str, Quality], cleanup: bool,
                  now: datetime) -> list[str]:
    """Markdown lines for the digest: one per rep, then the 数据清洁日 list when it is that day."""
    lines = ["**数据质量**"]
    for rep_id, name in names:
        q = quality.get(rep_id)
        if q is None:
            continue
        share = "未知" if q.share is None else f"{q.complete}/{q.open_leads} 条"
        red = f"🔴 未处理 {q.red_open} 条，最久 {days(q.oldest_red_days)}" if q.red_open and \
            q.oldest_red_days is not None else "🔴 0"
        # a count of leads, named apart from the 信息完整度 percentage above (the mean share of fields filled)
        lines.append(f"- {user_text(name)}: 资料齐全的线索 {share} · {red} · 🟡 {q.yellow_open}")  # user-written
        lines += _listed(q.reds, q.red_open, "🔴", now) + _listed(q.yellows, q.yellow_open, "🟡", now)
    if cleanup:
        lines.append("**🧹 数据清洁日：每人最久未处理的 3 条标记**")
        for rep_id, name in names:
            q = quality.get(rep_id)
            if q is not None and q.oldest:
                shown = "；".join(f"线索 #{f.lead_id} {flag_line(f, manager=True)}" for f in q.oldest)
                lines.append(f"- {user_text(name)}: {shown}")
    return lines


def _listed(shown: list[LeadFlag], total: int, icon: str, now: datetime) -> list[str]:
    """The flags listed under a rep, then how many more there are (the count and the list agree)."""
    lines = [f"  - 线索 #{f.lead_id} {flag_line(f, manager=True)}"
             f"（{days((now - f.created_at).total_seconds() / 86400)}）" for f in shown]
    if total > len(shown):
        lines.append(f"  - 还有 {total - len(shown)} 条 {icon}，发送「团队标记」查看全部")
    return lines
