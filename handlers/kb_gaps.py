"""Weekly knowledge-gaps digest for admins: what reps asked that the knowledge base could not answer,
and which answers they voted down. Once per ISO week, on its first working day after `digest_time`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.clock import to_cn
from bot.messages import Markdown, Outbound
from bot.usertext import user_text
from handlers.report import digest_due
from knowledge.store import Gap, gaps
from reminders.calendar import load_calendar
from storage.models import KeyValue, User
from storage.sql import insert_ignore, rowcount

if TYPE_CHECKING:
    from bot.services import Services

WEEK = timedelta(days=7)
TOP = 15


def gaps_text(items: list[Gap]) -> str:
    lines = ["近 7 天知识库缺口（按次数排序），建议补充或更新话术卡片："]
    for gap in items[:TOP]:
        what = "没答上来" if gap.kind == "unanswered" else f"卡片 {gap.card_id} 被点没用"
        lines.append(f"- 「{user_text(gap.query)}」× {gap.count} · {what}")
    lines.append("把合适的卡片固定给某个问法：回复「置顶 问法 卡片编号」；没有合适的卡片就新建一张再置顶。")
    lines.append("完整列表：salesbot kb gaps")
    return "\n".join(lines)


async def send_weekly_gaps(services: Services) -> int:
    """Queue this week's gaps digest to every admin once; returns how many admins got it."""
    cfg, now = services.settings.reminders, services.clock.now()
    year, week, _ = to_cn(now).isocalendar()
    key = f"kb_gaps:{year}-W{week:02d}"
    async with services.db.session() as session:
        if not digest_due(now, cfg, await load_calendar(session, cfg)):
            return 0
        claimed = await session.execute(insert_ignore(session, KeyValue).values(
            key=key, value={"sent_at": now.isoformat()}, updated_at=now))
        if rowcount(claimed) == 0:
            return 0  # already sent this week (maybe by another process)
        items = await gaps(session, since=now - WEEK)
        if not items:
            return 0  # a quiet week: nothing worth a message
        admins = list((await session.execute(
            select(User.id).where(User.role == "admin", User.active.is_(True)).order_by(User.id))).scalars())
        body = Markdown(title="📚 知识库周报", text=gaps_text(items))
        await services.outbox.enqueue(session, [Outbound(a, body, dedup_key=f"{key}:{a}") for a in admins])
    if admins:
        services.wake_outbox()
    return len(admins)
