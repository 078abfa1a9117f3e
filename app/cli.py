"""`salesbot` command line (contract: ../shared/design.md §4)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.logs import setup_logging, use_format
from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from storage.migrate import MigrationsPending

# Command groups that live in their own modules, each with `register(subparsers)`.
COMMAND_MODULES = ("app.commands.ocr", "app.commands.kb", "app.commands.leads", "app.commands.report",
                   "app.commands.admin", "app.commands.audit", "app.commands.ramp", "app.commands.contracts")


def _config_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config", metavar="F", help="TOML config (default: $SALESBOT_CONFIG, ./config.toml, built-in)",
    )
    parent.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salesbot", description="销售助手 salesbot: WeCom / DingTalk sales assistant")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _config_parent()

    serve = sub.add_parser("serve", parents=[common], help="run the webhook server, ticker and outbox")
    serve.add_argument("--role", choices=("web", "ocr", "handlers"), default="web",
                       help="web: the webhook server (default); ocr: an OCR worker, as `worker ocr`; handlers: "
                       "message handling for a serve started with [server] handler_process (its child)")
    serve.add_argument("--exit-with", type=int, metavar="PID", help=argparse.SUPPRESS)  # serve's child
    serve.set_defaults(func=_serve, sync=True)

    worker = sub.add_parser("worker", help="background worker processes").add_subparsers(dest="worker_command",
                                                                                        required=True)
    worker.add_parser("ocr", parents=[common], help='read screenshots queued by webhook instances ([ocr] mode = '
                      '"worker")').set_defaults(func=_ocr_worker, sync=True)

    console = sub.add_parser("console", parents=[common], help="run the web console (/admin/) on its own "
                             "([server] console_port, else port)")
    console.add_argument("--exit-with", type=int, metavar="PID", help=argparse.SUPPRESS)  # serve's child
    console.set_defaults(func=_console, sync=True)

    chat = sub.add_parser("chat", parents=[common], help="talk to the bot in the console")
    chat.add_argument("--as", dest="as_user", default="rep01", metavar="USER", help="who you are (default rep01)")
    chat.add_argument("--json", action="store_true", help="one JSON line per outbound message")
    chat.add_argument("--script", metavar="F", help="read input lines from a file")
    chat.set_defaults(func=_chat)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", parents=[common], help="apply Alembic migrations to head").set_defaults(func=_db_upgrade)

    org = sub.add_parser("org", help="users, roles and managers").add_subparsers(dest="org_command", required=True)
    org_import = org.add_parser("import", parents=[common], help="import users from CSV")
    org_import.add_argument("file")
    org_import.set_defaults(func=_org_import)

    for name in COMMAND_MODULES:  # every one ships: a missing module is an error, never a silently absent command
        module = importlib.import_module(name)
        module.register(sub)
        if hasattr(module, "register_org"):
            module.register_org(org)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.command == "chat" and not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)  # keep the console readable
    if args.command != "serve" and not args.verbose:  # no English migration lines before a command's Chinese output
        logging.getLogger("alembic").setLevel(logging.WARNING)
    url = ""
    try:
        settings = load_settings(resolve_config_path(args.config))
        url = settings.database.url
        use_format(settings.server.log_format)
        if getattr(args, "sync", False):
            return int(args.func(args, settings))
        return int(asyncio.run(args.func(args, settings)))
    except ConfigError as exc:
        print(f"salesbot: config error: {exc}", file=sys.stderr)
        return 2
    except MigrationsPending as exc:
        print(f"salesbot: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        why = database_problem(exc, url)
        if why is None:
            raise
        print(f"salesbot: {why}", file=sys.stderr)
        return 2


def database_problem(exc: BaseException, url: str) -> str | None:
    """One line for a database that cannot be used (bad URL, unreachable, refused); None for anything else."""
    import socket

    from sqlalchemy.exc import ArgumentError, DBAPIError

    from storage.migrate import DatabaseFolderError

    where = f" ({_hide_password(url)})" if url else ""
    if isinstance(exc, DatabaseFolderError):
        return f"无法打开数据库{where}：{exc}"
    if isinstance(exc, ArgumentError) or (url and _driver(url) not in DRIVERS):
        return (f"数据库地址 [database] url{where} 无法使用（{_first_line(exc)}）。请写成 sqlite:///文件路径.db "
                "或 postgresql://用户@主机:5432/库名")
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError | DBAPIError) or \
            type(exc).__module__.startswith("asyncpg"):
        return f"无法打开数据库{where}：{type(exc).__name__}: {_first_line(exc)}"
    return None


DRIVERS = frozenset({"sqlite+aiosqlite", "postgresql+asyncpg"})  # others' sync forms are mapped (bot/config.py)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _driver(url: str) -> str | None:
    """The URL's dialect+driver, after bot/config.async_database_url gave the common sync forms their async driver."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).drivername
    except Exception:
        return None


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://…"


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.server import run_server

    if args.role == "ocr":
        return _ocr_worker(args, settings)
    if args.role == "handlers":
        from app.handler_process import run_handlers

        return run_handlers(settings, args.exit_with)

    return run_server(settings, resolve_config_path(args.config))


def _ocr_worker(args: argparse.Namespace, settings: Settings) -> int:
    from app.ocr_worker import run_ocr_worker

    return run_ocr_worker(settings)


def _console(args: argparse.Namespace, settings: Settings) -> int:
    from app.console_process import run_console

    return run_console(settings, args.exit_with)


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from app.chat import run_chat

    lines = None
    if args.script:
        lines = Path(args.script).read_text(encoding="utf-8").splitlines()
    return await run_chat(settings, args.as_user, args.json, lines)


async def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import head_revision, upgrade

    await upgrade(settings.database.url)
    print(f"database at revision {head_revision()}")
    return 0


async def _org_import(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from bot.clock import SystemClock
    from bot.org import OrgError, import_users_file
    from handlers.ramp.service import NewReps, enroll_new

    db = await open_database(settings)
    now = SystemClock().now()
    ramp: list[NewReps] = []

    async def ramp_up(session: Any, ids: list[str]) -> None:
        ramp.append(await enroll_new(session, ids, settings.ramp, now, "org import"))

    try:
        n = await import_users_file(db, Path(args.file), now, ramp_up)
    except (OrgError, OSError) as exc:
        print(f"salesbot: {args.file}: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    said = ramp[0].text() if ramp else ""
    print(f"已导入 {n} 位成员" + (f"；{said}" if said else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
