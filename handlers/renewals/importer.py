"""`contracts import` (CLI), a contracts or payments file an admin sends in chat: read in an executor, matched to
the customers' leads, staged, published, then the renewal scan.

Row policy: a row that cannot be used (end before start, a negative payment, an unknown or ambiguous customer,
an unknown owner, an unreadable date or amount) is skipped and named in the report with its line and a log line.
The file's good rows land all together (the knowledge import's pattern, knowledge/importer.py): matched in an
executor TRANSACTION_ROWS at a time, they are staged into `renewal_import_staging` under a fresh batch id,
STAGE_ROWS a short transaction (a large file never holds SQLite's writer for long), then published a bounded
chunk a transaction (INSERT … SELECT into contracts or payments, storage/staging.py). On a database error before
the publish the batch is deleted and the report says nothing was imported; a publish that began is finished by
the sweep (start-up, hourly, the next import) and the report says so; a batch a dead process left unpublished is
deleted by age.
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

from sqlalchemy import ColumnElement, insert, select
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
from storage.sql import table_of
from storage.staging import PublishInterrupted, Staged, drop, drop_stale

log = logging.getLogger(__name__)

MAX_ISSUES_SHOWN = 10
KIND_CN = {"contracts": "合同", "payments": "回款"}
CHUNK = 500
TRANSACTION_ROWS = 2000  # rows matched (in an executor) and compared with the live rows at a time
STAGE_ROWS = 500  # rows per staging write transaction (as many as a publish chunk)
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
    interrupted: bool = False  # the publish began and failed midway: the rest lands by the sweep

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
        out = [head] + (["· 保存到一半时数据库出错：已保存的行保留，其余的会在数据库恢复后自动补齐"]
                        if self.interrupted else [])
        out += [f"· 第 {line} 行：{text}" if line else f"· {text}" for line, text in self.issues[:limit]]
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
    except PublishInterrupted:
        log.exception("contracts import %s: database error while publishing; the rest is published later", path.name)
        report.interrupted = True
    except SQLAlchemyError:
        log.exception("contracts import %s: database error; nothing imported", path.name)
        await drop(db, STAGING, batch)
        report.kind, report.inserted, report.updated, report.unchanged = None, 0, 0, 0
        report.issues.insert(0, (0, "保存时数据库出错"))
    except BaseException:
        await drop(db, STAGING, batch)
        raise
    report.issues.sort()
    for line, text in report.issues:
        log.warning("contracts import %s line %d: %s", path.name, line, text)
    log.info("contracts import %s: %s rows, %d new, %d updated, %d unchanged, %d skipped", path.name, report.rows,
             report.inserted, report.updated, report.unchanged, len(report.issues))
    return report


async def _stage_and_publish(db: Any, batch: str, report: ImportReport, rows: Sequence[ContractRow | PaymentRow],
                             now: datetime, landed: Landed | None) -> None:
    """Match the rows and build their staging rows in an executor (a chunk of TRANSACTION_ROWS at a time, compared
    with the live rows read outside any write transaction), stage them STAGE_ROWS a transaction, then publish."""
    await drop_stale_batches(db, now)
    async with db.read_session() as session:
        accounts, owners = await Accounts.load(session), await Owners.load(session)
    loop, kind = asyncio.get_running_loop(), str(report.kind)
    staged, seen = 0, dict[tuple[int, Any, Any], int]()
    for lo in range(0, len(rows), TRANSACTION_ROWS):
        chunk = rows[lo:lo + TRANSACTION_ROWS]
        if kind == "contracts":
            ready = await loop.run_in_executor(None, _contracts, report, accounts, owners,
                                               [r for r in chunk if isinstance(r, ContractRow)], seen)
            live = await _existing(db, CONTRACT_KEY + CONTRACT_VALUES, [k[0] for k in ready])
            values = await loop.run_in_executor(None, _changed_contracts, report, ready, live)
        else:
            due = await loop.run_in_executor(None, _payments, report, accounts,
                                             [r for r in chunk if isinstance(r, PaymentRow)], seen)
            live = await _existing(db, PAYMENT_KEY, [k[0] for k in due])
            values = await loop.run_in_executor(None, _new_payments, report, due, live)
        staging = [{"batch_id": batch, "kind": kind, "source": report.file, "staged_at": now, **v} for v in values]
        for i in range(0, len(staging), STAGE_ROWS):  # only the INSERT holds the writer
            async with db.session() as session:
                await session.execute(insert(STAGING), staging[i:i + STAGE_ROWS])
        staged += len(staging)
        if landed is not None:
            await landed(len(chunk))
    await STAGED[kind].publish(db, batch, staged, now)


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


def _changed_contracts(report: ImportReport, ready: Ready, live: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows to stage: new contracts and changed ones (compared with the `live` rows); counts them."""
    current = {(c.lead_id, c.start_on, c.end_on): c for c in live}
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


