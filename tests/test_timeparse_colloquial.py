"""The times reps type in chat: offsets, 下周, 下班前 (own work_end), holidays, 明儿/大后天, weekday + clock."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.clock import CN_TZ
from ocr.timeparse import Workdays, after_holiday, find_time, find_times

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)
FRIDAY_1730 = datetime(2026, 11, 27, 17, 30, tzinfo=CN_TZ)


def cn(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN_TZ)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("3天后再联系", cn(2026, 11, 26, 9, 0)),
        ("三天后上午10点", cn(2026, 11, 26, 10, 0)),
        ("过两天", cn(2026, 11, 25, 9, 0)),
        ("下周", cn(2026, 11, 30, 9, 0)),
        ("下下周", cn(2026, 12, 7, 9, 0)),
        ("两小时后", cn(2026, 11, 23, 12, 0)),
        ("半小时后打给他", cn(2026, 11, 23, 10, 30)),
        ("一个半小时后", cn(2026, 11, 23, 11, 30)),
        ("20分钟后", cn(2026, 11, 23, 10, 20)),
        ("两周后", cn(2026, 12, 7, 9, 0)),
        ("下班前", cn(2026, 11, 23, 18, 0)),
        ("明儿", cn(2026, 11, 24, 9, 0)),
        ("明儿下午三点", cn(2026, 11, 24, 15, 0)),
        ("大后天", cn(2026, 11, 26, 9, 0)),
        ("下礼拜三", cn(2026, 12, 2, 9, 0)),
        ("周三晚上八点半", cn(2026, 11, 25, 20, 30)),
        ("后天10:30", cn(2026, 11, 25, 10, 30)),
        ("月底", cn(2026, 11, 30, 9, 0)),
        ("月底前", cn(2026, 11, 30, 9, 0)),
        ("下个月", cn(2026, 12, 1, 9, 0)),
        ("下周末", cn(2026, 12, 5, 9, 0)),
        ("2027年3月5日下午3点", cn(2027, 3, 5, 15, 0)),  # a written year is kept (it was dropped: 2026-03-05 → …)
        ("28年1月8日", cn(2028, 1, 8, 9, 0)),
        ("2027-01-06 14:30", cn(2027, 1, 6, 14, 30)),
        ("2027/1/6", cn(2027, 1, 6, 9, 0)),
        ("12/1 下午3点", cn(2026, 12, 1, 15, 0)),
        ("1/6上午10点", cn(2027, 1, 6, 10, 0)),
    ],
)
def test_colloquial_times(text: str, want: datetime) -> None:
    assert find_time(text, MONDAY) == want


def test_friday_before_work_ends_is_today_at_the_persons_work_end() -> None:
    assert find_time("周五下班前", FRIDAY_1730) == cn(2026, 11, 27, 18, 0)
    late = Workdays(start=time(10, 0), end=time(19, 30))
    assert find_time("周五下班前", FRIDAY_1730, late) == cn(2026, 11, 27, 19, 30)
    assert find_time("下班前", FRIDAY_1730, late) == cn(2026, 11, 27, 19, 30)


def test_after_work_end_the_next_working_day() -> None:
    friday_late = cn(2026, 11, 27, 18, 30)
    assert find_time("下班前", friday_late) == cn(2026, 11, 30, 18, 0)  # Monday, not Saturday
    assert find_time("周五下班前", friday_late) == cn(2026, 12, 4, 18, 0)


def test_vague_offsets_land_on_a_working_day() -> None:
    assert find_time("过两天", FRIDAY_1730) == cn(2026, 11, 30, 9, 0)  # Sunday → Monday
    assert find_time("3天后", FRIDAY_1730) == cn(2026, 11, 30, 9, 0)


def test_next_week_is_the_teams_first_working_day_at_its_start() -> None:
    days = Workdays(start=time(10, 0), is_workday=lambda d: d.weekday() < 5 and d != date(2026, 11, 30))
    assert find_time("下周", MONDAY, days) == cn(2026, 12, 1, 10, 0)


def test_holidays_from_the_statutory_calendar() -> None:
    # 2026 is covered by the package: 国庆 Oct 1–7, back to work Thursday Oct 8
    assert after_holiday("National Day", date(2026, 9, 20)) == date(2026, 10, 8)
    # 2027 may not be: the usual 春节 period (除夕 Feb 5 … 初七) → Monday Feb 15
    assert find_time("春节后", MONDAY) == cn(2027, 2, 15, 9, 0)
    assert find_time("年后再说", MONDAY) == cn(2027, 2, 15, 9, 0)
    assert find_time("国庆后", MONDAY) == cn(2027, 10, 8, 9, 0)
    assert find_time("节后联系", MONDAY) == cn(2027, 1, 4, 9, 0)  # 元旦 on a Friday


@pytest.mark.parametrize("text", ["三年后", "这个环节后面再说", "我下班了", "9999年1月1日",
                                  "2027-02-30", "报价 1/2 台", "占比 3/4%", "预算3.5万"])
def test_not_times(text: str) -> None:
    assert find_times(text, MONDAY) == []


def test_a_written_date_already_past_is_no_follow_up_time() -> None:
    assert find_time("2025年3月5日", MONDAY) is None
