"""`salesbot report --since 7d`: the figures of the managers' daily digest, printed."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import SystemClock, parse_duration, to_utc
from bot.config import Settings
from bot.engines import Engines
from bot.usertext import plain


def register(subparsers: Any) -> None:
    rep = subparsers.add_parser("report", help="funnel, response times and PHI per manager's team")
    rep.add_argument("--config", metavar="F", help="TOML config (default: $SALESBOT_CONFIG, ./config.toml)")
    rep.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    rep.add_argument("--since", default="7d", metavar="DURATION", help="window, e.g. 7d, 24h (default 7d)")
    rep.add_argument("--manager", metavar="USER", help="one manager's team (default: every manager)")
    rep.add_argument("--chart", metavar="DIR", help="also write one PNG chart per team into DIR")
    rep.add_argument("--now", metavar="ISO", help=argparse.SUPPRESS)  # tests: a fixed clock
    rep.set_defaults(func=run_report)


def _plain(line: str) -> str:
    return plain(re.sub(r"\*\*", "", line))


async def run_report(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from app.runtime import open_database
    from handlers.report import compute_report, render_chart, report_lines
    from storage.models import User

    try:
        window = parse_duration(args.since)
    except ValueError as exc:
        print(f"salesbot: --since: {exc}", file=sys.stderr)
        return 2
    now = to_utc(datetime.fromisoformat(args.now)) if args.now else SystemClock().now()
    db = await open_database(settings)
    try:
        async with db.session() as session:
            if args.manager:
                user = await session.get(User, args.manager)
                if user is None or user.role not in ("manager", "admin"):
                    print(f"salesbot: {args.manager!r} is not a manager", file=sys.stderr)
                    return 1
                # an admin's report covers every team
                managers: list[str | None] = [None if user.role == "admin" else args.manager]
            else:
                managers = list((await session.execute(select(User.id).where(
                    User.role == "manager", User.active.is_(True)).order_by(User.id))).scalars())
            reports = [await compute_report(session, m, now - window, now, settings.reminders, ramp=settings.ramp)
                       for m in managers]
            names = [m or args.manager or "all" for m in managers]
    finally:
        await db.dispose()
    engines = Engines()  # no services here: the chart's fonts are this command's own
    for i, (report, name) in enumerate(zip(reports, names, strict=True)):
        if i:
            print()
        print("\n".join(_plain(line) for line in report_lines(report)))
        if args.chart:
            out = Path(args.chart)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"report-{name}.png").write_bytes(render_chart(report, engines))
    return 0
