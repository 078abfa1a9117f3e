"""English mixed into what reps, managers and admins type (issue 15): a time and an English verb without 提醒,
a reassignment with the lead after the name, extend with an English verb and a +N span, the knowledge import
asked in English, 「today」 alone, and 「asap」 as a reminder's time — each acted on, none a knowledge question."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import func, select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from storage.models import Activity, QueryLog, Reminder
from tests.conftest import Transcript
from tests.leads_helpers import cn, get_lead, seed_lead


async def _count(services: Services, model: type, **where: object) -> int:
    async with services.db.session() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return int((await s.execute(stmt)).scalar_one())


async def test_a_time_and_an_english_verb_reminds_and_asap_is_the_next_working_moment(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """Monday 10:00: 「明天 email 柏青」 was a knowledge question — it is tomorrow's reminder on 柏青's lead;
    「asap call 柏青」 inside working hours is now; 「提醒我 asap …」 at 19:00 is the next working morning."""
    lead_id = await seed_lead(services, "rep01", customer_name="柏青", assigned_at=cn(23, 9))
    await chat.handle_line("明天 email 柏青")
    assert transcript.last("rep01")["text"] == f"⏰ 好的，明天 09:00 提醒你给柏青发邮件（线索 #{lead_id} 柏青）。"
    await chat.handle_line("asap call 柏青")
    assert transcript.texts("rep01")[1].startswith(f"\n⏰ 好的，今天 10:00 提醒你给柏青打电话（线索 #{lead_id} 柏青）")
    await chat.settle()
    assert "给柏青打电话" in transcript.last("rep01")["text"]  # due now: on its way at once
    clock.set(cn(23, 19, 0))
    await chat.handle_line("提醒我 asap 回复柏青")
    assert transcript.last("rep01")["text"] == f"⏰ 好的，明天 09:00 提醒你回复柏青（线索 #{lead_id} 柏青）。"
    async with services.db.session() as s:
        dues = (await s.scalars(select(Reminder.due_at).where(Reminder.status == "pending"))).all()
    assert cn(24, 9, 0) in [d.replace(tzinfo=d.tzinfo or UTC) for d in dues], dues
    assert await _count(services, QueryLog) == 0


async def test_managers_and_admins_in_english_mixed_in(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「转给李娜 线索N」 (the lead after the name), 「extend N +2d」, 「import cards」, 「today」: acted on."""
    lead_id = await seed_lead(services, "rep01", customer_name="柏青", assigned_at=cn(23, 9))
    await chat.handle_line("today")
    assert transcript.last("rep01")["text"].startswith("今天没有到期的跟进")  # the day's list, empty today
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"转给李娜 线索{lead_id}")
    assert (await get_lead(services, lead_id)).owner_id == "rep02"
    await chat.handle_line(f"extend {lead_id} +2d")
    assert "已延期 2 个工作日" in transcript.last("manager01")["text"]
    assert await _count(services, Activity, kind="extend") == 1
    await chat.handle_line("/as admin01")
    await chat.handle_line("import cards")
    assert transcript.last("admin01")["text"].startswith("把话术文件直接发给我就能导入")
    assert await _count(services, QueryLog) == 0
