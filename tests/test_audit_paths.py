"""Every path that writes facts enters the tamper-evident record, bulk inserts included: a screenshot's evidence
(and its deletion with a dropped draft), reminder-ladder activities, the renewal scan's activities, a lead import
and a handover. After each, `audit verify` passes and no lead, activity or evidence row lacks its entry; a hand
edit of a row the bulk path wrote, or a replaced screenshot file, is found. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import RemindersSettings
from bot.services import Services
from handlers.leads.assignment import import_leads, offboard
from handlers.renewals.importer import import_files
from storage.chain import verify
from storage.db import Database
from storage.models import Activity, ChainEntry, Evidence, Lead, User
from tests.conftest import Transcript, console_chat
from tests.renewals_helpers import seed_customers, write_files
from tests.synth import make_sample


@pytest.fixture
def both(services_both: Services) -> Services:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return services_both


@pytest.fixture
def chat(both: Services, clock: ManualClock, transcript: Transcript) -> ChatSession:
    return console_chat(both, clock, transcript)


async def unrecorded(db: Database) -> dict[str, set[int]]:
    """Live leads, activities and evidence rows that no entry of the record names."""
    async with db.session() as s:
        entries = (await s.execute(select(ChainEntry.kind, ChainEntry.lead_id, ChainEntry.body))).all()
        live = {"lead": set((await s.execute(select(Lead.id))).scalars()),
                "activity": set((await s.execute(select(Activity.id))).scalars()),
                "evidence": set((await s.execute(select(Evidence.id))).scalars())}
    named: dict[str, set[int]] = {"lead": set(), "activity": set(), "evidence": set()}
    for kind, lead_id, body in entries:
        data = json.loads(body)["data"]
        if kind == "lead":
            named["lead"].add(lead_id)
        elif kind == "activity":
            named["activity"].add(data["id"])
        elif kind == "evidence":
            named["evidence"].add(data["evidence_id"])
    return {k: live[k] - named[k] for k in live}


async def assert_all_recorded(db: Database) -> None:
    report = await verify(db)
    assert report.ok, report.broken
    assert await unrecorded(db) == {"lead": set(), "activity": set(), "evidence": set()}


async def send_screenshot(chat: ChatSession, clock: ManualClock, tmp_path: Path) -> None:
    """A rep sends one of our drawn lead screenshots, at the moment it was taken."""
    sample = make_sample(3, "lead")
    clock.set(sample.now)
    shot = tmp_path / "shot.jpg"
    shot.write_bytes(sample.image)
    await chat.handle_line(f"/image {shot}")


async def test_screenshot_evidence_and_ladder_activities_are_recorded(
        chat: ChatSession, both: Services, clock: ManualClock, tmp_path: Path) -> None:
    await send_screenshot(chat, clock, tmp_path)
    await chat.handle_line("/click 确认")
    await chat.advance_to(clock.now() + timedelta(days=6))  # no contact: the SLA ladder writes its activities
    async with both.db.session() as s:
        ladder = list((await s.execute(select(Activity.id).where(Activity.actor_id.is_(None)))).scalars())
        (ev,) = (await s.execute(select(Evidence))).scalars()
    assert ladder and ev.kind == "screenshot"
    await assert_all_recorded(both.db)

    Path(ev.path or "").write_bytes(b"another picture")
    report = await verify(both.db)
    assert report.broken is not None and "证据文件被替换" in report.broken.problem


async def test_a_dropped_drafts_screenshot_leaves_the_record_consistent(
        chat: ChatSession, both: Services, clock: ManualClock, tmp_path: Path) -> None:
    await send_screenshot(chat, clock, tmp_path)
    await chat.handle_line("/click 放弃")
    async with both.db.session() as s:
        assert (await s.execute(select(Evidence))).first() is None
    await assert_all_recorded(both.db)


async def test_renewal_scan_activities_are_recorded_and_a_hand_edit_is_found(both: Services,
                                                                             tmp_path: Path) -> None:
    await seed_customers(both)
    await import_files(both.db, both.settings, list(write_files(tmp_path)), both.clock.now())
    async with both.db.session() as s:
        act = (await s.execute(select(Activity).where(Activity.kind == "renewal_warning"))).scalars().first()
    assert act is not None
    await assert_all_recorded(both.db)

    async with both.db.session() as s:
        await s.execute(text("UPDATE activities SET summary = '续约正常' WHERE id = :i"), {"i": act.id})
    report = await verify(both.db)
    assert report.broken is not None and f"线索 #{act.lead_id}" in report.broken.problem
    assert "续约正常" in report.broken.problem


async def test_import_and_handover_are_recorded_and_a_hand_edit_is_found(both: Services) -> None:
    now, cfg = both.clock.now(), RemindersSettings()
    rows = [(1, {"customer_name": "陆一鸣", "company": "远山包装有限公司", "phone": "13811112222",
                 "budget_cny": "30万"}),
            (2, {"customer_name": "许晴", "company": "河湾冷链", "phone": "13833334444"})]
    async with both.db.session() as s:
        results, _ = await import_leads(s, rows, now, cfg)
    ids = [r.lead_id for r in results if r.lead_id]
    assert len(ids) == 2
    async with both.db.session() as s:
        owners = {lead.owner_id for lead in (await s.execute(select(Lead).where(Lead.id.in_(ids)))).scalars()}
    leaver = next(o for o in owners if o)
    taker = "rep04" if leaver != "rep04" else "rep03"
    async with both.db.session() as s:
        await offboard(s, leaver, taker, now, cfg)
    await assert_all_recorded(both.db)

    async with both.db.session() as s:
        await s.execute(text("UPDATE leads SET owner_id = :o WHERE id = :i"), {"o": leaver, "i": ids[0]})
    report = await verify(both.db)
    assert report.broken is not None and f"线索 #{ids[0]} 的负责人被改动" in report.broken.problem


async def test_bulk_writes_through_a_session_are_recorded_or_refused(both: Services) -> None:
    now = both.clock.now()
    async with both.db.session() as s:
        lead = Lead(customer_name="韦青", source="manual", status="active", stage="new", field_sources={}, extra={},
                    created_at=now, timeout_count=0)
        s.add(lead)
        await s.flush()
        await s.execute(insert(Activity), [{"lead_id": lead.id, "actor_id": None, "kind": "reminder",
                                            "summary": f"批量提醒 {i}", "detail": {}, "created_at": now}
                                           for i in range(3)])
        await s.execute(insert(Evidence), [{"lead_id": lead.id, "kind": "note", "note": "批量导入的说明",
                                            "added_by": "rep01", "created_at": now}])
    await assert_all_recorded(both.db)

    with pytest.raises(RuntimeError, match="bypasses the audit record"):
        async with both.db.session() as s:
            await s.execute(update(Activity).where(Activity.lead_id == lead.id).values(summary="改写"))
    async with both.db.session() as s:
        summaries = set((await s.execute(select(Activity.summary).where(Activity.kind == "reminder"))).scalars())
    assert summaries == {"批量提醒 0", "批量提醒 1", "批量提醒 2"}
    await assert_all_recorded(both.db)


async def test_a_hand_edited_loss_reason_and_owner_are_found_and_named(
        both: Services, chat: ChatSession, transcript: Transcript) -> None:
    """`update leads set close_reason='x'` on a lost lead verified ✅, and a hand-set owner was shown as an account
    id (「记录为「rep01」，现为「3」」): the reason is part of the recorded state, owners are shown by name."""
    await chat.handle_line("新线索 陆一鸣 远山包装有限公司 13811115555 预算30万")
    await chat.handle_line("/click 确认")
    await chat.handle_line("输单 1 客户改用自建系统")
    await chat.handle_line("/click 确认输单")
    async with both.db.session() as s:
        lead = await s.get(Lead, 1)
        assert lead is not None and lead.status == "lost" and lead.close_reason
        names = {u.id: u.name for u in (await s.execute(select(User))).scalars()}
    await assert_all_recorded(both.db)
    async with both.db.session() as s:
        await s.execute(text("UPDATE leads SET close_reason = '价格太高' WHERE id = 1"))
    report = await verify(both.db)
    assert report.broken is not None and "线索 #1 的赢单/输单原因被改动" in report.broken.problem
    assert "现为「价格太高」" in report.broken.problem
    async with both.db.session() as s:
        await s.execute(text("UPDATE leads SET close_reason = :r, owner_id = 'rep02' WHERE id = 1"),
                        {"r": lead.close_reason})
    problem = str((await verify(both.db)).broken)
    assert f"负责人被改动：记录为「{names['rep01']}」，现为「{names['rep02']}」" in problem
    assert "rep0" not in problem
