"""Once a day the admins hear which messages could not be delivered (dead letters) since the last report.

A row dead-letters when the platform refused it for good or every retry failed (bot/outbox.py). The log has the
details; the admins get a short Chinese summary per recipient and reason, on working days from `digest_time`.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.clock import to_cn
from bot.messages import GROUP_RECIPIENT, Outbound, Text
from bot.org import active_admins
from bot.usertext import user_text
from handlers.report import digest_due
from reminders.calendar import load_calendar
from storage.models import KeyValue, OutboxMessage, User
from storage.sql import insert_ignore, rowcount

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services import Services

REPORTED = "dead_letters:reported"  # kv: {"max_id": the newest dead row already reported}
REASON_CN = {"permanent": "对方拒绝接收", "needs_admin": "渠道配置有问题，需要管理员处理",
             "retryable": "多次重试仍失败"}
TOP = 10
WAITING_CN = "平台限流或对方暂不方便，稍后自动发送"
PLATFORM_CODE = re.compile(r"(?:errcode|code)\D{0,3}(\d{3,6})", re.IGNORECASE)


async def send_dead_letter_report(services: Services) -> int:
    """Queue today's report to every admin once, if anything dead-lettered since the last one; returns how many
    admins got it."""
    cfg, now = services.settings.reminders, services.clock.now()
    key = f"dead_letters:{to_cn(now).date().isoformat()}"
    async with services.outbox.sending() as out:
        session = out.session
        if not digest_due(now, cfg, await load_calendar(session, cfg)):
            return 0
        claimed = await session.execute(insert_ignore(session, KeyValue).values(key=key, value={}, updated_at=now))
        if rowcount(claimed) == 0:
            return 0  # already looked today (maybe by another process)
        text = await _report_since_last(session, now)
        if text is None:
            return 0
        return await out.add(Outbound(a, Text(text), dedup_key=f"{key}:{a}") for a in await active_admins(session))


async def _report_since_last(session: AsyncSession, now: datetime) -> str | None:
    state = await session.get(KeyValue, REPORTED)
    after = int((state.value or {}).get("max_id", 0)) if state else 0
    o = OutboxMessage
    rows = (await session.execute(select(o.id, o.recipient, o.last_error).where(
        o.status == "dead", o.id > after).order_by(o.id))).all()
    if not rows:
        return None
    if state is None:
        session.add(KeyValue(key=REPORTED, value={"max_id": rows[-1].id}, updated_at=now))
    else:
        state.value, state.updated_at = {"max_id": rows[-1].id}, now
    names = dict((await session.execute(select(User.id, User.name).where(
        User.id.in_({r.recipient for r in rows})))).all())
    counts = Counter((_who(r.recipient, names), _reason(r.last_error)) for r in rows)
    lines = [f"⚠️ 有 {len(rows)} 条消息没能送达，已停止重试："]
    lines += [f"· {who}：{n} 条（{why}）" for (who, why), n in counts.most_common(TOP)]
    if len(counts) > TOP:
        lines.append(f"· 另有 {len(counts) - TOP} 组未列出")
    lines.append("需要时请联系相关同事，详细原因见服务器日志。")
    return "\n".join(lines)


def _who(recipient: str, names: dict[str, str]) -> str:
    if recipient.startswith(GROUP_RECIPIENT):
        return "一个群聊"
    return user_text(names.get(recipient, "未登记的用户"))


def _reason(error: str | None) -> str:
    """The outbox ends last_error with the failure's kind in brackets (bot/delivery.py)."""
    kind = (error or "").rpartition("[")[2].rstrip("]")
    return REASON_CN.get(kind, REASON_CN["retryable"])


def failure_in_chinese(error: str, dead: bool) -> str:
    """What an admin reads about a failed delivery (console 投递): the reason in Chinese and the platform's error
    code when it gave one; the raw English error stays in the server log."""
    kind = error.rpartition("[")[2].rstrip("]")
    if dead:
        reason = _reason(error)
    else:
        reason = WAITING_CN if kind == "wait" else "上次发送失败，稍后自动重试"
    code = PLATFORM_CODE.search(error)
    return f"{reason}（平台错误码 {code.group(1)}）" if code else reason
