"""New-user audit 18d (LOW findings) of follow-ups, handover, digest, quiz and renewals: what the users said, as
tests through the chat, the CLI and the digest as sent."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from bot.usertext import plain
from handlers.ramp import service
from handlers.ramp.path import parse_path
from handlers.report import send_due_digests
from knowledge import store
from knowledge.schema import parse_card
from storage.models import RampProgress, RenewalWarning
from tests.conftest import Transcript, run_cli, with_digests
from tests.leads_helpers import cn, seed_lead
from tests.ramp_helpers import ramp_cards, seed_cards

NOW = "2026-11-23T10:00+08:00"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_digests(settings)


async def _lead_with_callback(chat: ChatSession, who: str, name: str, phone: str, callback: str) -> None:
    chat.user = who
    await chat.handle_line(f"新客户 {name} 青松医院 {phone}")
    await chat.handle_line("/click 确认")
    if callback:
        await chat.handle_line(f"跟进 {callback}")


async def test_an_agreed_follow_up_reads_the_same_on_the_list_and_on_the_reminder(
        services: Services, chat: ChatSession, transcript: Transcript, clock: ManualClock) -> None:
    """「列表里写约定回访 14:45，提醒却说 15:00 回访」: one agreed time everywhere."""
    await _lead_with_callback(chat, "rep01", "钱总", "13900001234", "1 电话沟通，约了明天下午3点再打")
    await chat.handle_line("我的线索")
    listed = transcript.last("rep01")["text"]
    assert "约定回访 11-24 15:00" in listed and "14:45" not in listed, listed
    await chat.handle_line("明天有啥要跟进的")
    day = transcript.last("rep01")["text"]
    assert "15:00 #1 钱总" in day and "14:45" not in day, day
    clock.set(cn(24, 14, 46))
    await chat.settle()
    reminder = next(t for t in reversed(transcript.texts("rep01")) if "约定回访提醒" in t)
    assert "11-24 15:00" in reminder and "14:45" not in reminder
    await chat.handle_line("我的线索")  # after the reminder, before the call: still the agreed time
    assert "14:45" not in transcript.last("rep01")["text"]


async def test_the_handover_list_says_the_agreed_callback_or_that_none_was_agreed(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「交接清单里有约好回访的客户也写『约定回访 未知』」."""
    await _lead_with_callback(chat, "rep03", "钱总", "13900001234", "1 电话沟通，约了明天下午3点再打")
    await _lead_with_callback(chat, "rep03", "孙主任", "13900005678", "")
    chat.user = "admin01"
    await chat.handle_line("离职 rep03 交给 rep02")
    await chat.handle_line("/click 确认")
    handover = plain(next(m for m in reversed(transcript.to("rep02")) if m["title"] == "📋 线索交接清单")["text"])
    line_1 = next(li for li in handover.splitlines() if "#1 钱总" in li)
    line_2 = next(li for li in handover.splitlines() if "#2 孙主任" in li)
    assert "约定回访 11-24 15:00" in line_1, line_1
    assert "未约回访" in line_2 and "未知" not in handover, handover


LOCKED = """客户,公司,电话,金额,开始日期,结束日期,负责人,健康分
韩娜伟,宏达科技,19493351666,80000,2025-12-20,2026-12-20,rep01,30
"""


