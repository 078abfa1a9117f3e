"""A rep tells the customer's complaint in everyday words that share no word with the card an admin titled in
admin words (价格异议, 决策周期, 企业背景). The cards are an invented packaging-machine vendor
(tests/fixtures/kb_packaging_cards.jsonl), searched through the real `KnowledgeBase`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from knowledge.io import read_cards
from knowledge.search import KnowledgeBase
from tests.conftest import ENGINES
from tests.kb_support import TAXONOMY, index_of

CARDS = Path(__file__).parent / "fixtures" / "kb_packaging_cards.jsonl"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base = KnowledgeBase(TAXONOMY, engines=ENGINES)
    result = read_cards(CARDS, base.taxonomy)
    assert not result.issues
    asyncio.run(base.build_from([c for _, c in result.cards]))  # one build for the module (its own loop)
    return base


@pytest.mark.parametrize(
    ("query", "card"),
    [
        ("老板觉得不值这个钱", "PK01"),
        ("领导还没拍板", "PK03"),
        ("多快能到", "PK05"),
        ("对方问先付多少", "PK08"),
        ("客户怕你们公司倒闭", "PK04"),  # 企业背景: an admin's value, related to trust by what its card says
        ("客户怕你们规模不大", "PK04"),
    ],
)
def test_a_paraphrase_sharing_no_word_finds_its_card(kb: KnowledgeBase, query: str, card: str) -> None:
    found = kb.search(query)
    assert found.answered and found.ranked[0] == card, found.to_json(why=True)


@pytest.mark.parametrize(
    "query", ["公司年会节目报名找谁", "家里空调坏了找谁", "出差车票丢了怎么报账", "今天食堂吃什么"]
)
def test_an_off_topic_ask_is_still_declined(kb: KnowledgeBase, query: str) -> None:
    assert not kb.search(query).answered


def test_an_admins_value_is_related_to_the_concepts_its_cards_voice() -> None:
    """档期安排 names no concept of the vocabulary; its card's title speaks of 交期 (delivery): the value relates
    to 交付. A value whose label already joined a concept (交货周期 → 交付) is left as it is."""
    taxonomy = index_of(CARDS).taxonomy
    assert "交付" in taxonomy.related_to("objection", "档期安排")
    assert taxonomy.canonical("objection", "交货周期") == "交付"
    assert taxonomy.related_to("objection", "交货周期") == ()


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("这套设备能节约多少人工", "合同"),  # 节约 sounds like 解约 (ending a contract)
        ("大家帮忙支招", "资质"),  # 支招 sounds like 执照 (a licence)
        ("盖公章要找谁", "付款方式"),  # 公章 sounds like 公账 (the company account)
    ],
)
def test_an_everyday_word_sounding_like_a_concept_phrase_does_not_name_it(
    kb: KnowledgeBase, query: str, value: str
) -> None:
    assert value not in kb.search(query).matched.get("objection", ())
