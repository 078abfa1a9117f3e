"""Everyday concepts (knowledge/concepts.py): a rep's paraphrase that shares no word with its card and names no
objection of the vocabulary still meets the card on what both are about. The cards are an invented commercial
coffee-machine vendor (tests/fixtures/kb_coffee_cards.jsonl), searched through the real `KnowledgeBase`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from knowledge import concepts
from knowledge.index import concept_tokens
from knowledge.io import read_cards
from knowledge.search import KnowledgeBase, score_all
from tests.conftest import ENGINES
from tests.kb_support import TAXONOMY, index_of

CARDS = Path(__file__).parent / "fixtures" / "kb_coffee_cards.jsonl"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base = KnowledgeBase(TAXONOMY, engines=ENGINES)
    result = read_cards(CARDS, base.taxonomy)
    assert not result.issues
    asyncio.run(base.build_from([c for _, c in result.cards]))
    return base


def test_words_are_read_longest_first_without_overlap() -> None:
    found = concepts.parse({"concept": [{"name": "交期", "words": ["送过来", "过来", "好久"]},
                                        {"name": "售后", "words": ["好久", "坏了"]}]})
    assert found.words_in("送过来要等好久") == ["送过来", "好久"]
    assert found.find("送过来要等好久") == ["交期", "交期", "售后"]  # one word may voice two concepts
    assert found.find("过") == []  # one character names nothing


def test_a_card_voices_the_concepts_of_its_own_words(kb: KnowledgeBase) -> None:
    card = next(c for _, c in read_cards(CARDS, TAXONOMY).cards if c.id == "CF03")
    tokens = concept_tokens(card, kb.tokenizer.card_tokens(card), kb.tokenizer.t2s)
    assert tokens.count("搬迁") >= 3  # 搬迁 in its title (twice), 拆卸 / 新址 in its talk track
    assert "噪音隐私" not in tokens


@pytest.mark.parametrize(
    ("query", "card"),
    [
        ("客户嫌定了以后送过来要等好久", "CF01"),  # 到店时效: its card says 送达, 工作日
        ("老板问店面换地方了那台机器怎么搬过去", "CF03"),  # 移机服务: its card says 换址, 新址重装
    ],
)
def test_a_paraphrase_sharing_no_word_finds_its_card(kb: KnowledgeBase, query: str, card: str) -> None:
    found = kb.search(query)
    assert found.answered and found.ranked[0] == card, found.to_json(why=True)


@pytest.mark.parametrize("query", ["中秋节放几天", "今年带薪假还有多少天", "我家搬家找哪个搬家公司"])
def test_an_off_topic_ask_holding_one_concept_word_is_still_declined(kb: KnowledgeBase, query: str) -> None:
    assert not kb.search(query).answered


def test_concepts_are_read_only_when_the_vocabulary_names_no_objection() -> None:
    """「嫌贵」 is an objection cue: the ranking is the vocabulary's, concepts add nothing to it."""
    index = index_of(CARDS)
    assert score_all(index, "客户嫌定了以后送过来要等好久").concept_words >= 2
    scored = score_all(index, "客户嫌贵，送过来还要等好久")
    assert scored.concept_words == 0 and not np.any(scored.concept)
