"""The answer/decline decision: one matched thing (a shared keyword, a role or industry word, one vocabulary
synonym) never carries an answer alone, and an employee's own matter (HR, legal, IT helpdesk, admin chores,
personal life, school calendar) is declined unless a card is about exactly that.

Two card sets: the demo cards, and a canteen-management vendor's cards (tests/fixtures) whose keywords —
食堂, 发票, 安装, 培训, 售后 — are also words of an employee's everyday life.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.demo import demo_cards
from knowledge.index import CardIndex, Tokenizer, build_index
from knowledge.io import read_cards
from knowledge.query import SIMPLIFIER, is_chatter
from knowledge.search import rank
from knowledge.taxonomy import load_taxonomy
from tests.conftest import ENGINES  # this test process's (no services here)

T2S = ENGINES.get(SIMPLIFIER)

TAXONOMY = load_taxonomy()
CANTEEN = Path(__file__).parent / "fixtures" / "kb_canteen_cards.jsonl"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(TAXONOMY.dictionary_words(), ENGINES)


@pytest.fixture(scope="module")
def demo(tokenizer: Tokenizer) -> CardIndex:
    return build_index(demo_cards(TAXONOMY), TAXONOMY, tokenizer)


@pytest.fixture(scope="module")
def canteen(tokenizer: Tokenizer) -> CardIndex:
    result = read_cards(CANTEEN, TAXONOMY)
    assert not result.issues
    return build_index([c for _, c in result.cards], TAXONOMY, tokenizer)


OFF_TOPIC = [
    # an employee's HR and legal questions
    "今年的年终奖什么时候到账", "我想请三天病假", "试用期工资打几折", "公积金基数能调吗",
    "劳动合同到期公司不续签有补偿吗", "签的保密协议对我还有效吗",
    # IT helpdesk
    "电脑连不上打印机", "邮箱空间满了怎么清理", "VPN老是断开连不上内网",
    # personal life and the school calendar
    "周末带爸妈去哪吃饭", "孩子发烧了要请假", "孩子学校几号放寒假", "家长会改到几点了",
    # admin chores the cards do not cover
    "出差的住宿发票怎么报销", "会议室投影仪坏了找谁修", "上周寄的快递到了没",
    # one word shared with a card, nothing else
    "食堂今天吃什么", "我的报销发票丢了", "家里燃气灶安装要多久", "我的手机售后在哪", "新员工入职培训在哪个会议室",
    "学校门口的路在修", "医院附近哪里好停车", "打车太贵了公司给报吗",
]


@pytest.mark.parametrize("query", OFF_TOPIC)
def test_an_employees_own_matter_is_declined(demo: CardIndex, canteen: CardIndex, query: str) -> None:
    for index in (demo, canteen):
        result = rank(index, query)
        assert not result.answered, (query, result.ranked[:1], result.why)
        assert result.hits, "the ranking is still there for the gaps queue and suggestions"


@pytest.mark.parametrize(("query", "card_id"), [
    ("客户说按窗口收费太贵了", "F01"),
    ("学校后勤嫌系统贵", "F01"),
    ("医院信息科问订餐能不能接HIS", "F02"),
    ("工厂工人不愿意刷脸吃饭", "F03"),
    ("客户财务要先开票再付款", "F04"),
    ("法务问食品安全出了事谁负责", "F05"),
    ("客户问厨房改造安装要停火几天", "F06"),
    ("食堂阿姨学不会收银机", "F07"),
    ("客户担心设备坏了没人来修", "F08"),
    ("客户担心你们公司太小", "F09"),
    ("教育局要看食材留样记录", "F10"),
])
def test_the_same_words_from_a_customer_are_answered(canteen: CardIndex, query: str, card_id: str) -> None:
    """The near-miss counterparts: the customer is the subject, so the shared word is an objection."""
    result = rank(canteen, query)
    assert result.answered and result.ranked[0] == card_id, (query, result.ranked[:3], result.why)


@pytest.mark.parametrize(("query", "card_id"), [
    ("客户说价格太高了，要打八折", "K033"),
    ("客户担心你们公司太小", "K037"),
    ("价格谈不拢", "K033"),  # no customer named, but the whole query is the objection
    ("售后跟不上怎么办", "K038"),
])
def test_demo_objections_still_answer(demo: CardIndex, query: str, card_id: str) -> None:
    result = rank(demo, query)
    assert result.answered and result.ranked[0] == card_id


# Everyday sentences holding a word that is an objection only in a sale (贵, 慢, 麻烦, 担心, 考虑, 多少钱).
EVERYDAY = ["这家火锅店人均太贵了", "今天高速堵车好慢", "搬个工位真麻烦", "我老婆担心我熬夜", "露营的事我再考虑一下",
            "这双鞋多少钱", "外面下雨了打车有点贵"]


@pytest.mark.parametrize("query", EVERYDAY)
def test_one_everyday_objection_word_does_not_answer(demo: CardIndex, canteen: CardIndex, query: str) -> None:
    for index in (demo, canteen):
        result = rank(index, query)
        assert not result.answered, (query, result.ranked[:1], result.why)


@pytest.mark.parametrize(("query", "card_id"), [
    ("学校食堂嫌系统太贵", "F01"),  # the same word with a second, specific one beside it
    ("按窗口收费太贵了", "F01"),
    ("太贵了", "F01"),  # nothing but the objection: it is the whole question
])
def test_an_everyday_objection_word_with_the_cards_subject_answers(canteen: CardIndex, query: str,
                                                                     card_id: str) -> None:
    result = rank(canteen, query)
    assert result.answered and result.ranked[0] == card_id, (query, result.ranked[:3], result.why)


def test_a_card_about_the_matter_itself_still_answers(canteen: CardIndex) -> None:
    """食堂 is an employee's word, but on a canteen vendor's cards it is the subject: a question the card
    holds nearly all of is answered."""
    result = rank(canteen, "学校食堂按窗口计费")
    assert result.answered and result.ranked[0] == "F01"


@pytest.mark.parametrize("text", ["谢谢哈", "好的谢谢", "收到收到", "辛苦啦", "早上好呀", "谢谢老师", "多谢多谢！",
                                  "感谢感谢", "好嘞", "嗯嗯好的", "太感谢了", "新年快乐", "你好呀", "在么"])
def test_greetings_and_thanks_are_chatter(demo: CardIndex, text: str) -> None:
    """Chatter is neither searched nor logged as a knowledge gap (handlers check `is_chatter` first)."""
    assert is_chatter(text, T2S)
    assert not rank(demo, text).answered


@pytest.mark.parametrize("text", ["客户嫌贵", "好用吗", "测试报告", "可以打折吗", "行业案例"])
def test_short_questions_are_not_chatter(text: str) -> None:
    assert not is_chatter(text, T2S)
