"""An acceptance journey in DingTalk HTTP mode with the real handlers (no probe routers): signed
callbacks → router → handlers → outbox → DingtalkSender → fake DingTalk API. HTTP mode gets no card
clicks, so the card's buttons come as numbered replies and the rep answers with a number."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Settings
from storage.models import Lead
from tests.fakes.dingtalk_harness import Harness, start_harness, text_message


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="http"):
        yield harness


async def test_typed_lead_confirmed_by_a_numbered_reply(h: Harness) -> None:
    """新线索 (text capture) → draft with numbered buttons → reply 「1」 (确认) → lead active, status told."""
    status, _ = await h.post(text_message("新线索 王总 某某医院 设备科主任 13800138000 预算50万", sender="rep01"))
    assert status == 200
    await h.settle()
    drafts = [m for m in h.fake.sent_to("rep01") if m["msgKey"] == "sampleMarkdown" and "线索草稿" in m["title"]]
    assert len(drafts) == 1
    assert "回复数字即可操作：1 确认　2 修改　3 放弃" in drafts[0]["text"]
    assert h.fake.calls("cardSend") == []

    before = len(h.fake.sent_to("rep01"))
    status, body = await h.post(text_message("1", sender="rep01"))
    assert (status, body) == (200, {"outcome": "accepted"})
    await h.settle()
    async with h.services.db.session() as s:
        lead = (await s.execute(select(Lead))).scalar_one()
    assert (lead.status, lead.owner_id, lead.phone) == ("active", "rep01", "13800138000")
    replies = [m.get("content", m.get("text", "")) for m in h.fake.sent_to("rep01")[before:]]
    assert f"已确认 · 线索 #{lead.id}" in replies
