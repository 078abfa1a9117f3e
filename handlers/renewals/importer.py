"""`contracts import` (CLI), a contracts or payments file an admin sends in chat: read in an executor, matched to
the customers' leads, staged, published in one transaction, then the renewal scan.

Row policy: a row that cannot be used (end before start, a negative payment, an unknown or ambiguous customer,
an unknown owner, an unreadable date or amount) is skipped and named in the report with its line and a log line.
The file's good rows land all together or not at all (the knowledge import's pattern, knowledge/importer.py):
they are staged TRANSACTION_ROWS at a time into `renewal_import_staging` under a fresh batch id, each chunk its
own short transaction (a large file does not hold SQLite's writer from its first row to its last), then ONE short
transaction publishes the batch (INSERT … SELECT into contracts or payments) and deletes it. On a database error
the batch is deleted and the report says nothing was imported; a batch left by a dead process is deleted by age.
Re-importing a file changes nothing: a contract is the same when its customer, start and end are, a payment when
its customer, date and amount are."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.renewals.accounts import Accounts, Owners
from handlers.renewals.scan import ScanOutcome, scan_all
from handlers.renewals.sheet import ContractRow, PaymentRow, RowError, read_sheet
from knowledge.io import FormatError
from storage.models import Contract, Payment, RenewalImportStaging
from storage.sql import rowcount, table_of

log = logging.getLogger(__name__)

MAX_ISSUES_SHOWN = 10
KIND_CN = {"contracts": "合同", "payments": "回款"}
CHUNK = 500
TRANSACTION_ROWS = 2000
STALE_BATCH_AFTER = timedelta(hours=6)  # a batch staged this long ago belongs to a dead import
STAGING = table_of(RenewalImportStaging)
Landed = Callable[[int], Awaitable[None]]  # this many more rows are committed


@dataclass
class ImportReport:
    file: str
    kind: str | None = None  # contracts | payments; None: the file could not be read
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[tuple[int, str]] = field(default_factory=list)  # (line, reason); line 0 = the whole file
    warnings: int = 0  # 续约预警 recorded by the scan after the import

    def lines(self, limit: int = MAX_ISSUES_SHOWN) -> list[str]:
        """The Chinese import report."""
        if self.kind is None:  # unreadable, or the database failed: nothing of the file was written
            why = self.issues[0][1] if self.issues else "无法读取"
            rows = [f"· 第 {line} 行：{text}" for line, text in self.issues[1:limit + 1] if line]
            again = "请稍后重新发送文件。" if self.rows else ""  # the file was read: the database failed
            return [f"❌ {self.file}：{why}，没有导入任何数据。{again}", *rows]
        what = KIND_CN[self.kind]
        same = "未变" if self.kind == "contracts" else "重复"
        head = (f"📑 {self.file}（{what}）：{self.rows} 行，新增 {self.inserted}"
                + (f"，更新 {self.updated}" if self.kind == "contracts" else "")
                + f"，{same} {self.unchanged}，跳过 {len(self.issues)}")
        out = [head] + [f"· 第 {line} 行：{text}" if line else f"· {text}" for line, text in self.issues[:limit]]
        if len(self.issues) > limit:
            out.append(f"· 另有 {len(self.issues) - limit} 行未显示：改好以上几行后重新导入，会列出其余问题")
        return out


async def import_files(db: Any, settings: Settings, paths: Sequence[Path], now: datetime,
                       names: Sequence[str] | None = None, landed: Landed | None = None,
                       total: Callable[[int], None] | None = None) -> tuple[list[ImportReport], ScanOutcome]:
    """Import each file (staged, then published in one transaction), then run the renewal scan once (which also
    withdraws the warnings the new rows contradict); returns the reports and the scan's outcome."""
    reports = []
    for i, path in enumerate(paths):
        report = await import_file(db, path, now, landed, total)
        report.file = names[i] if names else path.name
        reports.append(report)
    async with db.session() as session:
        outcome = await scan_all(session, settings, now)
    return reports, outcome


