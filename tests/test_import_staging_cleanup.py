"""Staged cards of an import whose process died are deleted when the server starts and every hour after — not
only when somebody happens to start the next import (until then they took space and showed in no count)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.scheduler import start_scheduler
from bot.clock import ManualClock
from bot.services import Services
from knowledge import importer
from storage.models import KnowledgeCardStaging

ROW = {"id": "S9999", "title": "没导完的卡片", "talk_track": "", "quote_template": "", "success_case": "",
       "keywords": [], "version": 1, "active": True}


async def staged_batches(services: Services) -> list[str]:
    async with services.db.session() as session:
        return sorted(await session.scalars(select(KnowledgeCardStaging.batch_id)))


async def test_the_server_deletes_a_dead_imports_staging_at_start_up(services: Services, clock: ManualClock) -> None:
    now = clock.now()
    async with services.db.session() as session:  # one import died hours ago, another is running now
        await session.execute(KnowledgeCardStaging.__table__.insert(), [
            {**ROW, "modified_at": now, "batch_id": "dead",
             "staged_at": now - importer.STALE_BATCH_AFTER - timedelta(minutes=1)},
            {**ROW, "modified_at": now, "batch_id": "running", "staged_at": now - timedelta(minutes=5)}])
    scheduler = start_scheduler(services)
    try:
        job = scheduler.get_job("kb-staging-cleanup")
        assert job is not None and job.trigger.interval == timedelta(hours=1)
        await scheduler.join()  # at start-up, then hourly
        assert await staged_batches(services) == ["running"]
    finally:
        await scheduler.stop()


async def test_the_cleanup_keeps_a_running_import_and_says_what_it_deleted(services: Services,
                                                                           clock: ManualClock) -> None:
    now = clock.now()
    async with services.db.session() as session:
        await session.execute(KnowledgeCardStaging.__table__.insert(), [
            {**ROW, "id": f"S{i}", "modified_at": now, "batch_id": "dead", "staged_at": now - timedelta(days=2)}
            for i in range(3)])
    assert await importer.drop_stale_batches(services.db, now) == 3
    assert await importer.drop_stale_batches(services.db, now) == 0
    assert await staged_batches(services) == []
