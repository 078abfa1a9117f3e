"""When reminders fire: weekends, 国庆 with 调休, overnight merge, and the lifecycle hooks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.chat import ChatSession
from bot.clock import CN_TZ, ManualClock
from bot.config import Settings
from bot.services import Services
from reminders.lifecycle import on_contact_logged, on_stage_changed, schedule_follow_up
from reminders.ticker import tick
from storage.models import Lead, OutboxMessage, Reminder
from tests.conftest import Transcript
from tests.test_reminders_support import activity_kinds, count, get_lead, make_lead, timers


def cn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN_TZ)


def said(transcript: Transcript, user: str) -> list[dict[str, Any]]:
    return [m for m in transcript.to(user) if m["kind"] != "info"]


async def at(chat: ChatSession, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    await chat.settle()


async def test_weekend_is_skipped(chat: ChatSession, services: Services, transcript: Transcript,
                                  clock: ManualClock) -> None:
    clock.set(cn(2026, 11, 20, 17))  # Friday 17:00 → 2 working hours end Monday 10:00
    await make_lead(services)
    await at(chat, clock, cn(2026, 11, 21, 12))
    await at(chat, clock, cn(2026, 11, 22, 20))
    assert said(transcript, "rep01") == []
    await at(chat, clock, cn(2026, 11, 23, 9, 31))
    warning = said(transcript, "rep01")[-1]
    assert "即将到期" in warning["title"] and "11-23 10:00" in warning["text"]
    await at(chat, clock, cn(2026, 11, 23, 10, 1))
    assert "已超时（第1次）" in said(transcript, "rep01")[-1]["title"]


async def test_national_day_and_adjusted_working_day(chat: ChatSession, services: Services, transcript: Transcript,
                                                     clock: ManualClock) -> None:
    clock.set(cn(2026, 9, 30, 17))  # the day before 国庆: deadline Thursday 10-08 10:00
    before_holiday = await make_lead(services)
    for day in range(1, 8):
        await at(chat, clock, cn(2026, 10, day, 11))
    assert said(transcript, "rep01") == []
    await at(chat, clock, cn(2026, 10, 8, 10, 5))
    texts = [m["title"] for m in said(transcript, "rep01")]
    assert texts == ["⚠️ 首次联系已超时（第1次）"]  # the stale warning was skipped, the breach arrives once

    clock.set(cn(2026, 10, 9, 17))  # Friday → the 调休 Saturday 10-10 is a working day
    on_saturday = await make_lead(services, customer_name="李总")
    await at(chat, clock, cn(2026, 10, 10, 10, 1))
    last = said(transcript, "rep01")[-1]
    assert f"首次联系已超时（第1次）：#{on_saturday} 李总" in last["text"]  # merged with #1's second miss
    assert f"#{before_holiday}" in last["text"]
    assert before_holiday != on_saturday


async def test_overnight_pile_up_arrives_merged_at_nine(chat: ChatSession, services: Services,
                                                        transcript: Transcript, clock: ManualClock) -> None:
    clock.set(cn(2026, 11, 23, 16))
    ids = [await make_lead(services, customer_name=f"客户{i}") for i in range(3)]  # deadlines 18:00
    async with services.db.session() as session:
        lead = await session.get(Lead, ids[0])
        assert lead is not None
        await schedule_follow_up(session, lead, cn(2026, 11, 23, 20), clock.now(), services.settings.reminders)
    await at(chat, clock, cn(2026, 11, 23, 17, 0))  # none due yet
    await at(chat, clock, cn(2026, 11, 23, 17, 40))  # the three first-contact warnings (due 17:30)
    await at(chat, clock, cn(2026, 11, 23, 17, 45))
    assert len(said(transcript, "rep01")) == 1 and "3 条" in said(transcript, "rep01")[0]["title"]
    clock.set(cn(2026, 11, 23, 18, 0))
    await chat.settle()
    await at(chat, clock, cn(2026, 11, 23, 19, 45))  # a call agreed for 20:00 is reminded at 19:45, after hours
    evening = said(transcript, "rep01")
    assert len(evening) == 2 and "回访" in evening[1]["title"] and "11-23 20:00" in evening[1]["text"]
    await at(chat, clock, cn(2026, 11, 23, 22, 0))
    await at(chat, clock, cn(2026, 11, 24, 8, 59))
    assert said(transcript, "rep01") == evening
    assert await count(services, Reminder, Reminder.rule == "notice", Reminder.status == "pending") == 3

    await at(chat, clock, cn(2026, 11, 24, 9, 0))
    morning = said(transcript, "rep01")[2:]
    assert len(morning) == 1 and morning[0]["kind"] == "markdown"
    assert "3 条" in morning[0]["title"]
    for i in range(3):
        assert f"客户{i}" in morning[0]["text"]
    assert transcript.to("manager01") == []
    await at(chat, clock, cn(2026, 11, 24, 9, 30))
    assert len(said(transcript, "rep01")) == 3  # merged once, never again


async def test_early_morning_follow_up_is_reminded_15_minutes_before_whatever_the_hour(
        chat: ChatSession, services: Services, transcript: Transcript, clock: ManualClock) -> None:
    """design.md: an agreed follow-up time is reminded 15 minutes before it; only SLA timers count working hours
    (issue 15: a call agreed for the evening was reminded the next morning, or the Friday before)."""
    clock.set(cn(2026, 11, 27, 11))  # Friday; the customer wants a call Monday 08:30
    lead_id = await make_lead(services, first_contact_at=clock.now(), next_follow_up_at=cn(2026, 11, 30, 8, 30))
    follow = [t for t in await timers(services, lead_id) if t.rule == "follow_up"]
    assert follow[0].due_at == cn(2026, 11, 30, 8, 15)
    await at(chat, clock, cn(2026, 11, 27, 17, 46))
    assert not any("11-30 08:30" in m["text"] for m in said(transcript, "rep01"))
    await at(chat, clock, cn(2026, 11, 30, 8, 15))  # before the working day starts at 09:00
    assert "11-30 08:30" in said(transcript, "rep01")[-1]["text"]
    clock.set(cn(2026, 11, 30, 10))
    lead_id = await make_lead(services, first_contact_at=clock.now(), next_follow_up_at=cn(2026, 11, 30, 15))
    follow = [t for t in await timers(services, lead_id) if t.rule == "follow_up"]
    assert follow[0].due_at == cn(2026, 11, 30, 14, 45)  # inside working hours: 15 minutes before


async def test_contact_logged_completes_first_contact(chat: ChatSession, services: Services,
                                                      transcript: Transcript) -> None:
    lead_id = await make_lead(services)
    async with services.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        await on_contact_logged(session, lead, services.clock.now(), services.settings.reminders)
    await chat.handle_line("/advance 6h")
    assert not any("首次联系" in m["title"] for m in said(transcript, "rep01"))
    rules = {t.rule for t in await timers(services, lead_id)}
    assert rules == {"stage_stall", "dormancy"}
    assert (await get_lead(services, lead_id)).first_contact_at is not None


async def test_stage_change_restarts_the_stall_timer(chat: ChatSession, services: Services, transcript: Transcript,
                                                     clock: ManualClock) -> None:
    lead_id = await make_lead(services, first_contact_at=clock.now())
    await at(chat, clock, cn(2026, 11, 25, 11))  # Wednesday: 18 of 27 working hours passed
    async with services.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        lead.stage = "qualify"
        await on_stage_changed(session, lead, clock.now(), services.settings.reminders)
    await at(chat, clock, cn(2026, 11, 26, 10, 30))  # old deadline Thursday 10:00 passed: nothing
    assert not any("阶段" in m["title"] for m in said(transcript, "rep01"))
    await at(chat, clock, cn(2026, 11, 30, 11, 1))  # new deadline: Wed 11:00 + 27 h = Mon 11:00
    stalled = said(transcript, "rep01")[-1]
    assert "阶段推进已超时" in stalled["title"]
    assert "抄送" in transcript.last("manager01")["title"]  # a stalled stage goes to the manager at once


def _stall_after_200_days(settings: Settings) -> Settings:
    return replace(settings, reminders=replace(settings.reminders, stage_stall_days=200))


@pytest.mark.parametrize("settings", [_stall_after_200_days], indirect=True, ids=["stall_200d"])
async def test_high_value_cadence_and_dormancy(chat: ChatSession, services: Services, transcript: Transcript,
                                               clock: ManualClock) -> None:
    lead_id = await make_lead(services, budget_cny=800_000, first_contact_at=clock.now(), stage="close")
    async with services.db.session() as session:  # keep the stall timer out of this test
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        lead.stage = "won"
        await on_stage_changed(session, lead, clock.now(), services.settings.reminders)
    assert await timers(services, lead_id) == []  # won: every timer cancelled
    lead_id = await make_lead(services, budget_cny=800_000, first_contact_at=clock.now(), customer_name="大客户")
    for day in (1, 3, 7, 14):
        await at(chat, clock, cn(2026, 11, 23, 10) + timedelta(days=day, minutes=1))
    cadence = [m for m in said(transcript, "rep01") if "高价值" in m["title"]]
    # day 14 falls on Monday 12-07; day 7 is Monday 11-30; day 1 and 3 are weekdays too
    assert [c["text"].split("第 ")[1].split(" 天")[0] for c in cadence] == ["1", "3", "7", "14"]
    await at(chat, clock, cn(2027, 1, 8, 10, 5))  # 45 days later (a year chinese_calendar does not cover)
    assert "沉睡" in said(transcript, "rep01")[-1]["title"]
    assert (await get_lead(services, lead_id)).status == "dormant"
    assert "dormant" in await activity_kinds(services, lead_id)


async def test_agreed_follow_up_fifteen_minutes_before(chat: ChatSession, services: Services,
                                                       transcript: Transcript, clock: ManualClock) -> None:
    lead_id = await make_lead(services, first_contact_at=clock.now(), next_follow_up_at=cn(2026, 11, 24, 15))
    await at(chat, clock, cn(2026, 11, 24, 14, 44))
    assert not any("回访" in m["title"] for m in said(transcript, "rep01"))
    await at(chat, clock, cn(2026, 11, 24, 14, 45))
    last = said(transcript, "rep01")[-1]
    assert "回访" in last["title"] and "11-24 15:00" in last["text"] and f"#{lead_id}" in last["text"]


async def test_tick_with_nothing_due_is_quiet(services: Services) -> None:
    assert await tick(services) == 0
    await make_lead(services)
    assert await tick(services) == 0
    assert await count(services, OutboxMessage) == 0
