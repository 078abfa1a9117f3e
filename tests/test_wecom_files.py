"""Files sent in WeCom reach the router whatever their type: a contract PDF after 「证据 <编号>」 is evidence."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Settings
from storage.models import Evidence
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness
from tests.leads_helpers import cn, seed_lead

PDF = b"%PDF-1.4\n% contract signed\n"


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[WecomHarness]:
    async for harness in start_wecom_harness(settings, clock):
        yield harness


async def test_contract_pdf_after_evidence_command_is_saved(h: WecomHarness) -> None:
    lead_id = await seed_lead(h.services, "rep01", stage="demo", assigned_at=cn(23, 9), customer_name="王总",
                              company="华东医疗")
    assert (await h.text("rep01", f"证据 {lead_id}")).status == 200
    await h.settle()
    assert "5 分钟内发送" in h.fake.texts_to("rep01")[-1]
    assert (await h.file("rep01", PDF, "合同.pdf", "application/pdf")).status == 200
    await h.settle()
    assert f"已保存线索 #{lead_id} 的证据" in h.fake.texts_to("rep01")[-1]
    async with h.services.db.session() as s:
        (ev,) = (await s.execute(select(Evidence).where(Evidence.lead_id == lead_id))).scalars()
    assert ev.kind == "file" and ev.path and ev.path.endswith(".pdf")


async def test_a_file_nobody_waits_for_gets_a_short_answer(h: WecomHarness) -> None:
    assert (await h.file("rep02", PDF, "资料.pdf", "application/pdf")).status == 200
    await h.settle()
    assert "暂不支持" in h.fake.texts_to("rep02")[-1]
