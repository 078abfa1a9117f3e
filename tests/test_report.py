"""Digest figures on seeded data, computed by hand (working hours 09:00–18:00, SLA 2 working hours).

now = Mon 11-23 10:00, window = since Mon 11-16 10:00. manager01's team: rep01, rep02, rep03.
  A rep01 assigned Fri 11-20 10:00, contacted 11:00 (1 wh ≤ 2 → on time; 1 h green); discover; 4/8 fields
  B rep01 assigned Thu 11-19 17:00, contacted Fri 10:30 (1 + 1.5 = 2.5 wh → late; 17.5 h yellow); demo; 8/8;
    agreed follow-up Sun 11-22 10:00 missed → overdue
  C rep02 assigned Mon 11-23 09:00, no contact (1 wh → outcome unknown; 1 h green); new; 0/8
  D rep02 assigned Wed 11-18 10:00, no contact (late; 120 h red; first contact due 11-18 12:00 → overdue); 2/8
  E rep01 won (assigned 11-10, outside the window); F rep03 lost at qualify (assigned 11-12)
  G rep04 (manager02's team) must not count.
R = 1/3 (A on time; B, D late; C unknown). Plans: A due Sat 11-21 10:00, contact Sat 15:00 → done;
  B due Sun 11-22 10:00, no contact, due+24h = now → missed; D due Mon 09:00 → still pending. K = 1/2.
C = (4/8 + 8/8 + 0/8 + 2/8) / 4 = 0.4375. PHI = 0.3/3 + 0.4·0.5 + 0.3·0.4375 = 0.43125.
Funnel reached: new 6, qualify 4 (A B E F), discover 3 (A B E), demo 2 (B E), close 1 (E); won 1, lost 1.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from handlers.report import compute_report, report_lines, send_due_digests
from storage.models import OutboxMessage
from tests.conftest import Transcript, run_cli, with_digests
from tests.leads_helpers import add_act, cn, seed_lead


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Daily and weekly digests on (the shared fixture turns them off)."""
    return with_digests(settings)

ALL8 = {"customer_name": "乙", "company": "乙公司", "title": "主任", "phone": "13800000002", "industry": "医疗",
        "region": "华东", "budget_cny": 300000, "needs": ["CRM"]}


async def _seed(services: Services) -> None:
    a = await seed_lead(services, "rep01", stage="discover", assigned_at=cn(20, 10), first_contact_at=cn(20, 11),
                        customer_name="甲", company="甲公司", phone="13800000001", industry="医疗")
    b = await seed_lead(services, "rep01", stage="demo", assigned_at=cn(19, 17), first_contact_at=cn(20, 10, 30),
                        next_follow_up_at=cn(22, 10), **ALL8)
    await seed_lead(services, "rep02", assigned_at=cn(23, 9))
    d = await seed_lead(services, "rep02", assigned_at=cn(18, 10), customer_name="丁", phone="13800000004")
    await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(10, 10), customer_name="戊")
    await seed_lead(services, "rep03", status="lost", stage="qualify", assigned_at=cn(12, 10), customer_name="己")
    await seed_lead(services, "rep04", assigned_at=cn(20, 10), customer_name="外队", first_contact_at=cn(20, 10, 5))
    await add_act(services, a, "plan", cn(20, 11), due=cn(21, 10).isoformat())
    await add_act(services, a, "contact", cn(21, 15))
    await add_act(services, b, "plan", cn(20, 12), due=cn(22, 10).isoformat())
    await add_act(services, d, "plan", cn(18, 11), due=cn(23, 9).isoformat())


async def test_the_call_that_agreed_a_call_back_is_not_the_call_back(services: Services) -> None:
    """Monday 11:00 跟进 「约了明天下午3点回访」, nothing on Tuesday: the key action was missed, not done."""
    lead = await seed_lead(services, "rep01", assigned_at=cn(16, 10), first_contact_at=cn(16, 11),
                           next_follow_up_at=cn(17, 15))
    await add_act(services, lead, "contact", cn(16, 11))
    await add_act(services, lead, "plan", cn(16, 11), due=cn(17, 15).isoformat())
    now = cn(19, 10)
    async with services.db.session() as s:
        rep = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    assert (rep.team.actions.hits, rep.team.actions.total) == (0, 1)


