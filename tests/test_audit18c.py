"""New-user audit 18c of renewals, ramp-up and handover: what the users said, as tests."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import FormData
from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from bot.usertext import plain
from handlers.ramp import service
from handlers.ramp.path import parse_path
from handlers.report import compute_report, report_lines
from storage.leads import OPEN_STATUSES
from storage.models import Lead, RampProgress, RenewalWarning
from tests.conftest import Transcript, run_cli
from tests.console_support import csrf, login, page_as, start_client
from tests.console_support import seed_cards as seed_console_cards
from tests.leads_helpers import cn, seed_lead
from tests.ramp_helpers import seed_cards
from tests.renewals_helpers import seed_customers
from tests.synth import make_sample


async def _enrol(services: Services, text: str) -> None:
    async with services.db.session() as s:
        await service.set_path(s, parse_path(text), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")


def _strict_quiz(settings: Settings) -> Settings:
    return replace(settings, ramp=replace(settings.ramp, wrong_per_round=1, retry_hours=2))


@pytest.mark.parametrize("settings", [_strict_quiz], indirect=True)
async def test_the_quiz_round_limit_and_the_wait_before_a_retry_are_the_admins_to_set(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「我们想一错就重考、两小时后再来，改不了」: `[ramp] wrong_per_round` and `retry_hours`."""
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    for _ in range(8):
        said = transcript.last("rep01")
        if "这一轮没通过" in said["title"] + said["text"]:
            break
        await chat.handle_line("1")
    failed = [t for t in transcript.texts("rep01") if "这一轮没通过" in t]
    assert failed and "答错 1 题" in failed[0] and "今天 12:00 后" in failed[0]  # 10:00 + 2 h
    async with services.db.session() as s:
        row = (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep01"))).first()
    assert row is not None and row.correct == 0
    await chat.handle_line("/advance 2h1m")
    await chat.handle_line("通关")
    assert "后可以重考" not in transcript.last("rep01")["text"]


LOCKED_CUSTOMER = """客户,公司,电话,金额,开始日期,结束日期,负责人,健康分
韩娜伟,宏达科技,19493351666,80000,2023-10-01,2024-10-31,rep01,30
"""


async def _locked_account(services: Services, tmp_path: Path, now: datetime) -> int:
    """rep01's won customer 韩娜伟 · 宏达科技, whose contract ends soon with nothing paid: warned and locked."""
    account = await seed_lead(services, "rep01", status="won", stage="close", assigned_at=now - timedelta(days=300),
                              customer_name="韩娜伟", company="宏达科技", phone="19493351666")
    sheet = tmp_path / "合同.csv"
    sheet.write_text(LOCKED_CUSTOMER, encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", now.isoformat()) == 0
    async with services.db.session() as s:
        assert (await s.scalar(select(RenewalWarning.locked).where(RenewalWarning.lead_id == account))) is True
    return account


@pytest.mark.parametrize("who", ["rep01", "rep02"])
async def test_create_anyway_on_a_screenshot_cannot_sidestep_a_renewal_lock(
        services: Services, chat: ChatSession, transcript: Transcript, clock: ManualClock, tmp_path: Path,
        who: str) -> None:
    """「锁定中的客户，我发截图点『仍然新建』就又有了一条能操作的线索」: the draft stays a draft, one account."""
    sample = make_sample(3, "lead")  # 韩娜伟 · 宏达科技 · 19493351666
    account = await _locked_account(services, tmp_path, sample.now)
    clock.set(sample.now)
    chat.user = who
    shot = tmp_path / "shot.jpg"
    shot.write_bytes(sample.image)
    await chat.handle_line(f"/image {shot}")
    card = transcript.last(who)
    assert "仍然新建" in [b["text"] for b in card["buttons"]], card
    await chat.handle_line("/click 仍然新建")
    said = transcript.last(who)["text"]
    assert "已新建" not in said and f"#{account}" in said and "续约" in said
    async with services.db.session() as s:
        live = list((await s.scalars(select(Lead.id).where(Lead.company.like("%宏达%"),
                                                            Lead.status.in_((*OPEN_STATUSES, "won"))))).all())
    assert live == [account]


TWO_AT_RISK = """客户,公司,电话,金额,开始日期,结束日期,负责人,健康分
李明,东方制造有限公司,139 0000 0001,12万,2025-12-01,2026-12-31,rep01,
孙七,南山食品,,50000,2025-12-20,2026-12-20,rep01,30
"""
RENEWAL_NOW = "2026-11-23T10:00+08:00"


async def _two_warnings(services: Services, chat: ChatSession, tmp_path: Path) -> dict[str, int]:
    ids = await seed_customers(services)
    sheet = tmp_path / "合同.csv"
    sheet.write_text(TWO_AT_RISK, encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", RENEWAL_NOW) == 0
    await chat.handle_line(f"/now {RENEWAL_NOW}")
    return ids


async def test_the_number_typed_on_renewals_is_the_lead_number_shown(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """「列表里写着 #3 李明，我回『已联系 3』它却找别的客户」: the numbers shown and typed are the lead numbers."""
    ids = await _two_warnings(services, chat, tmp_path)
    await chat.handle_line("续约")
    listed = next(m for m in reversed(transcript.to("rep01")) if m["title"] == "⚠️ 续约预警")["text"]
    assert f"#{ids['sun']} 孙七" in listed and f"#{ids['li']} 李明" in listed
    assert "1." not in listed and "2." not in listed  # no second numbering beside the lead numbers
    assert f"「已联系 {ids['sun']}」" in listed
    cards = [m["title"] for m in transcript.to("rep01") if m["title"].startswith("续约预警")]
    assert cards[-2:] == [f"续约预警 · #{ids['sun']} 孙七", f"续约预警 · #{ids['li']} 李明"]
    await chat.handle_line("已联系 2")  # the second line of the list, but lead #2 (赵六) has no warning
    told = transcript.last("rep01")["text"]
    assert ids["zhao"] == 2 and "没有线索 #2" in told and f"#{ids['sun']} 孙七" in told
    await chat.handle_line(f"已联系 {ids['li']}")
    assert "已联系客户 李明" in transcript.last("rep01")["text"]


async def test_a_manager_sees_whose_warning_it_is(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """「团队的续约预警只列客户，不知道是谁的客户」: the owner's name on the manager's list and cards."""
    await _two_warnings(services, chat, tmp_path)
    chat.user = "manager01"
    await chat.handle_line("续约")
    listed = next(m for m in reversed(transcript.to("manager01")) if m["title"] == "⚠️ 续约预警")["text"]
    assert all("负责人 张伟" in line for line in listed.splitlines() if "到期" in line), listed
    cards = [m for m in transcript.to("manager01") if m["title"].startswith("续约预警 · ")]
    assert cards and all("张伟" in m["text"] for m in cards)
    now = services.clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    warned = plain(next(li for li in report_lines(report) if "续约预警待处理" in li))
    assert "（张伟，12-20 到期）" in warned and "（张伟，12-31 到期）" in warned


async def test_the_console_renewals_page_lists_warnings_by_due_date(services: Services, tmp_path: Path) -> None:
    """「续约页的预警顺序乱的，最先到期的客户排在后面」: soonest end first, each with its owner."""
    await seed_customers(services)
    header, sun, li = TWO_AT_RISK.splitlines()[0], TWO_AT_RISK.splitlines()[2], TWO_AT_RISK.splitlines()[1]
    for n, row in enumerate((sun, li)):  # the sooner one warned first: an older warning
        sheet = tmp_path / f"合同{n}.csv"
        sheet.write_text(f"{header}\n{row}\n", encoding="utf-8")
        assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                       "--now", RENEWAL_NOW) == 0
    page = await page_as(services, "manager01", "/admin/renewals")
    table = page[page.index('id="warnings"'):page.index('id="ending"')]
    ends = re.findall(r"<td>(\d{4}-\d\d-\d\d)<div", table)
    assert ends == ["2026-12-20", "2026-12-31"]
    assert table.count("张伟") == 2


ENDED = """客户,公司,电话,金额,开始日期,结束日期,负责人,健康分,续约状态
赵六,北辰物流,,80000,2025-10-01,2026-10-31,rep01,,
周八,西岭建材,,30000,2025-10-01,2026-11-01,rep01,,已续约
"""


async def test_the_team_board_and_digest_show_renewals_with_unknowns_and_the_ramp(
        services: Services, chat: ChatSession, tmp_path: Path) -> None:
    """「团队看板上看不到续约率和新人通关」: the board shows both, the unknown renewals counted and named as such;
    the digest always has its renewal line, even when no contract ended lately."""
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")
    await seed_customers(services)
    now = services.clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    assert any("续约率 未知" in li for li in report_lines(report))  # nothing ended: said, not left out
    sheet = tmp_path / "合同.csv"
    sheet.write_text(ENDED, encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", RENEWAL_NOW) == 0
    page = await page_as(services, "manager01", "/admin/team")
    assert "续约率" in page and "100%（1/1）" in page and "状态未知 1" in page and "未知不计为续约" in page
    assert "新人通关" in page and "张伟" in page.split("新人通关")[-1] and "0/2" in page.split("新人通关")[-1]
    assert "\ue000" not in page  # the chat's user-text marks never reach the page


async def test_org_import_tells_the_admin_when_a_new_rep_could_not_start_the_ramp(
        services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """「导入了新人，却没人告诉我他们没进新人通关」: no path and no cards yet — said in Chinese, with the way out,
    on the CLI and on the console's 成员 page."""
    people = tmp_path / "people.csv"
    people.write_text("工号,姓名,角色,主管\nrep09,吴新,rep,manager01\n", encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "org", "import", str(people)) == 0
    out = capsys.readouterr().out
    assert "已导入 1 位成员" in out and "吴新 没能开始新人通关" in out and "话术卡片" in out and "开始通关" in out
    client = await start_client(services)
    try:
        await login(client, services, "admin01")
        form = FormData()
        form.add_field("file", io.BytesIO("id,name,role,manager\nrep08,林小雨,rep,manager02\n".encode()),
                       filename="team.csv")
        done = await client.post(f"/admin/members/import?_csrf={await csrf(client, '/admin/members')}", data=form)
        page = await done.text()
    finally:
        await client.close()
    assert "已导入 1 位成员" in page and "林小雨 没能开始新人通关" in page


async def test_welcome_is_said_once_on_first_enrolment_never_part_way(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「我都通关一半了，又收到『欢迎加入』」: a rep already on the path (here: put there by an import) is not
    welcomed again; the manager is told where the rep stands."""
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")  # as org import does: no welcome then
    chat.user = "manager01"
    await chat.handle_line("开始通关 张伟")
    assert not any("欢迎加入" in t for t in transcript.texts("rep01"))
    assert "已经在新人通关中" in transcript.last("manager01")["text"]
    await chat.handle_line("开始通关 李娜")  # first enrolment: welcomed once
    await chat.handle_line("开始通关 李娜")
    assert sum("欢迎加入" in t for t in transcript.texts("rep02")) == 1


async def test_the_handover_list_names_the_leavers_renewal_locks(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """「接手张伟的客户后才发现有两个客户被续约预警锁着，交接清单里一个字没提」."""
    ids = await _two_warnings(services, chat, tmp_path)
    capsys.readouterr()
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "org", "offboard", "rep01",
                                   "--to", "rep02", "--now", RENEWAL_NOW) == 0
    out = capsys.readouterr().out
    assert "续约预警" in out
    section = out[out.index("续约预警"):]
    assert f"#{ids['sun']} 孙七" in section and f"#{ids['li']} 李明" in section and "锁定" in section
    assert "2026-12-20 到期" in section and f"证据 {ids['sun']}" in section
    told = plain(transcript.last("rep02")["text"]) if transcript.to("rep02") else ""
    await services.outbox.drain()
    sent = [plain(m["text"]) for m in transcript.to("rep02") if m["title"] == "📋 线索交接清单"]
    assert sent and f"#{ids['sun']} 孙七" in sent[-1] and "锁定" in sent[-1], (told, sent)


async def test_leads_import_and_offboard_speak_chinese_on_the_command_line(
        services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """「salesbot leads import 打出来全是 line 2: assigned … 我们的管理员看不懂」."""
    sheet = tmp_path / "线索.csv"
    sheet.write_text("客户,公司,电话,区域,产品线\n钱六,华南超市,13900001111,华南,CRM\n钱六,华南超市,13900001111,华南,CRM\n"
                     ",,,华南,CRM\n", encoding="utf-8")
    url = services.settings.database.url
    assert await asyncio.to_thread(run_cli, url, "leads", "import", str(sheet), "--now", RENEWAL_NOW) == 1
    out = capsys.readouterr().out
    assert "第 2 行：已分配 #1 → 杨静" in out and "第 3 行：与线索 #1 重复，已跳过" in out and "第 4 行：有问题" in out
    assert "共导入 1 条线索：分配 1 条 · 留在线索池 0 条 · 重复跳过 1 条 · 有问题 1 行" in out
    assert await asyncio.to_thread(run_cli, url, "org", "offboard", "rep04", "--to", "rep05", "--now",
                                   RENEWAL_NOW) == 0
    out = capsys.readouterr().out
    assert "离职交接：杨静 的 1 条线索已转给 黄磊，杨静 的账号已停用" in out
    assert await asyncio.to_thread(run_cli, url, "org", "offboard", "nobody", "--to", "rep05") == 1
    err = capsys.readouterr().err
    assert "找不到成员「nobody」" in err
    for english in ("line ", "assigned", "lead(s)", "imported", "deactivated", "handover", "unknown user"):
        assert english not in out + err, english


TEMPLATED = {"id": "T1", "title": "医院设备科嫌贵：分期报价", "role": "采购", "industry": "医疗", "objection": "价格",
             "talk_track": "{客户}您好，设备可以分三期付款，首期只付三成。",
             "quote_template": "设备总价 {金额} 元，首期 {{首付}} 元，签约后 ｛天数｝ 天内到货。",
             "success_case": "去年给一家三甲医院按 {期数} 期付款落地。", "keywords": "分期,首付"}


async def test_a_cards_template_blanks_never_reach_the_rep_raw(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「话术卡片里写着『设备总价 {金额} 元』，我差点原样发给了客户」: a hint in each blank's place."""
    await seed_console_cards(services, [TEMPLATED])
    await chat.handle_line("医院设备科嫌贵怎么回")
    card = transcript.last("rep01")
    shown = plain(card["text"])
    assert "设备总价 （金额待定） 元" in shown and "（首付待定）" in shown and "（天数待定）" in shown, shown
    assert "（客户称呼）您好" in shown and "（期数待定）" in shown
    assert not re.search(r"[{}｛｝]", shown)


def test_blanks_are_filled_from_the_lead_when_there_is_one() -> None:
    from knowledge.blanks import fill_blanks, lead_values

    lead = Lead(customer_name="周主任", company="东城医院", budget_cny=500_000)
    said = fill_blanks(TEMPLATED["quote_template"] + TEMPLATED["talk_track"], lead_values(lead))
    assert said.startswith("设备总价 500,000 元") and "周主任您好" in said and "（天数待定）" in said
