"""Audit 17b: a manager's 「清除标记 N <topic>」 with a topic that is also a command word (阶段, 推进, 证据, 跟进)
clears the flag and does nothing else — no follow-up written on the rep's lead, no stage asked for."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from bot.usertext import CLOSE, OPEN
from handlers.report import compute_report, report_lines
from storage.models import Activity, ChainEntry, Evidence, LeadFlag
from tests.conftest import Transcript, run_cli
from tests.leads_helpers import cn, get_lead, seed_lead
from tests.trust_helpers import contract_png, payment_png, save


@pytest.fixture
def services(services_both: Services) -> Services:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return services_both


async def _count(services: Services, sql: str) -> int:
    async with services.db.session() as s:
        return int((await s.execute(text(sql))).scalar_one())


@pytest.mark.parametrize("topic", ["阶段", "推进", "证据", "跟进"])
async def test_clear_flag_topic_that_is_a_command_word(chat: ChatSession, transcript: Transcript,
                                                       services: Services, topic: str) -> None:
    await seed_lead(services, "rep01", customer_name="韦成", company="北岸冷链", phone="13900002222",
                    assigned_at=cn(23, 9))
    acts = await _count(services, "SELECT count(*) FROM activities")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"清除标记 1 {topic}")
    reply = transcript.last("manager01")["text"]
    assert "请带上线索编号" not in reply and "已记录线索" not in reply, reply
    assert "线索 #1" in reply, reply
    assert await _count(services, "SELECT count(*) FROM activities") == acts
    assert await _count(services, "SELECT count(*) FROM leads WHERE id = 1 AND stage = 'new'") == 1


async def test_won_from_an_early_stage_is_a_judged_and_recorded_stage_jump(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    """赢单 from 1.线索获取 with a contract and a payment: the skipped 方案演示 has no proof, so 🔴 as for 阶段; the
    move to 签约回款 is on the timeline and in the record, before the win, and the record verifies."""
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业发展有限公司", phone="13700004444",
                    needs=["排班"], assigned_at=cn(23, 9))
    for name, data in (("c.png", contract_png()), ("p.png", payment_png())):
        await chat.handle_line("证据 1")
        await chat.handle_line(f"/image {save(tmp_path, name, data)}")
    await chat.handle_line("赢单 1 客户签了")
    reply = transcript.last("rep01")["text"]
    assert "已赢单" in reply and "🔴" in reply and "跳" in reply, reply
    async with services.db.session() as s:
        jump = (await s.execute(select(LeadFlag).where(LeadFlag.lead_id == 1, LeadFlag.rule == "stage_jump")
                                )).scalars().one()
        kinds = list((await s.execute(select(ChainEntry.kind).where(ChainEntry.kind.in_(("stage", "won")))
                                      .order_by(ChainEntry.seq))).scalars())
        acts = list((await s.execute(select(Activity.kind).where(Activity.lead_id == 1,
                                                                 Activity.kind.in_(("stage", "won")))
                                     .order_by(Activity.id))).scalars())
    assert jump.level == "red" and jump.status == "open"
    assert kinds == ["stage", "won"] and acts == ["stage", "won"]
    assert (lead := await get_lead(services, 1)).stage == "close" and lead.status == "won"
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "audit", "verify") == 0


async def test_won_from_the_stage_before_close_is_no_jump(chat: ChatSession, transcript: Transcript,
                                                         services: Services, tmp_path: Path) -> None:
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业发展有限公司", phone="13700004444",
                    needs=["排班"], stage="demo", assigned_at=cn(23, 9))
    for name, data in (("c.png", contract_png()), ("p.png", payment_png())):
        await chat.handle_line("证据 1")
        await chat.handle_line(f"/image {save(tmp_path, name, data)}")
    await chat.handle_line("赢单 1 客户签了")
    assert "🔴" not in transcript.last("rep01")["text"]


async def test_a_flag_answer_keeps_its_chinese_punctuation(chat: ChatSession, transcript: Transcript,
                                                          services: Services) -> None:
    """「阶段 确认 1 客户直接签约，演示在总部做过」: kept and shown as typed, 「，」 not ","."""
    await seed_lead(services, "rep01", customer_name="韦成", company="北岸冷链", phone="13900002222",
                    assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 4")
    assert "🔴" in transcript.last("rep01")["text"]
    await chat.handle_line("阶段 确认 1 客户直接签约，演示在总部做过")
    assert "已记录你对线索 #1 的说明" in transcript.last("rep01")["text"]
    assert "客户直接签约，演示在总部做过" in transcript.last("manager01")["text"]
    async with services.db.session() as s:
        answers = list((await s.execute(select(LeadFlag.answer).where(LeadFlag.lead_id == 1,
                                                                      LeadFlag.answer.is_not(None)))).scalars())
    assert answers == ["客户直接签约，演示在总部做过"]
    await chat.handle_line("我的标记")
    assert "客户直接签约，演示在总部做过" in transcript.last("rep01")["text"]


async def test_verify_names_the_evidence_in_words_and_prints_only_chinese(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    """A replaced evidence file is named as 线索 #1 的第 2 份证据 — no internal path, no hash — and `salesbot audit
    verify`, run as a user runs it, prints no English migration log lines before its Chinese result."""
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业发展有限公司", phone="13700004444",
                    needs=["排班"], stage="demo", assigned_at=cn(23, 9))
    for name, data in (("c.png", contract_png()), ("p.png", payment_png())):
        await chat.handle_line("证据 1")
        await chat.handle_line(f"/image {save(tmp_path, name, data)}")
    async with services.db.session() as s:
        evidence = list((await s.execute(select(Evidence).order_by(Evidence.id))).scalars())
    Path(evidence[1].path or "").write_bytes(b"replaced")
    env = {**os.environ, "SALESBOT_DATABASE_URL": services.settings.database.url}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "app.cli", "audit", "verify"],
                                   capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "线索 #1 的第 2 份证据" in done.stdout, done.stdout
    assert (evidence[1].path or "?") not in done.stdout and (evidence[1].sha256 or "")[:12] not in done.stdout
    assert "alembic" not in done.stderr and "INFO" not in done.stderr, done.stderr


async def test_the_report_lists_every_red_flag_it_counts_or_says_how_many_more(
        chat: ChatSession, services: Services, clock: ManualClock) -> None:
    """Four 🔴 for one rep: 「🔴 未处理 4 条」 comes with four lines, or three and 「还有 1 条」."""
    for i in range(4):
        await seed_lead(services, "rep01", customer_name=f"韦成{i}", company=f"北岸冷链{i}", assigned_at=cn(23, 9))
        await chat.handle_line(f"阶段 {i + 1} 4")  # a stage jump without proof: 🔴
    now = clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    text_ = "\n".join(report_lines(report)).replace(OPEN, "").replace(CLOSE, "")
    assert "🔴 未处理 4 条" in text_, text_
    listed = text_.count("🔴 从 1.线索获取")
    assert listed == 4 or (listed == 3 and "还有 1 条" in text_), text_
