"""Front-door benchmark: reply latency for typed messages through the real dispatcher (reader → route →
handler → one transaction with the reply in the outbox), without LLM, on a fresh SQLite database with the demo
org and knowledge cards, as `salesbot chat` runs it.

    .venv/bin/python bench/front.py [--rounds 3]

Messages: every row of the utterance tables (tests/utterances*.py: reps, managers, admins — small talk, leads,
edits, reminders, manager and admin actions, knowledge questions), each sent by a person of its role, after one
warm-up round (jieba and the card index load on first use). Prints p50/p95/max per message kind and overall,
and the reading step alone (handlers.intent.understand). Target: p95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
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
from bot.messages import Inbound
from handlers.intent import understand
from tests.utterances import ROWS, STATE
from tests.utterances_heldout import HELDOUT
from tests.utterances_heldout2 import HELDOUT2
from tests.utterances_heldout3 import HELDOUT3

WHO = {"rep": "rep01", "manager": "manager01", "admin": "admin01"}
SKIP = {"offboard"}  # would deactivate a demo user half-way through the run


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


async def run(rounds: int) -> None:
    rows = [r for r in ROWS + HELDOUT + HELDOUT2 + HELDOUT3 if r[2] not in SKIP]
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
                    if services.outbox is not None:
                        await services.outbox.drain()
        finally:
            await services.db.dispose()
    reading = []
    for role, text, _kind, _slots in rows * 5:
        start = time.perf_counter()
        understand(text, role, STATE)
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
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