async def test_the_digest_counts_of_open_leads_agree_with_the_funnel(
        services: Services, transcript: Transcript, clock: ManualClock, tmp_path: Path) -> None:
    """「日报里成员在跟加起来 1 条，漏斗却是 4 条进来、赢 1 输 1」: a lead held by a renewal lock is still 在跟."""
    await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10), customer_name="韩娜伟",
                    company="宏达科技", phone="19493351666")
    await seed_lead(services, "rep01", stage="discover", assigned_at=cn(20, 10), customer_name="韩助理",
                    company="宏达科技", first_contact_at=cn(20, 11))  # held by the account's lock
    await seed_lead(services, "rep02", stage="qualify", assigned_at=cn(20, 10), customer_name="周工",
                    first_contact_at=cn(20, 11))
    await seed_lead(services, "rep03", status="lost", stage="qualify", assigned_at=cn(12, 10), customer_name="吴总")
    sheet = tmp_path / "合同.csv"
    sheet.write_text(LOCKED, encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", NOW) == 0
    async with services.db.session() as s:
        assert (await s.scalar(select(RenewalWarning.locked))) is True
    clock.set(cn(23, 10))
    assert await send_due_digests(services) >= 1
    await services.outbox.drain()
    digest = plain(next(m for m in transcript.to("manager01") if m["kind"] == "markdown")["text"])
    entered = int(re.search(r"1\.线索获取 (\d+)", digest).group(1))  # type: ignore[union-attr]
    won, lost = (int(x) for x in re.search(r"赢单 (\d+) · 输单 (\d+)", digest).groups())  # type: ignore[union-attr]
    members = sum(int(n) for n in re.findall(r"· 在跟 (\d+) ·", digest))
    team = int(re.search(r"- 在跟 (\d+) · 赢单", digest).group(1))  # type: ignore[union-attr]
    assert (entered, won, lost) == (4, 1, 1)
    assert members == team == entered - won - lost == 2, digest


async def _quiz(services: Services, text: str) -> None:
    async with services.db.session() as s:
        await service.set_path(s, parse_path(text), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")


async def _question(services: Services) -> dict[str, object]:
    async with services.db.session() as s:
        rows = (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep01"))).all()
    row = max((r for r in rows if r.state.get("q")), key=lambda r: (r.updated_at, r.id))
    return dict(row.state["q"])


SAME_OPENING = "理解您对价格的顾虑，这个问题很多客户都问过，我们一般的做法是："
ENDINGS = {"医疗": "先把设备、维保和耗材五年的总账列一张表给您比", "制造": "按您厂里的停线记录算回本周期",
           "教育": "分两个学期付款，第一期只付三成", "零售": "按门店数量阶梯报价，开得越多单价越低"}


async def test_quiz_options_that_open_alike_are_told_apart_by_what_differs(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「四个选项前面一模一样，都截成『理解您对价格的顾虑，这个问题很多客户都…』，根本没法选」."""
    cards = [parse_card({"id": f"P{i}", "title": f"{industry}价格卡", "industry": industry, "objection": "价格",
                         "talk_track": SAME_OPENING + ending + "。"})
             for i, (industry, ending) in enumerate(ENDINGS.items(), 1)]
    async with services.db.session() as s:
        await store.upsert_cards(s, cards, cn(20, 9), lambda c: [])
        await store.bump_generation(s, cn(20, 9))
    await _quiz(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    shown = transcript.last("rep01")["text"]
    options = re.findall(r"^\d\. (.+)$", plain(shown), re.M)
    assert len(options) == 4 and len(set(options)) == 4, shown
    for ending in ENDINGS.values():  # the part that differs is shown whole, in some option
        assert any(ending in o for o in options), (ending, options)


async def test_the_quiz_situation_never_repeats_the_right_cards_title(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「情境就是那张卡的标题，读过卡的人一看就知道选哪个」: the situation comes from the card's axes."""
    cards = {c.id: c for c in await seed_cards(services)}
    await _quiz(services, "测验 异议=价格 题数=3\n测验 异议=交付 题数=3\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    seen = 0
    for _ in range(6):
        q = await _question(services)
        title, line = cards[str(q["card"])].title, str(q["line"])
        assert f"情境：{line}" in plain(transcript.last("rep01")["text"])
        assert _longest_common(title, line) < 4, (title, line)
        seen += 1
        await chat.handle_line(str(q["answer"]))
        if "跟岗" in transcript.last("rep01")["title"]:
            break
    assert seen >= 4


def _longest_common(a: str, b: str) -> int:
    return max((n for i in range(len(a)) for n in range(1, len(a) - i + 1) if a[i:i + n] in b), default=0)


def test_every_fixture_title_situation_is_kept_out_of_its_question() -> None:
    """The same through the quiz maker over every card of the fixture (all industries, roles and objections)."""
    import random

    from handlers.ramp.path import TaskSpec
    from handlers.ramp.quiz import QuizMaker
    from knowledge.taxonomy import load_taxonomy

    cards = ramp_cards()
    maker = QuizMaker(cards, load_taxonomy(None))
    for card in cards:
        line = maker.customer_line(card, random.Random(0))
        assert _longest_common(card.title, line) < 4 and len(line) >= 6, (card.title, line)
    assert maker.question(TaskSpec("quiz", objection="价格"), random.Random(0)) is not None


RENEWALS = """客户,公司,金额,开始日期,结束日期,负责人
甲客户,甲公司,1000,2025-11-01,2026-10-31,rep01
甲客户,甲公司,300,2026-06-01,2027-05-31,rep01
乙客户,乙公司,1000,2025-11-01,2026-10-31,rep01
乙客户,乙公司,1000,2026-11-01,2027-10-31,rep01
丙客户,丙公司,1000,2025-10-15,2026-10-14,rep01
丙客户,丙公司,1000,2026-10-01,2027-09-30,rep01
丁客户,丁公司,1000,2025-12-20,2026-12-20,rep01
丁客户,丁公司,200,2026-03-01,2027-02-28,rep01
"""


async def test_an_overlapping_contract_is_no_evidence_of_renewal(
        services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """「甲客户年中加购了一份小合同，主合同到期没人续，日报却算它已续约」: only a contract starting at (or within
    the documented tolerance before) the end renews it; an add-on that starts mid-term does not."""
    for name in ("甲客户", "乙客户", "丙客户", "丁客户"):
        await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10), customer_name=name,
                        company=name[0] + "公司")
    sheet = tmp_path / "合同.csv"
    sheet.write_text(RENEWALS, encoding="utf-8")
    url = services.settings.database.url
    assert await asyncio.to_thread(run_cli, url, "contracts", "import", str(sheet), "--now", NOW) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(run_cli, url, "report", "--manager", "manager01", "--now", NOW) == 0
    line = next(li for li in capsys.readouterr().out.splitlines() if "续约率" in li)
    # 甲: add-on mid-term → unknown; 乙: next starts the day after → renewed; 丙: starts 13 days before the end
    assert "续约率 100%（2/2）" in line and "到期 3 份" in line and "状态未知 1" in line, line
    async with services.db.session() as s:  # 丁 ends in the window with an add-on beside it: still warned
        warned = (await s.scalars(select(RenewalWarning.company))).all()
    assert list(warned) == ["丁公司"]


async def test_the_managers_evidence_card_for_a_locked_account_says_confirming_lifts_the_lock(
        services: Services, chat: ChatSession, transcript: Transcript, clock: ManualClock, tmp_path: Path) -> None:
    """「主管收到『证据待确认』，只写确认后能签约，不知道确认了续约锁就解开」."""
    account = await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10),
                              customer_name="韩娜伟", company="宏达科技", phone="19493351666")
    sheet = tmp_path / "合同.csv"
    sheet.write_text(LOCKED, encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", NOW) == 0
    clock.set(datetime.fromisoformat(NOW))
    chat.user = "rep01"
    await chat.handle_line(f"证据 {account} 客户已在微信确认续签一年，合同下周盖章")
    told = transcript.last("rep01")["text"]
    assert "解除" in told and "锁定" in told, told
    card = next(m for m in reversed(transcript.to("manager01")) if m["title"].startswith("证据待确认"))
    assert "确认后" in card["text"] + card.get("note", "") and "解除" in card["text"] + card.get("note", ""), card
    chat.user = "manager01"
    await chat.handle_line("/click 确认")
    async with services.db.session() as s:
        assert (await s.scalar(select(RenewalWarning.status))) == "proof"
