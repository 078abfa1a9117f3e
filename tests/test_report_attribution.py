"""Digest figures keep every lead the team was responsible for, and measure response from the first assignment
with the owner's working hours (hand-computed; default hours 09:00–18:00, SLA 2 working hours).

now = Mon 11-23 10:00, window since Mon 11-16 10:00; manager01's team: rep01, rep02, rep03.
  P rep01 assigned Fri 11-20 10:00, contacted 11:00 → 1 wh on time; 1 h green.
  F frozen (pool, prev owner rep02), assigned Fri 11-20 10:00, no contact → Fri 8 wh + Mon 1 wh = 9 > 2: late;
    72 h red; listed overdue under rep02.
  T rep03 assigned Thu 11-19 10:00, taken over by manager01 Fri 11-20 14:00 (assigned_at reset), contacted
    Fri 15:00 → from the first assignment Thu 8 wh + Fri 6 wh = 14 wh: late; 29 h red.
  X rep01 assigned Mon 11-16 10:00, contacted Wed 11-18 10:00 (8 + 9 + 1 = 18 wh: late; 48 h red), then
    reassigned to rep02 Fri 11-20 10:00 — the new assigned_at is after the contact (a negative gap).
  W rep03 won (assigned 11-12, outside the window); rep03 is then offboarded to rep01.
  G rep04 (manager02's team) must not count.
R = 1/4, colours green 1 / red 3, K unknown, C = 4 × 1/8 / 4 = 0.125, PHI = 0.3·0.25 + 0.3·0.125 = 0.1125.
Funnel: new 5, then 1 (W) for every later stage; won 1.
Per member, the response figures stay with who got the lead first (X: rep01), the rest with who holds it now
(X: rep02, T: manager01).
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest

from bot.engines import Engines
from bot.services import Services
from handlers.leads.assignment import change_owner, offboard
from handlers.report import chart_png, compute_report, phi_bars, report_lines
from storage.leads import STAGES
from storage.models import Lead, User
from tests.conftest import run_cli
from tests.leads_helpers import add_act, cn, seed_lead

NOW = cn(23, 10)


async def _seed(services: Services) -> dict[str, int]:
    cfg = services.settings.reminders
    ids = {
        "P": await seed_lead(services, "rep01", assigned_at=cn(20, 10), first_contact_at=cn(20, 11),
                             customer_name="甲"),
        "F": await seed_lead(services, None, status="frozen", assigned_at=cn(20, 10), customer_name="冻",
                             extra={"frozen": {"prev_owner": "rep02", "rule": "first_contact"}}),
        "T": await seed_lead(services, "manager01", assigned_at=cn(20, 14), first_contact_at=cn(20, 15),
                             customer_name="接"),
        "X": await seed_lead(services, "rep01", assigned_at=cn(16, 10), first_contact_at=cn(18, 10),
                             customer_name="改"),
        "W": await seed_lead(services, "rep03", status="won", stage="close", assigned_at=cn(12, 10),
                             customer_name="赢"),
    }
    await seed_lead(services, "rep04", assigned_at=cn(20, 10), customer_name="外队")
    await add_act(services, ids["T"], "assign", cn(19, 10), actor="rep03", owner="rep03")
    await add_act(services, ids["T"], "takeover", cn(20, 14), actor="manager01", prev_owner="rep03")
    await add_act(services, ids["X"], "assign", cn(16, 10), owner="rep01")
    async with services.db.session() as s:
        lead = await s.get(Lead, ids["X"])
        assert lead is not None
        await change_owner(s, lead, "rep02", "manager01", cn(20, 10), cfg, reason="主管改派")
    async with services.db.session() as s:
        await offboard(s, "rep03", "rep01", cn(21, 10), cfg)
    return ids


async def test_frozen_taken_over_reassigned_and_offboarded_leads_count(services: Services) -> None:
    ids = await _seed(services)
    async with services.db.session() as s:
        rep = await compute_report(s, "manager01", NOW - timedelta(days=7), NOW, services.settings.reminders)
    assert (rep.team.response.hits, rep.team.response.total) == (1, 4)
    assert rep.colours == {"green": 1, "yellow": 0, "red": 3}
    assert rep.team.actions.value is None
    assert rep.team.completeness == pytest.approx(0.125)
    assert rep.team.phi is None  # K unknown: PHI 未知, not 0.1125 with K counted as 0
    assert rep.reached == [5, 1, 1, 1, 1] and (rep.won, rep.lost) == (1, 0)
    by_rep = {r.id: r for r in rep.reps}
    assert [o.lead_id for o in by_rep["rep02"].overdue] == [ids["F"]]
    assert by_rep["rep03"].health.open_leads == 0  # offboarded: its win still counts for the team
    # response figures stay with who got the lead first: rep01 P + X, rep02 F, rep03 T; manager01 none
    responses = {r.id: (r.health.response.hits, r.health.response.total, r.colours["red"]) for r in rep.reps}
    assert responses == {"rep01": (1, 2, 1), "rep02": (0, 1, 1), "rep03": (0, 1, 1), "manager01": (0, 0, 0)}
    assert [r.name for r in rep.reps] == ["张伟", "李娜", "刘洋（已离职）", "王经理"]
    assert by_rep["manager01"].health.open_leads == 1 and by_rep["rep02"].health.open_leads == 1
    assert by_rep["rep02"].health.frozen == 1  # frozen from rep02 into the pool: not 在跟, counted apart
    text = "\n".join(report_lines(rep))
    assert "响应及时率 25%（1/4）" in text and "赢单 1 · 输单 0" in text
    assert f"#{ids['F']} 冻" in text and "暂无" not in text and "外队" not in text


async def test_team_hours_decide_on_time(services: Services) -> None:
    """manager02's team works 13:00–22:00. A4 assigned Fri 19:00, contacted 21:30 → 2.5 wh: late (0 wh with the
    default hours: on time). B5 assigned Fri 19:30, no contact → 2.5 wh by now: late and overdue since Fri 21:30
    (default hours: 1 wh, unknown, due Mon 11:00). R = 0/2."""
    async with services.db.session() as s:
        boss = await s.get(User, "manager02")
        assert boss is not None
        boss.work_start, boss.work_end = "13:00", "22:00"
    await seed_lead(services, "rep04", assigned_at=cn(20, 19), first_contact_at=cn(20, 21, 30), customer_name="晚")
    b5 = await seed_lead(services, "rep05", assigned_at=cn(20, 19, 30), customer_name="夜")
    async with services.db.session() as s:
        rep = await compute_report(s, "manager02", NOW - timedelta(days=7), NOW, services.settings.reminders)
    assert (rep.team.response.hits, rep.team.response.total) == (0, 2)
    overdue = {r.id: r.overdue for r in rep.reps}["rep05"]
    assert [(o.lead_id, o.due) for o in overdue] == [(b5, cn(20, 21, 30))]


async def test_cli_report_for_an_admin_covers_all_teams(services: Services, tmp_path: Path, capsys: object) -> None:
    await seed_lead(services, "rep01", assigned_at=cn(20, 10), first_contact_at=cn(20, 11), customer_name="甲")
    await seed_lead(services, "rep04", assigned_at=cn(20, 10), first_contact_at=cn(20, 11), customer_name="乙")
    rc = await asyncio.to_thread(run_cli, services.settings.database.url, "report", "--manager", "admin01",
                                 "--now", "2026-11-23T10:00+08:00", "--chart", str(tmp_path))
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 0
    assert "全部团队" in out and "响应及时率 100%（2/2）" in out and "张伟" in out and "杨静" in out
    assert (tmp_path / "report-admin01.png").read_bytes().startswith(b"\x89PNG")


async def test_chart_labels_an_unknown_phi(services: Services) -> None:
    """rep01: one lead contacted on time → R 1/1, K unknown, C 1/8 → PHI 未知 (not 34% with K as 0); rep02,
    rep03: nothing known → 未知; an unknown bar is grey, never a red 0."""
    await seed_lead(services, "rep01", assigned_at=cn(20, 10), first_contact_at=cn(20, 11), customer_name="甲")
    async with services.db.session() as s:
        rep = await compute_report(s, "manager01", NOW - timedelta(days=7), NOW, services.settings.reminders)
    assert [(b.name, b.label) for b in phi_bars(rep)] == [("张伟", "未知"), ("李娜", "未知"), ("刘洋", "未知")]
    assert len({b.colour for b in phi_bars(rep)}) == 1
    assert (await chart_png(rep, Engines())).startswith(b"\x89PNG")


async def test_chart_counts_whole_numbers_and_names_every_step(services: Services) -> None:
    """One lead: the funnel shows whole counts (never 0.2 / 0.4 … ticks, audit 16c), every step and member is
    named, and the PNG is the size the layout says."""
    from PIL import Image as PILImage

    from handlers.report import chart_layout, render_chart
    from handlers.report_chart import HEIGHT, WIDTH

    await seed_lead(services, "rep01", assigned_at=cn(20, 10), first_contact_at=cn(20, 11), customer_name="甲")
    async with services.db.session() as s:
        rep = await compute_report(s, "manager01", NOW - timedelta(days=7), NOW, services.settings.reminders)
    texts = [label.text for label in chart_layout(rep).labels]
    assert all(name in texts for _, name in STAGES) and "赢单" in texts
    assert all(name in texts for name in ("张伟", "李娜", "刘洋"))
    numbers = [t for t in texts if t.replace("%", "").isdigit()]
    assert "1" in numbers and all("." not in t for t in texts)
    assert PILImage.open(io.BytesIO(render_chart(rep, Engines()))).size == (WIDTH, HEIGHT)
