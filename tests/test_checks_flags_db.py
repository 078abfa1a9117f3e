"""Flags and the record on both backends (SQLite and PostgreSQL): raised, answered, resolved, cleared; the
other-lead queries (team budgets, colleagues' customers) return the same on each."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.clock import CN_TZ
from bot.config import ChecksSettings
from handlers.checks import flags, hooks
from storage.activity import add_activity
from storage.chain import verify
from storage.db import Database
from storage.leads import new_lead
from storage.models import ChainEntry, Evidence, Lead, LeadFlag

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)
CFG = ChecksSettings()


@pytest.fixture
def db(org_db: Database) -> Database:
    return org_db


async def _lead(db: Database, owner: str, **fields: Any) -> int:
    async with db.session() as s:
        lead = new_lead(fields, source="manual", by=owner, now=NOW, status="active")
        lead.owner_id = owner
        s.add(lead)
        await s.flush()
        return lead.id


async def test_flags_lifecycle_on_both_backends(db: Database) -> None:
    for i in range(6):  # team history: half a million in 教育
        await _lead(db, "rep02", customer_name=f"客户{i}", budget_cny=500_000, industry="教育")
    other = await _lead(db, "rep02", customer_name="郑远", company="云杉教育科技有限公司", phone="13600001111")
    lead_id = await _lead(db, "rep01", customer_name="孙立", company="云杉教育", budget_cny=20_000_000,
                          industry="教育")
    async with db.session() as s:
        lead = await _get(s, lead_id)
        lines = await hooks.after_values(s, lead, NOW, CFG)
    assert any("🔴" in x and "中位数 50 万元" in x for x in lines)  # 40x the team's median
    assert any(f"#{other}" in x and "李娜" in x for x in lines)  # a colleague's customer (short/full name)
    async with db.session() as s:
        found = {f.rule: f for f in await flags.flags_of(s, [lead_id])}
        assert set(found) == {"budget_outlier", "shared_contact"}
        await flags.answer(s, found["budget_outlier"], "集团统一采购", "rep01", NOW)
        await flags.clear(s, found["shared_contact"], "manager01", NOW)
    async with db.session() as s:  # the budget corrected: its flag resolves by itself
        lead = await _get(s, lead_id)
        lead.budget_cny = 600_000
        assert await hooks.after_values(s, lead, NOW, CFG) == []
    async with db.session() as s:
        rows = {f.rule: f for f in (await s.execute(select(LeadFlag).where(LeadFlag.lead_id == lead_id))).scalars()}
    assert rows["budget_outlier"].status == "resolved" and rows["budget_outlier"].answer == "集团统一采购"
    assert rows["shared_contact"].status == "cleared"  # a cleared flag stays cleared
    async with db.session() as s:
        lead = await _get(s, lead_id)
        lead.stage = "demo"
        await hooks.after_stage(s, lead, "new", "rep01", NOW, CFG)
    report = await verify(db)
    assert report.ok
    async with db.session() as s:
        kinds = [k for k in (await s.execute(select(ChainEntry.kind).where(ChainEntry.lead_id == lead_id)
                                             .order_by(ChainEntry.seq))).scalars() if k in ("confirm", "stage")]
        assert kinds == ["confirm", "stage"]  # the clearance and the stage change
        states = [json.loads(b)["data"]["state"]["status"] for b in (await s.execute(
            select(ChainEntry.body).where(ChainEntry.kind == "flag", ChainEntry.lead_id == lead_id)
            .order_by(ChainEntry.seq))).scalars()]
    assert states[:2] == ["open", "open"] and {"answered", "cleared", "resolved"} <= set(states)  # every step


async def _get(s: Any, lead_id: int) -> Lead:
    lead = await s.get(Lead, lead_id)
    assert lead is not None
    return lead


async def test_near_cases_of_the_other_lead_rules_on_both_backends(db: Database) -> None:
    """Near cases the flow tests do not reach: a colleague's lead with the same phone that is closed (lost) is no
    撞单; the same file filed twice on one lead is no reuse — the same file on another lead is."""
    from storage.models import Evidence

    await _lead(db, "rep02", customer_name="郑远", phone="13600002222")
    async with db.session() as s:
        closed = (await s.execute(select(Lead).where(Lead.phone == "13600002222"))).scalar_one()
        closed.status = "lost"
    lead_id = await _lead(db, "rep01", customer_name="孙立", phone="13600002222")
    async with db.session() as s:
        lines = await hooks.after_values(s, await _get(s, lead_id), NOW, CFG)
    assert not any("撞单" in x for x in lines)
    other = await _lead(db, "rep01", customer_name="钱多", company="青松物流")
    async with db.session() as s:
        for target in (lead_id, lead_id):
            s.add(Evidence(lead_id=target, kind="image", sha256="ab" * 32, path="/x.png", added_by="rep01",
                           created_at=NOW))
        await s.flush()
        assert "evidence_reused" not in await _rules(s, lead_id)
        s.add(Evidence(lead_id=other, kind="image", sha256="ab" * 32, path="/y.png", added_by="rep01",
                       created_at=NOW))
        await s.flush()
        assert "evidence_reused" in await _rules(s, lead_id)


async def test_two_uploads_re_checking_one_lead_leave_one_flag(db: Database) -> None:
    """Two transactions re-check lead B for a file it shares with A at once (two instances, two uploads): B ends
    with one open reuse flag, not two. On PostgreSQL the second runs while the first still holds B (it skips B:
    no duplicate, no wait that could deadlock); SQLite runs them one after the other (BEGIN IMMEDIATE)."""
    a = await _lead(db, "rep01", customer_name="钱多", company="青松物流")
    b = await _lead(db, "rep02", customer_name="柏舟", company="远帆仓储")
    async with db.session() as s:
        for target in (a, b):
            s.add(Evidence(lead_id=target, kind="image", sha256="cd" * 32, path=f"/{target}.png",
                           added_by="rep01", created_at=NOW))
    async with db.session() as s:
        ev_id = (await s.execute(select(Evidence.id).where(Evidence.lead_id == a))).scalar_one()
    held, release = asyncio.Event(), asyncio.Event()

    async def re_check(hold: bool) -> None:
        async with db.session() as s:
            ev = await s.get(Evidence, ev_id)
            assert ev is not None
            await flags.refresh_sharing(s, ev, NOW, CFG)
            if hold:
                held.set()
                await release.wait()

    first = asyncio.create_task(re_check(hold=True))
    await held.wait()
    if db.is_sqlite:
        release.set()
    await re_check(hold=False)
    release.set()
    await first
    async with db.session() as s:
        found = (await s.execute(select(LeadFlag).where(LeadFlag.lead_id == b, LeadFlag.rule == "evidence_reused",
                                                        LeadFlag.status == "open"))).scalars().all()
    assert [f.subject for f in found] == [str(a)]


async def _rules(s: Any, lead_id: int) -> set[str]:
    return {f.rule for f in flags.evaluate(await flags.gather(s, await _get(s, lead_id)), CFG)}


async def test_checks_ask_the_database_twice_on_a_stage_change_and_three_times_on_a_confirm(db: Database) -> None:
    """Round trips are what a change waits for on a loaded machine: the lead's evidence and follow-ups come in one
    statement, the team's budgets and the colleagues' leads in another, its flags in a third (issue 17)."""
    for i in range(6):
        await _lead(db, "rep02", customer_name=f"客户{i}", budget_cny=500_000, industry="教育")
    await _lead(db, "rep02", customer_name="郑远", company="云杉教育科技有限公司", phone="13600001111")
    lead_id = await _lead(db, "rep01", customer_name="孙立", company="云杉教育", budget_cny=20_000_000,
                          industry="教育", phone="13600002222")
    async with db.session() as s:
        add_activity(s, lead_id, "rep01", "contact", NOW, "客户说已经签了合同")
        s.add(Evidence(lead_id=lead_id, kind="note", note="演示记录", added_by="rep01", created_at=NOW))
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.session() as s:
            lead = await _get(s, lead_id)
            await s.flush()
            statements.clear()
            lines = await hooks.after_values(s, lead, NOW, CFG)
            confirm = [x for x in statements if x.lstrip().upper().startswith("SELECT")]
            lead.stage = "demo"
            await s.flush()
            statements.clear()
            lines += await hooks.after_stage(s, lead, "new", "rep01", NOW, CFG)
            stage = [x for x in statements if x.lstrip().upper().startswith("SELECT")]
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert any("中位数 50 万元" in x for x in lines) and any("李娜" in x for x in lines)  # both other-lead rules
    assert any("签" in x for x in lines)  # the follow-up was read (stage lag)
    assert len(confirm) == 3, confirm
    assert len(stage) == 2, stage
