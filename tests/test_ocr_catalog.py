"""Needs from a company's own catalog, and things asked for that the catalog lacks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import CN_TZ
from ocr.catalog import load_catalog, parse_catalog_text
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract, extract_from_text
from ocr.people import NAMES as NAMES_ENGINE
from ocr.requests import requested_things
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

NOW = datetime(2024, 10, 24, 16, 0, tzinfo=CN_TZ)
SHOP = parse_catalog_text("""
# a made-up maker of lab furniture
通风柜: 通风橱
实验台 | 试验台
洗眼器
样品冷藏柜
LIMS系统
""")


def chat(*items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", "祁晓棠@澄湖检测"), *(TextRegion(k, t) for k, t in items)), True)


def test_catalog_file_format() -> None:
    assert SHOP.names == ("通风柜", "实验台", "洗眼器", "样品冷藏柜", "LIMS系统")
    assert SHOP.find("想问下通风橱和试验台的价格") == ["通风柜", "实验台"]
    assert SHOP.find("lims还没上") == ["LIMS系统"]  # generic tail 系统 left off, any case
    assert SHOP.find("slimshady") == []  # Latin only as a whole word


def test_one_misread_character_still_matches_but_not_a_real_word() -> None:
    assert SHOP.find("还要样品冷臧柜") == ["样品冷藏柜"]
    assert SHOP.find("洗眠器") == ["洗眼器"]
    assert parse_catalog_text("打卡机").find("打印机坏了") == []  # 打印机 is a word, not a misread 打卡机


def test_customer_needs_come_from_the_catalog_and_the_rep_restating_them() -> None:
    lead = extract(chat(("left", "电话13677778888，想了解一下通风柜，另外实验台也有需求"),
                        ("right", "没问题，我们的洗眼器在行业里用得很多"),
                        ("right", "另外我们的样品冷藏柜最近在做活动")), NOW, SHOP, names=NAMES)
    assert lead.needs == ("通风柜", "实验台", "洗眼器")


def test_a_request_outside_the_catalog_is_kept_in_the_customers_words() -> None:
    lead = extract(chat(("left", "电话13677778888，我们想采购一批防爆冰箱")), NOW, SHOP, names=NAMES)
    assert lead.needs == ("防爆冰箱",)
    assert extract_from_text("新线索 祁晓棠 13677778888 需要通风橱", NOW, SHOP, names=NAMES).needs == ("通风柜",)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("想了解一下恒温摇床的报价", ["恒温摇床"]),
        ("离心机也有需求", ["离心机"]),
        ("想了解一下你们的产品", []),
        ("想咨询一下", []),
        ("需要什么资料", []),
    ],
)
def test_requested_things(text: str, want: list[str]) -> None:
    assert requested_things(text) == want


def test_catalog_file_is_reloaded_when_edited(tmp_path: Path) -> None:
    f = tmp_path / "catalog.txt"
    f.write_text("通风柜\n", "utf-8")
    assert load_catalog(f).names == ("通风柜",)
    f.write_text("通风柜\n洗眼器\n", "utf-8")
    import os
    os.utime(f, (f.stat().st_atime, f.stat().st_mtime + 5))
    assert load_catalog(f).names == ("通风柜", "洗眼器")


def test_a_job_title_holding_a_products_stem_is_no_need() -> None:
    catalog = parse_catalog_text("财务软件: 记账软件\nERP系统\n")
    assert catalog.find("我是苏州澄湖检测的财务经理，之前做ERP工程师") == []
    assert catalog.find("财务这块想换一套，ERP也要") == ["财务软件", "ERP系统"]


@pytest.mark.parametrize(("said", "want"), [("想了解一下样品冷冻柜", ()),  # 冷冻 is a word: no misread 冷藏
                                            ("我们需要几台洗眼机", ("洗眼机",)),
                                            ("还要样品冷臧柜", ("样品冷藏柜",))])  # 冷臧 is no word: a misreading
def test_a_product_the_catalog_lacks_is_not_taken_for_its_neighbour(said: str, want: tuple[str, ...]) -> None:
    """One character off a catalog product is a misreading only when that character makes no word with its
    neighbours: 样品冷冻柜 and 洗眼机 are other products, never 样品冷藏柜 or 洗眼器."""
    lead = extract(chat(("left", f"电话13677778888，{said}")), NOW, SHOP, names=NAMES)
    assert lead.needs == want


def test_a_rep_advertising_before_the_customer_asks_is_no_need() -> None:
    lead = extract(chat(("right", "您好，我们的洗眼器在行业里用得很多"), ("left", "你好，我是祁晓棠，电话13677778888"),
                        ("right", "我们的通风柜最近很受欢迎")), NOW, SHOP, names=NAMES)
    assert lead.needs == ()


def test_a_rep_answering_a_request_that_scrolled_off_names_the_need() -> None:
    lead = extract(chat(("right", "没问题，我们的洗眼器很多实验室都在用，稍后发您参数"),
                        ("left", "电话13677778888")), NOW, SHOP, names=NAMES)
    assert lead.needs == ("洗眼器",)


def test_a_request_with_one_character_misread_names_the_catalog_product() -> None:
    lead = extract(chat(("left", "电话13677778888，主要是想采购一批祥品冷藏柜")), NOW, SHOP, names=NAMES)
    assert lead.needs == ("样品冷藏柜",)


def test_a_comma_list_line_is_a_product_with_its_synonyms() -> None:
    """Admins often write `name, synonym, synonym` (a spreadsheet column pasted as text)."""
    catalog = parse_catalog_text("冷库门，快速卷帘门、保温门\n叉车,电动叉车\n")
    assert [name for name, _ in catalog.products] == ["冷库门", "叉车"]
    assert catalog.products[0][1] == ("快速卷帘门", "保温门")
    assert [hit for hit in catalog.find("想问问电动叉车的价格")] != []


@pytest.mark.parametrize("text", ["洗地机｜驾驶式洗地机｜扫地车\n", "洗地机\t驾驶式洗地机\t扫地车\n"])
def test_a_full_width_bar_or_tab_separates_synonyms(text: str) -> None:
    """A catalog typed with a Chinese keyboard (｜) or pasted from a spreadsheet (tabs): the need is the product's
    own name, never the whole line."""
    catalog = parse_catalog_text(text)
    assert catalog.products == (("洗地机", ("驾驶式洗地机", "扫地车")),)
    assert catalog.find("车间想上两台扫地车") == ["洗地机"]
