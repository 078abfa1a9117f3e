"""Helpers shared by the reminder tests (no tests here): create leads the way lead handlers will, click as anyone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.chat import ChatSession
from bot.dispatch import dispatch
from bot.messages import Inbound
from bot.services import Services
from reminders.lifecycle import on_lead_activated
from storage.models import Activity, Lead, Reminder


async def make_lead(services: Services, owner: str = "rep01", now: datetime | None = None, **fields: Any) -> int:
    """An active lead inserted directly, then `on_lead_activated` (what the leads handlers call)."""
    now = now or services.clock.now()
    values: dict[str, Any] = {"customer_name": "王总", "company": "协和医院", "stage": "new", "status": "active",
                              "source": "manual"}
    values.update(fields)
    async with services.db.session() as session:
        lead = Lead(owner_id=owner, created_at=now, assigned_at=now, **values)
        session.add(lead)
        await session.flush()
        await on_lead_activated(session, lead, now, services.settings.reminders)
        return lead.id


async def click(chat: ChatSession, user: str, key: str) -> None:
    """A button click by `user` (also someone the card was never sent to), then settle."""
    msg = Inbound(channel="console", user_id=user, msg_id=f"click-{uuid.uuid4().hex}", kind="click",
                  received_at=chat.services.clock.now(), click_key=key, card_ref=f"ref-{key}")
    await dispatch(chat.services, msg)
    await chat.settle()


async def get_lead(services: Services, lead_id: int) -> Lead:
    async with services.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        return lead


async def timers(services: Services, lead_id: int, status: str = "pending") -> list[Reminder]:
    async with services.db.session() as session:
        stmt = select(Reminder).where(Reminder.lead_id == lead_id, Reminder.status == status,
                                      Reminder.rule != "notice").order_by(Reminder.id)
        return list((await session.execute(stmt)).scalars())


async def activity_kinds(services: Services, lead_id: int) -> list[str]:
    async with services.db.session() as session:
        stmt = select(Activity.kind).where(Activity.lead_id == lead_id).order_by(Activity.id)
        return list((await session.execute(stmt)).scalars())


async def count(services: Services, model: type, *where: Any) -> int:
    async with services.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def test_a_long_digest_is_one_wecom_message() -> None:
    """40 reminders due at once: one markdown under WeCom's 2048 bytes, the rest counted, not split or cut."""
    from bot.channels.wecom.render import markdown_payloads
    from reminders.messages import digest

    lines = [f"⚠️ 首次联系已超时（第2次）：#{n} 客户{n} · 上海某某医疗器械有限公司" for n in range(1, 41)]
    body = digest(lines)
    (payload,) = markdown_payloads(body, "rem:digest:rep01:1")
    assert len(payload["markdown"]["content"].encode()) <= 2048
    shown = body.text.count("首次联系已超时")
    assert 10 <= shown < 40 and f"…还有 {40 - shown} 条" in body.text
