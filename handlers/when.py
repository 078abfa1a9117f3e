"""Times as the person means them: their own working hours and the team's calendar (下班前, 下周, 节后), and
how the bot says a time back (「明天 15:00」)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import to_cn
from bot.context import Context
from ocr.timeparse import ASAP, SOON, SOON_MINUTES, Workdays, asap_time, find_times
from reminders.calendar import load_calendar
from reminders.directory import working_hours


async def workdays(ctx: Context) -> Workdays:
    """The caller's own working hours and the team's calendar, for 下班前 / 下周 / 节后."""
    session = await ctx.db()
    cal = await load_calendar(session, ctx.settings.reminders)
    hours = await working_hours(session, cal, ctx.user.id)
    return Workdays(start=hours.start, end=hours.end, is_workday=cal.is_workday)


def first_future(text: str, now: datetime, days: Workdays) -> datetime | None:
    """The first time said in `text` that is still ahead (「等会儿」: half an hour from now; 「尽快」 / asap: now in
    working hours, else the next working time)."""
    found = next((f.when for f in find_times(text, now, days) if f.when > now), None)
    if found is None and SOON.search(text):
        return (now + timedelta(minutes=SOON_MINUTES)).replace(second=0, microsecond=0)
    if found is None and ASAP.search(text):
        return asap_time(now, days)
    return found


def replaced(previous: datetime | None, when: datetime, now: datetime) -> str:
    """A lead has one agreed next follow-up: say so when a new time replaces a reminder still ahead."""
    if previous is None or previous <= now or abs((previous - when).total_seconds()) < 60:
        return ""
    return f"（原定 {say_when(previous, now)} 的回访提醒已改到这个时间）"


def say_when(when: datetime, now: datetime) -> str:
    """「今天 15:00」 / 「明天 09:00」 / 「11-26 15:00」."""
    local, today = to_cn(when), to_cn(now).date()
    clock = local.strftime("%H:%M")
    day = {0: "今天", 1: "明天", 2: "后天"}.get((local.date() - today).days)
    return f"{day} {clock}" if day else f"{local.month}月{local.day}日 {clock}"
