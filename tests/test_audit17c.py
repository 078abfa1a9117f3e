"""Audit 17c, on SQLite and PostgreSQL: the manager's digest shows the 🟡 flags too (counted, a few listed, the
rest said); `audit verify` finds a lead's stage or status set by hand on a lead whose stage never changed through
the application, and an evidence item's confirmation or proof set by hand. (What evidence proves — a planned demo,
a bare red circle — does not depend on the database: tests/test_trust_flow.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from bot.usertext import CLOSE, OPEN
from handlers.report import compute_report, report_lines
from storage.chain import verify
from tests.conftest import Transcript
from tests.leads_helpers import cn, seed_lead


@pytest.fixture
def services(services_both: Services) -> Services:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return services_both


async def _sql(services: Services, *statements: str) -> None:
    async with services.db.engine.begin() as conn:  # by hand: outside the application's sessions
        for sql in statements:
            await conn.execute(text(sql))


async def _problem(services: Services) -> str:
    report = await verify(services.db, files=False)
    assert report.broken is not None, "a hand edit went unnoticed"
    return report.broken.problem


async def test_the_digest_counts_and_lists_yellow_flags(chat: ChatSession, services: Services,
                                                        clock: ManualClock) -> None:
    """Four leads moved one step to 方案演示 with their key facts unknown: four 🟡 (no 🔴), two listed with their
    reason, 「还有 2 条 🟡」 for the rest."""
    for i in range(4):
        await seed_lead(services, "rep01", customer_name=f"韦成{i}", company=f"北岸冷链{i}", stage="discover",
                        assigned_at=cn(23, 9))
        await chat.handle_line(f"阶段 {i + 1} 4")
    now = clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    text_ = "\n".join(report_lines(report)).replace(OPEN, "").replace(CLOSE, "")
    assert "🔴 0 · 🟡 4" in text_, text_
    listed = [line for line in text_.splitlines() if line.startswith("  - 线索 #") and "🟡" in line]
    assert len(listed) == 2 and all("决策链" in line for line in listed), text_
    assert "还有 2 条 🟡" in text_, text_


async def test_verify_finds_a_stage_and_a_status_set_by_hand(chat: ChatSession, services: Services) -> None:
    """A lead typed in chat and never moved: its stage set to 签约回款 by hand is found, then (stage put back) its
    status set to 赢单; the lead as the application left it verifies."""
    await chat.handle_line("新线索 孙立 云杉教育 校长 13700001111")
    await chat.handle_line("/click 确认")
    assert (await verify(services.db, files=False)).ok
    await _sql(services, "UPDATE leads SET stage = 'close' WHERE id = 1")
    assert "线索 #1 的阶段被改动：记录为「线索获取」，现为「签约回款」" in await _problem(services)
    await _sql(services, "UPDATE leads SET stage = 'new', status = 'won' WHERE id = 1")
    assert "线索 #1 的状态被改动：记录为「跟进中」，现为「赢单」" in await _problem(services)
    await _sql(services, "UPDATE leads SET status = 'active' WHERE id = 1")
    assert (await verify(services.db, files=False)).ok


async def test_verify_finds_an_evidence_confirmation_or_proof_set_by_hand(chat: ChatSession, transcript: Transcript,
                                                                         services: Services) -> None:
    """A rep's evidence note waits for the manager: marking it confirmed in the database, or as a contract page, is
    found and said in words; the manager's real confirmation verifies."""
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业", stage="demo", assigned_at=cn(23, 9))
    await chat.handle_line("证据 1 客户已在电话里确认签约，合同下周寄出")
    assert "等待主管确认" in transcript.last("rep01")["text"]
    assert (await verify(services.db, files=False)).ok
    await _sql(services, "UPDATE evidence SET confirmed_by = 'manager01' WHERE id = 1")
    assert "线索 #1 的第 1 份证据的主管确认被改动：记录为「未确认」，现为「已确认」" in await _problem(services)
    await _sql(services, "UPDATE evidence SET confirmed_by = NULL, proof = 'contract' WHERE id = 1")
    assert "记录为「未标明」，现为「合同页」" in await _problem(services)
    await _sql(services, "UPDATE evidence SET proof = NULL WHERE id = 1")
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 确认")
    assert "已确认线索 #1 的证据" in transcript.last("manager01")["text"]
    assert (await verify(services.db, files=False)).ok



async def test_verify_finds_an_evidence_row_slipped_in_by_hand(chat: ChatSession, transcript: Transcript,
                                                              services: Services) -> None:
    """A 「合同页」 evidence row inserted straight into the database would open the close gate: verify names it."""
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业", stage="demo", assigned_at=cn(23, 9))
    await chat.handle_line("证据 1 客户口头同意，合同下周寄出")
    assert (await verify(services.db, files=False)).ok
    await _sql(services, "INSERT INTO evidence (lead_id, kind, proof, sha256, created_at) "
                         "VALUES (1, 'image', 'contract', NULL, CURRENT_TIMESTAMP)")
    assert "线索 #1 有一份证据没有记录" in await _problem(services)
