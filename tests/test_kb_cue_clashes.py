"""Vocabulary that must not turn a rep's own statement or errand into a customer's objection.

The cards are the invented video-meeting and greenhouse vendors of tests/fixtures (kb_meeting_cards,
kb_greenhouse_cards); the queries are written here and come from no evaluation set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import frame
from knowledge.index import CardIndex, latin_spellings
from knowledge.search import rank
from tests.kb_support import TAXONOMY, index_of

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def meeting() -> CardIndex:
    return index_of(FIXTURES / "kb_meeting_cards.jsonl")


@pytest.fixture(scope="module")
def greenhouse() -> CardIndex:
    return index_of(FIXTURES / "kb_greenhouse_cards.jsonl")


@pytest.mark.parametrize("text", [
    "老板觉得咱们卖得太贵了",
    "客户都说我们卖的价格偏高",
    "对方嫌我们卖了这么多年还不降价",
    "出售价格太高客户接受不了",
])
def test_a_statement_about_what_we_sell_asks_for_no_product(text: str) -> None:
    assert frame.products_asked(text) == []


@pytest.mark.parametrize(("text", "thing"), [
    ("你们卖不卖扫地机器人", "扫地机器人"),
    ("你们也卖投影幕布吗", "投影幕布"),
    ("有没有卖打印纸的", "打印纸"),
])
def test_a_question_whether_we_sell_a_thing_names_it(text: str, thing: str) -> None:
    assert frame.products_asked(text) == [thing]


def test_a_price_complaint_about_what_we_sell_is_answered(greenhouse: CardIndex) -> None:
    found = rank(greenhouse, "种植户嫌我们卖得太贵了")
    assert found.answered and "价格" in found.matched.get("objection", ()), found.to_json(why=True)


def test_no_objection_word_is_an_own_matter_word() -> None:
    """An exact objection cue outweighs an own-matter word it covers (search._backing): the same word in both
    lists would answer a rep's errand (值班, 扣钱) with a card."""
    own = set(frame.OWN_WORDS)
    clashes = sorted(w for w in TAXONOMY.synonyms["objection"] if w in own)
    clashes += sorted(f"{term}->{w}" for term, words in TAXONOMY.expansions.items() if not term.isascii()
                      for w in words if w in own)
    assert not clashes


@pytest.mark.parametrize("query", [
    "下周末谁值班",
    "这阵子我太忙了",
    "开会迟到会扣钱吗",
    "有点心疼",
])
def test_a_reps_own_day_is_not_a_customer_objection(meeting: CardIndex, greenhouse: CardIndex, query: str) -> None:
    for index in (meeting, greenhouse):
        assert not rank(index, query).answered, rank(index, query).to_json(why=True)


@pytest.mark.parametrize("query", ["大棚用到第二年会不会漏风", "第二年会员价是多少"])
def test_a_question_holding_the_letters_of_an_own_matter_is_still_work(greenhouse: CardIndex, query: str) -> None:
    """年会 across 第二年 + 会: the decline (if any) is a gap in the knowledge base, not a rep's own day."""
    assert rank(greenhouse, query).work


@pytest.mark.parametrize("query", ["客户收到货以后想退货", "买家要求退款"])
def test_a_return_after_purchase_is_no_trial(greenhouse: CardIndex, query: str) -> None:
    assert "试用" not in rank(greenhouse, query).matched.get("objection", ())


@pytest.mark.parametrize(("query", "value"), [
    ("这个单子现在谁跟进", "客户成功"),
    ("我们部门最近有人员变动", "席位"),
    ("合同扫描件发过来了吗", "交付"),
    ("邮箱开通了没有", "实施"),
    ("这周工作量有点大", "实施"),
    ("油价又上调了", "价格"),
    ("这个方案不适合我们部门", "内容质量"),
    ("周报我自己写吧", "竞品"),
    ("内部系统登不上去", "竞品"),
    ("新来的实施顾问叫什么", "讲师"),
])
def test_an_everyday_phrase_names_no_objection(meeting: CardIndex, query: str, value: str) -> None:
    assert value not in rank(meeting, query).matched.get("objection", ())


def test_a_screenshot_is_no_security_worry(meeting: CardIndex) -> None:
    """Screenshots are what reps send the bot every day: 截图 alone says nothing about leaks."""
    assert TAXONOMY.expansions.get("截图") is None or not {"水印", "泄露"} & set(TAXONOMY.expansions["截图"])


@pytest.mark.parametrize(("word", "plural"), [("policy", "policies"), ("box", "boxes"), ("patch", "patches"),
                                              ("crash", "crashes"), ("license", "licenses"), ("day", "days")])
def test_an_english_cue_is_found_in_its_plural(word: str, plural: str) -> None:
    assert plural in latin_spellings(word)


def test_a_plural_the_matcher_derives_is_not_listed_again() -> None:
    words = TAXONOMY.synonyms["objection"]
    assert "license" in words and not [w for w in words if w.isascii() and w.isalpha() and w[:-1] in words]
