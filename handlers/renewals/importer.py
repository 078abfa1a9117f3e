"""`contracts import` (CLI), a contracts or payments file an admin sends in chat: read in an executor, matched to
the customers' leads, written in one transaction per file, then the renewal scan.

Row policy: a row that cannot be used (end before start, a negative payment, an unknown or ambiguous customer,
an unknown owner, an unreadable date or amount) is skipped and named in the report with its line and a log line;
the file's good rows are written TRANSACTION_ROWS at a time, each chunk one transaction (all or none): a large file
does not hold SQLite's writer from its first row to its last, and after a database error the report says how many
rows were written before it (the rest were not).
Re-importing a file changes nothing: a contract is the same when its customer, start and end are, a payment when
its customer, date and amount are."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.renewals.accounts import Accounts, Owners
from handlers.renewals.scan import scan
from handlers.renewals.sheet import ContractRow, PaymentRow, RowError, read_sheet
from knowledge.io import FormatError
from storage.models import Contract, Payment
from storage.sql import insert_ignore

log = logging.getLogger(__name__)

MAX_ISSUES_SHOWN = 10
KIND_CN = {"contracts": "合同", "payments": "回款"}
CHUNK = 500
TRANSACTION_ROWS = 2000
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
        if self.kind is None:
            return [f"❌ {self.file}：{self.issues[0][1] if self.issues else '无法读取'}，没有导入任何数据。"]
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
                       total: Callable[[int], None] | None = None) -> tuple[list[ImportReport], int]:
    """Import each file (a transaction per TRANSACTION_ROWS rows), then run the renewal scan once; returns the
    reports and how many warnings the scan recorded."""
    reports = []
    for i, path in enumerate(paths):
        report = await import_file(db, path, now, landed, total)
        report.file = names[i] if names else path.name
        reports.append(report)
    async with db.session() as session:
        warnings = await scan(session, settings, now)
    return reports, warnings


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
    written, seen = 0, dict[tuple[int, Any, Any], int]()
    try:
        for lo in range(0, len(rows), TRANSACTION_ROWS):
            chunk = rows[lo:lo + TRANSACTION_ROWS]
            async with db.session() as session:
                if kind == "contracts":
                    await _contracts(session, report, [r for r in chunk if isinstance(r, ContractRow)], now, seen)
                else:
                    await _payments(session, report, [r for r in chunk if isinstance(r, PaymentRow)], now)
            written += len(chunk)
            if landed is not None:
                await landed(len(chunk))
    except SQLAlchemyError:
        log.exception("contracts import %s: database error after %d rows written", path.name, written)
        if not written:
            report.kind, report.issues = None, [(0, "保存时数据库出错")]
            return report
        report.issues.append((0, f"保存时数据库出错：前 {written} 行已写入并保留，其余没有写入，请重新发送文件"))
    report.issues.sort()
    for line, text in report.issues:
        log.warning("contracts import %s line %d: %s", path.name, line, text)
    log.info("contracts import %s: %s rows, %d new, %d updated, %d unchanged, %d skipped", path.name, report.rows,
             report.inserted, report.updated, report.unchanged, len(report.issues))
    return report


async def _contracts(session: AsyncSession, report: ImportReport, rows: list[ContractRow], now: datetime,
                     first_line: dict[tuple[int, Any, Any], int]) -> None:
    """One chunk of a file's contracts; `first_line`: where each contract was first seen in the file so far."""
    accounts, owners = await Accounts.load(session), await Owners.load(session)
    ready: dict[tuple[int, Any, Any], tuple[ContractRow, str | None]] = {}
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
    existing = await _existing(session, Contract, [k[0] for k in ready])
    current = {(c.lead_id, c.start_on, c.end_on): c for c in existing}
    for key, (row, owner) in ready.items():
        values = {"customer": row.customer.name, "company": row.customer.company, "amount_cny": row.amount,
                  "owner_id": owner, "health": row.health, "renewal": row.renewal}
        contract = current.get(key)
        if contract is None:
            session.add(Contract(lead_id=key[0], start_on=row.start, end_on=row.end, source=report.file,
                                 created_at=now, updated_at=now, **values))
            report.inserted += 1
        elif any(getattr(contract, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(contract, k, v)
            contract.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1


async def _payments(session: AsyncSession, report: ImportReport, rows: list[PaymentRow], now: datetime) -> None:
    accounts = await Accounts.load(session)
    ready: dict[tuple[int, Any, int], PaymentRow] = {}
    for row in rows:
        try:
            known = accounts.match(row.customer)
        except RowError as exc:
            report.issues.append((row.line, str(exc)))
            continue
        key = (known.id, row.paid_on, row.amount)
        if key in ready:
            report.unchanged += 1
            continue
        ready[key] = row
    have = {(p.lead_id, p.paid_on, p.amount_cny) for p in await _existing(session, Payment, [k[0] for k in ready])}
    new = [{"lead_id": k[0], "paid_on": k[1], "amount_cny": k[2], "source": report.file, "created_at": now}
           for k in ready if k not in have]
    report.unchanged += len(ready) - len(new)
    report.inserted += len(new)
    for i in range(0, len(new), CHUNK):
        await session.execute(insert_ignore(session, Payment), new[i:i + CHUNK])


async def _existing(session: AsyncSession, model: Any, lead_ids: list[int]) -> list[Any]:
    ids = sorted(set(lead_ids))
    found: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        found += (await session.execute(select(model).where(model.lead_id.in_(ids[i:i + CHUNK])))).scalars()
    return found
