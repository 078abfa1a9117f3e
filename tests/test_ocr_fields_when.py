"""The agreed follow-up time of a chat: relative days from the message's own date, a separator never agreed."""

from __future__ import annotations

from datetime import datetime

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract
from ocr.people import NAMES as NAMES_ENGINE
from ocr.pipeline import lead_to_json
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)
NOW = datetime(2025, 3, 13, 18, 0, tzinfo=CN_TZ)  # a Thursday: the screenshot arrives days after the chat


def chat(*items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", "鲍春生"), *(TextRegion(k, t) for k, t in items)), True)


def test_relative_days_count_from_the_separator_above_even_when_read_as_a_bubble() -> None:
    for kind in ("time", "left"):  # a separator the layout mistook for a bubble is still a separator
        lead = extract(chat((kind, "星期二 16:40"), ("left", "我电话13911223344，想把门禁换了"),
                            ("right", "那我明天下午3点过去看现场？"), ("left", "好的")), NOW, names=NAMES)
        assert lead.follow_up == datetime(2025, 3, 12, 15, 0, tzinfo=CN_TZ), kind


def test_the_final_agreement_wins_and_a_day_part_is_a_date_only() -> None:
    lead = extract(chat(("time", "3月10日 09:12"), ("left", "我电话13911223344"),
                        ("right", "后天上午10点方便吗？"), ("left", "后天不行，大后天吧"),
                        ("right", "好的，那就大后天下午")), NOW, names=NAMES)
    assert lead.follow_up is not None and lead.follow_up.date().isoformat() == "2025-03-13"
    assert lead_to_json("a.png", lead)["follow_up"] == "2025-03-13"  # no clock time was agreed


def test_an_agreed_clock_time_keeps_its_minutes() -> None:
    lead = extract(chat(("time", "昨天 17:20"), ("left", "我电话13911223344"),
                        ("right", "后天10:30我带样品过去？"), ("left", "可以")), NOW, names=NAMES)
    assert lead_to_json("a.png", lead)["follow_up"] == "2025-03-14T10:30:00+08:00"
