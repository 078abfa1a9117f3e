"""A new user's day with flags, end to end in chat and on the command line: 帮助 tells where the flags are, a
doubtful budget and a colleague's phone number are flagged, the rep answers in one line, the manager clears, and
`salesbot audit verify` proves it all — and names the lead and the change when someone edits the database by hand."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from bot.services import Services
from tests.conftest import Transcript, console_chat, run_cli
from tests.leads_helpers import cn, get_lead, seed_lead


async def _cli_verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(run_cli, url, "audit", "verify")
    return code, capsys.readouterr().out


async def _sql(services: Services, sql: str) -> None:
    async with services.db.session() as s:
        await s.execute(text(sql))


async def test_new_user_flags_journey(services_both: Services, db_url: str, clock: ManualClock,
                                      transcript: Transcript, capsys: pytest.CaptureFixture[str]) -> None:
    services, chat = services_both, console_chat(services_both, clock, transcript)  # SQLite and PostgreSQL
    await seed_lead(services, "rep02", customer_name="韦成", company="北岸冷链", phone="13900002222",
                    assigned_at=cn(23, 9))
    await chat.handle_line("帮助")
    assert "我的标记" in transcript.last("rep01")["text"]

    await chat.handle_line("新线索 韦总 北岸冷链 13900002222")  # a colleague's customer
    assert "同事在跟进（线索 #1）" in transcript.last("rep01")["text"]
    await chat.handle_line("我的标记")  # the draft's flag waits for its rep, not hidden
    assert "线索 #2 🟡 电话与 李娜 的线索 #1 相同" in transcript.last("rep01")["text"]
    await chat.handle_line("/click 确认")
    assert "草稿未启用" in transcript.last("rep01")["text"]
    await chat.handle_line("放弃")
    await chat.handle_line("我的标记")  # the dropped draft took its flag with it
    assert "目前没有待处理的标记" in transcript.last("rep01")["text"]

    await chat.handle_line("新线索 孙立 云杉教育 13700001111 预算5千万")
    assert any("预算是不是写错了" in t for t in transcript.texts("rep01")[-2:])
    await chat.handle_line("/click 确认")
    lead = await get_lead(services, 3)
    assert lead.status == "active" and lead.budget_cny == 50_000_000
    await chat.handle_line("我的标记")
    listed = transcript.last("rep01")["text"]
    assert "线索 #3 🔴 预算 5000 万元" in listed and "预算 确认" in listed
    await chat.handle_line("预算 确认 客户集团总预算，含三个分仓")
    assert "已记录你对线索 #3 的说明" in transcript.last("rep01")["text"]
    assert "客户集团总预算" in transcript.last("manager01")["text"]

    await chat.handle_line("跟进 3 客户签了合同，下周安排上线")
    reply = transcript.last("rep01")["text"]
    assert "🟡" in reply and "痛点" not in reply  # the stage lags what the summary says; 签了合同 is no pain

    await chat.handle_line("/as manager01")
    await chat.handle_line("团队标记")
    assert "客户集团总预算" in transcript.last("manager01")["text"]
    await chat.handle_line("清除标记 3 预算")
    assert "已清除线索 #3 的 1 条标记" in transcript.last("manager01")["text"]

    url = db_url
    code, out = await _cli_verify(url, capsys)
    assert code == 0 and "✅ 记录完好" in out
    await _sql(services, "UPDATE leads SET budget_cny = 500000 WHERE id = 3")  # the doubtful budget made to look fine
    code, out = await _cli_verify(url, capsys)
    assert code == 1 and "线索 #3 的预算被改动：记录为「5000 万元」，现为「50 万元」" in out
    await _sql(services, "UPDATE leads SET budget_cny = 50000000 WHERE id = 3")
    await _sql(services, "DELETE FROM lead_flags WHERE lead_id = 3 AND level = 'yellow'")  # an awkward flag removed
    code, out = await _cli_verify(url, capsys)
    assert code == 1 and "线索 #3 的🟡标记" in out and "已被删除" in out
