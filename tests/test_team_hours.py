"""Working hours: the user's own, else the team's (their manager's), else the [reminders] default."""

from __future__ import annotations

from datetime import datetime, time

from bot.clock import CN_TZ
from bot.config import OrgUser
from bot.org import upsert_users
from bot.services import Services
from reminders.calendar import load_calendar
from reminders.directory import load_directory, working_hours


async def test_team_hours_apply_to_reps_without_their_own(services: Services) -> None:
    now = datetime(2026, 11, 23, 8, 0, tzinfo=CN_TZ)
    async with services.db.session() as s:
        await upsert_users(s, [
            OrgUser("boss", "早班经理", "manager", work_start="07:00", work_end="16:00"),
            OrgUser("r1", "跟团队", "rep", "boss"),
            OrgUser("r2", "自己的", "rep", "boss", work_start="10:00", work_end="19:00"),
        ], now)
        cal = await load_calendar(s, services.settings.reminders)
        team, own, default = [await working_hours(s, cal, uid) for uid in ("r1", "r2", "rep01")]
        directory = await load_directory(s)
    assert (team.start, team.end) == (time(7), time(16))
    assert (own.start, own.end) == (time(10), time(19))
    assert (default.start, default.end) == (time(9), time(18))
    assert directory.hours(cal, "r1") == team
    assert cal.in_working_hours(now, team) and not cal.in_working_hours(now, default)
