"""`salesbot admin link USER`: a one-time login link to the web console, printed on the server."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.clock import SystemClock
from bot.config import Settings


def register(subparsers: Any) -> None:
    admin = subparsers.add_parser("admin", help="web console (/admin/)").add_subparsers(
        dest="admin_command", required=True)
    link = admin.add_parser("link", help="print a signed single-use login link (valid 10 minutes) for USER")
    link.add_argument("--config", metavar="F", help="TOML config (default: $SALESBOT_CONFIG, ./config.toml)")
    link.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    link.add_argument("user", metavar="USER", help="an admin's or manager's user id")
    link.set_defaults(func=run_link)


async def run_link(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from bot.login_links import issue_link
    from bot.org import seed_org

    now = SystemClock().now()
    db = await open_database(settings)
    try:
        await seed_org(db, settings.org.users, settings.org.demo, now)  # a first login on a fresh database
        async with db.session() as session:
            url = await issue_link(session, args.user, now, settings.server.base_url)
    finally:
        await db.dispose()
    if url is None:
        print(f"salesbot: {args.user} is not an active admin or manager; the console is for them only",
              file=sys.stderr)
        return 1
    print(url)
    return 0
