"""Who the customer is, in the forms people write it: signatures over several lines, names after a title and a
comma, companies named without 「我们公司是」, titles said as what one looks after — and what is never a name."""

from __future__ import annotations

import pytest

from ocr.extract import extract, extract_from_text
from ocr.people import parse_title_bar, person_in, role_in
from tests.test_ocr_people import NAMES, NOW, chat


def who(title: str | None, *items: tuple[str, str]) -> tuple[str | None, str | None, str | None]:
    lead = extract(chat(title, *items) if title else chat("", *items), NOW, names=NAMES)
    return lead.customer_name, lead.company, lead.title


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        ("好的\n闵若溪 | 川岳机床 | 采购专员\n电话13955501234", ("闵若溪", "川岳机床", "采购专员")),
        ("资料收到\n—— 钟离暮云\n松涛新材料有限公司 研发总监", ("钟离暮云", "松涛新材料有限公司", "研发总监")),
        ("多谢\n郑可言\n工艺部经理\n晴川压铸有限公司", ("郑可言", "晴川压铸有限公司", "工艺部经理")),
        ("清单见附件\n单位：沐阳电子科技有限公司\n联系人：潘立\n职务：设备工程师",
         ("潘立", "沐阳电子科技有限公司", "设备工程师")),
    ],
)
def test_a_signature_on_one_line_or_several(lines: str, want: tuple[str, str, str]) -> None:
    assert who(None, ("left", lines)) == want


def test_a_word_that_repeats_one_character_is_no_name() -> None:
    assert who(None, ("left", "谢谢\n房子轩\n质量部经理\n晴川压铸有限公司"))[0] == "房子轩"
    assert who(None, ("left", "哈哈\n好的"))[0] is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("我是澜湾光电的CTO 倪一帆", ("倪一帆", "澜湾光电", "CTO")),
        ("我是铭远模具的老板，费建国", ("费建国", "铭远模具", "老板")),
        ("给你介绍个客户，嘉禾机电的采购主管韦雯，他们在找供应商", ("韦雯", "嘉禾机电", "采购主管")),
        ("我同学在丰年食品当厂长，叫邵安平", ("邵安平", "丰年食品", "厂长")),
        ("我是采购部的主管，戴飞", ("戴飞", None, "采购部主管")),
    ],
)
def test_a_name_after_the_title_or_in_a_referral(text: str, want: tuple[str, str | None, str]) -> None:
    p = person_in(text)
    assert (p.name, p.company, p.title) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("我是管设备的，车间那边用量很大", "设备负责人"),
        ("我姓卫，卫明，在锦溪不锈钢负责采购这块", "采购负责人"),
        ("我负责我们集团的后勤", "后勤负责人"),
        ("我是江北造纸的采购", "采购"),
        ("我是面粉厂的品控主管", "品控主管"),
        ("我是替我们总监问的，先发份资料", None),
        ("我们车间主任同意了", None),
    ],
)
def test_titles_said_as_what_one_does(text: str, want: str | None) -> None:
    assert role_in(text) == want


@pytest.mark.parametrize(
    ("items", "want"),
    [
        ((("left", "我们公司叫恒远铸造，我是采购经理"),), "恒远铸造"),
        ((("left", "我们厂在开发区，叫新航机械"),), "新航机械"),
        ((("left", "我们饭店叫聚丰轩，在老城区"),), "聚丰轩"),
        ((("left", "你好，我是东岭焊材的"), ("left", "想找新的供应商")), "东岭焊材"),
        ((("left", "我是金川物流的小宋，经理让我问问"),), "金川物流"),
        ((("left", "我目前是行政总监，公司搬新厂区了"),), None),
        ((("left", "我们这边在看储罐，在老城区"),), None),
    ],
)
def test_companies_named_without_our_company_is(items: tuple[tuple[str, str], ...], want: str | None) -> None:
    assert who(None, *items)[1] == want


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("明岗医院-蔺主任", (None, "明岗医院", None)),  # a surname and a rank: neither a name nor a title
        ("Kevin@澄江半导体", ("Kevin", "澄江半导体", None)),
        ("8 外部 宁婉清@悦来餐饮", ("宁婉清", "悦来餐饮", None)),  # a brand's 来 is no verb in the company slot
        ("顾宇-博川实验室", ("顾宇", "博川实验室", None)),
    ],
)
def test_remark_forms(title: str, want: tuple[str | None, str | None, str | None]) -> None:
    bar = parse_title_bar(title, NAMES)
    assert (bar.name, bar.company, bar.title) == want


def test_a_referral_by_pointing_at_someone_does_not_name_the_referrer() -> None:
    got = who("杭远", ("left", "老王，我同学在丰年食品当厂长，叫邵安平，要二氧化碳"), ("left", "你联系他吧"))
    assert got == ("邵安平", "丰年食品", "厂长")


def test_a_latin_name_the_customer_asks_to_be_called_by() -> None:
    assert who(None, ("left", "我是霁月餐饮管理有限公司的运营总监，叫我Amy就行")) == (
        "Amy", "霁月餐饮管理有限公司", "运营总监")


@pytest.mark.parametrize(
    ("typed", "want"),
    [
        ("新线索 客户是华岩玻璃的厂长司徒浩，电话13700011125", ("司徒浩", "华岩玻璃", "厂长")),
        ("新线索 湘悦小厨 店长祁雪 13566778899", ("祁雪", "湘悦小厨", "店长")),
        ("新线索：郎天佑，福源楼厨师长，13566778800", ("郎天佑", "福源楼", "厨师长")),
    ],
)
def test_typed_leads_read_people_alike(typed: str, want: tuple[str, str, str]) -> None:
    lead = extract_from_text(typed, NOW, names=NAMES)
    assert (lead.customer_name, lead.company, lead.title) == want


def test_a_company_and_title_said_without_a_name_is_still_a_lead() -> None:
    """The name was unreadable (or never said), but the customer said where they work and what they do there,
    and a time was agreed: a rep follows that up, so it is a lead with the name left blank."""
    lead = extract(chat("晨星", ("left", "你好，我是临川精密铸造有限公司的设备部经理"),
                        ("right", "好的，那周四下午两点给您打电话细聊"), ("left", "行")), NOW, names=NAMES)
    assert lead.is_lead and lead.customer_name is None
    assert (lead.company, lead.title) == ("临川精密铸造有限公司", "设备部经理")


def test_a_colleague_saying_company_and_title_is_still_no_lead() -> None:
    lead = extract(chat("王磊", ("left", "我是咱们公司销售部经理，明天例会记得带周报"),
                        ("right", "收到，王经理")), NOW, names=NAMES)
    assert not lead.is_lead
