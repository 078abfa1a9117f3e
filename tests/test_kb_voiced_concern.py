"""A customer's concern said in words of their own, against off-topic asks that share as little with the cards.

The cards are an invented security-guard service vendor (none of it from an evaluation set): a query sharing one
piece or none with its card, and no objection or card keyword, was declined as found by chance. When a customer
voices it (说, 嫌, 担心 — not a question relayed, not the rep's errand for a customer) in words some card uses, the
fitted decision weighs it instead.
"""

from __future__ import annotations

import pytest

from knowledge import frame
from knowledge.index import CardIndex, build_index
from knowledge.schema import KbCard
from knowledge.search import rank
from tests.kb_support import TAXONOMY, new_tokenizer

GUARDS = [
    KbCard(id="G1", title="夜班保安打瞌睡：巡更打卡与抽查", objection="服务质量",
           talk_track="夜班每两小时巡更打卡一次，主管不定时抽查，睡岗一次扣当月奖金并立即换人。",
           keywords=("巡更", "睡岗")),
    KbCard(id="G2", title="保安年纪偏大：招聘与上岗培训", objection="人员素质",
           talk_track="驻场保安四十五岁以下，退伍军人优先，上岗前集中培训七天，考核合格才派驻。",
           keywords=("退伍军人", "上岗培训")),
    KbCard(id="G3", title="驻场保安月费报价", objection="价格",
           talk_track="单岗二十四小时三班倒每月一万二，含社保、制服和对讲机，签一年再让五个点。",
           keywords=("月费", "单岗")),
    KbCard(id="G4", title="对保安不满意多久能换人", objection="响应速度",
           talk_track="客户对哪位保安不满意，提出后四十八小时内换岗，新人先跟班一天再独立上岗。",
           keywords=("换岗", "换人")),
    KbCard(id="G5", title="大型活动临时安保", objection="临时需求",
           talk_track="演出、展会和开业典礼的临时安保按人天计费，提前三天预约，百人以上另派现场指挥。",
           keywords=("临时安保", "人天")),
    KbCard(id="G6", title="门岗访客登记太慢", objection="效率",
           talk_track="门岗用身份证读卡登记，访客十秒通过，高峰期加派一人引导车辆。",
           keywords=("访客登记", "门岗")),
]


@pytest.fixture(scope="module")
def index() -> CardIndex:
    return build_index(GUARDS, TAXONOMY, new_tokenizer())


@pytest.mark.parametrize(("query", "card"), [
    ("业主说晚上站岗的在睡觉", "G1"),
    ("对方担心开业那天人太多", "G5"),
])
def test_a_customers_concern_in_their_own_words_is_answered(index: CardIndex, query: str, card: str) -> None:
    found = rank(index, query)
    assert found.answered and found.ranked[0] == card, (found.ranked, found.answered)


def test_the_same_words_with_no_customer_voicing_them_are_declined(index: CardIndex) -> None:
    assert rank(index, "对方担心开业那天人太多").answered
    assert not rank(index, "开业那天人太多").answered  # one shared piece and nobody's concern: chance


@pytest.mark.parametrize("query", [
    "客户问你们单位饭堂中午几点开",  # a question relayed may be about anything
    "给客户送节日礼品选什么",  # the customer is the object of the rep's errand
    "我晚上值班能不能睡觉",  # the rep's own matter
])
def test_an_off_topic_ask_around_a_customer_is_declined(index: CardIndex, query: str) -> None:
    found = rank(index, query)
    assert not found.answered, (found.ranked, found.why)


@pytest.mark.parametrize(("text", "voiced"), [
    ("客户说等领导回来再定", True),
    ("对方觉得太麻烦", True),
    ("业主不放心晚上没人", True),
    ("客户问你们几点下班", False),
    ("给客户送月饼", False),
    ("我担心明天下雨", False),
])
def test_a_customer_voices_a_concern_but_not_a_question_or_an_errand(text: str, voiced: bool) -> None:
    tokens = new_tokenizer().cut(text)
    assert frame.customer_voices(text, tokens) is voiced
