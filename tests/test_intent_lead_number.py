"""A number after a field word (「需求 …」, 「异议 …」) is a lead number only when marked (#3, 3号, 线索3) or when a
separator and text that is no quantity follow; a count with its measure word or unit stays in the value, which goes
to the lead in view (review 18, finding 6). Invented wording only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handlers.intent import understand
from knowledge.query import SIMPLIFIER
from tests.conftest import ENGINES
from tests.utterances import STATE

IN_VIEW = replace(STATE, current_lead=4)
T2S = ENGINES.get(SIMPLIFIER)


def _edit(text: str) -> tuple[int | None, str]:
    got = understand(text, "rep", IN_VIEW, t2s=T2S)
    assert got.name == "edit", (text, got)
    return got.slots["lead_id"], got.slots["value"]


@pytest.mark.parametrize("text", [
    "需求 15 辆冷藏车", "需求 15辆冷藏车", "需求 40 吨不锈钢板", "需求 6 箱标签纸", "需求 12 平米样板间",
    "需求 300 公斤托盘秤", "需求 8 kg 称重模块", "异议 2 家同行在压价", "需求 20 多台扫码枪", "需求 9 张办公桌",
    "下一步 3 天后复盘", "下一步 9号 去工厂看样"])
def test_a_count_stays_in_the_value_for_the_lead_in_view(text: str) -> None:
    lead_id, value = _edit(text)
    assert lead_id is None, (text, lead_id)  # None: the lead in view
    assert value == text.split(" ", 1)[1], value


@pytest.mark.parametrize(("text", "lead", "value"), [
    ("需求 #6 冷藏车", 6, "冷藏车"), ("需求 6号 冷藏车", 6, "冷藏车"), ("需求 线索6 冷藏车", 6, "冷藏车"),
    ("决策链 6 厂长拍板", 6, "厂长拍板"), ("决策链 6 张总拍板", 6, "张总拍板"),
    ("异议 6，嫌售后网点少", 6, "嫌售后网点少"),
    ("下一步 #6 周三看样", 6, "周三看样")])
def test_a_marked_or_separated_number_is_the_lead(text: str, lead: int, value: str) -> None:
    assert _edit(text) == (lead, value)
