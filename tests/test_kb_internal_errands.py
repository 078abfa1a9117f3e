"""Internal errands beside a customer or role word, and an admin's own objection labels.

The cards are bench/data/kb_heldoutH_cards.jsonl: an invented cold-storage temperature-monitoring vendor whose
admin labelled objections with domain words of its own (年服务费, 安装要停库, 测温不准, 过飞检 …). None of it
comes from an evaluation set.
"""

from __future__ import annotations

import pytest

from knowledge.index import CardIndex
from knowledge.search import rank
from tests.kb_support import BENCH_DATA, index_of

CARDS = BENCH_DATA / "kb_heldoutH_cards.jsonl"


@pytest.fixture(scope="module")
def index() -> CardIndex:
    return index_of(CARDS)


@pytest.mark.parametrize("query", [
    "客户要我们帮忙招两个库管员",  # recruiting for a customer: the role word (库管员) is on a card
    "给客户开票的税号去哪查",
    "借公司的车去见冷库老板要申请吗",
    "见客户的出差补贴怎么算",
    "库管员培训要写的日报模板去哪下载",
    "客户展会上我们展台怎么布置",
    "客户问我们公司会不会上市",
    "库管员被挖走了怎么交接",
    "帮客户搬家要不要去",
    "我下个月休产假工作怎么交接",
])
def test_an_internal_errand_is_declined_whatever_role_or_customer_it_names(index: CardIndex, query: str) -> None:
    found = rank(index, query)
    assert not found.answered, (found.ranked, found.why)


@pytest.mark.parametrize(("query", "card"), [
    ("装探头得把库清空 客户怕耽误出货", "H02"),
    ("服务费是不是每年都要交 客户觉得多", "H01"),
    ("客户嫌服务费每年都要交", "H01"),
    ("客户老是拖着不给准信", "H04"),
    ("仓库的人不愿意用 嫌麻烦", "H05"),
    ("客户担心装了以后冷库厂家不管保修", "H08"),
    ("客户说后台看不懂", "H09"),
])
def test_an_admins_own_label_answers_in_the_reps_words(index: CardIndex, query: str, card: str) -> None:
    found = rank(index, query)
    assert found.answered and found.ranked[0] == card, (found.ranked, found.why)


@pytest.mark.parametrize(("query", "card"), [
    ("客户比别家贵一大截", "H10"),  # we are the dearer one: a price objection, not a rival named
    ("客户说不如别人家便宜", "H10"),
    ("客户说你们比同行贵不少", "H10"),
    ("客户说别家报价更低", "H11"),  # the rival's offer is the subject: the competitor card
])
def test_a_price_comparison_with_others_is_a_price_objection(index: CardIndex, query: str, card: str) -> None:
    found = rank(index, query)
    assert found.answered and found.ranked[0] == card, (found.ranked, found.why)


@pytest.mark.parametrize("query", ["客户那边拍板太慢了", "客户迟迟不拍板怎么催", "客户一直不给个准话"])
def test_a_slow_decision_said_with_the_deciders_word_is_the_decision_card(index: CardIndex, query: str) -> None:
    found = rank(index, query)  # 拍板 alone names who decides (a role); 拍板太慢 is how slowly
    assert found.answered and found.ranked[0] == "H04", (found.ranked, found.why)


def test_an_admins_label_joining_a_value_is_not_replaced_by_a_newer_card_of_that_value(index: CardIndex) -> None:
    found = rank(index, "客户说原来装过一套别的")  # 已装别家系统 joined 竞品; the newer 竞品 card is another subject
    assert found.ranked[0] == "H07", found.ranked
