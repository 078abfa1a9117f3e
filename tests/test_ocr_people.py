"""Names, titles and companies from what customers say, referrals, and one extractor for typed leads."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract, extract_from_text
from ocr.people import clean_company, person_in, role_in

NOW = datetime(2024, 10, 24, 16, 0, tzinfo=CN_TZ)


def chat(title: str, *items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", title), *(TextRegion(k, t) for k, t in items)), True)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("您好，我是杭州澄湖检测技术有限公司采购经理，祁晓棠，想咨询一下",
         ("祁晓棠", "杭州澄湖检测技术有限公司", "采购经理")),
        ("Hi，我是苏州柏川精工有限公司的财务总监严可馨，朋友推荐的", ("严可馨", "苏州柏川精工有限公司", "财务总监")),
        ("你好，我叫晏北辰，宁波澜石集团有限公司的，在网上看到你们", ("晏北辰", "宁波澜石集团有限公司", None)),
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
                        ("left", "兄弟，给你推荐个客户：常州禾丰包装有限公司的采购经理苗语桐，他们最近在看洗眼器"),
                        ("right", "感谢推荐！"),
                        ("left", "这是他手机13566667777，微信同号"),
                        ("left", "我的电话13500001111")), NOW)
    assert (lead.customer_name, lead.company, lead.title) == ("苗语桐", "常州禾丰包装有限公司", "采购经理")
    assert lead.phone == "13566667777" and lead.wechat_id is None


def test_title_bar_name_mended_from_how_the_rep_addresses_the_customer() -> None:
    lead = extract(chat("到语桐@禾丰包装", ("right", "苗老师您好"), ("left", "电话13566667777")), NOW)
    assert lead.customer_name == "苗语桐"


def test_wechat_same_as_phone_is_no_wechat_id() -> None:
    lead = extract(chat("苗语桐@禾丰包装", ("left", "电话13566667777（微信同号）")), NOW)
    assert (lead.phone, lead.wechat_id) == ("13566667777", None)


def test_typed_lead_and_screenshot_agree_on_people() -> None:
    typed = extract_from_text("新线索 客户是常州禾丰包装有限公司的采购经理苗语桐，电话13566667777", NOW)
    assert (typed.customer_name, typed.company, typed.title) == ("苗语桐", "常州禾丰包装有限公司", "采购经理")
    terse = extract_from_text("新线索 苗语桐-禾丰包装-采购经理 13566667777", NOW)
    assert (terse.customer_name, terse.company, terse.title) == ("苗语桐", "禾丰包装", "采购经理")
