"""Assignment engine: scoring, capacity, tie-breaks, round-robin, dedup, import and offboarding."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.services import Services
from handlers.leads.assignment import EPOCH, Assigner, RepProfile, import_leads, rank_reps
from storage.models import Lead, Reminder, User
from tests.conftest import run_cli
from tests.leads_helpers import cn, get_lead, seed_lead

NOW = cn(23, 10)


def _rep(rid: str, **kw: object) -> RepProfile:
    base: dict[str, object] = {"id": rid, "name": rid, "manager_id": "m", "region": None, "product_lines": (),
                               "industries": (), "capacity": 30}
    base.update(kw)
    return RepProfile(**base)  # type: ignore[arg-type]


def _lead(**kw: object) -> Lead:
    return Lead(**kw)


def test_scores_region_product_industry_and_recent_wins() -> None:
    lead = _lead(region="华东", product_line="CRM", industry="医疗")
    a = _rep("a", region="华东", industries=("医疗",))  # 3 + 1 = 4
    b = _rep("b", product_lines=("CRM",), win_industries=frozenset({"医疗"}))  # 2 + 2 = 4
    c = _rep("c", region="华东", product_lines=("CRM",))  # 3 + 2 = 5
    d = _rep("d")  # 0
    picks = rank_reps(lead, [a, b, c, d])
    assert [(p.rep.id, p.score) for p in picks] == [("c", 5), ("a", 4), ("b", 4), ("d", 0)]
    assert picks[0].reason == "按区域 华东 · 产品线 CRM 匹配，当前负荷 0/30"
    assert picks[2].reason == "按产品线 CRM · 行业 医疗（近期赢单） 匹配，当前负荷 0/30"
    assert picks[3].reason == "无匹配规则，按负荷轮转，当前负荷 0/30"


def test_capacity_and_load_tie_breaks() -> None:
    lead = _lead(region="华东")
    full = _rep("full", region="华东", open_leads=30, capacity=30)  # no room: left out
    busy = _rep("busy", region="华东", open_leads=12, capacity=30)  # ratio 0.4
    light = _rep("light", region="华东", open_leads=5, capacity=10)  # ratio 0.5
    idle = _rep("idle", region="华东", open_leads=4, capacity=10, recent_intake=3)  # ratio 0.4, more intake
    picks = rank_reps(lead, [full, busy, light, idle])
    assert [p.rep.id for p in picks] == ["busy", "idle", "light"]
    assert picks[0].reason == "按区域 华东 匹配，当前负荷 12/30"
    assert rank_reps(lead, [full]) == []


def test_round_robin_on_full_ties() -> None:
    lead = _lead()
    older = _rep("z", last_assigned_at=datetime(2026, 1, 1, tzinfo=UTC))
    newer = _rep("a", last_assigned_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert [p.rep.id for p in rank_reps(lead, [newer, older])] == ["z", "a"]
    assert rank_reps(lead, [_rep("b", last_assigned_at=EPOCH), _rep("a", last_assigned_at=EPOCH)])[0].rep.id == "a"


async def test_batch_alternates_between_equal_reps(services: Services) -> None:
    async with services.db.session() as s:
        profiles = [_rep("rep02"), _rep("rep03")]
        assigner = Assigner(s, NOW, services.settings.reminders, None, profiles)
        owners = []
        for i in range(4):
            lead = Lead(status="draft", source="import", stage="new", created_at=NOW, phone=f"1370000000{i}",
                        needs=[], field_sources={}, extra={}, timeout_count=0)
            s.add(lead)
            await s.flush()
            owners.append((await assigner.assign(lead)).owner_id)
    assert owners == ["rep02", "rep03", "rep02", "rep03"]


async def test_pool_lead_goes_to_the_owner_of_the_same_customer(services: Services) -> None:
    await seed_lead(services, "rep02", customer_name="王主任", company="协和医院", assigned_at=cn(20, 9))
    pool_id = await seed_lead(services, None, status="frozen", customer_name="王主任", company="协和医院",
                              region="华北", assigned_at=cn(20, 9))
    async with services.db.session() as s:
        assigner = await Assigner.create(s, NOW, services.settings.reminders, "manager01")
        lead = await s.get(Lead, pool_id)
        assert lead is not None
        out = await assigner.assign(lead)
    assert out.owner_id == "rep02" and out.duplicate_of == 1
    lead = await get_lead(services, pool_id)
    assert (lead.owner_id, lead.status) == ("rep02", "active")
    assert lead.assign_reason == "同一客户已由 李娜 跟进 (线索 #1)"


async def test_import_assigns_dedups_and_reports_bad_rows(services: Services) -> None:
    await seed_lead(services, "rep04", customer_name="老客户", phone="13811112222", assigned_at=cn(20, 9))
    rows: list[tuple[int, dict[str, object]]] = [
        (2, {"customer_name": "王一", "company": "协和医院", "phone": "13800000001", "industry": "医疗",
             "region": "华东", "product_line": "CRM", "budget_cny": "50万"}),
        (3, {"customer_name": "李二", "company": "实验中学", "industry": "教育", "region": "华东",
             "product_line": "ERP"}),
        (4, {"customer_name": "王一", "company": "协和医院"}),  # same company + name as line 2
        (5, {"phone": "+86 138-1111-2222"}),  # same phone as rep04's open lead
        (6, {"customer_name": "赵三", "budget_cny": "很多"}),
        (7, {"title": "经理"}),
    ]
    async with services.db.session() as s:
        results, notices = await import_leads(s, rows, NOW, services.settings.reminders)
    got = [(r.line, r.status, r.owner_id) for r in results]
    # line 2: rep01 华东+3 CRM+2 医疗+1 = 6; rep02 华东+3 CRM+2 = 5 → rep01
    # line 3: rep02 华东+3 ERP+2 教育+1 = 6 → rep02
    assert got == [(2, "assigned", "rep01"), (3, "assigned", "rep02"), (4, "duplicate", "rep01"),
                   (5, "duplicate", "rep04"), (6, "error", None), (7, "error", None)]
    assert results[0].text == "→ 张伟: 按区域 华东 · 产品线 CRM · 行业 医疗 匹配，当前负荷 0/30"
    assert [n.to for n in notices] == ["rep01", "rep02"]
    lead = await get_lead(services, results[0].lead_id or 0)
    assert (lead.status, lead.source, lead.budget_cny) == ("active", "import", 500_000)
    assert lead.field_sources["company"]["source"] == "import"
    async with services.db.session() as s:
        assert (await s.execute(select(Reminder).where(Reminder.lead_id == lead.id))).scalars().first() is not None


async def test_cli_import_xlsx_and_offboard(services: Services, tmp_path: Path, capsys: object) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["客户", "公司", "手机号", "行业", "区域", "产品线"])
    ws.append(["钱六", "华南超市", "13900001111", "零售", "华南", "CRM"])
    ws.append(["孙七", "华南银行", "13900002222", "金融", "华南", "ERP"])
    path = tmp_path / "leads.xlsx"
    wb.save(path)
    url = services.settings.database.url
    rc = await asyncio.to_thread(run_cli, url, "leads", "import", str(path), "--now", "2026-11-23T10:00+08:00")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 0, out
    assert "第 2 行：已分配 #1 → 杨静" in out and "第 3 行：已分配 #2 → 黄磊" in out
    rc = await asyncio.to_thread(run_cli, url, "org", "offboard", "rep04", "--to", "rep05", "--now",
                                 "2026-11-23T11:00+08:00")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 0
    assert "杨静 的 1 条线索已转给 黄磊" in out and "#1 钱六 · 华南超市" in out
    lead = await get_lead(services, 1)
    assert lead.owner_id == "rep05" and lead.assign_reason == "杨静 离职交接"
    async with services.db.session() as s:
        assert (await s.get(User, "rep04")).active is False  # type: ignore[union-attr]
    rc = await asyncio.to_thread(run_cli, url, "org", "offboard", "nobody", "--to", "rep05")
    assert rc == 1


async def test_cli_import_rejects_unknown_format(services: Services, tmp_path: Path) -> None:
    bad = tmp_path / "leads.txt"
    bad.write_text("x")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "leads", "import", str(bad)) == 1
