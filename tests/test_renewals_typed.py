"""New-user audit of the renewal warning: its actions typed (by the number on 续约 or the customer's name), the
续约 list's own buttons, warnings answered lately still shown (as done), the manager told of a proof, and the
digest naming the customers still warned."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.chat import ChatSession
from bot.services import Services
from handlers.report import compute_report, report_lines
from storage.models import RenewalWarning
from tests.conftest import Transcript, run_cli
from tests.renewals_helpers import seed_customers

NOW = "2026-11-23T10:00+08:00"
# two accounts at risk: 孙七 (health 30, ends first) and 李明 (health computed 40); nobody has paid lately
TWO_AT_RISK = """客户,公司,电话,金额,开始日期,结束日期,负责人,健康分
李明,东方制造有限公司,139 0000 0001,12万,2025-12-01,2026-12-31,rep01,
孙七,南山食品,,50000,2025-12-20,2026-12-20,rep01,30
"""


async def _two_warnings(services: Services, chat: ChatSession, tmp_path: Path) -> dict[str, int]:
    ids = await seed_customers(services)
    sheet = tmp_path / "合同.csv"
    sheet.write_text(TWO_AT_RISK, encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", NOW) == 0
    await chat.handle_line(f"/now {NOW}")
    return ids


async def _status(services: Services, lead_id: int) -> tuple[str, bool]:
    async with services.db.session() as s:
        w = (await s.execute(select(RenewalWarning).where(RenewalWarning.lead_id == lead_id))).scalar_one()
    return w.status, w.locked


async def test_typed_actions_name_the_warning_by_its_number_or_customer(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    ids = await _two_warnings(services, chat, tmp_path)
    await chat.handle_line("续约")
    listed = next(m for m in reversed(transcript.to("rep01")) if m["title"] == "⚠️ 续约预警")
    sun, li = ids["sun"], ids["li"]
    assert listed["text"].index(f"🔒 #{sun} 孙七") < listed["text"].index(f"🔒 #{li} 李明")
    assert f"已联系 {sun}" in listed["text"]
    cards = [m for m in transcript.to("rep01") if m["title"].startswith("续约预警 ")]
    assert [m["title"] for m in cards][-2:] == [f"续约预警 · #{sun} 孙七", f"续约预警 · #{li} 李明"]
    assert [b["text"] for b in cards[-1]["buttons"]] == ["已联系", "提交续签证明", "申请主管介入"]

    await chat.handle_line("已联系 9")
    assert "没有线索 #9" in transcript.last("rep01")["text"]
    await chat.handle_line("已联系 王五")
    told = transcript.last("rep01")["text"]
    assert "续约预警里没有客户「王五」" in told and f"#{li} 李明" in told
    await chat.handle_line(f"已联系 {li}")
    assert "已联系客户 李明" in transcript.last("rep01")["text"]
    assert await _status(services, ids["li"]) == ("contacted", True)
    assert await _status(services, ids["sun"]) == ("open", True)

    await chat.handle_line("申请主管介入 孙七")
    assert "介入客户 孙七" in transcript.last("rep01")["text"]
    assert transcript.last("manager01")["title"] == "🆘 续约预警需要你介入"
    await chat.handle_line("提交续签证明 南山")  # a part of the company's name
    assert f"线索 #{ids['sun']} 的合同/回款截图" in transcript.last("rep01")["text"]

    await chat.handle_line(f"解除锁定 {sun}")
    assert "只有主管或管理员可以解除" in transcript.last("rep01")["text"]
    assert await _status(services, ids["sun"]) == ("open", True)
    chat.user = "manager01"
    await chat.handle_line("续约")  # the manager is offered the manager's actions, not to ask himself for help
    listed = next(m for m in reversed(transcript.to("manager01")) if m["title"] == "⚠️ 续约预警")
    assert f"解除锁定 {sun}" in listed["text"] and "申请主管介入" not in listed["text"]
    await chat.handle_line("解除锁定 李明")
    assert "已解除客户 李明" in transcript.last("manager01")["text"]
    assert "🔓" in transcript.last("rep01")["text"]
    assert await _status(services, ids["li"]) == ("lifted", False)

    chat.user = "rep01"  # the lifted warning stays on the list for a while, marked done
    await chat.handle_line("续约")
    listed = next(m for m in reversed(transcript.to("rep01")) if m["title"] == "⚠️ 续约预警")
    assert f"🔒 #{sun}" in listed["text"] and f"🔒 #{li}" not in listed["text"]
    assert "近 7 天已处理" in listed["text"] and "✅ #" in listed["text"] and "主管已解除锁定" in listed["text"]
    await chat.handle_line("/advance 8d")
    await chat.handle_line("续约")
    listed = next(m for m in reversed(transcript.to("rep01")) if m["title"] == "⚠️ 续约预警")
    assert "已处理" not in listed["text"]


async def test_the_manager_hears_of_the_proof_and_the_digest_names_the_warned_customers(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    ids = await _two_warnings(services, chat, tmp_path)
    now = services.clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    line = next(li for li in report_lines(report) if "续约预警待处理" in li)
    assert "2 个客户" in line and line.index("孙七") < line.index("李明") and "12-20 到期" in line

    proof = tmp_path / "续签合同.pdf"
    proof.write_bytes(b"%PDF-1.4 renewal")
    await chat.handle_line(f"证据 {ids['li']}")
    await chat.handle_line(f"/file {proof}")
    assert "续约预警已处理" in transcript.last("rep01")["text"]
    told = transcript.last("manager01")["text"]
    assert "张伟" in told and "李明" in told and "提交续签证明" in told and "锁定已解除" in told


async def test_a_typed_action_without_warnings_says_so(services: Services, chat: ChatSession,
                                                        transcript: Transcript) -> None:
    await seed_customers(services)
    await chat.handle_line("已联系 1")
    assert "没有待处理的续约预警" in transcript.last("rep01")["text"]


async def test_a_new_lead_for_the_locked_customer_is_its_duplicate_and_stays_locked(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """Audit 18b F2: a locked rep types 新线索 for the locked (won) customer — another contact of the same company,
    another phone. The account's lead is found as the duplicate: no second open lead is made, the rep is sent to
    the existing one, which the lock still holds; and the next import still matches the customer."""
    ids = await _two_warnings(services, chat, tmp_path)
    await chat.handle_line("新线索 钱七 南山食品 采购经理 13700005555")
    await chat.handle_line("/click 确认")
    said = transcript.last("rep01")["text"]
    assert f"线索 #{ids['sun']}" in said and "已启用" not in said
    async with services.db.session() as s:
        from storage.leads import OPEN_STATUSES
        from storage.models import Lead
        same = [lead.id for lead in (await s.execute(select(Lead).where(
            Lead.company == "南山食品", Lead.status.in_((*OPEN_STATUSES, "won"))))).scalars()]
        draft = (await s.execute(select(func.max(Lead.id)))).scalar_one()
    assert same == [ids["sun"]]
    for lead_id in (draft, ids["sun"]):  # neither the unconfirmed draft nor the account takes a follow-up
        await chat.handle_line(f"跟进 {lead_id} 电话沟通续约")
        assert "✅" not in transcript.last("rep01")["text"]
    sheet = tmp_path / "合同.csv"
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", NOW) == 0  # still one account for 孙七 · 南山食品: nothing ambiguous


async def test_a_locked_lead_is_paused_not_overdue_and_contacted_counts_as_first_contact(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """Audit 18b F4: an active lead never contacted gets a renewal warning, which locks it. The digest must not
    list it 超时 nor the rep's 我的线索 show it 🔴 (the lock refuses 跟进); 我的线索 shows 🔒 锁定. 已联系 on the
    warning is a contact: it meets the first-contact deadline."""
    from tests.conftest import MONDAY_10AM
    from tests.leads_helpers import cn, seed_lead

    lead_id = await seed_lead(services, "rep01", stage="discover", assigned_at=cn(20, 10), customer_name="郑九",
                              company="海川仪表")
    sheet = tmp_path / "合同.csv"
    sheet.write_text("客户,公司,金额,开始日期,结束日期,健康分\n郑九,海川仪表,60000,2026-01-11,2027-01-10,30\n",
                     encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", NOW) == 0
    await chat.handle_line(f"/now {NOW}")
    assert await _status(services, lead_id) == ("open", True)

    async def overdue_ids() -> list[int]:
        async with services.db.session() as s:
            report = await compute_report(s, "manager01", MONDAY_10AM - timedelta(days=7), chat.clock.now(),
                                          services.settings.reminders)
        return [o.lead_id for r in report.reps for o in r.overdue]

    assert lead_id not in await overdue_ids()
    await chat.handle_line("我的线索")
    line = next(li for li in transcript.last("rep01")["text"].splitlines() if f"#{lead_id} " in li)
    assert line.startswith("🔒") and "🔒 锁定" in line and "🔴" not in line

    await chat.handle_line("已联系 郑九")
    assert "已联系客户 郑九" in transcript.last("rep01")["text"]
    async with services.db.session() as s:
        from storage.models import Activity, Lead
        lead = await s.get(Lead, lead_id)
        assert lead is not None and lead.first_contact_at is not None
        kinds = list((await s.execute(select(Activity.kind).where(Activity.lead_id == lead_id))).scalars())
    assert "contact" in kinds


async def test_the_lock_holds_the_account_companys_leads_when_the_contract_names_the_group(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """The contract row names the customer by the account's company and its 公司 column by the group: a new lead
    at the account's company is still its duplicate, and the owner's open lead there is still locked."""
    from tests.leads_helpers import cn, seed_lead

    account = await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10),
                              company="青松印务")
    other = await seed_lead(services, "rep01", stage="discover", assigned_at=cn(20, 10), customer_name="吴十",
                            company="青松印务", phone="13700006666")
    sheet = tmp_path / "合同.csv"
    sheet.write_text("客户,公司,金额,开始日期,结束日期,健康分\n青松印务,青松控股集团,60000,2026-01-11,2027-01-10,30\n",
                     encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", NOW) == 0
    await chat.handle_line(f"/now {NOW}")
    assert await _status(services, account) == ("open", True)
    await chat.handle_line(f"跟进 {other} 电话沟通")
    assert "🔒" in transcript.last("rep01")["text"]
    await chat.handle_line("新线索 郑十一 青松印务 厂长 13700007777")
    await chat.handle_line("/click 确认")
    assert "已启用" not in transcript.last("rep01")["text"]
