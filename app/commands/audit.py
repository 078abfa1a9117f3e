"""`salesbot audit verify` (walk the hash-chained record, exit 1 at the first broken link) and `salesbot audit head`
(the latest entry: its number and hash, as sent to the admins each day)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.config import Settings


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="the tamper-evident record of evidence, stage changes and decisions")
    sub = audit.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="F", help="TOML config (default: $SALESBOT_CONFIG, ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    ver = sub.add_parser("verify", parents=[common], help="walk the chain; exit 1 at the first broken link")
    ver.add_argument("--anchor", action="append", default=[], metavar="SEQ:HASH",
                     help="an anchor as the admins received it in chat (repeatable; at least 16 hex digits)")
    ver.add_argument("--no-files", action="store_true", help="skip re-hashing the evidence files on disk")
    ver.set_defaults(func=run_verify)
    hd = sub.add_parser("head", parents=[common], help="print the latest entry's number and hash")
    hd.set_defaults(func=run_head)


async def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from storage.chain import parse_anchor, verify

    try:
        anchors = [parse_anchor(a) for a in args.anchor]
    except ValueError as exc:
        print(f"salesbot: 锚点格式不对：{exc}", file=sys.stderr)
        return 2
    db = await open_database(settings)
    try:
        report = await verify(db, files=not args.no_files, anchors=anchors)
    finally:
        await db.dispose()
    if report.broken is not None:
        print(f"❌ 记录被改动：第 {report.broken.seq} 条 — {report.broken.problem}"
              f"（已核对 {report.entries} 条）")
        return 1
    tail = f"，最新一条 {report.head[0]}:{report.head[1]}" if report.head else ""
    print(f"✅ 记录完好：共 {report.entries} 条{tail}")
    return 0


async def run_head(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from storage.chain import head

    db = await open_database(settings)
    try:
        async with db.session() as session:
            last = await head(session)
    finally:
        await db.dispose()
    print(f"{last[0]}:{last[1]}" if last else "记录为空")
    return 0
