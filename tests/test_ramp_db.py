"""Ramp-up and the handover list on both backends (SQLite and PostgreSQL): path, enrolment, progress, completion,
the gate's queries, and the handover's grouped knowledge queries return the same on each."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from bot.config import RampSettings
from handlers.leads.handover import build_handover
from handlers.ramp import service
from handlers.ramp.path import parse_path
from knowledge import store
from storage.db import Database
from storage.leads import new_lead
from tests.ramp_helpers import ramp_cards

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)
CFG = RampSettings()


@pytest.fixture
async def db(org_db: Database) -> Database:
    async with org_db.session() as s:
        await store.upsert_cards(s, ramp_cards(), NOW, lambda c: [])
    return org_db


async def test_a_rep_completes_a_path_on_both_backends(db: Database) -> None:
    async with db.session() as s:
        await service.enroll(s, "rep01", CFG, NOW, "admin01")  # no path yet: the default one is made
        first = await service.progress(s, "rep01", CFG)
        assert first is not None and first.total == 12 and first.done == 0
        assert await service.locked_ids(s, "pool", CFG) == {"rep01"}
        await service.set_path(s, parse_path("阅读 异议=价格\n跟岗 旁听一次电话"), NOW, "admin01")
    async with db.session() as s:
        found = await service.progress(s, "rep01", CFG)
        assert found is not None and found.total == 2
        completed = None
        for task in found.tasks:
            completed = await service.finish_task(s, await service.mark(s, "rep01", task.id, NOW), NOW, CFG)
        assert completed is not None and completed.complete and completed.done == 2
    async with db.session() as s:
        assert await service.locked(s, "rep01", "close", CFG) is None
        assert await service.locked_ids(s, "pool", CFG) == set()
        team = await service.team_progress(s, "manager01", CFG)
        assert [(p.user_id, p.summary()) for p in team] == [("rep01", "2/2 已通关")]


async def test_handover_queries_on_both_backends(db: Database) -> None:
    async with db.session() as s:
        lead = new_lead({"customer_name": "钱院长"}, source="manual", by="rep03", now=NOW, status="active")
        lead.owner_id = "rep03"
        s.add(lead)
        await s.flush()
        for card, times in (("R01", 2), ("R04", 3)):
            for _ in range(times):
                await store.log_query(s, user_id="rep03", query="问题", ranked=[card], scores=[1.0], answered=True,
                                      shown_card=card, now=NOW)
        qid = await store.log_query(s, user_id="rep03", query="学校有老供应商", ranked=["R09"], scores=[1.0],
                                    answered=True, shown_card="R09", now=NOW)
        await store.add_feedback(s, query_id=qid, card_id="R09", user_id="rep03", vote="up", now=NOW)
        handover = await build_handover(s, "rep03", "刘洋", [lead])
    assert [(c, n) for c, _, n in handover.cards] == [("R04", 3), ("R01", 2), ("R09", 1)]
    assert [(q, c) for q, c, _ in handover.useful] == [("学校有老供应商", "R09")]
