"""New-user audit: a contracts file was committed chunk by chunk, so a database error in a later chunk left the
earlier rows imported. The good rows are now staged first: an error while staging imports nothing. The publish
goes a bounded chunk a transaction (audit 20 re-run, 6b: one transaction for 100,000 rows held SQLite's writer for
seconds); an error midway is said, and the sweep publishes the rest once the database takes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.services import Services
from handlers.renewals import importer
from handlers.renewals.importer import import_files
from storage.models import Contract, RenewalImportStaging
from tests.renewals_helpers import seed_customers

# five good rows (the last, 999 元, is refused by the database below) and one bad row (line 5)
SHEET = """客户,公司,电话,金额,开始日期,结束日期,负责人
李明,东方制造有限公司,139 0000 0001,12万,2025-12-01,2026-12-31,rep01
赵六,北辰物流,,80000,2025/12/15,2027/1/10,张伟
孙七,南山食品,,50000,2025-12-20,2026-12-20,rep01
周八,西岭建材,,30000,2026-12-01,2026-01-01,rep01
周八,西岭建材,,30000,2025-12-01,2026-12-01,rep01
王五,东方制造,13900000002,999,2026-01-01,2026-12-31,rep01
"""


async def _count(services: Services, model: type) -> int:
    async with services.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_database_error_late_in_the_file_imports_nothing_and_says_so(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_customers(services)
    monkeypatch.setattr(importer, "TRANSACTION_ROWS", 2)  # three chunks: the failing row is in the last
    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the failing write is a SQLite trigger")
    async with services.db.session() as s:  # the database refuses one row (as a constraint or a full disk would)
        await s.execute(text("CREATE TRIGGER refuse_999 BEFORE INSERT ON renewal_import_staging "
                             "WHEN NEW.amount_cny = 999 BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    sheet = tmp_path / "合同.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    (report,), _ = await import_files(services.db, services.settings, [sheet], services.clock.now())
    assert await _count(services, Contract) == 0  # not the first chunks' four contracts
    assert await _count(services, RenewalImportStaging) == 0
    lines = report.lines()
    assert lines[0] == "❌ 合同.csv：保存时数据库出错，没有导入任何数据。请稍后重新发送文件。"
    assert "· 第 5 行：结束日期 2026-01-01 早于开始日期 2026-12-01" in lines

    async with services.db.session() as s:
        await s.execute(text("DROP TRIGGER refuse_999"))
    (report,), _ = await import_files(services.db, services.settings, [sheet], services.clock.now())
    assert report.lines()[0] == "📑 合同.csv（合同）：6 行，新增 5，更新 0，未变 0，跳过 1"
    assert await _count(services, Contract) == 5 and await _count(services, RenewalImportStaging) == 0
    (again,), _ = await import_files(services.db, services.settings, [sheet], services.clock.now())
    assert again.lines()[0] == "📑 合同.csv（合同）：6 行，新增 0，更新 0，未变 5，跳过 1"


async def test_a_publish_that_fails_midway_says_so_and_the_sweep_publishes_the_rest(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage import staging

    await seed_customers(services)
    monkeypatch.setattr(staging, "PUBLISH_ROWS", 2)  # three publish chunks: the refused row is in the last
    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the failing write is a SQLite trigger")
    async with services.db.session() as s:
        await s.execute(text("CREATE TRIGGER refuse_999 BEFORE INSERT ON contracts WHEN NEW.amount_cny = 999 "
                             "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    sheet = tmp_path / "合同.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    (report,), _ = await import_files(services.db, services.settings, [sheet], services.clock.now())
    assert report.lines()[:2] == ["📑 合同.csv（合同）：6 行，新增 5，更新 0，未变 0，跳过 1",
                                  "· 保存到一半时数据库出错：已保存的行保留，其余的会在数据库恢复后自动补齐"]
    assert await _count(services, Contract) == 4 and await _count(services, RenewalImportStaging) == 1
    later = services.clock.now() + importer.STALE_BATCH_AFTER * 2
    assert await importer.drop_stale_batches(services.db, later) == 0  # still refused: kept, however old
    async with services.db.session() as s:
        await s.execute(text("DROP TRIGGER refuse_999"))
    await importer.drop_stale_batches(services.db, later)  # the hourly sweep
    assert await _count(services, Contract) == 5 and await _count(services, RenewalImportStaging) == 0
    (again,), _ = await import_files(services.db, services.settings, [sheet], services.clock.now())
    assert again.lines()[0] == "📑 合同.csv（合同）：6 行，新增 0，更新 0，未变 5，跳过 1"


async def test_a_dead_imports_staged_rows_are_deleted_by_age_and_a_running_ones_kept(services: Services) -> None:
    from datetime import date, timedelta

    now = services.clock.now()
    row = {"kind": "payments", "lead_id": 1, "amount_cny": 100, "paid_on": date(2026, 11, 1), "line": 2}
    async with services.db.session() as s:
        await s.execute(RenewalImportStaging.__table__.insert(), [
            {**row, "batch_id": "dead", "staged_at": now - importer.STALE_BATCH_AFTER - timedelta(minutes=1)},
            {**row, "batch_id": "running", "staged_at": now - timedelta(minutes=5)}])
    assert await importer.drop_stale_batches(services.db, now) == 1
    async with services.db.session() as s:
        assert list(await s.scalars(select(RenewalImportStaging.batch_id))) == ["running"]
