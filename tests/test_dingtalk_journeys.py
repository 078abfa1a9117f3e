"""Acceptance journeys through the DingTalk channel with the real handlers (no probe routers):
DingTalk callback → router → handlers → outbox → DingtalkSender → fake DingTalk API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Settings
from storage.models import Lead
from tests.fakes.dingtalk_harness import Harness, card_click, start_harness, text_message


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="http"):
        yield harness


def cards_to(h: Harness, user: str) -> list[dict[str, Any]]:
    out = []
    for call in h.fake.calls("cardSend"):
        if json.loads(call.body.get("singleChatReceiver", "{}")).get("userId") == user:
            out.append({"cardBizId": call.body["cardBizId"], **json.loads(call.body["cardData"])})
    return out


def buttons(card: dict[str, Any]) -> dict[str, str]:
    """Button key → label of an interactive card."""
    actions = [c for c in card["contents"] if c["type"] == "action"]
    return {a["id"]: a["label"]["text"] for block in actions for a in block["actions"]}


async def test_typed_lead_to_confirmed_lead(h: Harness) -> None:
    """新线索 (text capture) → draft card with buttons → 确认 click → card updated, lead active."""
    status, _ = await h.post(text_message("新线索 王总 某某医院 设备科主任 13800138000 预算50万", sender="rep01"))
    assert status == 200
    await h.settle()
    drafts = cards_to(h, "rep01")
    assert len(drafts) == 1
    confirm = [key for key in buttons(drafts[0]) if key.startswith("lead:confirm:")]
    assert len(confirm) == 1

    status, body = await h.post(card_click(drafts[0]["cardBizId"], confirm[0], user="rep01"))
    assert (status, body) == (200, {"outcome": "accepted"})
    await h.settle()
    update = h.fake.calls("cardUpdate")
    assert len(update) == 1 and update[0].body["cardBizId"] == drafts[0]["cardBizId"]
    status_line = json.loads(update[0].body["cardData"])["contents"][-1]["text"]
    assert "已确认" in status_line
    async with h.services.db.session() as s:
        lead = (await s.execute(select(Lead))).scalar_one()
    assert (lead.status, lead.owner_id, lead.phone) == ("active", "rep01", "13800138000")
