"""`salesbot kb taxonomy …` and `salesbot kb pin …`: admins manage axis values, synonyms and pinned
answers without editing a file in the repository (stored in the database, seen by every process)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.clock import SystemClock
from bot.config import Settings
from bot.engines import Engines

AXIS_NAMES = {"角色": "role", "行业": "industry", "异议": "objection", "role": "role", "industry": "industry",
              "objection": "objection"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    tax = sub.add_parser("taxonomy", parents=[common], help="axis values and synonyms: list, synonym, merge, rename")
    actions = tax.add_subparsers(dest="taxonomy_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="values of each axis with their cards and synonyms")
    listing.set_defaults(func=run_list)
    syn = actions.add_parser("synonym", parents=[common], help="AXIS WORD VALUE: WORD now means VALUE")
    syn.add_argument("axis", help="角色 / 行业 / 异议 (or role / industry / objection)")
    syn.add_argument("word")
    syn.add_argument("value")
    syn.set_defaults(func=run_synonym)
    for name, text in (("merge", "AXIS OLD INTO: cards tagged OLD become INTO, OLD stays a synonym"),
                       ("rename", "AXIS OLD NEW: rename a value on every card (the old name stays a synonym)")):
        act = actions.add_parser(name, parents=[common], help=text)
        act.add_argument("axis")
        act.add_argument("old")
        act.add_argument("new")
        act.set_defaults(func=run_merge)

    pin = sub.add_parser("pin", parents=[common], help="pin a card to a query wording (from the gaps queue)")
    pin.add_argument("wording", help="the question as reps ask it")
    pin.add_argument("card", nargs="?", help="card id (omit with --remove)")
    pin.add_argument("--remove", action="store_true", help="remove the pin of this wording")
    pin.set_defaults(func=run_pin)


def _axis(name: str) -> str | None:
    axis = AXIS_NAMES.get(name.strip().lower())
    if axis is None:
        print(f"分类轴「{name}」不存在，请用 角色 / 行业 / 异议。", file=sys.stderr)
    return axis


async def _db(settings: Settings) -> Any:
    from storage.db import Database
    from storage.migrate import ensure_schema

    await ensure_schema(settings.database.url)
    return Database(settings.database.url, echo=settings.database.echo)


async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge import store
    from knowledge.search import KnowledgeBase
    from knowledge.taxonomy import AXIS_LABELS

    db = await _db(settings)
    try:
        kb = KnowledgeBase(taxonomy_path=settings.knowledge.taxonomy_path, engines=Engines())  # no services here
        await kb.load(db)
        async with db.session() as session:
            counts = {axis: await store.axis_counts(session, axis) for axis in AXIS_LABELS}
    finally:
        await db.dispose()
    taxonomy = kb.index_taxonomy()
    for axis, label in AXIS_LABELS.items():
        print(f"{label}：")
        for value in taxonomy.values[axis]:
            words = [w for w, v in taxonomy.synonyms[axis].items() if v == value and w != value.lower()]
            cards = sum(n for v, n in counts[axis].items() if v and (taxonomy.canonical(axis, v) or v) == value)
            more = f"（同义词 {len(words)} 个：{'、'.join(words[:6])}{'…' if len(words) > 6 else ''}）" if words else ""
            print(f"  {value}  {cards} 张卡片{more}")
    return 0


async def run_synonym(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge import store

    axis = _axis(args.axis)
    if axis is None or not args.word.strip() or not args.value.strip():
        return 2
    db = await _db(settings)
    try:
        async with db.session() as session:
            await store.add_synonym(session, axis, args.word, args.value, SystemClock().now())
    finally:
        await db.dispose()
    print(f"已添加同义词：「{args.word}」→ {args.value}")
    return 0


async def run_merge(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge import store

    axis = _axis(args.axis)
    if axis is None or not args.new.strip():
        return 2
    db = await _db(settings)
    try:
        async with db.session() as session:
            changed = await store.merge_value(session, axis, args.old, args.new, SystemClock().now())
    finally:
        await db.dispose()
    verb = "合并到" if args.taxonomy_action == "merge" else "改名为"
    print(f"已把「{args.old}」{verb}「{args.new}」，{changed} 张卡片已更新。")
    return 0


async def run_pin(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge import store
    from knowledge.query import Simplifier, clean

    wording = clean(args.wording, Simplifier())  # one wording: no engines to keep
    if not wording or (args.card is None) != args.remove:
        print("用法：salesbot kb pin 问法 卡片编号，或 salesbot kb pin 问法 --remove", file=sys.stderr)
        return 2
    db = await _db(settings)
    try:
        async with db.session() as session:
            if not args.remove and not await store.card_exists(session, args.card):
                print(f"没有编号为 {args.card} 的卡片。", file=sys.stderr)
                return 1
            await store.set_pin(session, wording, None if args.remove else args.card, SystemClock().now())
    finally:
        await db.dispose()
    print(f"已取消「{args.wording}」的置顶。" if args.remove else f"已置顶：「{args.wording}」→ {args.card}")
    return 0
