"""Ranking with an admin's own words (issue 13, held-out C): keywords and new axis values the shipped vocabulary
reads differently, a cue word alone against a card about the rest of the query, pinyin initials, homophones of
grammar words and modal verbs. An invented building-services vendor's cards, read as the importer reads them."""

from __future__ import annotations

import pytest

from knowledge.index import CardIndex, Tokenizer, build_index, is_superseded
from knowledge.query import SIMPLIFIER
from knowledge.schema import KbCard, parse_card
from knowledge.search import rank
from knowledge.taxonomy import load_taxonomy
from tests.conftest import ENGINES  # this test process's (no services here)

T2S = ENGINES.get(SIMPLIFIER)

TAXONOMY = load_taxonomy()
ROWS = [
    ("W01", "合同能源管理：空调改造零投入", "", "节能", "我们出设备，省下的电费按比例分成，客户不用先掏钱。",
     "合同能源管理|分成"),
    ("W02", "合同条款：违约金上限", "", "合同", "违约金不超过合同总额的百分之十，双方对等。", "违约金"),
    ("W03", "双十二活动：首年九折", "", "促销", "十二月签约首年九折，再送一次深度保养。", "活动|优惠"),
    ("W04", "标准报价单", "", "价格", "每台一万二，含安装和首年保养。", "报价"),
    ("W05", "门禁报警没人处理：升级到值班经理", "", "报警处理",
     "报警十分钟没人确认就打电话给值班经理，再没人处理通知老板。", "值班"),
    ("W06", "售后：四小时上门", "", "售后", "地级市四小时响应，次日上门，备件先寄。", "上门"),
    ("W07", "数据归客户：随时导出", "", "数据安全", "数据归客户所有，也可以私有化部署在客户机房里。", "私有化|导出"),
    ("W08", "国产化适配", "", "信创", "适配国产操作系统和国产数据库。", ""),
    ("W09", "电子围栏：危险区域闯入报警", "工厂", "安全生产", "画出危险区域，有人闯入立刻报警给班组长。", "电子围栏"),
    ("W10", "烘焙连锁后厨：烤箱温度手机上看", "烘焙连锁", "温控", "后厨烤箱和冷柜的温度在手机上看，超温提醒店长。", ""),
]


def cards() -> list[KbCard]:
    return [parse_card({"id": i, "title": t, "industry": ind, "objection": obj, "talk_track": talk,
                        "keywords": kws, "updated_at": "2026-05-01"}, TAXONOMY.resolve)
            for i, t, ind, obj, talk, kws in ROWS]


@pytest.fixture(scope="module")
def index() -> CardIndex:
    return build_index(cards(), TAXONOMY, Tokenizer(TAXONOMY.dictionary_words(), ENGINES))


def first(index: CardIndex, query: str) -> str:
    result = rank(index, query)
    assert result.answered, query
    return result.ranked[0]


def test_an_admins_term_is_not_the_vocabulary_word_inside_it(index: CardIndex) -> None:
    assert first(index, "合同能源管理") == "W01"  # not the contract card through 合同
    assert first(index, "合同能源管里") == "W01"  # a typo of the term too


def test_a_keyword_counts_fully_on_the_card_the_admin_filed_it_under(index: CardIndex) -> None:
    assert first(index, "现在有什么优惠活动") == "W03"  # 优惠 is a price word to the vocabulary


def test_a_cue_word_alone_does_not_outrank_the_card_about_the_rest(index: CardIndex) -> None:
    assert first(index, "报警了没人管") == "W05"  # 没人管 names after-sales; the question is about alarms


def test_a_new_value_holding_two_known_values_fits_both() -> None:
    taxonomy = TAXONOMY.extended({"industry": {"烘焙连锁"}})
    assert TAXONOMY.joins("industry", "烘焙连锁") is None  # 餐饮 (烘焙) and 零售 (连锁): it joins neither
    assert set(taxonomy.related_to("industry", "烘焙连锁")) == {"餐饮", "零售"}


def test_the_bakery_chain_card_answers_a_bakery(index: CardIndex) -> None:
    result = rank(index, "面包店后厨温度怎么看")
    assert result.answered and result.ranked[0] == "W10" and "烘焙连锁" in result.why


def test_initials_and_pinyin_beside_a_known_latin_word(index: CardIndex) -> None:
    assert first(index, "dzwl") == "W09"  # 电子围栏 typed as initials
    assert index.pinyin.read("poc shidian") == "poc 试点"  # poc kept, the rest still read


def test_a_grammar_word_is_no_typo(index: CardIndex) -> None:
    result = rank(index, "客户老是不回")  # 老是, not 老师 (a teacher: role and industry)
    assert "role" not in result.matched and "industry" not in result.matched


def test_a_modal_verb_does_not_split_a_cue(index: CardIndex) -> None:
    assert rank(index, "以后数据能带走吗").matched.get("objection") == ("安全",)


def test_an_expired_promotion_is_superseded() -> None:
    assert is_superseded(KbCard(id="P1", title="国庆活动：年费八折（已结束）"), T2S)
    assert not is_superseded(KbCard(id="P2", title="结束语怎么说"), T2S)
