"""The acceptance journeys, end to end, once for every channel (tests/fakes/journey_harness.py): WeCom
(encrypted callbacks → /wecom/callback → … → WecomSender → the fake WeCom API on 127.0.0.1), DingTalk (Stream
frames → … → DingtalkSender → the fake DingTalk API), DingTalk HTTP mode (signed callbacks; no card clicks, so a
card's buttons come as numbered replies and the user answers with a number) and the console
(`salesbot chat --json`)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import KnowledgeSettings, Settings
from reminders.ticker import tick
from storage.models import KnowledgeCard, Lead
from tests.fakes.journey_harness import ChannelHarness, Shown, start_journey

SCREENSHOT = Path(__file__).parent / "fixtures" / "ocr" / "wechat_lead.jpg"
QUESTION = "三甲医院设备科嫌贵怎么回"
ANSWER_BUTTONS = ["有用", "没用", "换一个"]


@pytest.fixture(params=["wecom", "dingtalk", "dingtalk-http", "console"])
async def h(request: pytest.FixtureRequest, settings: Settings, clock: ManualClock, tmp_path: Path
            ) -> AsyncIterator[ChannelHarness]:
    demo = replace(settings, knowledge=KnowledgeSettings(seed_demo=True))
    async for harness in start_journey(request.param, demo, clock, tmp_path):
        yield harness


def key_with(card: Shown, prefix: str) -> str:
    keys = [k for k in card.buttons if k.startswith(prefix)]
    assert len(keys) == 1, card.buttons
    return keys[0]


async def lead_row(h: ChannelHarness) -> Lead:
    async with h.services.db.session() as s:
        return (await s.execute(select(Lead))).scalar_one()


async def confirmed_lead_from_screenshot(h: ChannelHarness) -> Lead:
    """rep01 sends the screenshot, gets the draft card and clicks 确认."""
    await h.image("rep01", SCREENSHOT.read_bytes())
    drafts = [c for c in h.cards_to("rep01") if c.title.startswith("线索草稿")]
    assert len(drafts) == 1
    draft = drafts[0]
    lead = await lead_row(h)
    assert lead.status == "draft"
    assert draft.buttons == {f"lead:confirm:{lead.id}": "确认", f"cap:edit:{lead.id}": "修改",
                             f"lead:drop:{lead.id}": "放弃"}
    assert "19552069704" in draft.text
    assert await h.click("rep01", draft, f"lead:confirm:{lead.id}") == f"已确认 · 线索 #{lead.id}"
    return await lead_row(h)


# -- journey 1 --------------------------------------------------------------------------------
async def test_screenshot_to_confirmed_lead(h: ChannelHarness) -> None:
    lead = await confirmed_lead_from_screenshot(h)
    assert (lead.status, lead.source, lead.owner_id) == ("active", "ocr", "rep01")
    assert (lead.customer_name, lead.company, lead.phone) == ("沈欣", "宏达科技", "19552069704")
    assert lead.evidence_hash  # the screenshot is kept as evidence
    # the image really came through the channel's media API (the console hands the file over itself)
    assert len(h.media_fetched()) == (0 if h.name == "console" else 1)
    assert any("已启用" in t for t in h.said_to("rep01"))


# -- journey 2 --------------------------------------------------------------------------------
def source_card_id(card: Shown) -> str:
    """The card an answer shows, from its buttons' keys: the text names the library, never the card's id."""
    key = key_with(card, "kb:up:")
    card_id = key.split(":")[3]
    assert "来源：话术库" in card.text and "知识卡片" not in card.text, card.text
    assert not re.search(rf"(?<![:\w]){re.escape(card_id)}(?!\w)", card.text), card.text  # keys hold it, text not
    return card_id


async def test_knowledge_question_to_answer_card_and_next(h: ChannelHarness) -> None:
    await h.text("rep01", QUESTION)
    cards = h.cards_to("rep01")
    assert len(cards) == 1
    first = cards[0]
    assert sorted(first.buttons.values()) == sorted(ANSWER_BUTTONS)
    if h.name == "wecom":
        assert first.raw["card_type"] == "button_interaction"
    first_id = source_card_id(first)
    async with h.services.db.session() as s:
        kb_card = await s.get(KnowledgeCard, first_id)
    assert kb_card is not None
    assert first.title == kb_card.title and "嫌贵" in kb_card.title
    if h.shows_whole_talk_track():
        assert kb_card.talk_track in first.text  # the whole talk track, not a preview
    else:  # WeCom shows ≤ 30 characters per value
        preview = re.search(r'"keyname": "话术", "value": "([^"]*)"', first.text)
        assert preview and kb_card.talk_track.startswith(preview.group(1).rstrip("…"))

    assert await h.click("rep01", first, key_with(first, "kb:next:")) is None  # 换一个 sends a new card
    cards = h.cards_to("rep01")
    assert len(cards) == 2
    second = cards[1]
    assert source_card_id(second) != first_id and second.title != first.title
    assert second.ref != first.ref or h.name == "console"
    assert sorted(second.buttons.values()) == sorted(ANSWER_BUTTONS)


# -- journey 3 --------------------------------------------------------------------------------
async def advance_and_tick(h: ChannelHarness, delta: timedelta) -> None:
    h.clock.advance(delta)
    for _ in range(20):
        ticked = await tick(h.services)
        await h.settle()
        if not ticked:
            return


async def test_reminders_escalate_to_manager_who_takes_over(h: ChannelHarness) -> None:
    lead = await confirmed_lead_from_screenshot(h)
    before = len(h.payloads_to("rep01"))
    for delta in (timedelta(hours=3), timedelta(days=1), timedelta(days=1)):
        await advance_and_tick(h, delta)

    said = h.said_to("rep01")
    assert any("首次联系已超时（第1次）" in t for t in said), said
    assert any("首次联系已超时（第2次）" in t for t in said), said
    assert any("已冻结" in t for t in said), said
    # Legitimate repeats must differ byte for byte, or the remote's duplicate check would swallow them.
    reminders = h.payloads_to("rep01")[before:]
    assert len(reminders) >= 3 and len(set(reminders)) == len(reminders)
    assert h.dropped_as_repeats() == 0

    cc = [t for t in h.said_to("manager01") if "抄送" in t]
    assert len(cc) == 1 and "张伟" in cc[0], cc
    frozen = [c for c in h.cards_to("manager01") if "冻结" in c.title]
    assert len(frozen) == 1
    card = frozen[0]
    assert list(card.buttons.values()) == ["接手", "改派", "延期"]
    assert all(k.startswith("esc:") for k in card.buttons)
    assert (await lead_row(h)).owner_id is None  # frozen into the pool until someone acts

    assert await h.click("manager01", card, key_with(card, "esc:take:")) == "已由 王经理 接手"
    taken = await lead_row(h)
    assert (taken.id, taken.owner_id) == (lead.id, "manager01")
    assert any("王经理 接手" in t for t in h.said_to("rep01"))  # the previous owner is told
    assert any("已由你接手" in t for t in h.said_to("manager01"))


# -- journey 4 --------------------------------------------------------------------------------
async def test_typed_lead_confirmed_from_its_draft_card(h: ChannelHarness) -> None:
    """新线索 (text capture) → draft card → 确认 (in HTTP mode: the reply 「1」) → lead active, status told."""
    await h.text("rep01", "新线索 王总 某某医院 设备科主任 13800138000 预算50万")
    drafts = [c for c in h.cards_to("rep01") if "线索草稿" in c.title]
    assert len(drafts) == 1
    lead = await lead_row(h)
    assert list(drafts[0].buttons.values()) == ["确认", "修改", "放弃"]
    if h.name == "dingtalk-http":
        assert "回复数字即可操作：1 确认　2 修改　3 放弃" in drafts[0].text

    assert await h.click("rep01", drafts[0], f"lead:confirm:{lead.id}") == f"已确认 · 线索 #{lead.id}"
    lead = await lead_row(h)
    assert (lead.status, lead.owner_id, lead.phone) == ("active", "rep01", "13800138000")
