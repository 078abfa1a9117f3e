"""Needs in chat come from the company's catalog, the knowledge base's product keywords and the customer's own
request, together (issue 14). Invented wording throughout; the screenshot is drawn by our generator."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

from app.chat import ChatSession
from bot.clock import CN_TZ, ManualClock
from bot.services import Services
from ocr.catalog import parse_catalog_text, product_like
from ocr.extract import extract_from_text
from ocr.people import NAMES as NAMES_ENGINE
from tests.conftest import ENGINES, Transcript
from tests.console_support import seed_cards
from tests.synth import Chat, Item, _jpeg, render_chat

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=CN_TZ)
CARDS = [
    {"id": "P1", "title": "门店问储物柜能不能扫码开门", "industry": "零售", "objection": "价格",
     "talk_track": "支持扫码和刷卡两种开门方式，按柜门数量报价，可以分期。",
     "keywords": "智能寄存柜,分期,隐性成本"},
]
MORE = {"id": "P2", "title": "图书馆问自助借还", "industry": "教育", "objection": "交付",
        "talk_track": "两周内装好，馆员半天就能学会。", "keywords": "自助借还机,馆员培训"}


def needs_of(chat: Transcript) -> str:
    text = chat.last("rep01")["text"]
    return next((line for line in text.splitlines() if "需求" in line), "")


def test_only_product_keywords_are_products() -> None:
    assert product_like("智能寄存柜") and product_like("会员管理系统") and product_like("手持终端")
    for concern in ("分期", "隐性成本", "数据迁移", "老系统", "叉车", "预算用完", "HIS对接"):
        assert not product_like(concern), concern


def test_a_catalog_product_and_an_unknown_one_in_one_typed_sentence() -> None:
    catalog = parse_catalog_text("扫码枪: 条码枪\n货架\n")
    lead = extract_from_text("新线索 周海 江川物流 13912345678 需要条码枪，也想了解一下无人机的报价",
                             NOW, catalog, names=NAMES)
    assert lead.needs == ("扫码枪", "无人机")
    lead = extract_from_text("客户是南湖仓储的李明，想采购一批周转箱，货架也要", NOW, catalog, names=NAMES)
    assert set(lead.needs) == {"货架", "周转箱"}
    # a request the catalog already reads is not kept a second time in the customer's words
    assert extract_from_text("新线索 王五 需要扫码枪", NOW, catalog, names=NAMES).needs == ("扫码枪",)


async def test_kb_product_keywords_feed_typed_leads(chat: ChatSession, transcript: Transcript,
                                                   services: Services, clock: ManualClock) -> None:
    clock.set(NOW)
    line = "新线索 周海 江川物流 13912345678 他们门店的智能寄存柜坏了一半，隐性成本也担心，分期可以聊"
    await chat.handle_line(line)
    assert "智能寄存柜" not in needs_of(transcript)  # no card says so yet: nothing asked for, nothing found
    await chat.handle_line("/click 放弃")
    await seed_cards(services, CARDS)
    await chat.handle_line(line)
    needs = needs_of(transcript)
    assert "智能寄存柜" in needs and "分期" not in needs and "隐性成本" not in needs
    await chat.handle_line("/click 放弃")
    await seed_cards(services, [*CARDS, MORE])  # a new card's product is known from the next message on
    await chat.handle_line("新线索 孙丽 北湖图书馆 13712345678 馆里的自助借还机老是卡书")
    assert "自助借还机" in needs_of(transcript)


async def test_screenshot_needs_from_catalog_kb_and_the_request_together(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path) -> None:
    await seed_cards(services, CARDS)
    shot = Chat("wechat", "周海-江川物流", None, [
        Item("right", "周总您好，我是小林"),
        Item("left", "你好，我是江川物流的采购经理周海，电话13912345678"),
        Item("left", "我们想采购一批CRM系统的账号，另外需要无人机，仓库的智能寄存柜也要换"),
        Item("right", "好的，我整理一下方案发您")])
    img, _ = render_chat(shot, random.Random(7), (1080, 2340), False)
    (tmp_path / "shot.jpg").write_bytes(_jpeg(img, 85))
    clock.set(NOW)
    await chat.handle_line(f"/image {tmp_path / 'shot.jpg'}")
    needs = needs_of(transcript)
    assert "CRM系统" in needs and "无人机" in needs and "智能寄存柜" in needs, transcript.last("rep01")["text"]
