"""The renewal journey in DingTalk (HTTP mode, real handlers, fake DingTalk API): contract import → 续约预警 card
→ the rep's other actions locked → a renewal proof note the manager confirms → unlocked. HTTP mode has no card
clicks: buttons come as numbered replies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from handlers.renewals.importer import import_files
from tests.fakes.dingtalk_harness import Harness, start_harness, text_message
from tests.renewals_helpers import seed_customers, write_files


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="http"):
        yield harness


def _said(h: Harness, user: str, since: int) -> list[str]:
    return [f"{m.get('title', '')}\n{m.get('content', m.get('text', ''))}" for m in h.fake.sent_to(user)[since:]]


async def _say(h: Harness, user: str, text: str) -> list[str]:
    before = len(h.fake.sent_to(user))
    status, _ = await h.post(text_message(text, sender=user, nick=user))
    assert status == 200
    await h.settle()
    return _said(h, user, before)


async def test_renewal_warning_lock_and_proof_in_dingtalk(h: Harness, tmp_path: Path) -> None:
    services = h.services
    ids = await seed_customers(services)
    await import_files(services.db, services.settings, list(write_files(tmp_path)), services.clock.now())
    await h.settle()
    card = next(m for m in h.fake.sent_to("rep01") if "续约预警" in m.get("title", ""))
    assert "回复数字即可操作：1 已联系　2 提交续签证明　3 申请主管介入" in card["text"]
    assert "健康分 40" in card["text"]
    assert any("续约预警" in m.get("title", "") for m in h.fake.sent_to("manager01"))

    assert any("催办已停止" in t for t in await _say(h, "rep01", "1"))  # 已联系
    assert any("🔒" in t for t in await _say(h, "rep01", f"跟进 {ids['other']} 电话沟通了报价"))
    assert any("等待主管确认" in t for t in await _say(h, "rep01", f"证据 {ids['li']} 客户已确认续签，合同下周盖章"))
    confirmed = await _say(h, "manager01", "1")  # 确认 on the evidence card
    assert any("作为续签证明" in t for t in confirmed)
    assert not any("🔒" in t for t in await _say(h, "rep01", f"跟进 {ids['other']} 电话沟通了报价"))
