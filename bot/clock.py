"""One injectable source of time. UTC inside, Asia/Shanghai at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

CN_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock tests and `salesbot chat` can set and move."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = to_utc(start) if start else datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = to_utc(when)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


def to_utc(when: datetime) -> datetime:
    """Aware datetime in UTC; naive values are taken as Asia/Shanghai wall time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=CN_TZ)
    return when.astimezone(UTC)


def to_cn(when: datetime) -> datetime:
    """Aware datetime in Asia/Shanghai; naive values are taken as UTC (how storage returns them)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(CN_TZ)


def fmt_cn(when: datetime | None, with_date: bool = True) -> str:
    """Short display form for chat: '11-23 15:00' or '15:00'; None → '未知'."""
    if when is None:
        return "未知"
    local = to_cn(when)
    return local.strftime("%m-%d %H:%M") if with_date else local.strftime("%H:%M")


def parse_hhmm(text: str) -> time:
    """A time of day as the settings write it: '09:00' → time(9, 0) ('9' → 9:00); ValueError on anything else.
    The one parser of `work_start`, `digest_time`, `scan_time`, `anchor_time`."""
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


def parse_duration(text: str) -> timedelta:
    """'2h', '30m', '3d', '1h30m', '90s' → timedelta. Raises ValueError on anything else."""
    import re

    text = text.strip().lower()
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([dhms])", text)
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", text):
        raise ValueError(f"bad duration: {text!r} (use e.g. 2h, 30m, 3d)")
    unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    total = timedelta()
    for number, u in parts:
        total += timedelta(**{unit[u]: float(number)})
    return total