Due = dict[tuple[int, Any, Any], PaymentRow]  # (lead, paid on, amount) → the row


def _payments(report: ImportReport, accounts: Accounts, rows: list[PaymentRow],
              seen: dict[tuple[int, Any, Any], int]) -> Due:
    """One chunk's payments matched to their accounts, each once in the file."""
    due: Due = {}
    for row in rows:
        try:
            known = accounts.match(row.customer)
        except RowError as exc:
            report.issues.append((row.line, str(exc)))
            continue
        key = (known.id, row.paid_on, row.amount)
        if key in seen:
            report.unchanged += 1
            continue
        due[key], seen[key] = row, row.line
    return due


def _new_payments(report: ImportReport, due: Due, live: Sequence[Any]) -> list[dict[str, Any]]:
    """The payments to stage: those the `live` rows do not hold yet; counts them."""
    have = {(p.lead_id, p.paid_on, p.amount_cny) for p in live}
    new = [{"line": row.line, "lead_id": k[0], "paid_on": k[1], "amount_cny": k[2]}
           for k, row in due.items() if k not in have]
    report.unchanged += len(due) - len(new)
    report.inserted += len(new)
    return new


CONTRACT_VALUES = ("customer", "company", "amount_cny", "owner_id", "health", "renewal")


def _factory(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def _publish_contracts(session: AsyncSession, chunk: ColumnElement[bool]) -> None:
    """The staged contracts matching `chunk` upserted, in file order (a contract is its lead, start and end)."""
    table, s = table_of(Contract), STAGING.c
    names = [*CONTRACT_KEY, *CONTRACT_VALUES, "source", "created_at", "updated_at"]
    source = [s.lead_id, s.start_on, s.end_on, *(s[n] for n in CONTRACT_VALUES), s.source, s.staged_at, s.staged_at]
    stmt = _factory(session)(table).from_select(names, select(*source).where(chunk).order_by(s.line))
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[table.c.lead_id, table.c.start_on, table.c.end_on],
        set_={**{n: stmt.excluded[n] for n in CONTRACT_VALUES}, "updated_at": stmt.excluded.updated_at}))


async def _publish_payments(session: AsyncSession, chunk: ColumnElement[bool]) -> None:
    s = STAGING.c
    names = ["lead_id", "paid_on", "amount_cny", "source", "created_at"]
    stmt = _factory(session)(table_of(Payment)).from_select(names, select(
        s.lead_id, s.paid_on, s.amount_cny, s.source, s.staged_at).where(chunk).order_by(s.line))
    await session.execute(stmt.on_conflict_do_nothing())


# a staged file made live a chunk a transaction, rolled forward once begun (storage/staging.py)
STAGED = {"contracts": Staged("contracts", STAGING, "line", _publish_contracts),
          "payments": Staged("payments", STAGING, "line", _publish_payments)}


async def drop_stale_batches(db: Any, now: datetime) -> int:
    """Publishes that began and did not finish are finished; then staged rows of imports that started more than
    STALE_BATCH_AFTER ago (their process died before publishing) deleted: by every import as it starts, and by
    the server at start-up and hourly (app/scheduler.py), like the knowledge import's."""
    for staged in STAGED.values():
        await staged.resume(db, now)
    async with db.session() as session:
        stale = await drop_stale(session, STAGING, now - STALE_BATCH_AFTER)
    if stale:
        log.warning("contracts import: deleted %d staged rows of imports that did not finish", stale)
    return stale


CONTRACT_KEY = ("lead_id", "start_on", "end_on")
PAYMENT_KEY = ("lead_id", "paid_on", "amount_cny")


async def _existing(db: Any, columns: Sequence[str], lead_ids: list[int]) -> list[Any]:
    """Those columns of the live contracts (or payments) of these leads, read outside any write transaction."""
    table = table_of(Contract) if "start_on" in columns else table_of(Payment)
    ids = sorted(set(lead_ids))
    found: list[Any] = []
    async with db.reader() as conn:
        for i in range(0, len(ids), CHUNK):
            found += (await conn.execute(select(*(table.c[n] for n in columns))
                                         .where(table.c.lead_id.in_(ids[i:i + CHUNK])))).all()
    return found
