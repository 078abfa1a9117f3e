"""Knowledge handover at offboarding: the successor's list carries each open lead's last follow-up summary and
insights, the flags still open on it, the cards the leaver was shown most and the answers they marked 有用 — in the
CLI output, in the successor's chat message, and through the chat's 「离职 … 交给 …」."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from knowledge import store
from storage.activity import add_activity
from storage.models import Lead, LeadFlag, OutboxMessage
from tests.conftest import Transcript, run_cli
from tests.leads_helpers import cn, seed_lead
from tests.ramp_helpers import seed_cards


async def _leaver_history(services: Services) -> int:
    """rep03's open lead with a follow-up, insights and an open flag; their questions and a 有用 vote."""
    await seed_cards(services)
    lead_id = await seed_lead(services, "rep03", assigned_at=cn(20, 10), customer_name="钱院长", company="某某医院",
                              extra={"insights": {"pain_points": ["维保贵"], "competitors": ["老供应商"],
                                                  "roles": ["设备科"]}})
    async with services.db.session() as s:
        add_activity(s, lead_id, "rep03", "contact", cn(20, 15), "电话沟通，院长想先看同级医院的五年成本对比")
        add_activity(s, lead_id, "rep03", "contact", cn(21, 11), "已发五年成本表，周四等设备科反馈")
        s.add(LeadFlag(lead_id=lead_id, rule="budget", subject="", level="red", reason="预算远高于团队历史",
                       status="open", owner_id="rep03", created_at=cn(21, 11), updated_at=cn(21, 11)))
        for _ in range(3):
            await store.log_query(s, user_id="rep03", query="医院嫌贵", ranked=["R01"], scores=[1.0], answered=True,
                                  shown_card="R01", now=cn(20, 9))
        qid = await store.log_query(s, user_id="rep03", query="学校说有老供应商", ranked=["R09"], scores=[1.0],
                                    answered=True, shown_card="R09", now=cn(20, 9))
        await store.add_feedback(s, query_id=qid, card_id="R09", user_id="rep03", vote="up", now=cn(20, 9))
        await store.log_query(s, user_id="rep01", query="别人的问题", ranked=["R05"], scores=[1.0], answered=True,
                              shown_card="R05", now=cn(20, 9))
    return lead_id


async def test_cli_offboard_prints_and_sends_the_handover_list(services: Services, capsys: object) -> None:
    lead_id = await _leaver_history(services)
    rc = await asyncio.to_thread(run_cli, services.settings.database.url, "org", "offboard", "rep03", "--to",
                                 "rep01", "--now", "2026-11-23T10:00+08:00")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 0
    assert f"#{lead_id} 钱院长 · 某某医院" in out
    assert "最近跟进（11-21 11:00）：已发五年成本表，周四等设备科反馈" in out  # the last one, not the first
    assert "洞察：痛点 维保贵 · 竞品 老供应商 · 决策链 设备科" in out
    assert "待处理：🔴 预算远高于团队历史" in out
    assert "\n设备科嫌贵：先算五年账（用过 3 次）" in out and "R05" not in out  # only the leaver's own use
    assert "「学校说有老供应商」→ 学校说有熟悉的供应商：先试点一个年级" in out
    assert "R01" not in out and "R09" not in out  # titles, never card ids (audit 18c #25)
    async with services.db.session() as s:
        sent = (await s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "rep01"))).one()
        lead = await s.get(Lead, lead_id)
    assert lead is not None and lead.owner_id == "rep01"
    assert sent.payload["title"] == "📋 线索交接清单"
    for part in ("周四等设备科反馈", "竞品 老供应商", "预算远高于团队历史", "常用话术卡片", "标记为有用的回答"):
        assert part in sent.payload["text"]


async def test_chat_offboard_gives_the_successor_the_same_list(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await _leaver_history(services)
    await chat.handle_line("/as admin01")
    await chat.handle_line("离职 rep03 交给 rep02")
    await chat.handle_line("/click 确认")
    handover = transcript.last("rep02")
    assert handover["title"] == "📋 线索交接清单"
    assert "周四等设备科反馈" in handover["text"] and "设备科嫌贵：先算五年账" in handover["text"]
    assert "R01" not in handover["text"] and "R09" not in handover["text"]
