"""A file import sent in chat runs as a background job with a transaction per chunk (issue 20, finding 6: a
100,000-row import held SQLite's writer and everyone's replies for up to 30 s, and the admin's chat waited for it).

The admin hears at once that the file is being imported; the report follows when it is done. The chunks are
staged first (issue 13: nothing half-imported): a database error while staging (a trigger refusing one card: a
real database error, not a stand-in) leaves no card of the file live, and the report says nothing was imported
and why. The publish then goes a bounded chunk a transaction (storage/staging.py): an error midway leaves the
chunks before it live, and the report says the rest follows once the database takes it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.intake import Intake
from bot.jobs import JOBS
from bot.services import Services
from knowledge.importer import TRANSACTION_CARDS
from storage.models import Contract, KnowledgeCard, KnowledgeCardStaging
from tests.conftest import Transcript
from tests.renewals_helpers import seed_customers, write_files

N = TRANSACTION_CARDS + 500


def cards_csv(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "大批话术.csv"
    lines = ["编号,标题,异议,话术"] + [f"Z{i:05d},客户第{i}种顾虑,价格,先确认预算再谈第{i}种方案" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def count_cards(services: Services) -> int:
    async with services.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(KnowledgeCard).where(
            KnowledgeCard.id.like("Z%"))) or 0)


async def test_a_large_card_file_is_answered_at_once_and_reported_when_done(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    await chat.handle_line("/as admin01")
    transcript.clear()
    await chat.handle_line(f"/file {cards_csv(tmp_path, 40)}")
    said = [m["text"] for m in transcript.to("admin01")]
    assert said[0] == "📥 收到「大批话术.csv」，正在后台导入，完成后把结果发给你。"
    assert len(said) == 2 and said[1].startswith("📚 导入完成") and "新增 40" in said[1]
    assert await count_cards(services) == 40


async def test_a_database_error_mid_import_lands_nothing_and_says_so(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    table = "knowledge_cards_staging"
    async with services.db.session() as s:  # the second chunk's card Z02100 is refused by the database
        await s.execute(text(f"CREATE TRIGGER refuse_one BEFORE INSERT ON {table} "
                             "WHEN NEW.id = 'Z02100' BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    await chat.handle_line("/as admin01")
    await chat.handle_line(f"/file {cards_csv(tmp_path, N)}")
    report = transcript.last("admin01")["text"]
    assert report == ("❌ 导入「大批话术.csv」失败：数据库拒绝保存其中一行，本次没有导入任何行，原有数据保持不变。"
                      "请稍后重新发送这个文件。")
    assert await count_cards(services) == 0  # not the first chunk either
    async with services.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(KnowledgeCardStaging)) == 0
    await chat.handle_line("/as rep01")
    await chat.handle_line("你好")  # everyone else is answered as usual
    assert transcript.last("rep01")["text"]


async def test_a_database_error_mid_publish_says_what_landed(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    from storage.staging import PUBLISH_ROWS

    async with services.db.session() as s:  # a card of the publish's fifth chunk is refused by the database
        await s.execute(text("CREATE TRIGGER refuse_one BEFORE INSERT ON knowledge_cards "
                             "WHEN NEW.id = 'Z02100' BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    await chat.handle_line("/as admin01")
    await chat.handle_line(f"/file {cards_csv(tmp_path, N)}")
    assert transcript.last("admin01")["text"] == (
        "⚠️ 导入「大批话术.csv」保存到一半时出错：数据库拒绝保存其中一行。"
        "已保存的行保留，其余的会在数据库恢复后自动补齐。")
    assert await count_cards(services) == 2100 // PUBLISH_ROWS * PUBLISH_ROWS  # the chunks before it


async def kill_the_import_once_it_runs(services: Services) -> None:
    """kill -9 of the process running the import: its task ends mid-way, nothing of it in memory survives."""
    jobs = services.shared(JOBS)
    for _ in range(100_000):  # until the job has started (a condition, not a guess of how long it takes)
        if jobs.running:
            break
        await asyncio.sleep(0)
    assert jobs.running
    for task in list(jobs.running):
        task.cancel()


@pytest.mark.parametrize("kind", ["cards", "contracts"])
async def test_an_import_killed_mid_way_is_finished_by_the_replay_sweep(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
        kind: str) -> None:
    """The re-run found imports lost to a kill -9: the admin was told 「正在后台导入」 and never heard again, and a
    contracts file stayed half-written. The job is kept with the message; once its process is gone for the
    replay grace, the sweep runs it again and the report arrives, with every row of the file written."""
    if kind == "cards":
        path = cards_csv(tmp_path, N)
    else:
        await seed_customers(services)
        path = write_files(tmp_path)[0]
    await chat.handle_line("/as admin01")
    transcript.clear()
    killer = asyncio.create_task(kill_the_import_once_it_runs(services))
    await chat.handle_line(f"/file {path}")
    await killer
    said = [m["text"] for m in transcript.to("admin01")]
    assert len(said) == 1 and said[0].startswith("📥 收到"), said  # no report: the job died

    intake = Intake(services)  # the restarted process (or any other instance) and its replay sweep
    clock.advance(timedelta(seconds=services.settings.server.replay_grace_s + 1))
    await intake.sweep()
    await chat.settle()
    report = transcript.last("admin01")["text"]
    if kind == "cards":
        assert report.startswith("📚 导入完成") and await count_cards(services) == N
    else:
        assert report.startswith("📑 合同台账.csv（合同）：5 行，新增 3") and await count_contracts(services) == 3
    await intake.sweep()  # done: nothing left to run again
    await chat.settle()
    assert transcript.last("admin01")["text"] == report


async def count_contracts(services: Services) -> int:
    async with services.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Contract)) or 0)
