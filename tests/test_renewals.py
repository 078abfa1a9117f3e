"""Renewal early warning: contract and payment import (CLI and chat), the scan, the card, the lock, the proof."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.chat import ChatSession
from bot.services import Services
from handlers.renewals.importer import import_files
from handlers.renewals.scan import scan
from storage.models import Contract, OutboxMessage, Payment, Reminder, RenewalWarning
from tests.conftest import Transcript, run_cli, with_renewal_scan
from tests.renewals_helpers import seed_customers, write_files

NOW = "2026-11-23T10:00+08:00"


@pytest.fixture
def both(services_both: Services) -> Services:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return services_both


async def test_scans_at_once_warn_each_contract_once_on_both_backends(both: Services, tmp_path: Path) -> None:
    """Two processes' daily scans racing, then a third later: one warning, one card per recipient, one timer."""
    services = both
    ids = await seed_customers(services)
    reports, _ = await import_files(services.db, services.settings, list(write_files(tmp_path)), services.clock.now())
    assert [(r.inserted, len(r.issues)) for r in reports] == [(3, 2), (2, 1)]
    async with services.db.session() as s:  # forget the import's own scan: the race below must find the contract
        await s.execute(RenewalWarning.__table__.delete())
        await s.execute(OutboxMessage.__table__.delete())
        await s.execute(Reminder.__table__.delete())

    async def one_scan() -> int:
        async with services.db.session() as session:
            return await scan(session, services.settings, services.clock.now())

    found = await asyncio.gather(one_scan(), one_scan())
    assert sorted(found) == [0, 1] and await one_scan() == 0
    async with services.db.session() as s:
        warning = (await s.execute(select(RenewalWarning))).scalar_one()
        cards = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedup_key.like("renewal:%")))).scalar_one()
        timers = (await s.execute(select(func.count()).select_from(Reminder).where(
            Reminder.rule == "renewal"))).scalar_one()
    assert (warning.lead_id, warning.status, warning.locked) == (ids["li"], "open", True)
    assert (cards, timers) == (2, 1)


async def _count(services: Services, model: type) -> int:
    async with services.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_cli_import_reports_bad_rows_and_warns_once(services: Services, tmp_path: Path, capsys: object) -> None:
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    url = services.settings.database.url
    rc = await asyncio.to_thread(run_cli, url, "contracts", "import", str(payments), str(contracts), "--now", NOW)
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 1  # bad rows were skipped
    assert "payments.xlsx（回款）：3 行，新增 2，重复 0，跳过 1" in out
    assert "第 4 行：回款金额不能是负数（-500）" in out
    assert "合同台账.csv（合同）：5 行，新增 3，更新 0，未变 0，跳过 2" in out
    assert "第 5 行：结束日期 2026-01-01 早于开始日期 2026-12-01" in out
    assert "第 6 行：找不到客户「无名氏（不存在公司）」" in out
    assert "续约预警：新发出 1 条" in out
    async with services.db.session() as s:
        warnings = list((await s.execute(select(RenewalWarning))).scalars())
        zhao = (await s.execute(select(Contract).where(Contract.lead_id == ids["zhao"]))).scalar_one()
        li = (await s.execute(select(Contract).where(Contract.lead_id == ids["li"]))).scalar_one()
        cards = list((await s.execute(select(OutboxMessage).where(OutboxMessage.dedup_key.like("renewal:%")))
                      ).scalars())
        ladder = list((await s.execute(select(Reminder).where(Reminder.rule == "renewal"))).scalars())
    assert zhao.owner_id == "rep01" and zhao.amount_cny == 80000  # owner given by name
    assert li.amount_cny == 120000
    # 李明: ends in 38 days, last payment 2026-05-01, health computed 40 → warned; 赵六 paid this month, 孙七 is 85
    assert [(w.lead_id, w.health, w.health_source, str(w.last_paid_on)) for w in warnings] == [
        (ids["li"], 40, "computed", "2026-05-01")]
    assert sorted(c.recipient for c in cards) == ["manager01", "rep01"]
    card = next(c for c in cards if c.recipient == "rep01").payload
    assert card["title"] == "⚠️ 续约预警"
    assert "2026-12-31 到期（还剩 38 天）" in card["description"] and "健康分 40" in card["description"]
    assert [b["text"] for b in card["buttons"]] == ["已联系", "提交续签证明", "申请主管介入"]
    assert len(ladder) == 1 and ladder[0].lead_id == ids["li"]

    # the same files again: nothing new, nothing warned twice
    rc = await asyncio.to_thread(run_cli, url, "contracts", "import", str(contracts), str(payments), "--now", NOW)
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "新增 0，更新 0，未变 3，跳过 2" in out and "新增 0，重复 2，跳过 1" in out
    assert "续约预警：没有新的预警" in out
    assert await _count(services, RenewalWarning) == 1 and await _count(services, Payment) == 2


