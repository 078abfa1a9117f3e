"""Business calendar: working hours, weekends, 国庆 2026 with its 调休 days, overrides, uncovered years."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import pytest

from bot.clock import CN_TZ
from bot.config import RemindersSettings
from bot.services import Services
from reminders import calendar as calmod
from reminders.calendar import BusinessCalendar, WorkHours, load_calendar, set_override


def cn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN_TZ)


@pytest.fixture
def cal() -> BusinessCalendar:
    return BusinessCalendar.from_settings(RemindersSettings())


def h(n: float) -> timedelta:
    return timedelta(hours=n)


def test_within_one_day(cal: BusinessCalendar) -> None:
    assert cal.add_working_time(cn(2026, 11, 23, 10), h(2)) == cn(2026, 11, 23, 12)
    assert cal.add_working_time(cn(2026, 11, 23, 16), h(2)) == cn(2026, 11, 23, 18)  # ends exactly at close
    assert cal.add_working_time(cn(2026, 11, 23, 7), h(1)) == cn(2026, 11, 23, 10)  # before opening


def test_across_a_weekend(cal: BusinessCalendar) -> None:
    friday_5pm = cn(2026, 11, 20, 17)
    assert cal.add_working_time(friday_5pm, h(2)) == cn(2026, 11, 23, 10)
    assert cal.next_working_moment(cn(2026, 11, 21, 11)) == cn(2026, 11, 23, 9)
    assert cal.working_time_between(friday_5pm, cn(2026, 11, 23, 10)) == h(2)
    assert not cal.in_working_hours(cn(2026, 11, 22, 10))
    assert cal.in_working_hours(cn(2026, 11, 23, 9))
    assert not cal.in_working_hours(cn(2026, 11, 23, 18))


def test_national_day_2026_and_its_adjusted_working_days(cal: BusinessCalendar) -> None:
    # chinese_calendar 2026: 10-01..10-07 off; Sunday 09-20 and Saturday 10-10 are 调休 working days.
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_workday(date(2026, 9, 20)) and cal.is_workday(date(2026, 10, 10))
    assert not cal.is_workday(date(2026, 10, 11))
    assert cal.add_working_time(cn(2026, 9, 30, 17), h(2)) == cn(2026, 10, 8, 10)
    assert cal.add_working_time(cn(2026, 10, 9, 17), h(2)) == cn(2026, 10, 10, 10)  # the 调休 Saturday counts
    assert cal.add_working_time(cn(2026, 10, 10, 17), h(2)) == cn(2026, 10, 12, 10)  # Sunday 10-11 does not
    assert cal.next_working_moment(cn(2026, 9, 19, 12)) == cn(2026, 9, 20, 9)
    assert cal.next_working_moment(cn(2026, 10, 1, 9)) == cn(2026, 10, 8, 9)
    assert cal.working_time_between(cn(2026, 9, 30, 9), cn(2026, 10, 8, 18)) == h(18)
    # 3 working days from Tuesday 09-29 10:00 → 27 h of working time → Friday 10-09 10:00
    assert cal.add_working_time(cn(2026, 9, 29, 10), cal.working_days(3)) == cn(2026, 10, 9, 10)


def test_arithmetic_round_trips(cal: BusinessCalendar) -> None:
    start = cn(2026, 9, 28, 15, 30)
    for hours in (0.5, 2, 9, 13.25, 40, 100):
        end = cal.add_working_time(start, h(hours))
        assert cal.working_time_between(start, end) == h(hours)
        assert cal.working_time_between(end, start) == -h(hours)
    assert cal.add_working_time(start, timedelta(0)) == start


def test_per_user_hours(cal: BusinessCalendar) -> None:
    late = cal.hours("10:00", "19:00")
    assert late == WorkHours.parse("10:00", "19:00")
    assert cal.add_working_time(cn(2026, 11, 23, 18), h(2), late) == cn(2026, 11, 24, 11)
    assert cal.next_working_moment(cn(2026, 11, 24, 9, 30), late) == cn(2026, 11, 24, 10)
    assert cal.hours("18:00", "09:00") == cal.default_hours  # broken override → default, no crash
    assert cal.hours(None, None) == cal.default_hours


def test_overrides_win(cal: BusinessCalendar) -> None:
    company = BusinessCalendar(cal.tz, cal.default_hours, {date(2026, 11, 23): False, date(2026, 11, 21): True})
    assert company.add_working_time(cn(2026, 11, 20, 17), h(2)) == cn(2026, 11, 21, 10)
    assert company.add_working_time(cn(2026, 11, 21, 17), h(2)) == cn(2026, 11, 24, 10)


def test_uncovered_year_warns_once_and_falls_back(cal: BusinessCalendar, caplog: pytest.LogCaptureFixture) -> None:
    calmod._warned_years.discard(2031)
    with caplog.at_level(logging.WARNING, logger="reminders.calendar"):
        assert cal.is_workday(date(2031, 1, 1))  # New Year's Day, but no data: Mon–Fri fallback
        assert not cal.is_workday(date(2031, 1, 4))
        assert cal.add_working_time(cn(2031, 1, 3, 17), h(2)) == cn(2031, 1, 6, 10)
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1 and "chinese_calendar" in warnings[0].getMessage()


def test_next_week_start(cal: BusinessCalendar) -> None:
    assert cal.next_week_start(cn(2026, 11, 25, 15)) == cn(2026, 11, 30, 9)
    assert cal.next_week_start(cn(2026, 9, 29, 15)) == cn(2026, 10, 8, 9)  # next week's Monday is in 国庆


async def test_overrides_from_the_database(services: Services) -> None:
    cfg = services.settings.reminders
    async with services.db.session() as session:
        await set_override(session, date(2026, 11, 23), False, "团建")
    async with services.db.session() as session:
        cal = await load_calendar(session, cfg)
    assert not cal.is_workday(date(2026, 11, 23))
    assert cal.next_working_moment(cn(2026, 11, 23, 10)) == cn(2026, 11, 24, 9)


def test_working_moment_before(cal: BusinessCalendar) -> None:
    m = timedelta(minutes=15)
    assert cal.working_moment_before(cn(2026, 11, 23, 14, 45), margin=m) == cn(2026, 11, 23, 14, 45)
    assert cal.working_moment_before(cn(2026, 11, 23, 19, 45), margin=m) == cn(2026, 11, 23, 17, 45)
    assert cal.working_moment_before(cn(2026, 11, 24, 8, 15), margin=m) == cn(2026, 11, 23, 17, 45)
    assert cal.working_moment_before(cn(2026, 11, 22, 11)) == cn(2026, 11, 20, 18)  # Sunday → Friday's close
    assert cal.working_moment_before(cn(2026, 10, 8, 8), margin=m) == cn(2026, 9, 30, 17, 45)  # 国庆
