"""Front-door benchmark: reply latency for typed messages through the real dispatcher (reader → route →
handler → one transaction with the reply in the outbox), without LLM, on a fresh SQLite database with the demo
org and knowledge cards, as `salesbot chat` runs it.

    .venv/bin/python bench/front.py [--rounds 3]

    .venv/bin/python bench/front.py --accuracy [--misses bench/data/front_heldout4.jsonl]

Messages: every row of the utterance tables (tests/utterances*.py and bench/data/front_*.jsonl: reps, managers,
admins — small talk, leads, edits, reminders, manager and admin actions, knowledge questions), each sent by a
person of its role, after one warm-up round (jieba and the card index load on first use). Prints p50/p95/max per
message kind and overall, and the reading step alone (handlers.intent.understand). Target: p95 ≤ 100 ms.

--accuracy scores the reader on each table instead: intent accuracy and exact slots (every non-empty slot equal),
per table; --misses FILE lists the rows of one table read wrongly. Targets on unseen wording: 0.90 / 0.85.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import CN_TZ, ManualClock
from bot.config import DatabaseSettings, Settings
from bot.dispatch import dispatch
from bot.engines import Engines
from bot.messages import Inbound
from handlers.intent import understand
from handlers.intent_model import shipped_model
from knowledge.query import Simplifier
from tests.utterances import ROWS, STATE, Row
from tests.utterances_heldout import HELDOUT
from tests.utterances_heldout2 import HELDOUT2
from tests.utterances_heldout3 import HELDOUT3

T2S = Simplifier()  # OpenCC's tables for this bench (no services here)
MODEL = shipped_model(Engines())  # the learned reader, trained once as the services do

DATA = Path(__file__).resolve().parent / "data"
WHO = {"rep": "rep01", "manager": "manager01", "admin": "admin01"}
SKIP = {"offboard"}  # would deactivate a demo user half-way through the run


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


def load_table(path: Path) -> list[Row]:
    """One JSON object a line: role, text, intent, slots."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["role"], r["text"], r["intent"], r["slots"]) for r in rows]


def tables() -> dict[str, list[Row]]:
    found = {"tests/utterances.py": ROWS, "tests/utterances_heldout.py": HELDOUT,
             "tests/utterances_heldout2.py": HELDOUT2, "tests/utterances_heldout3.py": HELDOUT3}
    for path in sorted(DATA.glob("front_*.jsonl")):
        found[f"bench/data/{path.name}"] = load_table(path)
    return found


def score(rows: list[Row]) -> tuple[float, float, list[str]]:
    """(intent accuracy, exact-slot accuracy, the rows read wrongly)."""
    right = exact = 0
    misses = []
    for role, text, want, slots in rows:
        got = understand(text, role, STATE, MODEL, t2s=T2S)
        filled = {k: v for k, v in got.slots.items() if v not in (None, "", [], ())}
        right += got.name == want
        exact += got.name == want and filled == slots
        if got.name != want or filled != slots:
            misses.append(f"{role:<8}{text!r}: {got.name} {filled}  (want {want} {slots})")
    return right / len(rows), exact / len(rows), misses


def accuracy(show: str | None) -> None:
    print(f"{'table':<36} {'rows':>5} {'intent':>7} {'slots':>7}")
    for name, rows in tables().items():
        intent, slots, misses = score(rows)
        print(f"{name:<36} {len(rows):>5} {intent:>7.3f} {slots:>7.3f}")
        if show and name.endswith(show):
            print("\n".join(misses))


async def run(rounds: int) -> None:
    rows = [r for rows in tables().values() for r in rows if r[2] not in SKIP]
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings(), database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp}/bench.db"))
        clock = ManualClock(datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ))
        console = ConsoleChannel(lambda _line: None, json_mode=True)
        services = await build_services(settings, clock, {"console": console})
        timings: dict[str, list[float]] = {}
        n = 0
        try:
            for round_no in range(rounds + 1):
                for role, text, kind, _slots in rows:
                    n += 1
                    msg = Inbound("console", WHO[role], f"b{n}", "text", clock.now(), text=text)
                    start = time.perf_counter()
                    await dispatch(services, msg)
                    took = (time.perf_counter() - start) * 1000
                    if round_no:  # round 0 warms up
                        timings.setdefault(kind, []).append(took)
                    await services.outbox.drain()
        finally:
            await services.db.dispose()
    reading = []
    for role, text, _kind, _slots in rows * 5:
        start = time.perf_counter()
        understand(text, role, STATE, MODEL, t2s=T2S)
        reading.append((time.perf_counter() - start) * 1000)
    every = [t for ts in timings.values() for t in ts]
    print(f"{'kind':<12} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind, ts in sorted(timings.items()):
        print(f"{kind:<12} {len(ts):>5} {statistics.median(ts):>8.1f} {pct(ts, 0.95):>8.1f} {max(ts):>8.1f}")
    print(f"{'ALL':<12} {len(every):>5} {statistics.median(every):>8.1f} {pct(every, 0.95):>8.1f} {max(every):>8.1f}")
    print(f"reading only: p50 {statistics.median(reading):.2f} ms, p95 {pct(reading, 0.95):.2f} ms")
    print(f"target p95 ≤ 100 ms: {'met' if pct(every, 0.95) <= 100 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accuracy", action="store_true", help="score the reader on each table, no latency run")
    parser.add_argument("--misses", help="with --accuracy: list the misses of the table whose path ends so")
    args = parser.parse_args()
    if args.accuracy:
        accuracy(args.misses)
    else:
        asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
