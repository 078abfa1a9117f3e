"""`salesbot kb import|search|export|gaps` (CLI contract: ../shared/design.md §4)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from app.commands import kb_taxonomy
from bot.clock import SystemClock, fmt_cn
from bot.config import Settings
from bot.engines import Engines


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="F", help="TOML config (default: $SALESBOT_CONFIG, ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    kb = subparsers.add_parser("kb", help="knowledge base: import, search, export, gaps")
    sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)

    imp = sub.add_parser("import", parents=[common], help="import cards (CSV, XLSX, Markdown, JSON, JSONL)")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    imp.set_defaults(func=run_import)

    search = sub.add_parser("search", parents=[common], help="ranked search")
    search.add_argument("query", nargs="?", help="the question, as a rep would type it")
    search.add_argument("--batch", metavar="FILE", help="one query per line")
    search.add_argument("--json", action="store_true", help='one line per query: {"q","ranked","scores","answered"}')
    search.add_argument("--top", type=int, default=None, metavar="N", help="results per query (default top_k)")
    search.set_defaults(func=run_search)

    exp = sub.add_parser("export", parents=[common], help="all cards out (format from the file suffix)")
    exp.add_argument("file", metavar="FILE")
    exp.set_defaults(func=run_export)

    gaps = sub.add_parser("gaps", parents=[common], help="unanswered and down-voted queries")
    gaps.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    gaps.add_argument("--json", action="store_true")
    gaps.set_defaults(func=run_gaps)
    kb_taxonomy.register(sub, common)


async def _open(settings: Settings, *, seed: bool) -> Any:
    from knowledge.demo import seed_demo
    from storage.db import Database
    from storage.migrate import ensure_schema

    await ensure_schema(settings.database.url)
    db = Database(settings.database.url, echo=settings.database.echo)
    if seed and settings.knowledge.seed_demo:
        await seed_demo(db, SystemClock().now(), _kb(settings))
    return db


def _kb(settings: Settings) -> Any:
    from knowledge.search import KnowledgeBase

    return KnowledgeBase(taxonomy_path=settings.knowledge.taxonomy_path, engines=Engines())  # no services here


class ProgressBar:
    """A one-line progress bar on stderr (thread-safe: tokenising reports from an executor)."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, enabled: bool = True) -> None:
        self.label, self.stream, self.enabled = label, stream, enabled
        self.total = 0
        self.done = 0
        self._lock = threading.Lock()

    def set_total(self, total: int) -> None:
        self.total = total * 2  # tokenise + write
        self._draw()

    def advance(self, n: int) -> None:
        with self._lock:
            self.done = min(self.total, self.done + n)
            self._draw()

    def close(self) -> None:
        if self.enabled and self.total:
            self.done = self.total
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled or not self.total:
            return
        width = 30
        filled = int(width * self.done / self.total)
        pct = 100 * self.done / self.total
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {pct:5.1f}%")
        self.stream.flush()


async def run_import(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.importer import import_file

    db = await _open(settings, seed=False)
    kb = _kb(settings)
    failed = 0
    try:
        await kb.load(db)
        for i, file in enumerate(args.files):
            bar = ProgressBar(Path(file).name, enabled=not args.no_progress)
            last = i == len(args.files) - 1  # nothing searches after the last file: no index is built for it
            report = await import_file(db, kb, file, SystemClock().now(), bar.advance, bar.set_total,
                                       refresh=not last)
            bar.close()
            print(report.summary())
            for issue in report.issues:
                print(f"  {issue}", file=sys.stderr)
            failed += bool(report.issues)
    finally:
        await db.dispose()
    return 1 if failed else 0


async def run_search(args: argparse.Namespace, settings: Settings) -> int:
    if (args.query is None) == (args.batch is None):
        print("salesbot kb search: give a QUERY or --batch FILE (one of them)", file=sys.stderr)
        return 2
    queries = [args.query] if args.query is not None else _batch(Path(args.batch))
    if queries is None:
        print(f"salesbot kb search: cannot read {args.batch}", file=sys.stderr)
        return 2
    top = args.top or settings.knowledge.top_k
    db = await _open(settings, seed=True)
    kb = _kb(settings)
    try:
        await kb.load(db)
    finally:
        await db.dispose()
    for query in queries:
        result = kb.search(query, top=top)
        if args.json:
            print(json.dumps(result.to_json(why=True), ensure_ascii=False))
        else:
            _print_result(result)
    return 0


def _batch(path: Path) -> list[str] | None:
    try:
        return [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError):
        return None


def _print_result(result: Any) -> None:
    if not result.answered:
        print(f"{result.query}: 没找到合适的话术。可以试试：{'、'.join(result.suggestions)}")
        return
    print(result.query + (f"  （{result.why_line()}）" if result.why else ""))
    for hit in result.hits:
        tags = "/".join(hit.card.tags())
        print(f"  {hit.card.id}  {hit.score:6.3f}  {hit.card.title}  [{tags}]")


async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge import store
    from knowledge.io import FormatError, write_cards

    db = await _open(settings, seed=False)
    try:
        async with db.session() as session:
            cards = await store.all_cards(session)
    finally:
        await db.dispose()
    try:
        n = write_cards(args.file, cards)
    except (FormatError, OSError) as exc:
        print(f"salesbot kb export: {args.file}: {exc}", file=sys.stderr)
        return 1
    print(f"已导出 {n} 张卡片到 {args.file}")
    return 0


async def run_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.kb_gaps import field_gaps
    from knowledge import store

    db = await _open(settings, seed=False)
    try:
        kb = _kb(settings)
        await kb.load(db)
        async with db.session() as session:
            now = SystemClock().now()
            found = await store.gaps(session, now - timedelta(days=args.days))
            field = await field_gaps(session, kb, now, settings.knowledge)
    finally:
        await db.dispose()
    for gap in found:
        if args.json:
            print(json.dumps({"kind": gap.kind, "q": gap.query, "count": gap.count, "card": gap.card_id,
                              "last_at": gap.last_at.isoformat()}, ensure_ascii=False))
        else:
            what = "无答案" if gap.kind == "unanswered" else f"点踩 {gap.card_id}"
            print(f"{gap.count:4d}  {what:<10}  {gap.query}  (最近 {fmt_cn(gap.last_at)})")
    for f in field:  # 知识萃取: recurring in reps' summaries, no card answers it
        if args.json:
            print(json.dumps({"kind": "field", "q": f.value, "count": f.notes, "card": None,
                              "last_at": f.last_at.isoformat(), "type": f.kind, "reps": f.reps,
                              "evidence": [{"lead_id": n.lead_id, "rep": n.rep, "at": n.at.isoformat(),
                                            "summary": n.summary} for n in f.evidence]}, ensure_ascii=False))
        else:
            print(f"{f.notes:4d}  {'一线 ' + str(f.reps) + ' 人':<10}  {f.label}  (最近 {fmt_cn(f.last_at)})")
    if not found and not field and not args.json:
        print(f"最近 {args.days} 天没有未回答或被点踩的问题。")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m app.commands.kb …` for use before the main CLI is wired."""
    import asyncio

    from bot.config import load_settings, resolve_config_path

    parser = argparse.ArgumentParser(prog="kb")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["kb", *(argv if argv is not None else sys.argv[1:])])
    settings = load_settings(resolve_config_path(args.config))
    return int(asyncio.run(args.func(args, settings)))


if __name__ == "__main__":
    sys.exit(main())
