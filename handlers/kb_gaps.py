"""The admins' knowledge-gaps queue: what reps asked that the knowledge base could not answer, which answers
they voted down, and — knowledge from the field (知识萃取) — objections and competitors that keep coming up in
reps' visit summaries and that no card answers. A weekly digest once per ISO week, on its first working day
after `digest_time`; the same lines in chat (知识缺口) and in the console.

Field gaps are computed when the queue is read: one range scan over the window's 跟进 rows (their mined
insights are stored with them, handlers/leads/insights.py) and one knowledge search per value that recurs
(at least `[knowledge] field_min_reps` reps and `field_min_notes` summaries). Coverage is the search's own
decline decision on the value itself: when a card starts answering it, the gap leaves the queue by itself. No
job, no table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_cn
from bot.config import KnowledgeSettings
from bot.messages import Markdown, Outbound
from bot.org import active_admins
from bot.usertext import user_text
from handlers.leads.insights import UNNAMED_COMPETITOR
from handlers.report import digest_due
from knowledge.search import KnowledgeBase
from knowledge.store import Gap, gaps
from reminders.calendar import load_calendar
from storage.leads import user_names
from storage.models import Activity, KeyValue
from storage.sql import insert_ignore, rowcount

if TYPE_CHECKING:
    from bot.services import Services

WEEK = timedelta(days=7)
TOP = 15
EVIDENCE = 5  # summaries kept per field gap
KIND_CN = {"objection": "客户顾虑", "competitor": "竞品"}


@dataclass(frozen=True)
class FieldNote:
    lead_id: int
    rep: str  # the rep's name
    at: datetime
    summary: str


@dataclass(frozen=True)
class FieldGap:
    """An objection (or pain point) or a named competitor reps keep writing down, that no card answers."""

    kind: str  # "objection" | "competitor"
    value: str
    reps: int
    notes: int
    last_at: datetime
    evidence: tuple[FieldNote, ...]

    @property
    def label(self) -> str:
        return f"{KIND_CN[self.kind]}「{self.value}」"

    def draft_query(self) -> str:
        """The console's new-card form, prefilled from this gap."""
        title = f"客户提到{self.value}：怎么回应" if self.kind == "competitor" else f"客户顾虑{self.value}：怎么回应"
        objection = "竞品" if self.kind == "competitor" else self.value
        return urlencode({"title": title, "keywords": self.value, "objection": objection})


async def field_gaps(session: AsyncSession, kb: KnowledgeBase, now: datetime, cfg: KnowledgeSettings,
                     limit: int = 20) -> list[FieldGap]:
    """Objections and competitors from at least `field_min_reps` reps in `field_min_notes` summaries of the last
    `field_days` days that the knowledge search declines; most reps first. `kb` must be loaded."""
    rows = await session.execute(  # only the mined part of each row, and only rows where something was mined
        select(Activity.id, Activity.actor_id, Activity.detail["insights"], Activity.created_at)
        .where(Activity.kind == "contact", Activity.created_at >= now - timedelta(days=cfg.field_days),
               Activity.detail["insights_text"].as_string() != "")
        .order_by(Activity.created_at.desc(), Activity.id.desc()))
    tally: dict[tuple[str, str], list[tuple[int, str | None, datetime]]] = {}
    for row_id, actor, insights, at in rows:
        insights = insights if isinstance(insights, dict) else {}
        found = [("objection", v) for v in insights.get("pain_points") or ()]
        found += [("competitor", v) for v in insights.get("competitors") or () if v != UNNAMED_COMPETITOR]
        for key in dict.fromkeys(found):
            tally.setdefault(key, []).append((row_id, actor, at))
    recurring = [(key, notes) for key, notes in tally.items()
                 if len(notes) >= cfg.field_min_notes and len({n[1] for n in notes}) >= cfg.field_min_reps]
    uncovered = [(key, notes) for key, notes in recurring if not (await kb.asearch(key[1], top=1)).answered]
    uncovered.sort(key=lambda item: (-len({n[1] for n in item[1]}), -len(item[1]), item[0]))
    uncovered = uncovered[:limit]
    shown = {n[0] for _key, notes in uncovered for n in notes[:EVIDENCE]}
    texts = {row_id: (lead_id, summary) for row_id, lead_id, summary in await session.execute(
        select(Activity.id, Activity.lead_id, Activity.summary).where(Activity.id.in_(shown)))} if shown else {}
    names = await user_names(session, {n[1] for _key, notes in uncovered for n in notes[:EVIDENCE]})
    return [FieldGap(kind, value, len({n[1] for n in notes}), len(notes), notes[0][2],
                     tuple(FieldNote(texts[row_id][0], names.get(actor or "", actor or ""), at, texts[row_id][1])
                           for row_id, actor, at in notes[:EVIDENCE]))
            for (kind, value), notes in uncovered]


