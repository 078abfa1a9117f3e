"""Audit 18d: renewal findings reproduced in our own fixtures, through chat and the CLI, on SQLite and PostgreSQL
(the `services` fixture below overrides conftest's SQLite-only one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from storage.models import Reminder, RenewalWarning
from tests.conftest import Transcript, run_cli
from tests.renewals_helpers import seed_customers, write_files

NOW = "2026-11-23T10:00+08:00"


@pytest.fixture
def services(services_both: Services) -> Services:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return services_both


async def _warnings(services: Services) -> dict[int, RenewalWarning]:
    async with services.db.session() as s:
        return {w.lead_id: w for w in (await s.execute(select(RenewalWarning))).scalars()}


async def test_a_payments_file_after_the_contracts_file_withdraws_the_warning_of_an_account_that_paid(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """#9: chat delivers one file at a time. The contracts file alone warns 赵六 (no payment on file yet); the
    payments file then shows 赵六 paid 22 days ago: the warning is withdrawn, the lock lifted, the ladder stopped,
    owner and manager told in one line. 李明's old payment changes nothing: still warned and locked."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    chat.user = "admin01"
    await chat.handle_line(f"/file {contracts}")
    assert "续约预警：新发出 2 条" in transcript.last("admin01")["text"]
    warned = await _warnings(services)
    assert sorted(warned) == sorted([ids["li"], ids["zhao"]]) and warned[ids["zhao"]].locked

    await chat.handle_line(f"/file {payments}")
    assert "撤回 1 条" in transcript.last("admin01")["text"]
    warned = await _warnings(services)
    zhao, li = warned[ids["zhao"]], warned[ids["li"]]
    assert (zhao.status, zhao.locked) == ("withdrawn", False)
    assert (li.status, li.locked) == ("open", True)
    for who in ("rep01", "manager01"):
        told = transcript.last(who)["text"]
        assert "赵六" in told and "2026-11-01 回款" in told and "续约预警已撤回" in told and "锁定已解除" in told
    async with services.db.session() as s:
        timers = list((await s.execute(select(Reminder).where(Reminder.rule == "renewal",
                                                              Reminder.status == "pending"))).scalars())
    assert [t.lead_id for t in timers] == [ids["li"]]

    chat.user = "rep01"
    await chat.handle_line(f"跟进 {ids['zhao']} 电话沟通了续约")
    assert "🔒" not in transcript.last("rep01")["text"]
    await chat.handle_line("续约")
    listed = "\n".join(m["text"] for m in transcript.to("rep01")[-2:])
    assert "已回款，预警撤回" in listed


async def test_two_cli_imports_withdraw_too(services: Services, tmp_path: Path, capsys: object) -> None:
    """#9 on the CLI: two separate `contracts import` commands end like one with both files."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    url = services.settings.database.url
    await asyncio.to_thread(run_cli, url, "contracts", "import", str(contracts), "--now", NOW)
    await asyncio.to_thread(run_cli, url, "contracts", "import", str(payments), "--now", NOW)
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "续约预警：撤回 1 条" in out
    warned = await _warnings(services)
    assert [lead for lead, w in warned.items() if w.locked] == [ids["li"]]


async def test_after_asking_the_manager_the_ladder_stops(services: Services, chat: ChatSession,
                                                         transcript: Transcript, tmp_path: Path) -> None:
    """#14: once the rep asked the manager to step in, the ladder no longer reminds the rep, CCs the manager or
    sends a second 🆘; the lock stays until the proof or the manager."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(payments),
                            str(contracts), "--now", NOW)
    await chat.handle_line(f"/now {NOW}")
    await chat.handle_line(f"申请主管介入 {ids['li']}")
    assert "介入" in transcript.last("rep01")["text"]
    assert sum(m["title"] == "🆘 续约预警需要你介入" for m in transcript.to("manager01")) == 1
    for _ in range(4):
        await chat.handle_line("/advance 2d")
    assert not any(m["title"].startswith("⚠️ 续约预警未处理") for m in transcript.to("rep01"))
    assert not any(m["title"].startswith("📋 抄送：续约预警") for m in transcript.to("manager01"))
    assert sum(m["title"] == "🆘 续约预警需要你介入" for m in transcript.to("manager01")) == 1
    assert (await _warnings(services))[ids["li"]].locked


LATER_CONTRACT = """客户,公司,电话,金额,开始日期,结束日期,负责人
李明,东方制造有限公司,139 0000 0001,12万,2026-04-01,2027-03-31,张伟
"""


