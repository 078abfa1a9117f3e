"""The three acceptance journeys through the WeCom channel, end to end: encrypted callbacks → /wecom/callback
→ router → the real handlers → outbox → WecomSender → the fake WeCom API on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import KnowledgeSettings, Settings
from reminders.ticker import tick
from storage.models import KnowledgeCard, Lead
from tests.fakes.wecom_api import strip_marker
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness

SCREENSHOT = Path(__file__).parent / "fixtures" / "ocr" / "wechat_lead.jpg"
QUESTION = "三甲医院设备科嫌贵怎么回"


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[WecomHarness]:
    async for harness in start_wecom_harness(replace(settings, knowledge=KnowledgeSettings(seed_demo=True)), clock):
        yield harness


def buttons(card: dict[str, Any]) -> dict[str, str]:
    """Button key → label of a button_interaction template card."""
    return {b["key"]: b["text"] for b in card.get("button_list", [])}


def key_with(card: dict[str, Any], prefix: str) -> str:
    keys = [k for k in buttons(card) if k.startswith(prefix)]
    assert len(keys) == 1, buttons(card)
    return keys[0]


async def click(h: WecomHarness, user: str, card: dict[str, Any], key: str) -> str:
    """Click a button of a card the fake delivered; returns the click's response code."""
    resp, code = await h.click(user, key, card["task_id"])
    assert resp.status == 200
    await h.settle()
    return code


def update_for(h: WecomHarness, code: str) -> dict[str, Any]:
    updates = [u for u in h.fake.updates if u["response_code"] == code]
    assert len(updates) == 1, h.fake.updates
    return updates[0]


async def lead_row(h: WecomHarness) -> Lead:
    async with h.services.db.session() as s:
        return (await s.execute(select(Lead))).scalar_one()


async def confirmed_lead_from_screenshot(h: WecomHarness) -> Lead:
    """rep01 sends the screenshot, gets the draft card and clicks 确认."""
    assert (await h.image("rep01", SCREENSHOT.read_bytes())).status == 200
    await h.settle()
    drafts = [c for c in h.cards_to("rep01") if c["main_title"]["title"].startswith("线索草稿")]
    assert len(drafts) == 1
    draft = drafts[0]
    lead = await lead_row(h)
    assert lead.status == "draft"
    assert buttons(draft) == {f"lead:confirm:{lead.id}": "确认", f"cap:edit:{lead.id}": "修改",
                              f"lead:drop:{lead.id}": "放弃"}
    assert "19552069704" in json.dumps(draft, ensure_ascii=False)
    code = await click(h, "rep01", draft, f"lead:confirm:{lead.id}")
    assert update_for(h, code)["button"]["replace_name"] == f"已确认 · 线索 #{lead.id}"
    assert update_for(h, code)["userids"] == ["rep01"]
    return await lead_row(h)


# -- journey 1 --------------------------------------------------------------------------------
async def test_screenshot_to_confirmed_lead(h: WecomHarness) -> None:
    lead = await confirmed_lead_from_screenshot(h)
    assert (lead.status, lead.source, lead.owner_id) == ("active", "ocr", "rep01")
    assert (lead.customer_name, lead.company, lead.phone) == ("沈欣", "宏达科技", "19552069704")
    assert lead.evidence_hash  # the screenshot is kept as evidence
    assert h.fake.calls("media/get")  # the image really came through WeCom's media API


# -- journey 2 --------------------------------------------------------------------------------
def source_card_id(card: dict[str, Any]) -> str:
    found = re.search(r"知识卡片 (\S+?)(?:（|\s|$)", card["quote_area"]["quote_text"])
    assert found, card
    return found.group(1)


async def test_knowledge_question_to_answer_card_and_next(h: WecomHarness) -> None:
    assert (await h.text("rep01", QUESTION)).status == 200
    await h.settle()
    cards = h.cards_to("rep01")
    assert len(cards) == 1
    first = cards[0]
    assert first["card_type"] == "button_interaction"
    assert sorted(buttons(first).values()) == sorted(["有用", "没用", "换一个"])
    first_id = source_card_id(first)
    async with h.services.db.session() as s:
        kb_card = await s.get(KnowledgeCard, first_id)
    assert kb_card is not None
    assert first["main_title"]["title"] == kb_card.title and "嫌贵" in kb_card.title
    shown = {f["keyname"]: f["value"] for f in first["horizontal_content_list"]}
    assert kb_card.talk_track.startswith(shown["话术"].rstrip("…"))  # WeCom shows ≤ 30 characters per value
    assert first_id in first["quote_area"]["quote_text"]

    await click(h, "rep01", first, key_with(first, "kb:next:"))
    cards = h.cards_to("rep01")
    assert len(cards) == 2
    second = cards[1]
    assert source_card_id(second) != first_id
    assert second["main_title"]["title"] != first["main_title"]["title"]
    assert second["task_id"] != first["task_id"]
    assert sorted(buttons(second).values()) == sorted(["有用", "没用", "换一个"])


# -- journey 3 --------------------------------------------------------------------------------
async def advance_and_tick(h: WecomHarness, delta: timedelta) -> None:
    h.clock.advance(delta)
    for _ in range(20):
        ticked = await tick(h.services)
        await h.settle()
        if not ticked:
            return


def rep_reminders(h: WecomHarness) -> list[dict[str, Any]]:
    """Every message/send body the fake accepted for rep01, in order."""
    return [b for b in h.fake.sent if b.get("touser") == "rep01"]


async def test_reminders_escalate_to_manager_who_takes_over(h: WecomHarness) -> None:
    lead = await confirmed_lead_from_screenshot(h)
    before = len(rep_reminders(h))
    for delta in (timedelta(hours=3), timedelta(days=1), timedelta(days=1)):
        await advance_and_tick(h, delta)

    reminders = rep_reminders(h)[before:]
    texts = [strip_marker(t) for t in h.fake.texts_to("rep01")]
    assert any("首次联系已超时（第1次）" in t for t in texts), texts
    assert any("首次联系已超时（第2次）" in t for t in texts), texts
    assert any("已冻结" in t for t in texts), texts
    # Legitimate repeats must differ byte for byte, or WeCom's duplicate check would swallow them.
    payloads = [json.dumps({k: v for k, v in b.items() if k != "touser"}, sort_keys=True, ensure_ascii=False)
                for b in reminders]
    assert len(reminders) >= 3 and len(set(payloads)) == len(payloads)
    assert h.fake.duplicates_dropped == 0

    manager = h.fake.texts_to("manager01")
    assert any("抄送" in t for t in manager), manager
    frozen = [c for c in h.cards_to("manager01") if "冻结" in c["main_title"]["title"]]
    assert len(frozen) == 1
    card = frozen[0]
    assert list(buttons(card).values()) == ["接手", "改派", "延期"]
    assert all(k.startswith("esc:") for k in buttons(card))
    assert (await lead_row(h)).owner_id is None  # frozen into the pool until someone acts

    code = await click(h, "manager01", card, key_with(card, "esc:take:"))
    update = update_for(h, code)
    assert update["button"]["replace_name"] == "已由 王经理 接手"
    assert update["userids"] == ["manager01"]
    taken = await lead_row(h)
    assert (taken.id, taken.owner_id) == (lead.id, "manager01")
    assert any("王经理 接手" in t for t in h.fake.texts_to("rep01"))  # the previous owner is told