async def test_unreadable_files_write_nothing(services: Services, tmp_path: Path, capsys: object) -> None:
    await seed_customers(services)
    broken = tmp_path / "合同.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    headless = tmp_path / "名单.csv"
    headless.write_text("姓名,电话\n李明,13900000001\n", encoding="utf-8")
    rc = await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(broken),
                                 str(headless), "--now", NOW)
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 1
    assert "❌ 合同.xlsx：" in out and "没有导入任何数据" in out
    assert "❌ 名单.csv：表头里没有「结束日期」（合同表）或「回款日期」（回款表）列" in out
    assert await _count(services, Contract) == 0


async def test_journey_chat_import_warning_lock_proof_unlock(services: Services, chat: ChatSession,
                                                            transcript: Transcript, tmp_path: Path) -> None:
    """Contract import by an admin in chat → warning card → the rep's other actions locked → renewal proof →
    unlocked."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    chat.user = "admin01"
    await chat.handle_line(f"/file {payments}")
    await chat.handle_line(f"/file {contracts}")
    report = transcript.last("admin01")["text"]
    assert "合同台账.csv（合同）：5 行，新增 3" in report and "续约预警：新发出 1 条" in report
    card = transcript.last("rep01")
    assert card["title"] == "⚠️ 续约预警" and "李明" in card["text"]
    boss = transcript.last("manager01")
    assert boss["title"] == "⚠️ 续约预警" and [b["text"] for b in boss["buttons"]][-1] == "解除锁定"

    chat.user = "rep01"
    await chat.handle_line(f"跟进 {ids['other']} 电话沟通了报价")
    assert "🔒" in transcript.last("rep01")["text"] and f"证据 {ids['li']}" in transcript.last("rep01")["text"]
    await chat.handle_line("/click 已联系")
    assert "催办已停止" in transcript.last("rep01")["text"]
    await chat.handle_line(f"跟进 {ids['other']} 电话沟通了报价")
    assert "🔒" in transcript.last("rep01")["text"]  # contacted is not proof: still locked
    await chat.handle_line("续约")
    listed, actions = transcript.to("rep01")[-2:]
    assert listed["title"] == "⚠️ 续约预警" and "🔒 #" in listed["text"] and "已联系，待续签证明" in listed["text"]
    assert [b["text"] for b in actions["buttons"]] == ["提交续签证明", "申请主管介入"]  # 已联系 is done

    proof = tmp_path / "续签合同.pdf"
    proof.write_bytes(b"%PDF-1.4 renewal")
    await chat.handle_line(f"证据 {ids['li']}")
    assert "5 分钟内" in transcript.last("rep01")["text"]
    await chat.handle_line(f"/file {proof}")
    assert "续约预警已处理" in transcript.last("rep01")["text"]
    await chat.handle_line(f"跟进 {ids['other']} 电话沟通了报价")
    assert "🔒" not in transcript.last("rep01")["text"]
    async with services.db.session() as s:
        warning = (await s.execute(select(RenewalWarning))).scalar_one()
    assert (warning.status, warning.locked, warning.resolved_by) == ("proof", False, "rep01")
    await chat.handle_line("续约")
    listed = transcript.last("rep01")["text"]
    assert "没有待处理的续约预警 👍" in listed and "近 7 天已处理" in listed and "已提交续签证明" in listed


async def test_a_picture_that_is_no_contract_keeps_the_lock_and_the_manager_lifts_it(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    ids = await seed_customers(services)
    await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import",
                            *map(str, write_files(tmp_path)), "--now", NOW)
    other = tmp_path / "照片.pdf"
    other.write_bytes(b"%PDF-1.4 holiday")
    await chat.handle_line(f"证据 {ids['li']}")
    await chat.handle_line(f"/file {other}")
    assert "仍锁定" in transcript.last("rep01")["text"]
    chat.user = "manager01"
    await chat.handle_line(f"/now {NOW}")  # delivers the warning cards queued by the CLI
    await chat.handle_line("/click 解除锁定")
    assert "已解除" in transcript.last("manager01")["text"]
    assert "🔓" in transcript.last("rep01")["text"]
    chat.user = "rep01"
    await chat.handle_line(f"跟进 {ids['other']} 电话沟通了报价")
    assert "🔒" not in transcript.last("rep01")["text"]


async def test_the_ladder_climbs_while_nobody_answers(services: Services, chat: ChatSession, transcript: Transcript,
                                                     tmp_path: Path) -> None:
    await seed_customers(services)
    await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import",
                            *map(str, write_files(tmp_path)), "--now", NOW)
    await chat.handle_line(f"/now {NOW}")
    await chat.handle_line("/advance 2d")  # respond_days = 2 working days
    assert transcript.last("rep01")["title"] == "⚠️ 续约预警未处理（第1次）"
    await chat.handle_line("/advance 2d")
    assert transcript.last("manager01")["title"] == "📋 抄送：续约预警未处理"
    await chat.handle_line("/advance 5d")  # a weekend on the way: two more working days
    assert transcript.last("manager01")["title"] == "🆘 续约预警需要你介入"
    await chat.handle_line("/advance 5d")  # the top of the ladder: nothing more
    assert sum(m["title"] == "🆘 续约预警需要你介入" for m in transcript.to("manager01")) == 1


async def test_digest_renewal_rate_counts_unknown_as_unknown(services: Services) -> None:
    """Four contracts ended lately: one marked renewed, one followed by a new contract, one lost, two nobody
    filled in → 2 of 3 known renewed, 2 unknown; never 4 of 5 (or 100 %) renewed."""
    from datetime import date, timedelta

    from handlers.report import compute_report, report_lines
    from tests.conftest import MONDAY_10AM
    from tests.leads_helpers import cn, seed_lead

    leads = [await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10),
                             customer_name=f"客户{i}") for i in range(5)]
    ended = date(2026, 10, 31)
    rows = [(leads[0], "renewed"), (leads[1], None), (leads[2], "lost"), (leads[3], None), (leads[4], None)]
    async with services.db.session() as s:
        for lead_id, renewal in rows:
            s.add(Contract(lead_id=lead_id, customer="客户", amount_cny=1000, start_on=ended - timedelta(days=365),
                           end_on=ended, owner_id="rep01", renewal=renewal, created_at=MONDAY_10AM,
                           updated_at=MONDAY_10AM))
        s.add(Contract(lead_id=leads[1], customer="客户", amount_cny=1000, start_on=ended, end_on=date(2027, 10, 31),
                       owner_id="rep01", created_at=MONDAY_10AM, updated_at=MONDAY_10AM))  # the renewal of #2
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", MONDAY_10AM - timedelta(days=7), MONDAY_10AM,
                                      services.settings.reminders)
    assert report.renewals is not None
    assert (report.renewals.renewed, report.renewals.lost, report.renewals.unknown) == (2, 1, 2)
    line = next(li for li in report_lines(report) if "续约率" in li)
    assert "续约率 67%（2/3）" in line and "状态未知 2" in line and "到期 5 份" in line


async def test_digest_renewal_rate_counts_a_lost_contract_as_lost_despite_a_later_overlapping_one(
        services: Services) -> None:
    """An account's ended contract marked 未续约 while another contract of the account started later and overlaps
    it (an add-on deal, say): each ended contract counts once by its own outcome, so 1 of 2 renewed, not 2 of 2."""
    from datetime import date, timedelta

    from handlers.report import compute_report, report_lines
    from tests.conftest import MONDAY_10AM
    from tests.leads_helpers import cn, seed_lead

    lost_account, plain_account = [
        await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10), customer_name=name)
        for name in ("甲客户", "乙客户")]
    rows = [(lost_account, date(2025, 11, 1), date(2026, 10, 31), "lost"),
            (lost_account, date(2026, 6, 1), date(2027, 5, 31), None),  # starts later, overlaps the lost one
            (plain_account, date(2025, 11, 1), date(2026, 10, 31), None),
            (plain_account, date(2026, 11, 1), date(2027, 10, 31), None)]  # the renewal of the plain account
    async with services.db.session() as s:
        for lead_id, start, end, renewal in rows:
            s.add(Contract(lead_id=lead_id, customer="客户", amount_cny=1000, start_on=start, end_on=end,
                           owner_id="rep01", renewal=renewal, created_at=MONDAY_10AM, updated_at=MONDAY_10AM))
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", MONDAY_10AM - timedelta(days=7), MONDAY_10AM,
                                      services.settings.reminders)
    assert report.renewals is not None
    assert (report.renewals.renewed, report.renewals.lost, report.renewals.unknown) == (1, 1, 0)
    line = next(li for li in report_lines(report) if "续约率" in li)
    assert "续约率 50%（1/2）" in line and "未续约 1" in line


def test_contract_and_payment_figures_are_read_from_evidence_text() -> None:
    from datetime import date

    from handlers.renewals.evidence import contract_terms, payment_terms

    page = ("采购合同\n甲方：东方制造有限公司 乙方：本公司\n合同期限：2026年1月1日 至 2026年12月31日\n"
            "合同总金额：人民币 120,000.00 元")
    assert contract_terms(page) == (date(2026, 1, 1), date(2026, 12, 31), 120000)
    assert contract_terms("合同金额：12万元\n有效期 2027/01/01~2026/01/01") is None  # end before start
    assert contract_terms("合同期限：2026-01-01 至 2026-12-31") is None  # no amount: left to the import
    slip = "电子回单\n交易时间 2026-11-20 14:03\n转账金额 ¥38,500.00\n收款人 本公司"
    assert payment_terms(slip, date(2026, 11, 23)) == (date(2026, 11, 20), 38500)
    assert payment_terms("付款成功", date(2026, 11, 23)) is None


async def test_a_contract_page_filed_on_a_won_lead_becomes_its_contract(services: Services) -> None:
    from datetime import date

    from handlers.checks.evidence import Reading
    from handlers.leads import records
    from storage.models import Lead
    from tests.conftest import MONDAY_10AM
    from tests.leads_helpers import cn, seed_lead

    lead_id = await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10),
                              customer_name="钱九", company="远山电子")
    page = Reading("contract", "销售合同 甲方 远山电子\n合同期限 2026.02.01 至 2027.01.31\n合同金额：¥66,000")
    async with services.db.session() as s:
        lead = await s.get(Lead, lead_id)
        assert lead is not None
        outcome = await records.attach_evidence_file(s, lead, "rep01", "image", "ab" * 32, "x.png", MONDAY_10AM, page,
                                                     services.settings.checks)
    assert "已登记合同：2026-02-01 至 2027-01-31，金额 66,000 元" in outcome.message
    async with services.db.session() as s:
        contract = (await s.execute(select(Contract))).scalar_one()
    assert (contract.lead_id, contract.start_on, contract.end_on, contract.owner_id) == (
        lead_id, date(2026, 2, 1), date(2027, 1, 31), "rep01")


async def test_a_rep_sending_a_contracts_file_is_refused_and_nothing_is_written(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    await seed_customers(services)
    contracts, _ = write_files(tmp_path)
    await chat.handle_line(f"/file {contracts}")
    assert "只有管理员可以导入合同和回款" in transcript.last("rep01")["text"]
    assert await _count(services, Contract) == 0


async def test_another_teams_manager_cannot_lift_and_a_scan_by_cli_warns_nothing_twice(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path, capsys: object) -> None:
    from bot.actions import RenewalLift
    from bot.dispatch import dispatch
    from bot.messages import Inbound

    await seed_customers(services)
    url = services.settings.database.url
    await asyncio.to_thread(run_cli, url, "contracts", "import", *map(str, write_files(tmp_path)), "--now", NOW)
    rc = await asyncio.to_thread(run_cli, url, "contracts", "scan", "--now", NOW)
    assert rc == 0 and capsys.readouterr().out.strip().endswith("续约预警：没有新的预警")  # type: ignore[attr-defined]
    async with services.db.session() as s:
        warning = (await s.execute(select(RenewalWarning))).scalar_one()
    await dispatch(services, Inbound(channel="console", user_id="manager02", msg_id="lift-x", kind="click",
                                     received_at=services.clock.now(), click_key=RenewalLift(warning.id).pack()))
    await chat.settle()
    assert "找不到线索" in transcript.last("manager02")["text"]
    async with services.db.session() as s:
        assert (await s.get(RenewalWarning, warning.id)).locked  # type: ignore[union-attr]


@pytest.mark.parametrize("settings", [with_renewal_scan], indirect=True)
async def test_a_contract_entering_the_window_is_warned_by_that_mornings_scan(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """No import, no CLI: the daily scan (09:30 on working days) finds the contract the day it enters the
    90-day window, and only then."""
    from datetime import date

    from tests.conftest import MONDAY_10AM

    ids = await seed_customers(services)
    async with services.db.session() as s:
        s.add(Contract(lead_id=ids["sun"], customer="孙七", amount_cny=50000, start_on=date(2026, 2, 25),
                       end_on=date(2027, 2, 25), owner_id="rep01", created_at=MONDAY_10AM, updated_at=MONDAY_10AM))
    await chat.handle_line("/now 2026-11-23T10:00+08:00")  # Monday: 94 days left
    await chat.handle_line("/advance 3d")  # Thursday 10:00: 91 days left
    assert await _count(services, RenewalWarning) == 0
    await chat.handle_line("/advance 20h")  # Friday 06:00: not yet scanned today
    assert await _count(services, RenewalWarning) == 0
    await chat.handle_line("/advance 4h")  # Friday 10:00: the 09:30 scan ran, 90 days left
    card = transcript.last("rep01")
    assert card["title"] == "⚠️ 续约预警" and "还剩 90 天" in card["text"] and "孙七" in card["text"]
    assert await _count(services, RenewalWarning) == 1


async def test_an_open_warning_follows_the_lead_when_its_owner_leaves(services: Services, chat: ChatSession,
                                                                      transcript: Transcript, tmp_path: Path) -> None:
    """New-user audit: after 离职 the warning, its lock and its reminders stayed with the rep who left; the
    successor saw no warning and was not locked."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    chat.user = "admin01"
    await chat.handle_line(f"/file {payments}")
    await chat.handle_line(f"/file {contracts}")
    await chat.handle_line("离职 rep01 交给 rep02")
    assert "确认让" in transcript.last("admin01")["title"]
    await chat.handle_line("/click 确认")
    async with services.db.session() as s:
        warning = (await s.execute(select(RenewalWarning))).scalar_one()
    assert warning.owner_id == "rep02" and warning.locked
    chat.user = "rep02"
    await chat.handle_line(f"跟进 {ids['other']} 电话沟通了报价")
    assert "🔒" in transcript.last("rep02")["text"]
    await chat.handle_line("续约")
    assert "🔒 #" in transcript.to("rep02")[-2]["text"]


async def test_a_renewal_lock_pauses_the_sla_timers_it_forbids_to_answer(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """Audit 18 #1: the lock refuses 跟进 on the customer's open lead, so its first-contact clock must not remind,
    CC the manager or freeze the lead while the lock holds."""
    from reminders.lifecycle import on_owner_changed
    from storage.models import Lead

    ids = await seed_customers(services)
    await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import",
                            *map(str, write_files(tmp_path)), "--now", NOW)
    await chat.handle_line(f"/now {NOW}")
    async with services.db.session() as s:
        lead = await s.get(Lead, ids["other"])
        assert lead is not None
        lead.first_contact_at = None
        await on_owner_changed(s, lead, services.clock.now(), services.settings.reminders)  # the clock starts
        await s.commit()
    await chat.handle_line(f"跟进 {ids['other']} 电话沟通了报价")
    assert "🔒" in transcript.last("rep01")["text"]
    await chat.handle_line("/advance 10d")
    assert not any("首次联系" in t for t in transcript.texts())
    async with services.db.session() as s:
        lead = await s.get(Lead, ids["other"])
        assert lead is not None and lead.status == "active" and lead.owner_id == "rep01"
