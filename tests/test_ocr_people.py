"""Names, titles and companies from what customers say, referrals, and one extractor for typed leads."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract, extract_from_text
from ocr.people import NAMES as NAMES_ENGINE
from ocr.people import clean_company, person_in, role_in
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

NOW = datetime(2024, 10, 24, 16, 0, tzinfo=CN_TZ)


def chat(title: str, *items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", title), *(TextRegion(k, t) for k, t in items)), True)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("您好，我是杭州澄湖检测技术有限公司采购经理，祁晓棠，想咨询一下",
         ("祁晓棠", "杭州澄湖检测技术有限公司", "采购经理")),
        ("Hi，我是苏州柏川精工有限公司的财务总监严可馨，朋友推荐的", ("严可馨", "苏州柏川精工有限公司", "财务总监")),
        ("你好，我叫晏北辰，宁波澜石集团有限公司的，朋友推荐来的", ("晏北辰", "宁波澜石集团有限公司", None)),
        ("我是设备科主任乔慕白", ("乔慕白", None, "设备科主任")),
        ("给你推荐个客户：温州青桐塑业有限公司的生产部经理简思远，他们最近在看",
         ("简思远", "温州青桐塑业有限公司", "生产部经理")),
    ],
)
def test_self_introductions(text: str, want: tuple[str | None, str | None, str | None]) -> None:
    p = person_in(text)
    assert (p.name, p.company, p.title) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [("目前是行政总监", "行政总监"), ("我是设备科主任，负责采购", "设备科主任"), ("我是公司的总经理", "总经理"),
     ("我是这边的厂长", "厂长"), ("想了解一下", None)],
)
def test_roles_people_state(text: str, want: str | None) -> None:
    assert role_in(text) == want


@pytest.mark.parametrize("phrase", ["想了解一下", "在看方案", "我们公司", "A类客户"])
def test_a_verb_phrase_or_tag_is_never_a_company(phrase: str) -> None:
    assert clean_company(phrase) is None


def test_a_referral_makes_the_referred_person_the_lead() -> None:
    lead = extract(chat("郎启明@砚台物流",
                        ("left", "哥们，推荐个客户给你：常州禾丰包装有限公司的采购经理苗语桐，他们最近在看洗眼器"),
                        ("right", "感谢推荐！"),
                        ("left", "这是他手机13566667777，微信同号"),
                        ("left", "我的电话13500001111")), NOW, names=NAMES)
    assert (lead.customer_name, lead.company, lead.title) == ("苗语桐", "常州禾丰包装有限公司", "采购经理")
    assert lead.phone == "13566667777" and lead.wechat_id is None


def test_title_bar_name_mended_from_how_the_rep_addresses_the_customer() -> None:
    lead = extract(chat("到语桐@禾丰包装", ("right", "苗老师您好"), ("left", "电话13566667777")), NOW, names=NAMES)
    assert lead.customer_name == "苗语桐"


def test_wechat_same_as_phone_is_no_wechat_id() -> None:
    lead = extract(chat("苗语桐@禾丰包装", ("left", "电话13566667777（微信同号）")), NOW, names=NAMES)
    assert (lead.phone, lead.wechat_id) == ("13566667777", None)


def test_typed_lead_and_screenshot_agree_on_people() -> None:
    typed = extract_from_text("新线索 客户是常州禾丰包装有限公司的采购经理苗语桐，电话13566667777", NOW, names=NAMES)
    assert (typed.customer_name, typed.company, typed.title) == ("苗语桐", "常州禾丰包装有限公司", "采购经理")
    terse = extract_from_text("新线索 苗语桐-禾丰包装-采购经理 13566667777", NOW, names=NAMES)
    assert (terse.customer_name, terse.company, terse.title) == ("苗语桐", "禾丰包装", "采购经理")


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["您好，我是顺路快递的，您的包裹到驿站了", "取件码 3-2-1107，电话13511112222"], "courier"),
        (["下午的例会改到三点", "报销单记得找领导审批，我手机13511112222"], "colleague_chat"),
        (["我换号了，新号码13511112222，存一下", "周末一起吃饭"], "personal"),
        (["【江岸银行】您尾号6621的账户于12日入账5,000.00元，余额8,112.30元"], "bank_sms"),
    ],
)
def test_chats_with_a_number_that_are_no_lead_say_what_they_are(lines: list[str], reason: str) -> None:
    lead = extract(chat("龙一帆", *(("left", x) for x in lines)), NOW, names=NAMES)
    assert not lead.is_lead and lead.reject_reason == reason


def test_a_customer_project_group_is_a_lead_when_a_customer_introduces_themself() -> None:
    group = chat("禾丰包装-项目对接群(6)",
                 ("left", "大家好，我是常州禾丰包装有限公司的采购经理苗语桐，电话13566667777"),
                 ("left", "收到"), ("right", "苗经理好，方案今天发群里"))
    lead = extract(group, NOW, names=NAMES)
    assert lead.is_lead and (lead.customer_name, lead.phone) == ("苗语桐", "13566667777")
    chatter = extract(chat("周末羽毛球(12)", ("left", "联系人龙一帆，电话13511112222"), ("left", "好的")),
                      NOW, names=NAMES)
    assert not chatter.is_lead and chatter.reject_reason == "group_chat"


def test_a_quoted_reply_belongs_to_the_quoted_speaker() -> None:
    lead = extract(chat("苗语桐@禾丰包装",
                        ("right", "我是云启的小郑，电话13900001111"),
                        ("left", "好的，收到"),
                        ("left", "郑磊：我是云启的小郑，电话13900001111"),  # the customer quotes the rep
                        ("right", "苗语桐：我手机13566667777"),  # the rep quotes the customer
                        ), NOW, names=NAMES)
    assert lead.phone == "13566667777"


def test_full_width_digits_and_spoken_budgets() -> None:
    lead = extract(chat("苗语桐@禾丰包装", ("left", "手机：１３５ ６６６６ ７７７７"), ("left", "预算两百来万吧")),
                   NOW, names=NAMES)
    assert (lead.phone, lead.budget_cny) == ("13566667777", 2_000_000)
    assert extract(chat("苗语桐@禾丰包装", ("left", "电话13566667777，预算¥350,000")),
                   NOW, names=NAMES).budget_cny == 350_000
    assert extract(chat("苗语桐@禾丰包装", ("left", "电话13566667777，预算六十个w")),
                   NOW, names=NAMES).budget_cny == 600_000


def test_typed_lead_with_company_and_title_run_together() -> None:
    lead = extract_from_text("新线索 客户柏子衿，澄湖检测技术有限公司采购经理，预算两百来万", NOW, names=NAMES)
    assert (lead.customer_name, lead.company, lead.title) == ("柏子衿", "澄湖检测技术有限公司", "采购经理")
    assert lead.budget_cny == 2_000_000 and lead.needs == ()


def test_one_name_read_two_ways_keeps_the_likelier_reading() -> None:
    # The introduction's given name was misread as a character no one is named with (试 for 斌); the title bar
    # holds the right one. Whichever of the two is misread, the reading with the name character wins.
    intro = "您好，我是澄湖检测技术有限公司的采购经理{}，朋友推荐的"
    assert extract(chat("柏文斌", ("left", intro.format("柏文试"))), NOW, names=NAMES).customer_name == "柏文斌"
    assert extract(chat("柏文试", ("left", intro.format("柏文斌"))), NOW, names=NAMES).customer_name == "柏文斌"
    # Two different people (a nickname remark, a colleague's name) are not one name read twice.
    assert extract(chat("柏文斌", ("left", intro.format("柏子衿"))), NOW, names=NAMES).customer_name == "柏子衿"


def test_a_company_whose_name_holds_a_shorter_suffix_is_read_whole() -> None:
    # 「…银行股份有限公司」: the introduction is not cut at 银行, nor the name lost at 「有限」.
    said = "大家好，我是澄湖农村商业银行股份有限公司的技术负责人柏子衿，电话13566667777"
    p = person_in(said)
    assert (p.name, p.company, p.title) == ("柏子衿", "澄湖农村商业银行股份有限公司", "技术负责人")


def test_the_introduced_company_is_not_cut_to_a_shorter_name_inside_it() -> None:
    said = "大家好，我是澄湖农村商业银行股份有限公司的副院长柏子衿，电话13566667777"
    assert extract(chat("澄湖对接群(7)", ("left", said)), NOW, names=NAMES).company == "澄湖农村商业银行股份有限公司"


@pytest.mark.parametrize(
    ("raw", "want"),
    [("丨 晨溪生物科技有限公司", "晨溪生物科技有限公司"), ("| 岚桥新材料", "岚桥新材料"),
     ("云杉包装有限公司 -", "云杉包装有限公司"), ("· 洛川电气 ·", "洛川电气")],
)
def test_a_separator_at_the_ends_is_never_part_of_a_company(raw: str, want: str) -> None:
    assert clean_company(raw) == want


def test_a_dingtalk_subtitle_company_loses_the_separator_after_its_tag() -> None:
    lead = extract(chat("蒲云舟\n外部 | 岚桥新材料有限公司", ("left", "想了解一下报价，电话13911112222")),
                   NOW, names=NAMES)
    assert lead.company == "岚桥新材料有限公司"


@pytest.mark.parametrize("title", ["柏青禾@作信", "柏青禾@徽信", "柏青禾 @ 微倍"])
def test_a_misread_wecom_tag_is_never_the_company(title: str) -> None:
    lead = extract(chat(title, ("left", "想了解一下报价，电话13911112222")), NOW, names=NAMES)
    assert lead.company is None


def test_a_wecom_company_tag_still_gives_the_company() -> None:
    lead = extract(chat("柏青禾@岚桥新材料有限公司", ("left", "想了解一下报价，电话13911112222")), NOW, names=NAMES)
    assert lead.company == "岚桥新材料有限公司"


@pytest.mark.parametrize(
    ("text", "want"),
    [("您好，我是岭南精工的欧阳澈，车间主任", "车间主任"),
     ("你好 我是贺知遥，在青岚纸品做采购主管", "采购主管"),
     ("我是栖霞农牧的邬子衿，负责信息化，总经理助理", "总经理助理"),
     ("你好，我是晨溪制药品质部经理柯以宁", "品质部经理"),
     ("您好 我是云杉物业的杭若水，IT经理", "IT经理"),
     ("我是柯以宁，老板让我问问", None)],
)
def test_a_title_said_beside_the_self_introduction(text: str, want: str | None) -> None:
    assert role_in(text) == want


def test_company_department_rank_and_name_run_together() -> None:
    p = person_in("你好，我是晨溪制药质量部部长柯以宁")
    assert (p.name, p.company, p.title) == ("柯以宁", "晨溪制药", "质量部部长")


def test_a_company_someone_works_at_as_a_title() -> None:
    lead = extract(chat("贺知遥", ("left", "你好 我是贺知遥，在青岚纸品做采购主管"),
                        ("left", "想了解一下报价，电话13911112222")), NOW, names=NAMES)
    assert (lead.customer_name, lead.company, lead.title) == ("贺知遥", "青岚纸品", "采购主管")


@pytest.mark.parametrize(
    ("lines", "want"),
    [(("电话13911112222，邮箱linqh", "Q@yunshan-pack.com"), "linqh@yunshan-pack.com"),
     (("电话13911112222，邮箱lin", "qhQ@yunshan-pack.com"), "linqh@yunshan-pack.com"),
     (("电话13911112222，邮箱linqhQ@yunshan-pack.com",), "linqh@yunshan-pack.com")],
)
def test_a_small_at_sign_read_as_q_and_a_wrapped_address(lines: tuple[str, ...], want: str) -> None:
    lead = extract(chat("贺知遥", ("left", "\n".join(lines))), NOW, names=NAMES)
    assert lead.email == want


@pytest.mark.parametrize("title", ["苗嘉禾-北辰纸业-采购经理@作信", "苗嘉禾-北辰纸业-采购经理@WeChat",
                                   "苗嘉禾-北辰纸业-采购经理Q微信", "苗嘉禾一北辰纸业一采购经理@微信",
                                   "苗嘉禾-北辰纸业-采购经理@微"])
def test_a_name_company_title_remark_with_its_wecom_tag_misread(title: str) -> None:
    """「姓名-公司-职务」 followed by WeCom's 「@微信」 tag, the tag (or the @ before it, or the dashes) misread: the
    remark's three parts are still the customer's name, company and title."""
    from ocr.people import parse_title_bar

    bar = parse_title_bar(title, NAMES)
    assert (bar.name, bar.company, bar.title) == ("苗嘉禾", "北辰纸业", "采购经理")


@pytest.mark.parametrize(("title", "want"), [("李唯一-恒泰精密", ("李唯一", "恒泰精密")),
                                             ("一汽丰田-张伟", ("张伟", "一汽丰田"))])
def test_a_real_yi_is_not_taken_for_a_dash(title: str, want: tuple[str, str]) -> None:
    from ocr.people import parse_title_bar

    bar = parse_title_bar(title, NAMES)
    assert (bar.name, bar.company) == want


@pytest.mark.parametrize("evidence", [("left", "邮箱 gongye@ningyuanpv.cn"), ("right", "龚烨您好，资料已发您邮箱"),
                                      ("left", "——龚烨 宁远光电")])
def test_a_misread_title_name_gives_way_to_the_name_the_chat_bears_out(evidence: tuple[str, str]) -> None:
    """The title bar reads 「龚华」 (a commoner given-name character than the real 「烨」); the customer introduces
    themself as 龚烨 and the chat says it again, or their email spells it: 龚烨 is the name."""
    lead = extract(chat("龚华", ("left", "你好，我是龚烨，宁远光电的，想了解一下你们的巡检机器人"), evidence,
                        ("left", "我手机13912345678")), NOW, names=NAMES)
    assert lead.customer_name == "龚烨"


def test_a_misread_introduction_gives_way_to_the_title_the_chat_bears_out() -> None:
    lead = extract(chat("杨斌", ("left", "你好，我是杨试，想了解一下你们的考勤系统"), ("right", "杨斌您好，稍后联系您"),
                        ("left", "我手机13912345678")), NOW, names=NAMES)
    assert lead.customer_name == "杨斌"
