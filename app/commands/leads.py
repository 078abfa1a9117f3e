"""`salesbot leads import FILE` and `salesbot org offboard USER --to USER2`."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import SystemClock, to_utc
from bot.config import Settings

# Accepted column headers (English or Chinese) → lead field.
COLUMNS = {
    "customer_name": "customer_name", "name": "customer_name", "customer": "customer_name", "客户": "customer_name",
    "客户姓名": "customer_name", "姓名": "customer_name", "联系人": "customer_name",
    "company": "company", "公司": "company", "单位": "company", "客户公司": "company",
    "title": "title", "职务": "title", "职位": "title",
    "phone": "phone", "mobile": "phone", "电话": "phone", "手机": "phone", "手机号": "phone",
    "email": "email", "邮箱": "email",
    "wechat_id": "wechat_id", "wechat": "wechat_id", "微信": "wechat_id", "微信号": "wechat_id",
    "budget_cny": "budget_cny", "budget": "budget_cny", "预算": "budget_cny",
    "needs": "needs", "需求": "needs",
    "industry": "industry", "行业": "industry",
    "region": "region", "区域": "region", "地区": "region",
    "product_line": "product_line", "产品线": "product_line", "产品": "product_line",
}


class ImportFileError(ValueError):
    pass


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="F", help="TOML config (default: $SALESBOT_CONFIG, ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    common.add_argument("--now", metavar="ISO", help=argparse.SUPPRESS)  # tests: a fixed clock
    return common


def register(subparsers: Any) -> None:
    leads = subparsers.add_parser("leads", help="lead import and assignment")
    sub = leads.add_subparsers(dest="leads_command", metavar="LEADS_COMMAND", required=True)
    imp = sub.add_parser("import", parents=[_common()], help="import ownerless leads (CSV/XLSX) and assign them")
    imp.add_argument("file", metavar="FILE")
    imp.set_defaults(func=run_import)


def register_org(org_subparsers: Any) -> None:
    """Called by app/cli.py with the `org` sub-command group."""
    off = org_subparsers.add_parser("offboard", parents=[_common()], help="hand a leaving user's leads to someone")
    off.add_argument("user", metavar="USER")
    off.add_argument("--to", required=True, metavar="USER2", help="who takes the leads over")
    off.set_defaults(func=run_offboard)


def _now(args: argparse.Namespace) -> datetime:
    return to_utc(datetime.fromisoformat(args.now)) if getattr(args, "now", None) else SystemClock().now()


def read_rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(line number, fields) per data row of a CSV (UTF-8, BOM ok) or XLSX file; unknown columns ignored."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")  # Excel on Chinese Windows saves CSV as GBK
        table = list(csv.reader(io.StringIO(text)))
    elif suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise ImportFileError(f"不是有效的 XLSX 文件 ({exc.__class__.__name__})") from None
        table = [["" if v is None else v for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    else:
        raise ImportFileError("只支持 .csv 和 .xlsx")
    if not table:
        raise ImportFileError("文件是空的")
    header = [COLUMNS.get(str(h).strip().lower(), COLUMNS.get(str(h).strip())) for h in table[0]]
    if not any(header):
        raise ImportFileError("第 1 行没有可识别的列名（如 客户、公司、电话、行业、区域、产品线）")
    rows: list[tuple[int, dict[str, object]]] = []
    for line, values in enumerate(table[1:], start=2):
        fields: dict[str, object] = {name: (v.strip() if isinstance(v, str) else v)
                                     for name, v in zip(header, values, strict=False) if name}
        if any(v not in ("", None) for v in fields.values()):
            rows.append((line, fields))
    return rows


async def _open(settings: Settings, now: datetime) -> Any:
    from app.runtime import open_database
    from bot.org import seed_org

    db = await open_database(settings)
    await seed_org(db, settings.org.users, settings.org.demo, now)
    return db


async def run_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.outbox import enqueue
    from handlers.leads.assignment import import_leads

    path = Path(args.file)
    try:
        rows = await asyncio.get_running_loop().run_in_executor(None, read_rows, path)
    except (ImportFileError, OSError) as exc:
        print(f"salesbot：{path}：{exc}", file=sys.stderr)
        return 1
    now = _now(args)
    db = await _open(settings, now)
    try:
        async with db.session() as session:
            results, notices = await import_leads(session, rows, now, settings.reminders, by=f"import:{path.name}",
                                                     ramp=settings.ramp)
            await enqueue(session, notices, now, settings.default_channel)
    finally:
        await db.dispose()
    for r in results:
        print(f"第 {r.line} 行：{_row_cn(r.status, r.lead_id, r.text)}")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("assigned", "pool", "duplicate", "error")}
    print(f"共导入 {counts['assigned'] + counts['pool']} 条线索：分配 {counts['assigned']} 条 · "
          f"留在线索池 {counts['pool']} 条 · 重复跳过 {counts['duplicate']} 条 · 有问题 {counts['error']} 行")
    return 0 if not counts["error"] else 1


def _row_cn(status: str, lead_id: int | None, text: str) -> str:
    """One imported row as the admin reads it."""
    if status == "assigned":
        return f"已分配 #{lead_id} {text.replace(': ', '：', 1)}"
    if status == "pool":
        return f"留在线索池 #{lead_id}（{text}）"
    return text if status == "duplicate" else f"有问题，已跳过：{text}"


async def run_offboard(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from bot.outbox import enqueue
    from bot.usertext import plain
    from handlers.leads.handover import offboard_with_handover
    from storage.models import User

    now = _now(args)
    db = await _open(settings, now)
    try:
        async with db.session() as session:
            try:
                handover = await offboard_with_handover(session, args.user, args.to, now, settings.reminders)
            except ValueError as exc:
                print(f"salesbot：没有交接，{exc}。", file=sys.stderr)
                return 1
            taking = await session.scalar(select(User.name).where(User.id == args.to)) or args.to
            notice = handover.notice(args.to, now)
            if notice is not None:
                await enqueue(session, [notice], now, settings.default_channel)
    finally:
        await db.dispose()
    leaving = handover.leaving_name
    print(f"离职交接：{leaving} 的 {len(handover.leads)} 条线索已转给 {taking}，"
          f"{leaving} 的账号已停用。")
    for line in handover.lines():
        print(plain(line))
    return 0