async def import_file(db: Any, path: Path, now: datetime, landed: Landed | None = None,
                      total: Callable[[int], None] | None = None) -> ImportReport:
    report = ImportReport(file=path.name)
    try:
        kind, rows, bad = await asyncio.get_running_loop().run_in_executor(None, read_sheet, path)
    except (FormatError, OSError) as exc:
        reason = str(exc) if isinstance(exc, FormatError) else "文件无法读取"
        log.warning("contracts import %s: unreadable: %s", path.name, exc)
        report.issues.append((0, reason))
        return report
    report.kind, report.rows, report.issues = kind, len(rows) + len(bad), list(bad)
    if total:
        total(len(rows))
    batch = uuid.uuid4().hex
    try:
        await _stage_and_publish(db, batch, report, rows, now, landed)
    except SQLAlchemyError:
        log.exception("contracts import %s: database error; nothing imported", path.name)
        await _drop(db, batch)
        report.kind, report.inserted, report.updated, report.unchanged = None, 0, 0, 0
        report.issues.insert(0, (0, "保存时数据库出错"))
    except BaseException:
        await _drop(db, batch)
        raise
    report.issues.sort()
    for line, text in report.issues:
        log.warning("contracts import %s line %d: %s", path.name, line, text)
    log.info("contracts import %s: %s rows, %d new, %d updated, %d unchanged, %d skipped", path.name, report.rows,
             report.inserted, report.updated, report.unchanged, len(report.issues))
    return report


async def _stage_and_publish(db: Any, batch: str, report: ImportReport, rows: Sequence[ContractRow | PaymentRow],
                             now: datetime, landed: Landed | None) -> None:
    """Match and stage the rows a chunk (a transaction) at a time, then publish the batch in one transaction."""
    async with db.session() as session:
        stale = await _drop_stale(session, now - STALE_BATCH_AFTER)
        accounts, owners = await Accounts.load(session), await Owners.load(session)
    if stale:
        log.warning("contracts import: deleted %d staged rows of imports that did not finish", stale)
    staged, seen = 0, dict[tuple[int, Any, Any], int]()
    for lo in range(0, len(rows), TRANSACTION_ROWS):
        chunk = rows[lo:lo + TRANSACTION_ROWS]
        async with db.session() as session:
            if report.kind == "contracts":
                ready = _contracts(report, accounts, owners, [r for r in chunk if isinstance(r, ContractRow)], seen)
                values = await _changed_contracts(session, report, ready)
            else:
                values = await _new_payments(session, report, accounts,
                                             [r for r in chunk if isinstance(r, PaymentRow)], seen)
            staged += await _stage(session, batch, str(report.kind), report.file, values, now)
        if landed is not None:
            await landed(len(chunk))
    async with db.session() as session:
        await _publish(session, batch, str(report.kind), staged)


Ready = dict[tuple[int, Any, Any], tuple[ContractRow, str | None]]  # (lead, start, end) → the row and its owner


def _contracts(report: ImportReport, accounts: Accounts, owners: Owners, rows: list[ContractRow],
               first_line: dict[tuple[int, Any, Any], int]) -> Ready:
    """One chunk's contracts matched to their accounts; `first_line`: where each was first seen in the file."""
    ready: Ready = {}
    for row in rows:
        try:
            known = accounts.match(row.customer)
            owner = owners.resolve(row.owner, known.owner_id)
        except RowError as exc:
            report.issues.append((row.line, str(exc)))
            continue
        key = (known.id, row.start, row.end)
        if key in first_line:
            report.issues.append((row.line, f"与第 {first_line[key]} 行是同一份合同，已跳过"))
            continue
        ready[key], first_line[key] = (row, owner), row.line
    return ready


async def _changed_contracts(session: AsyncSession, report: ImportReport, ready: Ready) -> list[dict[str, Any]]:
    """The rows to stage: new contracts and changed ones (compared with the live rows now); counts them."""
    existing = await _existing(session, Contract, [k[0] for k in ready])
    current = {(c.lead_id, c.start_on, c.end_on): c for c in existing}
    out = []
    for key, (row, owner) in ready.items():
        values = {"customer": row.customer.name, "company": row.customer.company, "amount_cny": row.amount,
                  "owner_id": owner, "health": row.health, "renewal": row.renewal}
        contract = current.get(key)
        if contract is not None and all(getattr(contract, k) == v for k, v in values.items()):
            report.unchanged += 1
            continue
        if contract is None:
            report.inserted += 1
        else:
            report.updated += 1
        out.append({**values, "line": row.line, "lead_id": key[0], "start_on": row.start, "end_on": row.end})
    return out


