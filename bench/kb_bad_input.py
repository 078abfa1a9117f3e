"""Big bad card files through the real importer (`knowledge.importer.import_file`, SQLite), too slow for tests:

    .venv/bin/python -m bench.kb_bad_input [--rows 100000] [--csv-mb 49]

- an XLSX with `--rows` rows (one in 50 bad: an id with a space, a missing title, a duplicate id);
- a CSV of about `--csv-mb` MB (just under the 50 MB limit) with the same kinds of bad rows;
- the same CSV one byte over the limit.
The import's own peak memory, as an admin runs it (the command-line import builds no index after its last file):
    .venv/bin/python -m bench.kb_bad_input --write-csv /tmp/cards.csv
    /usr/bin/time -v .venv/bin/salesbot kb import --config some.toml /tmp/cards.csv   # "Maximum resident set size"
For each: wall and CPU seconds, peak memory (ru_maxrss), the report (rows / inserted / issues and their first
lines, Chinese), and whether the table holds exactly the cards reported inserted (nothing half-imported). The
small cases of the issue's bad-input list (renamed XLSX, mixed encodings, odd ids, a 100 KB talk track, 10,000
nested JSON objects) are tests: tests/test_kb_bad_input.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.engines import Engines
from knowledge import store
from knowledge.importer import import_file
from knowledge.io import MAX_FILE_BYTES
from knowledge.search import KnowledgeBase
from storage.db import Database
from storage.migrate import ensure_schema

ENGINES = Engines()  # jieba's and OpenCC's dictionaries for this module (no services here)

HEADER = ["编号", "标题", "角色", "行业", "异议", "话术", "关键词"]


def row(i: int) -> list[str]:
    """A plausible card; every 50th row is bad in one of three ways."""
    card_id, title = f"B{i:06d}", f"第{i}号客户嫌价格太高的应对"
    if i % 150 == 49:
        card_id = f"B {i}"  # an id with a space
    elif i % 150 == 99:
        title = ""  # no title
    elif i % 150 == 149:
        card_id = f"B{i - 1:06d}"  # the previous row's id again
    talk = f"先认可客户的顾虑，再算三年总成本：第{i}套方案按年付，首年八折，附同行业案例与验收标准。"
    return [card_id, title, "采购", "医疗", "价格", talk, f"报价{i % 97},总成本"]


def write_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("话术")
    sheet.append(HEADER)
    for i in range(rows):
        sheet.append(row(i))
    book.save(path)


def write_csv(path: Path, megabytes: float) -> int:
    """Rows until the file is about `megabytes` MB (under the limit); returns the row count."""
    limit, count = int(megabytes * 2**20), 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        while out.tell() < limit - 1000:
            out.write(",".join(f'"{v}"' if "," in v else v for v in row(count)) + "\n")
            count += 1
    return count


async def run(label: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bad.db"
        await ensure_schema(url)
        db = Database(url)
        try:
            kb = KnowledgeBase(engines=ENGINES)
            kb.tokenizer  # noqa: B018 - jieba's start is not the import's
            start, cpu = time.perf_counter(), time.process_time()
            report = await import_file(db, kb, path, datetime.now(UTC))
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            async with db.session() as session:
                stored = await store.count_cards(session)
        finally:
            await db.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = path.stat().st_size / 2**20
    print(f"{label} ({size:.1f} MB): {wall:.1f} s wall / {cpu:.1f} s CPU, peak RSS {peak:.0f} MB "
          f"(load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    print(f"  {report.summary().splitlines()[0]}")
    for issue in report.issues[:3]:
        print(f"  · 第 {issue.line} 行：{issue.message}" if issue.line else f"  · 文件：{issue.message}")
    print(f"  table holds {stored} cards; reported inserted {report.inserted}: "
          f"{'consistent' if stored == report.inserted else 'MISMATCH'}")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv-mb", type=float, default=49.0)
    parser.add_argument("--only", choices=["xlsx", "csv", "over"], default=None)
    parser.add_argument("--write-csv", metavar="PATH", help="only write the --csv-mb CSV there (to time "
                        "`salesbot kb import` on it under /usr/bin/time -v) and exit")
    args = parser.parse_args(argv)
    if args.write_csv:
        print(f"{write_csv(Path(args.write_csv), args.csv_mb)} rows written to {args.write_csv}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "over"):
            over = folder / "over.csv"
            with over.open("wb") as out:
                out.truncate(MAX_FILE_BYTES + 1)
            await run("CSV one byte over the limit", over)
        if args.only in (None, "xlsx"):
            xlsx = folder / "cards.xlsx"
            start = time.perf_counter()
            write_xlsx(xlsx, args.rows)
            print(f"(XLSX of {args.rows} rows written in {time.perf_counter() - start:.1f} s)")
            await run(f"XLSX with {args.rows} rows", xlsx)
        if args.only in (None, "csv"):
            csv = folder / "cards.csv"
            rows = write_csv(csv, args.csv_mb)
            await run(f"CSV with {rows} rows", csv)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
