"""The three WeCom acceptance journeys, run through the DingTalk channel with the same handlers:
recorded-shape Stream frames (messages and card callbacks) → the SDK's CallbackMessage → our handler →
router → handlers → outbox → DingtalkSender → the fake DingTalk API on 127.0.0.1 (batchSend,
interactive card send/update, messageFiles/download). Stream is the mode where card buttons work."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dingtalk_stream import AckMessage
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import KnowledgeSettings, Settings
from reminders.ticker import tick
from storage.models import KnowledgeCard, Lead
from tests.fakes.dingtalk_harness import (
    CARD_TOPIC,
    Harness,
    card_click,
    picture_message,
    start_harness,
    text_message,
)

SCREENSHOT = Path(__file__).parent / "fixtures" / "ocr" / "wechat_lead.jpg"
QUESTION = "三甲医院设备科嫌贵怎么回"
ANSWER_BUTTONS = ["有用", "没用", "换一个"]


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    demo = replace(settings, knowledge=KnowledgeSettings(seed_demo=True))
    async for harness in start_harness(demo, clock, mode="stream"):
        yield harness


def buttons(card: dict[str, Any]) -> dict[str, str]:
    """Button key → label of an interactive StandardCard."""
    blocks = [c for c in card["contents"] if c["type"] == "action"]
    return {a["id"]: a["label"]["text"] for block in blocks for a in block["actions"]}


def title(card: dict[str, Any]) -> str:
    return str(card["header"]["title"]["text"])


def body_text(card: dict[str, Any]) -> str:
    return "\n".join(c["text"] for c in card["contents"] if c["type"] == "markdown")


def key_with(card: dict[str, Any], prefix: str) -> str:
    keys = [k for k in buttons(card) if k.startswith(prefix)]
    assert len(keys) == 1, buttons(card)
    return keys[0]


async def click(h: Harness, user: str, card: dict[str, Any], key: str) -> None:
    assert await h.frame(card_click(card["cardBizId"], key, user=user), topic=CARD_TOPIC) == AckMessage.STATUS_OK
    await h.settle()


def status_of_update(h: Harness, biz_id: str) -> str:
    """The status line that replaced the buttons of card `biz_id` (exactly one update expected)."""
    updates = [u for u in h.fake.calls("cardUpdate") if u.body["cardBizId"] == biz_id]
    assert len(updates) == 1, [u.body for u in h.fake.calls("cardUpdate")]
    data = json.loads(updates[0].body["cardData"])
    assert not buttons(data)  # the buttons are gone
    return str(data["contents"][-1]["text"]).strip("*")


async def lead_row(h: Harness) -> Lead:
    async with h.services.db.session() as s:
        return (await s.execute(select(Lead))).scalar_one()


async def confirmed_lead_from_screenshot(h: Harness) -> Lead:
    """rep01 sends the screenshot as a DingTalk picture, gets the draft card and clicks 确认."""
    h.fake.files["shotCode01"] = SCREENSHOT.read_bytes()
    assert await h.frame(picture_message("shotCode01", sender="rep01", nick="张伟")) == AckMessage.STATUS_OK
    await h.settle()
    drafts = [c for c in h.fake.cards_to("rep01") if title(c).startswith("线索草稿")]
    assert len(drafts) == 1
    draft = drafts[0]
    lead = await lead_row(h)
    assert lead.status == "draft"
    assert buttons(draft) == {f"lead:confirm:{lead.id}": "确认", f"cap:edit:{lead.id}": "修改",
                              f"lead:drop:{lead.id}": "放弃"}
    assert "19552069704" in body_text(draft)
    await click(h, "rep01", draft, f"lead:confirm:{lead.id}")
    assert status_of_update(h, draft["cardBizId"]) == f"已确认 · 线索 #{lead.id}"
    return await lead_row(h)


# -- journey 1 --------------------------------------------------------------------------------
async def test_screenshot_to_confirmed_lead(h: Harness) -> None:
    lead = await confirmed_lead_from_screenshot(h)
    assert (lead.status, lead.source, lead.owner_id) == ("active", "ocr", "rep01")
    assert (lead.customer_name, lead.company, lead.phone) == ("沈欣", "宏达科技", "19552069704")
    assert lead.evidence_hash  # the screenshot is kept as evidence
    assert [c.body["downloadCode"] for c in h.fake.calls("download")] == ["shotCode01"]
    assert any("已启用" in m.get("content", "") for m in h.fake.sent_to("rep01"))


# -- journey 2 --------------------------------------------------------------------------------
def source_card_id(card: dict[str, Any]) -> str:
    found = re.search(r"知识卡片 ([A-Za-z0-9_-]+)", body_text(card))
    assert found, card
    return found.group(1)


async def test_knowledge_question_to_answer_card_and_next(h: Harness) -> None:
    assert await h.frame(text_message(QUESTION, sender="rep01")) == AckMessage.STATUS_OK
    await h.settle()
    cards = h.fake.cards_to("rep01")
    assert len(cards) == 1
    first = cards[0]
    assert list(buttons(first).values()) == ANSWER_BUTTONS
    first_id = source_card_id(first)
    async with h.services.db.session() as s:
        kb_card = await s.get(KnowledgeCard, first_id)
    assert kb_card is not None
    assert title(first) == kb_card.title and "嫌贵" in kb_card.title
    assert f"**话术**：{kb_card.talk_track}" in body_text(first)  # the whole talk track, not a preview

    await click(h, "rep01", first, key_with(first, "kb:next:"))
    cards = h.fake.cards_to("rep01")
    assert len(cards) == 2
    second = cards[1]
    assert source_card_id(second) != first_id and title(second) != title(first)
    assert second["cardBizId"] != first["cardBizId"]
    assert list(buttons(second).values()) == ANSWER_BUTTONS
    assert not h.fake.calls("cardUpdate")  # 换一个 sends a new card, the old one stays


# -- journey 3 --------------------------------------------------------------------------------
async def advance_and_tick(h: Harness, delta: timedelta) -> None:
    h.clock.advance(delta)
    for _ in range(20):
        ticked = await tick(h.services)
        await h.settle()
        if not ticked:
            return


def contents_to(h: Harness, user: str) -> list[str]:
    """Every robot message and card sent to `user`, as the exact content DingTalk compares."""
    out = []
    for r in h.fake.requests:
        if r.route == "batchSend" and user in r.body.get("userIds", []):
            out.append(r.body["msgKey"] + r.body["msgParam"])
        elif r.route == "cardSend" and json.loads(r.body.get("singleChatReceiver") or "{}").get("userId") == user:
            out.append(r.body["cardData"])
    return out


async def test_reminders_escalate_to_manager_who_takes_over(h: Harness) -> None:
    lead = await confirmed_lead_from_screenshot(h)
    before = len(contents_to(h, "rep01"))
    for delta in (timedelta(hours=3), timedelta(days=1), timedelta(days=1)):
        await advance_and_tick(h, delta)

    rep_cards = [title(c) for c in h.fake.cards_to("rep01")]
    assert "⚠️ 首次联系已超时（第1次）" in rep_cards and "⚠️ 首次联系已超时（第2次）" in rep_cards
    assert any("已冻结" in m.get("content", "") for m in h.fake.sent_to("rep01"))
    # DingTalk drops identical content to one user within a day: every reminder must differ.
    reminders = contents_to(h, "rep01")[before:]
    assert len(reminders) >= 3 and len(set(reminders)) == len(reminders)
    assert h.fake.same_content_dropped == 0

    cc = [m for m in h.fake.sent_to("manager01") if "抄送" in m.get("title", "")]
    assert len(cc) == 1 and "张伟" in cc[0]["text"]
    frozen = [c for c in h.fake.cards_to("manager01") if "冻结" in title(c)]
    assert len(frozen) == 1
    card = frozen[0]
    assert list(buttons(card).values()) == ["接手", "改派", "延期"]
    assert all(k.startswith("esc:") for k in buttons(card))
    assert (await lead_row(h)).owner_id is None  # frozen into the pool until someone acts

    await click(h, "manager01", card, key_with(card, "esc:take:"))
    assert status_of_update(h, card["cardBizId"]) == "已由 王经理 接手"
    taken = await lead_row(h)
    assert (taken.id, taken.owner_id) == (lead.id, "manager01")
    assert any("王经理 接手" in m.get("content", "") for m in h.fake.sent_to("rep01"))  # the old owner is told
    assert any("你已接手" in m.get("content", "") for m in h.fake.sent_to("manager01"))
