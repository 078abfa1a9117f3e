"""The business calendar: working hours, Chinese statutory holidays, 调休 working days, admin overrides.

All working-time arithmetic lives here: `add_working_time`, `next_working_moment`,
`working_time_between`. Inputs may be in any timezone; results are aware UTC datetimes.

Holidays and 调休 days come from the `chinesecalendar` package (`import chinese_calendar`). For a
year the package does not cover, a loud warning is logged once per year and Monday–Friday is used;
admins can patch such a year with rows in `calendar_overrides`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import parse_hhmm
from bot.config import RemindersSettings
from storage.models import CalendarOverride

log = logging.getLogger(__name__)

MAX_SCAN_DAYS = 3700  # ten years without a single working day means a broken override table
_warned_years: set[int] = set()


class CalendarError(ValueError):
    """The calendar cannot answer (e.g. overrides turned every day into a day off)."""


def day_hours(cfg: RemindersSettings) -> float:
    """Working hours in the default working day ([reminders] work_start/work_end): what "1 天" of 延期 is."""
    return WorkHours.parse(cfg.work_start, cfg.work_end).length.total_seconds() / 3600


@dataclass(frozen=True)
class WorkHours:
    start: time
    end: time

    @property
    def length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    @classmethod
    def parse(cls, start: str, end: str) -> WorkHours:
        hours = cls(parse_hhmm(start), parse_hhmm(end))
        if hours.end <= hours.start:
            raise ValueError(f"working hours end {end} must be after start {start}")
        return hours


def statutory_workday(day: date) -> bool:
    """Workday per the Chinese statutory calendar (holidays off, 调休 Saturdays/Sundays on)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "!!! chinese_calendar has no holiday data for %s: treating Monday–Friday as working days. "
                "Upgrade the chinesecalendar package or add rows to calendar_overrides for that year.",
                day.year,
            )
        return day.weekday() < 5


