"""Who the customer is when they say it in passing (issue 14): a title dropped because it was not said as
「我是…」, a verb phrase taken for the company, a cropped chat with no title bar. Invented people and companies."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from bot.config import OcrSettings
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract, extract_from_text
from ocr.people import NAMES as NAMES_ENGINE
from ocr.pipeline import read_image, validate
from tests.conftest import ENGINES
from tests.synth_people import draw

NAMES = ENGINES.get(NAMES_ENGINE)
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=CN_TZ)


def who(title: str | None, *items: tuple[str, str]) -> tuple[str | None, str | None, str | None]:
    regions = ([TextRegion("title", title)] if title else []) + [TextRegion(k, t) for k, t in items]
    lead = extract(ChatText(tuple(regions), True), NOW, names=NAMES)
    return lead.customer_name, lead.company, lead.title


@pytest.mark.parametrize(
    ("said", "title"),
    [
        ("我在松岭物流负责车队这块，想租两台叉车", "车队负责人"),
        ("我目前是总务部部长，洗涤外包归我管", "总务部部长"),
        ("我管人事，兼安全总监", "安全总监"),
        ("您好，我是物资科的科长，蒸柜想换新的", "物资科科长"),
        ("我在门店运营这边，是区域经理", "区域经理"),
        ("我是巡逻队队长，园区要加装道闸", "巡逻队队长"),
        ("我是负责采购的，想问下报价", "采购负责人"),
    ],
)
def test_a_title_said_in_passing_is_kept(said: str, title: str) -> None:
    assert who("闵雪晴", ("left", said))[2] == title


@pytest.mark.parametrize(
    "said",
    [
        "我们是做冷链配送的，想了解一下",
        "我这边是想先问问价格",
        "我们一家物流公司想租叉车",
        "我是开酒店的，床品要换",
        "公司最近在搞招标改革",
    ],
)
def test_a_verb_phrase_or_a_trade_is_never_the_company(said: str) -> None:
    assert who("闵雪晴", ("left", said))[1] is None


@pytest.mark.parametrize(
    ("said", "company"),
    [
        ("我们禾丰冷链这边要扩一个库", "禾丰冷链"),
        ("我是鹤鸣物业的工程主管", "鹤鸣物业"),
        ("澄江建材的，想租三吨叉车", "澄江建材"),
        ("我在港湾汽配负责采购", "港湾汽配"),
        ("鹤鸣物业这边要换一批垃圾桶", "鹤鸣物业"),
        ("发票抬头写全称：鹿岭酒店管理有限公司", "鹿岭酒店管理有限公司"),
    ],
)
def test_a_company_named_without_saying_company(said: str, company: str) -> None:
    assert who(None, ("left", said))[1] == company


def test_weak_evidence_makes_no_title() -> None:
    assert who("阮佳怡", ("right", "阮经理您好，报价发您了"), ("left", "收到"))[2] is None
    assert who("鹤鸣物业-庄总", ("left", "叉车下周能到吗")) == (None, "鹤鸣物业", None)
    assert who(None, ("left", "叫我小孔就行，我是澄江建材的采购专员"))[0] is None


def test_a_signature_wrapped_by_the_bubble() -> None:
    signed = "以上请报价\n青枫包装有限公司采购\n部殷立群经理\n电话13911112222"
    assert who(None, ("left", signed)) == ("殷立群", "青枫包装有限公司", "采购部经理")


def test_a_surname_then_the_full_name() -> None:
    got = who(None, ("left", "我是禾丰冷链的设备经理，姓戴"), ("left", "戴明哲，电话13522223333"))
    assert got == ("戴明哲", "禾丰冷链", "设备经理")
    assert who(None, ("left", "免贵姓蒲，蒲书阳"))[0] == "蒲书阳"


def test_a_typed_lead_reads_an_introduction_as_a_chat_does() -> None:
    said = "焦阳 目前是鹤鸣物业的工程部经理 13300002222"
    typed = extract_from_text(f"新线索 {said}", NOW, names=NAMES)
    assert (typed.customer_name, typed.company, typed.title) == ("焦阳", "鹤鸣物业", "工程部经理")
    assert who("焦阳", ("left", said.split(" ", 1)[1]))[1:] == ("鹤鸣物业", "工程部经理")


def test_a_cropped_chat_with_no_title_bar_is_read_to_its_last_message() -> None:
    case = {
        "title": None,
        "items": [["left", "你好，我是北港码头设备部的，叉车要年检了"], ["left", "我姓宁，宁晓光，设备部副部长"]],
    }
    settings = OcrSettings()
    lead = read_image(validate(draw(case, 7), settings), NOW, settings, engines=ENGINES)
    assert lead.chat_title is None  # the timestamp over the first message is no title
    # the name and title are said in the last message, at the crop's very bottom
    assert (lead.customer_name, lead.company, lead.title) == ("宁晓光", "北港码头", "设备部副部长")
