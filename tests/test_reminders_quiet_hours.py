"""Issue 6, "no rep is pinged outside working hours": what a manager's 接手 / 改派 / 延期 at night tells a rep
waits in the outbox for the rep's next working moment; the manager's own answer comes at once."""

from __future__ import annotations

from app.chat import ChatSession
from bot.services import Services
from tests.conftest import Transcript
from tests.test_reminders_ladder import button, freeze_lead
from tests.test_reminders_support import click


def mentions(transcript: Transcript, user: str, text: str) -> int:
    return sum(text in f"{m['title']}{m['text']}" for m in transcript.to(user))


async def test_take_over_at_night_reaches_the_rep_at_nine(chat: ChatSession, services: Services,
                                                          transcript: Transcript) -> None:
    await freeze_lead(chat, services)  # Monday 16:00, card to manager01
    take = button(transcript.last("manager01"), "接手")
    await chat.handle_line("/now 2026-11-23T22:00+08:00")
    await click(chat, "manager01", take)
    assert "已由你接手" in transcript.last("manager01")["text"]  # the clicker is awake: at once
    assert mentions(transcript, "rep01", "王经理 接手") == 0
    await chat.handle_line("/now 2026-11-24T08:59+08:00")
    assert mentions(transcript, "rep01", "王经理 接手") == 0
    await chat.handle_line("/now 2026-11-24T09:00+08:00")
    assert mentions(transcript, "rep01", "王经理 接手") == 1
    await chat.handle_line("/advance 3h")
    assert mentions(transcript, "rep01", "王经理 接手") == 1


async def test_reassign_at_night_holds_both_reps_messages(chat: ChatSession, services: Services,
                                                          transcript: Transcript) -> None:
    await freeze_lead(chat, services)
    await chat.handle_line("/now 2026-11-23T22:00+08:00")
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 改派")
    await chat.handle_line("/click 李娜")
    assert "已改派给 李娜。" in transcript.last("manager01")["text"]  # then the undo line
    assert mentions(transcript, "rep02", "改派") == 0 and mentions(transcript, "rep01", "改派给 李娜") == 0
    await chat.handle_line("/now 2026-11-24T09:00+08:00")
    assert mentions(transcript, "rep02", "改派给你的线索") == 1
    assert mentions(transcript, "rep01", "改派给 李娜") == 1


async def test_extend_on_friday_night_waits_for_monday(chat: ChatSession, services: Services,
                                                       transcript: Transcript) -> None:
    await chat.handle_line("/now 2026-11-27T10:00+08:00")  # Friday; frozen at 16:00
    lead_id = await freeze_lead(chat, services)
    await chat.handle_line("/now 2026-11-27T22:00+08:00")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"延期 {lead_id} 8 客户出差")
    assert "已延期 8 个工作小时" in transcript.last("manager01")["text"]
    await chat.handle_line("/now 2026-11-29T12:00+08:00")  # Sunday: still quiet
    assert mentions(transcript, "rep01", "客户出差") == 0
    await chat.handle_line("/now 2026-11-30T09:00+08:00")
    assert mentions(transcript, "rep01", "客户出差") == 1


async def test_a_held_message_does_not_hold_back_later_ones(chat: ChatSession, services: Services,
                                                            transcript: Transcript) -> None:
    """The held FYI is meant for the morning; a message due now to the same rep goes ahead of it."""
    await freeze_lead(chat, services)
    await chat.handle_line("/now 2026-11-23T22:00+08:00")
    await click(chat, "manager01", button(transcript.last("manager01"), "接手"))
    await click(chat, "rep01", "esc:take:x")  # the rep, up late, clicks something: answered at once
    assert "失效" in transcript.last("rep01")["text"]
    assert mentions(transcript, "rep01", "王经理 接手") == 0
    await chat.handle_line("/now 2026-11-24T09:00+08:00")
    assert mentions(transcript, "rep01", "王经理 接手") == 1
