"""A 20,000-card import alone (issue 13: ≤ 10 s): wall, CPU of this process and of its children (the cutting
process), peak RSS, on a fresh SQLite file or a PostgreSQL database, then the same file again.

    python -m bench.kb_import [--size 20000] [--unique] [--db postgresql+asyncpg://postgres@127.0.0.1:5432/test]

CPU is what the process used (all its threads); "children" is the cutting process's (a reaped child's, read after
the import closed it). On a shared machine wall > CPU is waiting for a core: say the load average beside it."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.kb import synthetic_corpus
from bot.engines import Engines
from knowledge.demo import demo_cards
from knowledge.importer import import_cards_into
from knowledge.search import KnowledgeBase
from storage.db import Database
from storage.migrate import ensure_schema, upgrade

ENGINES = Engines()


def load_average() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def cpu() -> tuple[float, float]:
    """(this process, its reaped children) CPU seconds."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


async def fresh_postgres(url: str, sql: str) -> None:
    """`sql` (CREATE / DROP DATABASE) run on the server of `url` (never touching `url`'s own database)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def run(size: int, unique: bool, url: str | None) -> None:
    """With `url` (PostgreSQL), a fresh database is made beside its database on that server, dropped after."""
    cards = synthetic_corpus(demo_cards(), size, unique=unique)
    with tempfile.TemporaryDirectory() as tmp:
        server, name = url, f"salesbot_kbimport_{uuid.uuid4().hex[:8]}"
        url = f"{url.rsplit('/', 1)[0]}/{name}" if url else f"sqlite+aiosqlite:///{tmp}/bench.db"
        if server:
            await fresh_postgres(server, f'CREATE DATABASE "{name}"')
        await (upgrade if server else ensure_schema)(url)
        db = Database(url)
        try:
            kb = KnowledgeBase(engines=ENGINES)
            kb.tokenizer  # noqa: B018 - jieba's own start (~1 s) is not the import's
            await kb.load(db)  # as a server's: its index is loaded before an admin imports (here: empty)
            for name in ("import", "again"):
                before, start, (own, kids) = load_average(), time.perf_counter(), cpu()
                stats = await import_cards_into(db, kb, cards, datetime.now(UTC))
                wall = time.perf_counter() - start
                for _ in range(100):  # the cutting process, reaped (up to 10 s): its CPU counts from here
                    if not multiprocessing.active_children():
                        break
                    await asyncio.sleep(0.1)
                own2, kids2 = cpu()
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                kid_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                print(f"{name} {size} cards ({'unique' if unique else 'demo-sentence'} corpus, "
                      f"{url.split(':')[0]}): wall {wall:.1f} s, CPU {own2 - own:.1f} s + child {kids2 - kids:.1f} s; "
                      f"inserted {stats.inserted} updated {stats.updated} unchanged {stats.unchanged}; "
                      f"peak RSS {rss:.0f} MB (child {kid_rss:.0f} MB); {before} → {load_average()}", flush=True)
        finally:
            await db.dispose()
            if server:
                await fresh_postgres(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--unique", action="store_true", help="every talk track new text (nothing cached)")
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    asyncio.run(run(args.size, args.unique, args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
