"""`salesbot contracts import FILE...` (contracts and payments, CSV/XLSX, recognised by their headers) and
`salesbot contracts scan` (the renewal scan now, instead of waiting for `[renewals] scan_time`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands.leads import _common, _now, _open
from bot.config import Settings

if TYPE_CHECKING:
    from handlers.renewals.scan import ScanOutcome


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("contracts", help="contracts and payments (renewal early warning)")
    sub = group.add_subparsers(dest="contracts_command", metavar="CONTRACTS_COMMAND", required=True)
    imp = sub.add_parser("import", parents=[_common()],
                         help="import contract or payment files (CSV/XLSX), then run the renewal scan")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.set_defaults(func=run_import)
    scan = sub.add_parser("scan", parents=[_common()], help="run the renewal scan now (warns once per contract)")
    scan.set_defaults(func=run_scan)


async def run_import(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.renewals.importer import import_files

    now = _now(args)
    db = await _open(settings, now)
    try:
        reports, outcome = await import_files(db, settings, [Path(f) for f in args.files], now)
    finally:
        await db.dispose()
    for report in reports:
        for line in report.lines(limit=10**6):
            print(line)
    _print_outcome(outcome)
    return 0 if all(r.kind and not r.issues for r in reports) else 1


async def run_scan(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.renewals.scan import scan_all

    now = _now(args)
    db = await _open(settings, now)
    try:
        async with db.session() as session:
            outcome = await scan_all(session, settings, now)
    finally:
        await db.dispose()
    _print_outcome(outcome)
    return 0


def _print_outcome(outcome: ScanOutcome) -> None:
    print(f"续约预警：新发出 {outcome.new} 条" if outcome.new else "续约预警：没有新的预警")
    if outcome.withdrawn_line():
        print(outcome.withdrawn_line())