async def _new_payments(session: AsyncSession, report: ImportReport, accounts: Accounts, rows: list[PaymentRow],
                        seen: dict[tuple[int, Any, Any], int]) -> list[dict[str, Any]]:
    ready: dict[tuple[int, Any, Any], PaymentRow] = {}
    for row in rows:
        try:
            known = accounts.match(row.customer)
        except RowError as exc:
            report.issues.append((row.line, str(exc)))
            continue
        key = (known.id, row.paid_on, row.amount)
        if key in seen or key in ready:
            report.unchanged += 1
            continue
        ready[key], seen[key] = row, row.line
    have = {(p.lead_id, p.paid_on, p.amount_cny) for p in await _existing(session, Payment, [k[0] for k in ready])}
    new = [{"line": row.line, "lead_id": k[0], "paid_on": k[1], "amount_cny": k[2]}
           for k, row in ready.items() if k not in have]
    report.unchanged += len(ready) - len(new)
    report.inserted += len(new)
    return new


async def _stage(session: AsyncSession, batch: str, kind: str, source: str, values: list[dict[str, Any]],
                 now: datetime) -> int:
    for i in range(0, len(values), CHUNK):
        await session.execute(insert(STAGING), [{"batch_id": batch, "kind": kind, "source": source, "staged_at": now,
                                                 **v} for v in values[i:i + CHUNK]])
    return len(values)


CONTRACT_VALUES = ("customer", "company", "amount_cny", "owner_id", "health", "renewal")


async def _publish(session: AsyncSession, batch: str, kind: str, expected: int) -> None:
    """The staged batch made live in the caller's (short) transaction, then deleted from staging. Raises
    BatchIncomplete (nothing published) unless exactly `expected` rows are staged."""
    mine = STAGING.c.batch_id == batch
    staged = int(await session.scalar(select(func.count()).select_from(STAGING).where(mine)) or 0)
    if staged != expected:
        raise BatchIncomplete(f"batch {batch}: {staged} rows staged, {expected} expected")
    if not staged:
        return
    factory = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    s = STAGING.c
    if kind == "contracts":
        table = table_of(Contract)
        names = ["lead_id", "start_on", "end_on", *CONTRACT_VALUES, "source", "created_at", "updated_at"]
        source = [s.lead_id, s.start_on, s.end_on, *(s[n] for n in CONTRACT_VALUES), s.source, s.staged_at,
                  s.staged_at]
        stmt = factory(table).from_select(names, select(*source).where(mine).order_by(s.line))
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.lead_id, table.c.start_on, table.c.end_on],
            set_={**{n: stmt.excluded[n] for n in CONTRACT_VALUES}, "updated_at": stmt.excluded.updated_at})
    else:
        names = ["lead_id", "paid_on", "amount_cny", "source", "created_at"]
        stmt = factory(table_of(Payment)).from_select(names, select(
            s.lead_id, s.paid_on, s.amount_cny, s.source, s.staged_at).where(mine).order_by(s.line))
        stmt = stmt.on_conflict_do_nothing()
    await session.execute(stmt)
    await session.execute(delete(STAGING).where(mine))


class BatchIncomplete(SQLAlchemyError):
    """The staging table holds fewer rows of a batch than were staged (deleted as stale meanwhile)."""


async def _drop(db: Any, batch: str) -> None:
    """A failed import's staged rows deleted (best effort: if this fails too, age deletes them later)."""
    try:
        async with db.session() as session:
            await session.execute(delete(STAGING).where(STAGING.c.batch_id == batch))
    except Exception:
        log.exception("contracts import: staged batch %s could not be deleted; it is deleted by age later", batch)


async def _drop_stale(session: AsyncSession, staged_before: datetime) -> int:
    return rowcount(await session.execute(delete(STAGING).where(STAGING.c.staged_at < staged_before)))


async def drop_stale_batches(db: Any, now: datetime) -> int:
    """Staged rows of imports that started more than STALE_BATCH_AFTER ago (their process died) deleted: by every
    import as it starts, and by the server at start-up and hourly (app/scheduler.py), like the knowledge import's."""
    async with db.session() as session:
        stale = await _drop_stale(session, now - STALE_BATCH_AFTER)
    if stale:
        log.warning("contracts import: deleted %d staged rows of imports that did not finish", stale)
    return stale


async def _existing(session: AsyncSession, model: Any, lead_ids: list[int]) -> list[Any]:
    ids = sorted(set(lead_ids))
    found: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        found += (await session.execute(select(model).where(model.lead_id.in_(ids[i:i + CHUNK])))).scalars()
    return found
