"""Reps' colloquial talk, earlier versions of a card, general cards first, long situations and errands.

The cards are bench/data/kb_heldoutG_cards.jsonl: an invented welding / palletizing robot vendor whose admin
labelled objections in their own words (设备可靠性, 现场安全, 决策流程, 合同条款 …), kept 2024 price and service
cards beside 2026 ones and wrote role cards (财务, 设备, 老板) beside general ones. None of it comes from an
evaluation set.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.usertext import plain
from handlers.knowledge import answer_card
from knowledge.index import CardIndex, Tokenizer, build_index
from knowledge.search import rank
from tests.kb_support import BENCH_DATA, TAXONOMY, index_of, new_tokenizer

CARDS = BENCH_DATA / "kb_heldoutG_cards.jsonl"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return new_tokenizer()


@pytest.fixture(scope="module")
def index(tokenizer: Tokenizer) -> CardIndex:
    return index_of(CARDS, tokenizer)


def first(index: CardIndex, query: str) -> str:
    found = rank(index, query)
    assert found.answered, (query, found.ranked)
    return found.ranked[0]


@pytest.mark.parametrize(("query", "value"), [
    ("钱批不下来", "预算"),
    ("今年capex冻结了", "预算"),
    ("机器老趴窝", "质量"),
    ("设备老出故障", "质量"),
    ("uptime能到多少", "质量"),
    ("人车混行会不会出事", "人身安全"),
    ("怕机械臂碰到人", "人身安全"),
    ("要做渗透测试", "安全"),
    ("得上面定", "决策周期"),
    ("他自己做不了主", "决策周期"),
    ("多长时间能把投入赚回来", "效果"),
    ("下面的人都不会用", "使用"),
    ("warranty几年", "合同"),
    ("质保期多长", "合同"),
])
def test_everyday_words_name_their_objection_family(index: CardIndex, query: str, value: str) -> None:
    assert value in rank(index, query).matched.get("objection", ()), rank(index, query).matched


def test_the_contact_person_is_no_integration(index: CardIndex) -> None:
    found = rank(index, "对接人说要等老板拍板")
    assert "集成" not in found.matched.get("objection", ())
    assert found.ranked[0] == "G14"


@pytest.mark.parametrize(("label", "value"), [
    ("设备可靠性", "质量"), ("现场安全", "人身安全"), ("数据安全", "安全"), ("决策流程", "决策周期"),
    ("投资回报", "效果"), ("合同条款", "合同"), ("停产风险", "实施"), ("员工培训", "使用"),
])
def test_an_admins_label_joins_its_family(label: str, value: str) -> None:
    assert TAXONOMY.extended({"objection": [label]}).canonical("objection", label) == value


def test_a_role_named_by_a_thing_is_found_as_a_person_only(index: CardIndex) -> None:
    assert "设备" not in rank(index, "设备老出故障怎么办").matched.get("role", ())
    assert rank(index, "设备科长担心设备不稳定").matched.get("role") == ("设备",)  # the admin's 设备科, not 采购


@pytest.mark.parametrize(("query", "card"), [
    ("客户嫌码垛线贵", "G01"),  # names no role: the general card, though the 财务 card's title holds more words
    ("设备老出故障怎么办", "G07"),
    ("多久能回本", "G15"),
    ("财务嫌贵", "G02"),  # the role named: its card
    ("设备科长担心设备不稳定", "G08"),
    ("老板想知道几年回本", "G25"),
])
def test_the_general_card_unless_the_role_is_named(index: CardIndex, query: str, card: str) -> None:
    assert first(index, query) == card


@pytest.mark.parametrize(("query", "card"), [
    ("价格政策", "G21"),
    ("整线有没有折扣政策", "G21"),
    ("报修以后工程师多久到", "G06"),
    ("标准机型交期多久", "G05"),  # the 2025 card is 11 months older: replaced, though its title says 交期
    ("培训收费标准", "G28"),  # the 2025 card names its year; the 2026 one is four months newer
    ("2024年价格政策：整线九折", "G20"),  # its own title: an admin looking it up
    ("2025年培训收费标准", "G27"),
])
def test_a_much_newer_sibling_replaces_the_old_card(index: CardIndex, query: str, card: str) -> None:
    assert first(index, query) == card


def test_the_answer_card_says_a_newer_one_exists(index: CardIndex) -> None:
    old, new = (index.cards[index.positions[i]] for i in ("G20", "G21"))
    assert index.cards[int(index.newer[index.positions["G20"]])].id == "G21"
    assert int(index.newer[index.positions["G21"]]) == -1
    note = plain(answer_card(old, 1, date(2026, 6, 1), 12, newer=new).note)
    assert "已有更新的同类话术《价格政策（2026年）" in note and "超过" not in note


def test_siblings_on_other_subjects_stay(tokenizer: Tokenizer, index: CardIndex) -> None:
    """Same axes, years apart, different topics: neither replaces the other."""
    old = index.cards[index.positions["G01"]]
    other = replace(index.cards[index.positions["G05"]], id="X", objection=old.objection,
                    updated_at=date(2027, 1, 1))
    fresh = build_index([old, other], TAXONOMY, tokenizer)
    assert fresh.newer.tolist() == [-1, -1]


def test_a_title_holding_the_query_answers(tokenizer: Tokenizer, index: CardIndex) -> None:
    bare = [replace(c, keywords=()) for c in index.cards]
    found = rank(build_index(bare, TAXONOMY, tokenizer), "客户问质保条款能不能改")
    assert found.answered and found.ranked[0] == "G16"


@pytest.mark.parametrize(("query", "card"), [
    ("客户以前用过别人家的设备，也接触过我们两次，这次采购主管嫌我们交货周期太长，要求一个月内到货。", "G05"),
    ("客户之前一直用的是别家的码垛机，用了五六年了，这次想换，他说怕新设备售后跟不上，坏了没人管。", "G06"),
    ("今天去了一家做速冻水饺的工厂，车间主任人挺好，他们之前也看过别家的机器人。客户最担心的是机器冲洗的时候会不会生锈，"
     "卫生检查过不了。", "G22"),
])
def test_a_long_situation_is_ranked_on_the_voiced_concern(index: CardIndex, query: str, card: str) -> None:
    assert first(index, query) == card


@pytest.mark.parametrize("query", [
    "客户要叉车的报价",  # a thing no card sells + 报价
    "投标保证金怎么付",
    "客户来参观帮忙订个酒店",
    "拜访完客户里程补贴怎么报",
    "合同章在谁手上",
    "帮我把上个月的采购单导出来",
])
def test_one_generic_word_inside_another_request_is_declined(index: CardIndex, query: str) -> None:
    found = rank(index, query)
    assert not found.answered, (found.ranked, found.why)


@pytest.mark.parametrize(("query", "card"), [
    ("客户嫌报价高", "G01"),
    ("客户怕机器三天两头趴窝", "G07"),
    ("客户问这钱投下去几年能赚回来", "G15"),
])
def test_the_same_words_about_our_offer_are_answered(index: CardIndex, query: str, card: str) -> None:
    assert first(index, query) == card
