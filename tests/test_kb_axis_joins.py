"""An admin's new role or industry joins a shipped value only when it is that value in other words.

A word of the shipped vocabulary occurring inside a new value is no evidence: 负责人 names 决策层, but a training
lead (培训负责人) is no decision maker; 园区 names 物业, but a tea plantation park is no property management. The
head of a Chinese name comes last and its modifier says which kind, so both are read. All values are invented.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app.commands.kb import run_import
from bot.config import DatabaseSettings, KnowledgeSettings, Settings
from knowledge.index import build_index
from knowledge.io import read_cards
from knowledge.schema import KbCard
from knowledge.search import rank
from tests.kb_support import TAXONOMY, new_tokenizer


@pytest.mark.parametrize(("axis", "value"), [
    ("role", "培训负责人"),  # 负责人 is a 决策层 synonym: the department before it decides, and it is unknown
    ("role", "品控总监"),  # 总监 likewise
    ("role", "客房部经理"),
    ("industry", "茶叶园区"),  # 园区 is a 物业 synonym: a tea plantation park is not property management
    ("industry", "宠物医院"),  # 医院 is 医疗 (people's health), a pet clinic is another trade
    ("industry", "电池回收"),  # 电池 names 新能源 first, the trade is recycling
    ("industry", "会员积分"),
])
def test_a_word_inside_a_new_value_does_not_merge_it(axis: str, value: str) -> None:
    assert TAXONOMY.joins(axis, value) is None
    extended = TAXONOMY.extended({axis: [value]})
    assert extended.canonical(axis, value) == value and value in extended.values[axis]
    assert extended.related_to(axis, value) == ()  # one colliding word is no partial fit either


@pytest.mark.parametrize(("axis", "value", "known"), [
    ("role", "人事负责人", "人事"),  # the department is a known one: its head is that department's
    ("role", "招聘主管", "人事"),
    ("role", "采购部经理", "采购"),
    ("role", "法务中心", "法务"),
    ("role", "叉车操作工", "使用部门"),  # a person word of the value, another trade's modifier: still that person
    ("role", "副总经理", "决策层"),  # a general qualifier
    ("role", "维修班组长", "使用部门"),  # 班组长 whole is the head, not the rank 组长 of a 维修班
    ("industry", "生鲜电商", "电商"),  # the value's own name is the head
    ("industry", "私立医院", "医疗"),  # a general qualifier before a synonym
    ("industry", "冷链仓储", "物流"),  # modifier and head both of one value
    ("industry", "口腔器械", "医疗"),
    ("industry", "餐饮行业", "餐饮"),  # a general ending
    ("industry", "医药流通", "医药"),  # the value's own name first, a trade word of no other value after it
])
def test_a_genuine_equivalent_merges(axis: str, value: str, known: str) -> None:
    assert TAXONOMY.joins(axis, value) == known
    assert TAXONOMY.extended({axis: [value]}).canonical(axis, value) == known


@pytest.mark.parametrize(("axis", "value", "both"), [
    ("industry", "物业软件", {"物业", "SaaS"}),  # two known values at once: it joins neither, fits both partly
    ("industry", "医药物流", {"医药", "物流"}),
])
def test_a_value_naming_two_known_values_joins_neither(axis: str, value: str, both: set[str]) -> None:
    assert TAXONOMY.joins(axis, value) is None
    assert set(TAXONOMY.extended({axis: [value]}).related_to(axis, value)) == both


async def test_the_import_report_names_the_new_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cards.csv"
    path.write_text("标题,话术,角色,行业,异议\n"
                    "培训负责人嫌课时费贵,按人头折算到每节课,培训负责人,茶叶园区,价格\n"
                    "人事负责人要看合同,合同模板先发法务,人事负责人,生鲜电商,合同\n", encoding="utf-8")
    result = read_cards(path, TAXONOMY)
    assert result.issues == []
    assert result.new_values == {"role": ["培训负责人"], "industry": ["茶叶园区"]}
    assert result.joined == {"人事负责人": "人事", "生鲜电商": "电商"}
    settings = Settings(database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/kb.db"),
                        knowledge=KnowledgeSettings(seed_demo=False))
    assert await run_import(argparse.Namespace(files=[str(path)], no_progress=True), settings) == 0
    out = capsys.readouterr().out
    assert "新分类：角色 培训负责人，行业 茶叶园区（已加入" in out
    assert "归入已有分类：人事负责人 → 人事、生鲜电商 → 电商" in out


def test_the_boss_card_answers_the_boss_not_the_training_lead() -> None:
    """Had 培训负责人 joined 决策层, its card would tie with the boss's card for a question about the boss."""
    cards = [KbCard(id="R1", title="培训负责人觉得课时费贵", role="培训负责人", industry="", objection="价格",
                    talk_track="按学员人数折算到每节课的费用。"),
             KbCard(id="R2", title="老板嫌贵怎么回", role="决策层", industry="", objection="价格",
                    talk_track="讲三年总成本和省下的人力。"),
             KbCard(id="R3", title="交付周期说明", role="", industry="", objection="交付",
                    talk_track="常规十个工作日。")]
    taxonomy = TAXONOMY.extended({"role": ["培训负责人"]})
    index = build_index(cards, taxonomy, new_tokenizer())
    assert index.taxonomy.canonical("role", "培训负责人") == "培训负责人"
    found = rank(index, "负责人说太贵了")
    assert found.answered and found.ranked[0] == "R2", found.to_json(why=True)
    assert rank(index, "培训负责人嫌贵").ranked[0] == "R1"