def field_lines(items: list[FieldGap]) -> list[str]:
    """The field gaps as chat/digest lines, each with its newest summary as evidence."""
    if not items:
        return []
    lines = ["一线反馈里反复出现、知识库还没有卡片能回答的："]
    for gap in items[:TOP]:
        lines.append(f"- {user_text(gap.label)}：{gap.reps} 位销售 · {gap.notes} 条跟进提到")
        note = gap.evidence[0]
        lines.append(f"  例：{user_text(note.rep)} 线索 #{note.lead_id}「{user_text(note.summary[:60])}」")
    lines.append("在管理后台「知识缺口」页可看全部原话，并一键据此新建卡片。")
    return lines


def gaps_text(items: list[Gap], field: list[FieldGap] | None = None) -> str:
    lines: list[str] = []
    if items:
        lines.append("近 7 天知识库缺口（按次数排序），建议补充或更新话术卡片：")
        for gap in items[:TOP]:
            what = "没答上来" if gap.kind == "unanswered" else f"卡片 {gap.card_id} 被点没用"
            lines.append(f"- 「{user_text(gap.query)}」× {gap.count} · {what}")
        lines.append("把合适的卡片固定给某个问法：回复「置顶 问法 卡片编号」；没有合适的卡片就新建一张再置顶。")
    field_part = field_lines(field or [])
    lines += field_part or ["完整列表见管理后台「知识缺口」页。"]  # the field part ends with its own pointer
    return "\n".join(lines)


async def fresh_kb(services: Services) -> KnowledgeBase:
    """The process's knowledge index, brought up to date (outside any transaction: it may read and rebuild)."""
    from handlers.knowledge import knowledge_base

    kb = knowledge_base(services)
    await kb.refresh_if_stale(services.db)
    return kb


async def all_gaps(services: Services, now: datetime) -> tuple[list[Gap], list[FieldGap]]:
    """This week's asked-and-missed gaps and the field gaps (read in their own short session)."""
    kb = await fresh_kb(services)
    async with services.db.session() as session:
        return await gaps(session, since=now - WEEK), await field_gaps(session, kb, now, services.settings.knowledge)


async def send_weekly_gaps(services: Services) -> int:
    """Queue this week's gaps digest to every admin once; returns how many admins got it."""
    cfg, now = services.settings.reminders, services.clock.now()
    year, week, _ = to_cn(now).isocalendar()
    key = f"kb_gaps:{year}-W{week:02d}"
    async with services.db.session() as session:  # cheap checks first: most ticks end here
        if not digest_due(now, cfg, await load_calendar(session, cfg)):
            return 0
        if await session.get(KeyValue, key) is not None:
            return 0  # sent this week already
    items, field = await all_gaps(services, now)  # before the claiming transaction (the index may rebuild)
    async with services.outbox.sending() as out:
        session = out.session
        claimed = await session.execute(insert_ignore(session, KeyValue).values(
            key=key, value={"sent_at": now.isoformat()}, updated_at=now))
        if rowcount(claimed) == 0:
            return 0  # already sent this week (maybe by another process)
        if not items and not field:
            return 0  # a quiet week: nothing worth a message
        body = Markdown(title="📚 知识库周报", text=gaps_text(items, field))
        return await out.add(Outbound(a, body, dedup_key=f"{key}:{a}") for a in await active_admins(session))
