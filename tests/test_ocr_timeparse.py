"""Chinese time expressions: numbers that are not times, midnight, 傍晚, 一刻, 日/月底, the agreed time of a chat."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract
from ocr.people import NAMES as NAMES_ENGINE
from ocr.timeparse import find_time, find_times, parse_anchor
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)


def cn(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN_TZ)


@pytest.mark.parametrize(
    "text",
    ["我在科技园2号楼", "坐3号线过来", "6号线转车", "我有两点要求", "主要是三点：价格和服务", "还有一点点预算",
     "我们有两三点顾虑", "能打3点几折吗", "有一点贵"],
)
def test_numbers_that_are_not_times(text: str) -> None:
    assert find_times(text, MONDAY) == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("晚上12点", cn(2026, 11, 24, 0, 0)),
        ("傍晚6点", cn(2026, 11, 23, 18, 0)),
        ("3点一刻", cn(2026, 11, 23, 15, 15)),
        ("下午3点三刻", cn(2026, 11, 23, 15, 45)),
        ("15日", cn(2026, 12, 15, 9, 0)),
        ("月底", cn(2026, 11, 30, 9, 0)),
        ("月底前给您答复", cn(2026, 11, 30, 9, 0)),
        ("下个月底", cn(2026, 12, 31, 9, 0)),
        ("两点", cn(2026, 11, 23, 14, 0)),
        ("我们三点见", cn(2026, 11, 23, 15, 0)),
        ("明天下午3点在2号楼见", cn(2026, 11, 24, 15, 0)),
    ],
)
def test_time_expressions(text: str, want: datetime) -> None:
    assert find_time(text, MONDAY) == want


def test_midnight_timestamp_is_an_anchor_after_midnight() -> None:
    assert parse_anchor("晚上12:10", MONDAY) == cn(2026, 11, 23, 0, 10)


def chat(*items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", "周杰"), *(TextRegion(k, t) for k, t in items)), True)


def test_a_later_bare_day_keeps_the_precise_time_agreed_for_it() -> None:
    lead = extract(chat(("left", "电话13812345678，明天下午3点来"), ("right", "好的，那我们后天上午10点见？"),
                        ("left", "不行，就明天")), MONDAY, names=NAMES)
    assert lead.follow_up == cn(2026, 11, 24, 15, 0)


def test_a_later_new_time_still_wins() -> None:
    lead = extract(chat(("left", "电话13812345678，明天下午3点来"), ("left", "改到后天上午吧")), MONDAY, names=NAMES)
    assert lead.follow_up == cn(2026, 11, 25, 9, 0)


def test_a_bare_clock_time_confirms_the_dated_one() -> None:
    """"明天下午3点给您打电话方便吗？" "好的，3点": still tomorrow (a bare 3点 alone would be today)."""
    lead = extract(chat(("right", "明天下午3点给您打电话方便吗？"), ("left", "好的，3点，电话13812345678")),
                   MONDAY, names=NAMES)
    assert lead.follow_up == cn(2026, 11, 24, 15, 0)
    lead = extract(chat(("right", "那下个月12号上午9点半过来？"), ("left", "行，9点半，电话13812345678")),
                   MONDAY, names=NAMES)
    assert lead.follow_up == cn(2026, 12, 12, 9, 30)
    lead = extract(chat(("right", "明天下午3点方便吗？"), ("left", "4点吧，电话13812345678")), MONDAY, names=NAMES)
    assert lead.follow_up.hour == 16  # another hour is a new time


def test_building_numbers_do_not_replace_the_agreed_time() -> None:
    lead = extract(chat(("left", "电话13812345678，明天下午3点来"), ("left", "我们在科技园2号楼，坐3号线到")),
                   MONDAY, names=NAMES)
    assert lead.follow_up == cn(2026, 11, 24, 15, 0)
