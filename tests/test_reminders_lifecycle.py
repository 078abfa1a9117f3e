"""Lifecycle complaints: a rep who follows up daily is not frozen; a lead frozen past its dormancy date still
gets a dormancy timer once a manager acts; a logged contact and the agreed follow-up agree."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.chat import ChatSession
from bot.clock import CN_TZ, ManualClock
from bot.services import Services
from reminders.lifecycle import schedule_follow_up
from storage.models import Lead
from tests.conftest import Transcript
from tests.test_reminders_support import get_lead, make_lead, timers


def cn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN_TZ)


async def at(chat: ChatSession, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    await chat.settle()


def texts(transcript: Transcript, user: str) -> list[str]:
    return [f"{m['title']} {m['text']}" for m in transcript.to(user) if m["kind"] != "info"]


async def test_daily_follow_up_keeps_the_lead_out_of_the_stall_ladder(
        chat: ChatSession, services: Services, transcript: Transcript, clock: ManualClock) -> None:
    lead_id = await make_lead(services, first_contact_at=clock.now())
    day = clock.now()
    for _ in range(12):  # twelve working days in a row, one 跟进 each morning
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        await at(chat, clock, day)
        await chat.handle_line(f"跟进 {lead_id} 客户在内部比较方案")
    lead = await get_lead(services, lead_id)
    assert lead.status == "active" and lead.owner_id == "rep01"
    assert not any("阶段推进" in t or "冻结" in t for t in texts(transcript, "rep01"))
    stall = [t for t in await timers(services, lead_id) if t.rule == "stage_stall"]
    assert len(stall) == 1 and stall[0].level == 0  # a fresh chain from the last contact
    assert transcript.to("manager01") == []


async def test_contact_restarts_a_stall_chain_that_already_escalated(
        chat: ChatSession, services: Services, transcript: Transcript, clock: ManualClock) -> None:
    lead_id = await make_lead(services, first_contact_at=clock.now())
    await at(chat, clock, cn(2026, 11, 26, 10, 5))  # Thursday: 27 working hours passed → L2 (rep + CC)
    assert any("阶段推进已超时" in t for t in texts(transcript, "rep01"))
    await chat.handle_line(f"跟进 {lead_id} 进展：客户周五看演示")
    await at(chat, clock, cn(2026, 12, 1, 10, 10))  # the old chain froze Tuesday 10:00; the new one is due 10:05
    lead = await get_lead(services, lead_id)
    assert lead.status == "active"
    assert "阶段推进已超时（第1次）" in texts(transcript, "rep01")[-1]  # back to the start of the ladder
    stall = [t for t in await timers(services, lead_id) if t.rule == "stage_stall"]
    assert len(stall) == 1 and stall[0].level == 3


async def test_a_frozen_lead_gets_its_dormancy_timer_back_when_a_manager_acts(
        chat: ChatSession, services: Services, transcript: Transcript, clock: ManualClock) -> None:
    lead_id = await make_lead(services)
    for _ in range(3):
        await chat.handle_line("/advance 2h")  # first contact missed three times → frozen Monday 16:00
    assert (await get_lead(services, lead_id)).status == "frozen"
    await at(chat, clock, cn(2027, 1, 11, 10))  # 49 days later, still frozen: the dormancy date passed
    assert [t.rule for t in await timers(services, lead_id)] == []
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 接手")
    lead = await get_lead(services, lead_id)
    assert lead.status == "active" and lead.owner_id == "manager01"
    dormancy = [t for t in await timers(services, lead_id) if t.rule == "dormancy"]
    assert len(dormancy) == 1 and dormancy[0].due_at == clock.now() + timedelta(days=45)


async def test_a_logged_contact_and_the_agreed_follow_up_agree(
        chat: ChatSession, services: Services, transcript: Transcript, clock: ManualClock) -> None:
    today = await make_lead(services, first_contact_at=clock.now(), next_follow_up_at=cn(2026, 11, 23, 15))
    later = await make_lead(services, first_contact_at=clock.now(), next_follow_up_at=cn(2026, 11, 26, 15),
                            customer_name="李总")
    await chat.handle_line(f"跟进 {today} 已电话沟通，客户确认方案没问题")  # the call happened early (no new time)
    await chat.handle_line(f"跟进 {later} 发了资料")  # the agreed call on Thursday still stands
    assert (await get_lead(services, today)).next_follow_up_at is None
    assert [t.rule for t in await timers(services, today)].count("follow_up") == 0
    await at(chat, clock, cn(2026, 11, 23, 14, 50))
    assert not any("回访" in t for t in texts(transcript, "rep01"))
    await at(chat, clock, cn(2026, 11, 26, 14, 50))
    assert any("回访" in t and "李总" in t for t in texts(transcript, "rep01"))


async def test_an_agreed_call_that_fell_due_while_frozen_is_reminded_once_the_lead_is_back(
        chat: ChatSession, services: Services, transcript: Transcript, clock: ManualClock) -> None:
    call = cn(2026, 11, 24, 16)  # agreed with the customer: Tuesday 16:00
    lead_id = await make_lead(services, next_follow_up_at=call)
    async with services.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        await schedule_follow_up(session, lead, call, clock.now(), services.settings.reminders)
    for _ in range(3):
        await chat.handle_line("/advance 2h")  # first contact missed three times → frozen Monday 16:00
    assert (await get_lead(services, lead_id)).status == "frozen"
    await at(chat, clock, cn(2026, 11, 24, 15, 50))  # the 15:45 reminder fell due while the lead was frozen
    assert not any("回访" in t for t in texts(transcript, "rep01"))
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 延期")  # back to rep01, ten minutes before the call
    await chat.settle()
    assert any("回访" in t and "16:00" in t for t in texts(transcript, "rep01"))