def statutory_covers(year: int) -> bool:
    """Whether the installed chinesecalendar package knows `year`'s holidays and 调休 days."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def uncovered_years(today: date, overrides: Mapping[date, bool]) -> list[int]:
    """This year and next, when neither the package nor an admin 放假 override covers them."""
    patched = {day.year for day, workday in overrides.items() if not workday}
    return [y for y in (today.year, today.year + 1) if not statutory_covers(y) and y not in patched]


UNCOVERED_HINT = (
    "⚠️ 节假日数据缺失：{years} 年的法定节假日和调休还没有数据，提醒时限暂按周一至周五计算。"
    "请让运维人员升级节假日数据后重启服务，"
    "或用「放假 日期」「补班 日期」补上该年的节假日和调休。"
)


class BusinessCalendar:
    """Working days and hours in one timezone, with per-user hours and admin day overrides."""

    def __init__(self, tz: ZoneInfo, default_hours: WorkHours, overrides: Mapping[date, bool] | None = None) -> None:
        self.tz = tz
        self.default_hours = default_hours
        self.overrides = dict(overrides or {})
        self._cache: dict[date, bool] = {}

    @classmethod
    def from_settings(cls, cfg: RemindersSettings, overrides: Mapping[date, bool] | None = None) -> BusinessCalendar:
        return cls(ZoneInfo(cfg.timezone), WorkHours.parse(cfg.work_start, cfg.work_end), overrides)

    # -- days and hours -------------------------------------------------------------------
    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = statutory_workday(day)
        return cached

    def hours(self, start: str | None = None, end: str | None = None) -> WorkHours:
        """Per-user hours (`users.work_start/work_end`); missing or broken values → the default."""
        if not start and not end:
            return self.default_hours
        try:
            return WorkHours.parse(start or self.default_hours.start.strftime("%H:%M"),
                                   end or self.default_hours.end.strftime("%H:%M"))
        except ValueError:
            log.warning("bad working hours %r–%r; using the default", start, end)
            return self.default_hours

    def _windows(self, t: datetime, hours: WorkHours) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (local start, local end) from the day of `t` on."""
        day = t.astimezone(self.tz).date()
        for _ in range(MAX_SCAN_DAYS):
            if self.is_workday(day):
                yield (datetime.combine(day, hours.start, self.tz), datetime.combine(day, hours.end, self.tz))
            day += timedelta(days=1)
        raise CalendarError(f"no working day within {MAX_SCAN_DAYS} days after {t.isoformat()}")

    # -- arithmetic -------------------------------------------------------------------------
    def in_working_hours(self, t: datetime, hours: WorkHours | None = None) -> bool:
        hours = hours or self.default_hours
        local = t.astimezone(self.tz)
        return self.is_workday(local.date()) and hours.start <= local.time() < hours.end

    def next_working_moment(self, t: datetime, hours: WorkHours | None = None) -> datetime:
        """`t` itself when inside working hours, else the start of the next working window."""
        hours = hours or self.default_hours
        for start, end in self._windows(t, hours):
            if t < end:
                return max(t, start).astimezone(UTC)
        raise AssertionError("unreachable")

    def working_moment_before(self, t: datetime, hours: WorkHours | None = None,
                              margin: timedelta = timedelta(0)) -> datetime:
        """`t` itself when inside working hours, else `margin` before the end of the last working window
        before `t` (never before that window's start): when to remind about something outside hours."""
        hours = hours or self.default_hours
        day = t.astimezone(self.tz).date()
        for _ in range(MAX_SCAN_DAYS):
            if self.is_workday(day):
                start, end = datetime.combine(day, hours.start, self.tz), datetime.combine(day, hours.end, self.tz)
                if start <= t < end:
                    return t.astimezone(UTC)
                if end <= t:
                    return max(start, end - margin).astimezone(UTC)
            day -= timedelta(days=1)
        raise CalendarError(f"no working day within {MAX_SCAN_DAYS} days before {t.isoformat()}")

    def add_working_time(self, start: datetime, delta: timedelta, hours: WorkHours | None = None) -> datetime:
        """The moment when `delta` of working time has passed after `start`."""
        if delta <= timedelta(0):
            return start.astimezone(UTC)
        hours = hours or self.default_hours
        remaining = delta
        for win_start, win_end in self._windows(start, hours):
            if start >= win_end:
                continue
            cursor = max(start, win_start)
            available = win_end - cursor
            if remaining <= available:
                return (cursor + remaining).astimezone(UTC)
            remaining -= available
        raise AssertionError("unreachable")

    def working_time_between(self, a: datetime, b: datetime, hours: WorkHours | None = None) -> timedelta:
        """Working time from `a` to `b` (negative when `b` is before `a`)."""
        if b < a:
            return -self.working_time_between(b, a, hours)
        hours = hours or self.default_hours
        total = timedelta(0)
        for win_start, win_end in self._windows(a, hours):
            if win_start >= b:
                break
            lo, hi = max(a, win_start), min(b, win_end)
            if hi > lo:
                total += hi - lo
        return total

    def working_days(self, days: float, hours: WorkHours | None = None) -> timedelta:
        """`days` full working days as working time (3 days of 09:00–18:00 = 27 h)."""
        return (hours or self.default_hours).length * days

    def next_week_start(self, t: datetime, hours: WorkHours | None = None) -> datetime:
        """The first working moment of the calendar week after `t` ("客户说下周再联系")."""
        local = t.astimezone(self.tz)
        monday = local.date() + timedelta(days=7 - local.weekday())
        return self.next_working_moment(datetime.combine(monday, time(0), self.tz), hours)


async def load_overrides(session: AsyncSession) -> dict[date, bool]:
    rows = await session.execute(select(CalendarOverride.day, CalendarOverride.is_workday))
    return {day: bool(flag) for day, flag in rows.all()}


async def load_calendar(session: AsyncSession, cfg: RemindersSettings) -> BusinessCalendar:
    """The calendar with the admin overrides currently in the database."""
    return BusinessCalendar.from_settings(cfg, await load_overrides(session))


async def set_override(session: AsyncSession, day: date, is_workday: bool, note: str | None = None) -> None:
    """Admin: make `day` a working day or a day off (company outing, extra 调休 …)."""
    row = await session.get(CalendarOverride, day)
    if row is None:
        session.add(CalendarOverride(day=day, is_workday=is_workday, note=note))
    else:
        row.is_workday, row.note = is_workday, note
