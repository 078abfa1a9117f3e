"""`salesbot ramp ...`: the new-rep ramp-up path (新人通关) and who is on it.

    salesbot ramp path show              the current path, one task a line (the default path if none yet)
    salesbot ramp path set FILE          replace it with the tasks in FILE (same line format)
    salesbot ramp path default           replace it with the default path made from the knowledge base
    salesbot ramp enroll USER [--restart]   put a rep on the path (USER: the rep's id or name)
    salesbot ramp progress [--manager M] [--json]   where each rep is (M: id or name)

Human output is Chinese and names people by name; `--json` keeps ids for scripts.
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
    enroll.add_argument("user", metavar="USER", help="the rep's user id or name")
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
        print("# 还没有通关路径：下面是第一位新人开始通关时按知识库生成的默认路径")
    else:
        print(f"# {found[0].name}（{len(specs)} 关）")
    print(path_text(specs))
    return 0


async def run_set(args: argparse.Namespace, settings: Settings) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        print(f"salesbot: 读不了文件 {args.file}（文件不存在，或不是 UTF-8 文本）", file=sys.stderr)
        return 1
    return await _replace(args, settings, text, args.name or Path(args.file).stem)


async def run_default(args: argparse.Namespace, settings: Settings) -> int:
    return await _replace(args, settings, None, "")


async def _replace(args: argparse.Namespace, settings: Settings, text: str | None, name: str) -> int:
    """The same use case as the console's path editor (`service.replace_path`): a task no card fits is refused."""
    from handlers.ramp import service
    from handlers.ramp.path import PathError

    now = _now(args)
    db = await _open(settings, now)
    try:
        async with db.session() as session:
            try:
                specs = service.parse(text, settings) if text is not None else (
                    await service.default_specs(session, settings.ramp))
                change = await service.replace_path(session, specs, now, "cli", name, settings.ramp)
            except (PathError, service.RampError) as exc:
                print(f"salesbot: {exc}", file=sys.stderr)
                return 1
    finally:
        await db.dispose()
    print(change.summary_cn())
    return 0


async def run_enroll(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.ramp import service

    now = _now(args)
    db = await _open(settings, now)
    try:
        async with db.session() as session:
            try:
                rep = await service.one_person(session, args.user)
                await service.enroll(session, rep.id, settings.ramp, now, "cli", restart=args.restart)
            except service.RampError as exc:
                print(f"salesbot: {exc}", file=sys.stderr)
                return 1
            found = await service.progress(session, rep.id, settings.ramp)
    finally:
        await db.dispose()
    assert found is not None
    print(f"{found.name} 已在新人通关：{found.summary()}")
    return 0


async def run_progress(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.ramp import service

    db = await _open(settings, _now(args))
    try:
        async with db.session() as session:
            manager = (await service.one_person(session, args.manager)).id if args.manager else None
            rows = await service.team_progress(session, manager, settings.ramp)
    except service.RampError as exc:
        print(f"salesbot: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    for p in rows:
        if args.json:
            print(json.dumps({"user": p.user_id, "done": p.done, "total": p.total, "complete": p.complete,
                              "next": p.next.title if p.next else None,
                              "waiting": [t.title for t in p.waiting]}, ensure_ascii=False))
        else:
            print(f"{p.name}：{p.summary()}")
    if not rows and not args.json:
        print("还没有人在新人通关")
    return 0
