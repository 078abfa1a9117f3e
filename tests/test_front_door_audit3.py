"""What a third new-user audit of the front door found (issue 15), each written as the user's complaint first.
Invented people and companies only."""

from __future__ import annotations

from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from knowledge.store import gaps
from storage.models import Reminder
from tests.conftest import Transcript
from tests.leads_helpers import cn, seed_lead


async def test_a_lead_asked_for_by_a_name_nobody_has_is_answered_and_never_a_knowledge_gap(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「邵阳的线索」 with no such lead got 「没找到合适的话术」 and landed in the admins' 知识缺口 queue."""
    await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line("邵阳的线索")
    reply = transcript.last("rep01")["text"]
    assert "没找到邵阳的线索" in reply and "话术" not in reply, reply
    async with services.db.session() as s:
        assert not [g for g in await gaps(s) if "邵阳" in str(g)]


async def test_a_manager_extends_a_lead_whose_open_step_is_an_agreed_callback(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """「延期 1 2天 客户出差」 with an overdue 约定回访 answered 「现在没有进行中的期限，不需要延期」, although
    谁超时了 listed it and itself suggested 「延期 编号 2天 原因」."""
    lead = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead} 打了电话，约了明天上午10点再打")
    assert "提醒你" in transcript.last("rep01")["text"]
    clock.set(cn(25, 14))
    await chat.settle()
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"延期 {lead} 2天 客户出差")
    reply = transcript.last("manager01")["text"]
    assert "已延期" in reply and "不需要延期" not in reply, reply
    async with services.db.session() as s:
        due = [r.due_at for r in (await s.execute(select(Reminder).where(
            Reminder.lead_id == lead, Reminder.status == "pending", Reminder.rule == "follow_up"))).scalars()]
    assert due and min(due) > cn(25, 14), due  # the callback reminder moved on, not left behind