async def test_offboarding_hands_the_leavers_contracts_to_the_successor(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path, capsys: object) -> None:
    """#17: after 离职 the leaver's contracts are the successor's; a later warning goes to the successor and the
    manager's card names them; a contract still naming someone who left warns the lead's current owner. #33: an
    import row naming the leaver says they left. #34: the console shows current owners and the last payment."""
    from datetime import date

    from storage.models import Contract
    from tests.conftest import MONDAY_10AM
    from tests.console_support import page_as

    ids = await seed_customers(services)
    sheet = tmp_path / "合同.csv"
    sheet.write_text(LATER_CONTRACT, encoding="utf-8")
    url = services.settings.database.url
    assert await asyncio.to_thread(run_cli, url, "contracts", "import", str(sheet), "--now", NOW) == 0
    chat.user = "admin01"
    await chat.handle_line("离职 rep01 交给 rep02")
    await chat.handle_line("/click 确认")
    async with services.db.session() as s:
        assert [c.owner_id for c in (await s.execute(select(Contract))).scalars()] == ["rep02"]
        s.add(Contract(lead_id=ids["other"], customer="王五", amount_cny=9000, start_on=date(2026, 3, 1),
                       end_on=date(2027, 2, 28), owner_id="rep01", created_at=MONDAY_10AM, updated_at=MONDAY_10AM))

    again = tmp_path / "合同2.csv"
    again.write_text(LATER_CONTRACT.replace("2026-04-01", "2026-04-02"), encoding="utf-8")
    await asyncio.to_thread(run_cli, url, "contracts", "import", str(again), "--now", NOW)
    assert "负责人「张伟」已离职，请改填接手人" in capsys.readouterr().out  # type: ignore[attr-defined]

    later = "2027-01-05T10:00+08:00"
    await asyncio.to_thread(run_cli, url, "contracts", "scan", "--now", later)
    warned = await _warnings(services)
    assert {lead: w.owner_id for lead, w in warned.items()} == {ids["li"]: "rep02", ids["other"]: "rep02"}
    await chat.handle_line(f"/now {later}")
    cards = [m for m in transcript.to("manager01") if m["title"] == "⚠️ 续约预警"]
    assert len(cards) == 2 and all("李娜" in m["text"] and "张伟" not in m["text"] for m in cards)
    assert sum(m["title"] == "⚠️ 续约预警" for m in transcript.to("rep02")) == 2
    assert not any(m["title"] == "⚠️ 续约预警" for m in transcript.to("rep01"))

    old_payment = tmp_path / "回款.csv"
    old_payment.write_text("客户,电话,回款日期,金额\n李明,13900000001,2026-08-01,5000\n", encoding="utf-8")
    await asyncio.to_thread(run_cli, url, "contracts", "import", str(old_payment), "--now", later)
    page = await page_as(services, "manager01", "/admin/renewals")
    assert "已离职" not in page and "2026-08-01" in page


async def test_a_corrupt_workbook_sent_in_chat_gets_the_clis_clear_failure(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """#7: a corrupt XLSX from the admin in chat said 「📚 导入完成：…跳过 1」; it is a failure, worded as the CLI's."""
    broken = tmp_path / "台账.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    chat.user = "admin01"
    await chat.handle_line(f"/file {broken}")
    told = transcript.last("admin01")["text"]
    assert told.startswith("❌ 台账.xlsx：") and "没有导入任何数据" in told and "导入完成" not in told, told


async def test_an_evidence_note_keeps_its_chinese_punctuation(services: Services, chat: ChatSession,
                                                              tmp_path: Path) -> None:
    """#32: 「证据 N 客户口头同意续约，下周寄合同」 was stored with an ASCII comma."""
    from storage.models import Evidence

    ids = await seed_customers(services)
    await chat.handle_line(f"证据 {ids['other']} 客户口头同意续约，下周寄合同")
    async with services.db.session() as s:
        notes = [e.note for e in (await s.execute(select(Evidence))).scalars()]
    assert notes == ["客户口头同意续约，下周寄合同"]


def test_the_gaps_answer_ends_with_one_closing_line() -> None:
    """#31: the admin's 知识缺口 answer ended with two lines pointing at the console page."""
    from datetime import datetime

    from handlers.kb_gaps import FieldGap, FieldNote, gaps_text

    at = datetime(2026, 11, 20, 10, 0)
    gap = FieldGap("competitor", "某对手", 2, 5, at, (FieldNote(3, "张伟", at, "客户拿某对手的报价来压价"),))
    text = gaps_text([], [gap])
    assert text.count("「知识缺口」页") == 1 and text.endswith("并一键据此新建卡片。"), text
    assert gaps_text([]).count("「知识缺口」页") == 1


def test_a_competitor_written_after_jingpin_is_named_once() -> None:
    """#28: 「竞品某友报价…」 gave 「竞品 某友、竞品某友」."""
    from handlers.leads.insights import named_rivals

    assert named_rivals("客户说竞品某友报价比我们低两成") == ["某友"]
    assert named_rivals("客户说竞品 某友报价比我们低两成") == ["某友"]
