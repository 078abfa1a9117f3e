"""A catalog listing full product names without synonyms: customers ask for parts or near forms of them."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from ocr.catalog import parse_catalog_text
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract, extract_from_text
from ocr.people import NAMES as NAMES_ENGINE
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)
NOW = datetime(2025, 3, 11, 10, 0, tzinfo=CN_TZ)
# a made-up access-control vendor, full names only
GATES = parse_catalog_text("智能门锁系统\n车辆识别道闸\n视频监控摄像机\n可视对讲系统\n访客机\nNVR硬盘录像机\n"
                           "人脸识别门禁一体机\n周界报警系统\n")
# a made-up kitchen-equipment maker
KITCHEN = parse_catalog_text("商用洗碗机\n燃气炒炉\n冷藏工作台\n油烟净化器\n")


@pytest.mark.parametrize(
    ("said", "want"),
    [
        ("宿舍楼的门锁想全部换掉", ["智能门锁系统"]),  # the head noun
        ("东门道闸老是抬不起来", ["车辆识别道闸"]),
        ("车牌识别那套多少钱", ["车辆识别道闸"]),  # an equivalent a sales team uses
        ("操场要加监控", ["视频监控摄像机"]),  # the front of the name, then the clause ends
        ("摄像头大概要二十个", ["视频监控摄像机"]),
        ("视频对讲也要看看", ["可视对讲系统"]),
        ("访客登记现在是手写的", ["访客机"]),
        ("存储要能放30天", ["NVR硬盘录像机"]),
        ("加个微信吧，下周开会再说", []),  # everyday words name no product
        ("监控室在一楼", []),  # the front of a name going on into another word
        ("我们食堂洗碗机坏了，炒炉也旧了", None),
    ],
)
def test_parts_and_near_forms_of_a_full_name(said: str, want: list[str] | None) -> None:
    if want is None:
        assert KITCHEN.find(said) == ["商用洗碗机", "燃气炒炉"]
    else:
        assert GATES.find(said) == want


def test_a_key_two_products_share_names_neither() -> None:
    shop = parse_catalog_text("人脸识别门禁一体机\n人脸识别闸机\n")
    assert shop.find("人脸识别怎么卖") == []
    assert shop.find("门禁想换") == ["人脸识别门禁一体机"]


def test_a_listed_synonym_is_all_a_curated_entry_needs() -> None:
    shop = parse_catalog_text("智能门锁系统: 指纹锁\n")
    assert shop.find("门锁怎么卖") == []
    assert shop.find("指纹锁怎么卖") == ["智能门锁系统"]


def chat(*items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", "卢晓峰"), *(TextRegion(k, t) for k, t in items)), True)


def test_needs_from_the_customer_and_the_rep_restating_them_never_a_price() -> None:
    lead = extract(chat(("left", "您好，小区想把单元门的对讲换成能看到人的"),
                        ("right", "明白，您说的可视对讲我们有现货，门锁大概3200元一套"),
                        ("left", "停车场道闸也需要，电话13922334455")), NOW, GATES, names=NAMES)
    assert lead.needs == ("可视对讲系统", "车辆识别道闸")


@pytest.mark.parametrize("said", ["需要3200元的那款", "想了解一下张经理说的", "需要帮忙看看"])
def test_a_fragment_is_never_a_need(said: str) -> None:
    assert extract(chat(("left", f"电话13922334455，{said}")), NOW, GATES, names=NAMES).needs == ()


def test_a_typed_lead_reads_the_same_keys() -> None:
    lead = extract_from_text("新线索 卢晓峰 13922334455 要换门锁和监控", NOW, GATES, names=NAMES)
    assert lead.needs == ("智能门锁系统", "视频监控摄像机")
