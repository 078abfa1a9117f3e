"""Short admin labels (「水电费太高」, 「别家报价更低」), superseded and generic cards, and concerns no card holds.

The cards are bench/data/kb_heldoutF_cards.jsonl: an invented commercial-laundry equipment vendor whose admin
labelled objections with short phrases, with an old and a new card on two subjects and role-specific cards
beside generic ones. None of it comes from an evaluation set.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from knowledge.index import CardIndex, Tokenizer, build_index
from knowledge.schema import KbCard
from knowledge.search import rank
from tests.kb_support import BENCH_DATA, TAXONOMY, index_of, new_tokenizer

CARDS = BENCH_DATA / "kb_heldoutF_cards.jsonl"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return new_tokenizer()


@pytest.fixture(scope="module")
def index(tokenizer: Tokenizer) -> CardIndex:
    return index_of(CARDS, tokenizer)


@pytest.mark.parametrize(("label", "value"), [
    ("水电费太高", "能耗"),  # the closing predicate (太高 = price) does not decide
    ("电费太高", "能耗"),
    ("洗衣房面积不够", "场地"),
    ("员工不会操作", "使用"),
    ("别家报价更低", "竞品"),  # competitor cheaper: not plain 价格
    ("价格太贵", "价格"),
    ("想买进口货", "进口品牌"),
    ("旧机器还能用", "旧设备"),
    ("怕用不久就坏", "质量"),
    ("要总部审批", "决策周期"),
    ("安装要停工", "实施"),
])
def test_a_short_label_joins_its_family(label: str, value: str) -> None:
    assert TAXONOMY.extended({"objection": [label]}).canonical("objection", label) == value


def test_a_label_naming_two_subjects_stays_related_to_both() -> None:
    tax = TAXONOMY.extended({"objection": ["维保质量"]})
    assert tax.canonical("objection", "维保质量") == "维保质量"
    assert set(tax.related_to("objection", "维保质量")) == {"服务", "质量"}


@pytest.mark.parametrize(("query", "card"), [
    ("价格太贵", "F05"),  # F06 is the same subject, two years older
    ("價格太貴怎麼回", "F05"),
    ("售後來得慢", "F15"),
    ("报修了好久没人上门", "F15"),
    ("九五折的价目表还能用吗", "F06"),  # the older card's own words: it wins
])
def test_the_newest_card_on_one_subject_wins(index: CardIndex, query: str, card: str) -> None:
    found = rank(index, query)
    assert found.answered and found.ranked[0] == card, found.ranked


def test_the_dates_decide_between_two_cards_told_alike(tokenizer: Tokenizer) -> None:
    base = KbCard(id="A", title="报价太高怎么回", role="", industry="", objection="价格",
                  talk_track="先问用量再推荐档位，首年送保养。", updated_at=date(2025, 3, 1))
    twin = replace(base, id="B", updated_at=date(2025, 9, 1))
    other = KbCard(id="C", title="交货慢怎么回", role="", industry="", objection="交付",
                   talk_track="常规型号有现货。", updated_at=date(2025, 1, 1))
    for cards, first in (([base, twin, other], "B"), ([replace(base, updated_at=date(2026, 1, 1)), twin, other], "A")):
        found = rank(build_index(cards, TAXONOMY, tokenizer), "客户说报价太高")
        assert found.ranked[0] == first, (first, found.ranked)


@pytest.mark.parametrize(("query", "card"), [
    ("客户嫌贵", "F05"),  # names no role or industry: the generic card, not the hotel owner's
    ("客户说太贵了买不起", "F05"),
    ("酒店老板嫌贵", "F18"),
    ("洗衣厂厂长说水电费太高", "F19"),
    ("医院后勤说安装不能停洗", "F20"),
])
def test_a_query_naming_nobody_gets_the_generic_card(index: CardIndex, query: str, card: str) -> None:
    found = rank(index, query)
    assert found.answered and found.ranked[0] == card, found.ranked


@pytest.mark.parametrize(("query", "card"), [
    ("客户担心耗水耗电", "F01"),
    ("客户说地方太小放不下", "F02"),
    ("洗衣房空间有限", "F02"),
    ("阿姨们学不会怎么办", "F03"),
    ("客户说员工抵触新设备", "F03"),
    ("客户说别人家便宜两万", "F04"),
    ("竞争对手报价比我们低", "F04"),
    ("友商价格低很多", "F04"),
    ("客户只认国外品牌", "F07"),
    ("老设备还凑合用没必要换", "F08"),
    ("洗出来发黄有异味", "F17"),
    ("装机器的时候生意不能停", "F09"),
    ("客户担心不耐用", "F10"),
    ("客户说要上报集团批", "F11"),
    ("客户问能不能先付一部分", "F12"),
    ("客户资金紧张", "F13"),
    ("客户嫌到货要等太久", "F14"),
])
def test_everyday_words_reach_the_labelled_card(index: CardIndex, query: str, card: str) -> None:
    found = rank(index, query)
    assert found.answered and found.ranked[0] == card, found.ranked


@pytest.mark.parametrize("query", [
    "客户要我们先签保密协议再谈",
    "客户想做我们的独家代理",
    "客户问能不能帮他招两个洗衣工",
    "客户问办营业执照要什么材料",
    "客户问我们卖不卖咖啡机",
    "客户问全国洗衣市场有多大",
    "客户问买什么理财划算",
])
def test_a_concern_no_card_holds_is_declined(index: CardIndex, query: str) -> None:
    found = rank(index, query)
    assert not found.answered, (found.ranked, found.why)