async def test_team_figures_by_hand(services: Services) -> None:
    await _seed(services)
    now = cn(23, 10)
    async with services.db.session() as s:
        rep = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    assert rep.reached == [6, 4, 3, 2, 1] and (rep.won, rep.lost) == (1, 1)
    assert [(c.hits, c.total) for c in rep.conversions()] == [(4, 6), (3, 4), (2, 3), (1, 2), (1, 1)]
    assert rep.colours == {"green": 2, "yellow": 1, "red": 1}
    assert (rep.team.response.hits, rep.team.response.total) == (1, 3)
    assert (rep.team.actions.hits, rep.team.actions.total) == (1, 2)
    assert rep.team.completeness == pytest.approx(0.4375)
    assert rep.team.phi == pytest.approx(0.43125)
    by_rep = {r.id: r for r in rep.reps}
    assert [(o.lead_id, o.what) for o in by_rep["rep01"].overdue] == [(2, "约定回访")]
    assert [(o.lead_id, o.what) for o in by_rep["rep02"].overdue] == [(4, "首次联系")]
    # rep02 alone: R = 0/1 (D late, C unknown), K = 0/0 unknown, C = (0 + 2/8)/2 = 0.125 → PHI 未知, never
    # 0.0375 with the unknown K counted as 0
    assert by_rep["rep02"].health.phi is None
    assert by_rep["rep02"].health.unknown == ["关键动作完成率"]
    text = "\n".join(report_lines(rep))
    assert "过程健康指数：43%" in text and "外队" not in text and "- 2.资质初筛 4 → 转化 75%" in text


async def test_unknown_is_never_positive(services: Services) -> None:
    await seed_lead(services, "rep01", assigned_at=cn(23, 9, 30))  # nothing known yet, no fields
    now = cn(23, 10)
    async with services.db.session() as s:
        rep = await compute_report(s, "manager01", now - timedelta(days=7), now, services.settings.reminders)
    assert rep.team.response.value is None and rep.team.actions.value is None
    assert rep.team.completeness == 0.0 and rep.team.phi is None
    text = "\n".join(report_lines(rep))
    assert "过程健康指数：未知**（响应及时率、关键动作完成率 未知，无法计算）" in text and "健康指数 0%" not in text
    assert "响应及时率 未知" in "\n".join(report_lines(rep))


async def test_digest_once_per_manager_per_working_day(services: Services, clock: ManualClock,
                                                       transcript: Transcript) -> None:
    await _seed(services)
    clock.set(cn(23, 9, 0))
    assert await send_due_digests(services) == 0  # before 09:30
    clock.set(cn(23, 10))
    assert await send_due_digests(services) == 2  # manager01 and manager02
    assert await send_due_digests(services) == 0  # deduplicated per manager per date
    async with services.db.session() as s:
        keys = sorted((await s.execute(select(OutboxMessage.dedup_key))).scalars())
    assert keys == ["digest:manager01:2026-11-23:chart", "digest:manager01:2026-11-23:text",
                    "digest:manager02:2026-11-23:chart", "digest:manager02:2026-11-23:text"]
    await services.outbox.drain()
    mine = transcript.to("manager01")
    assert [m["kind"] for m in mine] == ["markdown", "image"] and "过程健康指数：43%" in mine[0]["text"]
    assert mine[1]["text"] == "漏斗与健康指数"  # the caption a manager reads: no English abbreviation
    clock.set(cn(28, 10))  # Saturday
    assert await send_due_digests(services) == 0


async def test_cli_report_prints_the_same(services: Services, tmp_path: Path, capsys: object) -> None:
    await _seed(services)
    rc = await asyncio.to_thread(run_cli, services.settings.database.url, "report", "--since", "7d", "--manager",
                                 "manager01", "--now", "2026-11-23T10:00+08:00", "--chart", str(tmp_path))
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 0
    assert "过程健康指数：43%" in out and "响应及时率 33%（1/3）" in out and "关键动作完成率 50%（1/2）" in out
    assert (tmp_path / "report-manager01.png").read_bytes().startswith(b"\x89PNG")
