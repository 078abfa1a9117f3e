"""Admins adjust the business calendar in chat; timers follow it; reps cannot."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.chat import ChatSession
from bot.services import Services
from reminders.calendar import load_calendar
from storage.models import AuditLog
from tests.conftest import Transcript


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
