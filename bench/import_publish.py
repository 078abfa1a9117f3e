"""Staged card import (issues 13 + 20): wall time of a 20,000-card import on SQLite, how long each write
transaction held SQLite's writer (the staging chunks and the one publish), and what a small concurrent writer
in another process (one INSERT every 50 ms, open loop, as a message's claim would) waited meanwhile.

    python -m bench.import_publish [--size 20000]

Transactions are timed with SQLAlchemy engine events: from the moment BEGIN IMMEDIATE holds the lock (our
listener runs after storage/db.py's) to COMMIT/ROLLBACK. Say the load average next to every figure."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.kb import synthetic_corpus
from bot.engines import Engines
from knowledge.demo import demo_cards
from knowledge.importer import TRANSACTION_CARDS, import_cards_into
from knowledge.search import KnowledgeBase
from storage.db import Database
from storage.migrate import ensure_schema

ENGINES = Engines()  # jieba's and OpenCC's dictionaries for this module (no services here)


def load_average() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def kind_of(sql: str) -> str:
    if "INSERT INTO knowledge_cards_staging" in sql:
        return "stage"
    if "INSERT INTO knowledge_cards " in sql and "FROM knowledge_cards_staging" in sql:
        return "publish"
    if "INSERT INTO knowledge_cards " in sql:  # the code before staging: each chunk written live
        return "live chunk"
    return ""


def timed_transactions(db: Database) -> list[tuple[str, float]]:
    """(kind, seconds) of every write transaction on `db`'s engine, filled as they commit or roll back; kind
    "stage", "publish" or "other" by the statements it ran."""
    spans: list[tuple[str, float]] = []
    opened: dict[int, list[Any]] = {}

    @event.listens_for(db.engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        if not conn.get_execution_options().get("salesbot_read_only"):
            opened[id(conn)] = [time.perf_counter(), "other"]

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _statement(conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        span = opened.get(id(conn))
        if span is not None and kind_of(sql):
            span[1] = kind_of(sql)

    def _end(conn: Any) -> None:
        span = opened.pop(id(conn), None)
        if span is not None:
            spans.append((span[1], time.perf_counter() - span[0]))

    event.listen(db.engine.sync_engine, "commit", _end)
    event.listen(db.engine.sync_engine, "rollback", _end)
    return spans


SIDE_WRITER = """
import json, sqlite3, sys, time
path, every, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3]
conn = sqlite3.connect(path, isolation_level=None, timeout=60)
conn.execute("PRAGMA busy_timeout=60000")
waits, i, due = [], 0, time.perf_counter()
while True:
    try:
        open(stop).close()
        break
    except FileNotFoundError:
        pass
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO kv (key, value, updated_at) VALUES (?, '{}', '2026-01-01 00:00:00')", (f"side:{i}",))
    conn.execute("COMMIT")
    waits.append(time.perf_counter() - due)  # open loop: from when it was due, not from when it started
    i += 1
    due += every
    time.sleep(max(0.0, due - time.perf_counter()))
print(json.dumps(waits))
"""


async def side_writer(path: str, stop: str, every_s: float = 0.05) -> asyncio.subprocess.Process:
    """Another process writing one small row every `every_s` (a message's claim), until `stop` exists."""
    return await asyncio.create_subprocess_exec(sys.executable, "-c", SIDE_WRITER, path, str(every_s), stop,
                                                stdout=asyncio.subprocess.PIPE)


async def run(size: int) -> None:
    cards = synthetic_corpus(demo_cards(), size)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await ensure_schema(url)
        db = Database(url)
        try:
            kb = KnowledgeBase(engines=ENGINES)
            kb.tokenizer  # noqa: B018 - jieba's own start is not the import's
            spans = timed_transactions(db)
            stop = f"{tmp}/stop"
            writer = await side_writer(f"{tmp}/bench.db", stop)
            before = load_average()
            start = time.perf_counter()
            stats = await import_cards_into(db, kb, cards, datetime.now(UTC))
            wall = time.perf_counter() - start
            Path(stop).touch()
            waits = sorted(json.loads((await writer.communicate())[0]))
            after = load_average()
        finally:
            await db.dispose()
    print(f"cards={size} inserted={stats.inserted} chunk={TRANSACTION_CARDS} wall={wall:.1f} s "
          f"({before} at start, {after} at end)")
    print(f"write transactions of the import: {len(spans)}; longest {max(d for _, d in spans) * 1000:.0f} ms")
    for kind in ("stage", "live chunk", "publish", "other"):
        times = sorted(d for k, d in spans if k == kind)
        if times:
            print(f"  {kind}: {len(times)}, median {statistics.median(times) * 1000:.0f} ms, "
                  f"max {times[-1] * 1000:.0f} ms")
    print(f"another process writing a row every 50 ms (open loop): {len(waits)} writes,")
    print(f"  p50 {statistics.median(waits) * 1000:.0f} ms, "
          f"p99 {waits[int(len(waits) * 0.99) - 1] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    args = parser.parse_args(argv)
    asyncio.run(run(args.size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
