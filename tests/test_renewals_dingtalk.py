"""The renewal journey in DingTalk (HTTP mode, real handlers, fake DingTalk API): contract files sent by the
admin in chat → 续约预警 card → the rep's other actions locked → a renewal proof note the manager confirms →
unlocked. HTTP mode has no card clicks: buttons come as numbered replies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from storage.models import Contract
from tests.fakes.dingtalk_harness import Harness, message, start_harness, text_message
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


async def _send_file(h: Harness, user: str, code: str, path: Path) -> str:
    """A file message whose bytes the fake robot API serves through messageFiles/download; the replies."""
    h.fake.files[code] = path.read_bytes()
    before = len(h.fake.sent_to(user))
    status, _ = await h.post(message("file", sender=user, content={"downloadCode": code, "fileName": path.name}))
    assert status == 200
    await h.settle()
    return "\n".join(_said(h, user, before))


async def test_renewal_warning_lock_and_proof_in_dingtalk(h: Harness, tmp_path: Path) -> None:
    """Journey: the admin sends the contracts and payments files in DingTalk → 续约预警 card → the rep's other
    actions locked → a renewal proof note the manager confirms → unlocked."""
    services = h.services
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    paid = await _send_file(h, "admin01", "payCode1", payments)
    assert "payments.xlsx（回款）" in paid and "第 4 行" in paid  # the negative payment, by its line
    imported = await _send_file(h, "admin01", "contractCode1", contracts)
    assert "合同台账.csv（合同）：5 行，新增 3" in imported and "续约预警：新发出 1 条" in imported
    assert len(h.fake.calls("download")) == 2
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


async def test_a_rep_sending_a_contracts_file_in_dingtalk_imports_nothing(h: Harness, tmp_path: Path) -> None:
    await seed_customers(h.services)
    contracts, _ = write_files(tmp_path)
    assert "只有管理员可以导入合同" in await _send_file(h, "rep01", "contractCode2", contracts)
    async with h.services.db.session() as s:
        assert (await s.scalar(select(func.count()).select_from(Contract))) == 0
