"""`salesbot ramp ...`: the new-rep ramp-up path (新人通关) and who is on it.

    salesbot ramp path show              the current path, one task a line (the default path if none yet)
    salesbot ramp path set FILE          replace it with the tasks in FILE (same line format)
    salesbot ramp path default           replace it with the default path made from the knowledge base
    salesbot ramp enroll USER [--restart]   put a rep on the path
    salesbot ramp progress [--manager M] [--json]   where each rep is
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands.leads import _common, _now, _open
from bot.config import Settings


def register(subparsers: Any) -> None:
    ramp = subparsers.add_parser("ramp", help="new-rep ramp-up path (新人通关) and progress")
    sub = ramp.add_subparsers(dest="ramp_command", metavar="RAMP_COMMAND", required=True)
    path = sub.add_parser("path", help="show or replace the path").add_subparsers(dest="path_command", required=True)
    path.add_parser("show", parents=[_common()], help="print the current path").set_defaults(func=run_show)
    put = path.add_parser("set", parents=[_common()], help="replace the path with the tasks in FILE")
    put.add_argument("file", metavar="FILE")
    put.add_argument("--name", default="", help="a name for the path")
    put.set_defaults(func=run_set)
    path.add_parser("default", parents=[_common()], help="replace the path with the default one").set_defaults(
        func=run_default)
    enroll = sub.add_parser("enroll", parents=[_common()], help="put a rep on the path")
    enroll.add_argument("user", metavar="USER")
    enroll.add_argument("--restart", action="store_true", help="start over (progress is cleared)")
    enroll.set_defaults(func=run_enroll)
    prog = sub.add_parser("progress", parents=[_common()], help="each rep's progress")
    prog.add_argument("--manager", metavar="USER", help="one manager's team")
    prog.add_argument("--json", action="store_true", help="one JSON line per rep")
    prog.set_defaults(func=run_progress)


async def run_show(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.ramp import service
    from handlers.ramp.path import path_text

    db = await _open(settings, _now(args))
    try:
        async with db.session() as session:
            found = await service.current_path(session)
            specs = service.specs_of(found[1]) if found else await service.default_specs(session, settings.ramp)
    finally:
        await db.dispose()
    if found is None:
        print("# no path yet: the default path below is made when the first rep is enrolled")
    else:
        print(f"# {found[0].name} ({len(specs)} tasks)")
    print(path_text(specs))
    return 0


async def run_set(args: argparse.Namespace, settings: Settings) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"salesbot: {args.file}: {exc}", file=sys.stderr)
        return 1
    return await _replace(args, settings, text, args.name or Path(args.file).stem)


async def run_default(args: argparse.Namespace, settings: Settings) -> int:
    return await _replace(args, settings, None, "")


async def _replace(args: argparse.Namespace, settings: Settings, text: str | None, name: str) -> int:
    from handlers.ramp import service
    from handlers.ramp.path import PathError

    now = _now(args)
    db = await _open(settings, now)
    try:
        async with db.session() as session:
            try:
                specs = service.parse(text, settings) if text is not None else (
                    await service.default_specs(session, settings.ramp))
                empty = await service.empty_tasks(session, specs, settings.ramp)
                if empty:  # a task nobody can do would block the rep (it never counts toward the unlock)
                    print("salesbot: 通关路线没有设置：" + "；".join(empty) + "。请改成知识库里有卡片的行业或异议，"
                          "或先补充话术卡片。", file=sys.stderr)
                    return 1
                change = await service.set_path(session, specs, now, "cli", name, settings.ramp)
            except (PathError, service.RampError) as exc:
                print(f"salesbot: {exc}", file=sys.stderr)
                return 1
            n = len(specs)
    finally:
        await db.dispose()
    print(f"ramp path {change.path.id} set: {n} task(s); {change.moved} rep(s) on the ramp moved to it, "
          f"{change.kept} task progress kept")
    for line in change.reset:
        print(f"reset: {line}")
    for who in change.completed:
        print(f"completed: {who} (every task of the new path is done)")
    return 0


async def run_enroll(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.ramp import service

    now = _now(args)
    db = await _open(settings, now)
    try:
        async with db.session() as session:
            try:
                await service.enroll(session, args.user, settings.ramp, now, "cli", restart=args.restart)
            except service.RampError as exc:
                print(f"salesbot: {exc}", file=sys.stderr)
                return 1
            found = await service.progress(session, args.user, settings.ramp)
    finally:
        await db.dispose()
    assert found is not None
    print(f"{args.user} on the ramp-up path: {found.summary()}")
    return 0


async def run_progress(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.ramp import service

    db = await _open(settings, _now(args))
    try:
        async with db.session() as session:
            rows = await service.team_progress(session, args.manager, settings.ramp)
    finally:
        await db.dispose()
    for p in rows:
        if args.json:
            print(json.dumps({"user": p.user_id, "done": p.done, "total": p.total, "complete": p.complete,
                              "next": p.next.title if p.next else None,
                              "waiting": [t.title for t in p.waiting]}, ensure_ascii=False))
        else:
            print(f"{p.user_id} {p.name}: {p.summary()}")
    if not rows and not args.json:
        print("nobody is on the ramp-up path")
    return 0
