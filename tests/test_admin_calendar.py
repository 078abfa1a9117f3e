"""Admins adjust the business calendar in chat; timers follow it; reps cannot."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import CN_TZ, ManualClock
from bot.services import Services
from reminders.calendar import load_calendar
from storage.models import AuditLog
from tests.conftest import Transcript
from tests.test_reminders_support import make_lead, timers


def cn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN_TZ)


async def test_admin_sets_day_off_and_extra_workday(chat: ChatSession, transcript: Transcript,
                                                    services: Services) -> None:
    await chat.handle_line("放假 2026-11-25")
    assert "管理员" in transcript.last("rep01")["text"]
    await chat.handle_line("/as admin01")
    await chat.handle_line("放假 2026-11-25 公司年会")
    await chat.handle_line("补班 2026/11/28")
    await chat.handle_line("放假 明天")
    assert "日期格式" in transcript.last("admin01")["text"]
    await chat.handle_line("日历")
    listing = transcript.last("admin01")["text"]
    assert "2026-11-25 放假 公司年会" in listing and "2026-11-28 补班" in listing
    async with services.db.session() as s:
        cal = await load_calendar(s, services.settings.reminders)
        audits = list((await s.execute(select(AuditLog.target).where(AuditLog.action == "calendar.override")))
                      .scalars())
    assert not cal.is_workday(date(2026, 11, 25))  # a Wednesday, now off
    assert cal.is_workday(date(2026, 11, 28))  # a Saturday, now worked
    assert sorted(audits) == ["2026-11-25", "2026-11-28"]


async def test_day_off_and_extra_workday_move_the_running_timers(chat: ChatSession, transcript: Transcript,
                                                                 services: Services, clock: ManualClock) -> None:
    stalled = await make_lead(services, first_contact_at=clock.now())  # Monday 10:00: stall deadline Thu 10:00
    await chat.handle_line("/as admin01")
    await chat.handle_line("放假 2026-11-25 公司年会")
    assert "重新计算" in transcript.last("admin01")["text"]
    stall = [t for t in await timers(services, stalled) if t.rule == "stage_stall"]
    assert stall[0].level == 0 and stall[0].due_at == cn(2026, 11, 26, 12, 15)  # the warning, a day later
    assert stall[0].payload["deadline"] == cn(2026, 11, 27, 10).astimezone(UTC).isoformat()

    clock.set(cn(2026, 11, 27, 17))  # Friday 17:00: 2 working hours end Monday 10:00
    contact = await make_lead(services, customer_name="李总")
    await chat.handle_line("补班 2026-11-28")
    first = [t for t in await timers(services, contact) if t.rule == "first_contact"]
    assert first[0].payload["deadline"] == cn(2026, 11, 28, 10).astimezone(UTC).isoformat()  # Saturday now
    await chat.handle_line("/now 2026-11-28T10:05+08:00")
    assert any("首次联系已超时" in m["title"] + m["text"] for m in transcript.to("rep01"))
