"""Handler-path micro-benchmark: N 「帮助」 messages through dispatch → outbox → a channel that only records,
in this process, on a fresh SQLite (or `--db URL`) database. No HTTP, no crypto: what one reply costs in the
handler and the outbox, as process CPU per reply (a figure that a busy shared machine disturbs less than
wall time) and replies/s.

    .venv/bin/python bench/handlers.py [--n 2000] [--concurrency 50] [--new-users] [--profile OUT.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.runtime import build_services
from bot.clock import SystemClock
from bot.config import DatabaseSettings, KnowledgeSettings, OrgSettings, OrgUser, Settings
from bot.dispatch import dispatch
from bot.messages import Body, Inbound
from bot.tasks import TaskPool


class Recorder:
    """A channel sender that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, float]] = []

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str | None = None) -> dict[str, Any]:
        self.sent.append((recipient, time.monotonic()))
        return {}


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="salesbot-hbench-"))
    url = args.db or f"sqlite+aiosqlite:///{tmp}/bench.db"
    users = [] if args.new_users else [OrgUser(f"h{i:05d}", f"销售{i}", "rep") for i in range(args.n)]
    base = Settings()
    settings = replace(base, database=DatabaseSettings(url=url),
                       knowledge=replace(KnowledgeSettings(), seed_demo=False),
                       org=replace(OrgSettings(), users=users, default_channel="wecom"),
                       server=replace(base.server, warm_up=False))
    recorder = Recorder()
    if args.db:
        from storage.migrate import upgrade

        await upgrade(url)
    services = await build_services(settings, SystemClock(), {"wecom": recorder})  # type: ignore[dict-item]
    stop = asyncio.Event()
    sender = asyncio.create_task(services.outbox.run_forever(5.0, stop))
    pool = TaskPool(max_running=args.concurrency, burst_rate=1e9)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, t0 = time.process_time(), time.monotonic()
    for i in range(args.n):
        msg = Inbound("wecom", f"h{i:05d}", f"m{i}", "text", services.clock.now(), text="帮助")
        pool.submit(msg.user_id, lambda m=msg: dispatch(services, m))  # type: ignore[misc]
    while len(recorder.sent) < args.n:  # noqa: ASYNC110 - polls a count
        await asyncio.sleep(0.005)
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    stop.set()
    await sender
    await pool.drain()
    await services.db.dispose()
    kind = "new users (auto-registered)" if args.new_users else "imported users"
    print(f"{args.n} 帮助 from {kind}, {args.concurrency} handlers at once, {services.db.engine.dialect.name}: "
          f"{args.n / wall:.0f} replies/s ({wall:.2f} s), process CPU {1000 * cpu / args.n:.2f} ms per reply")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--new-users", action="store_true")
    parser.add_argument("--db", default="", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", default="", help="cProfile stats of the burst into this file "
                        "(read with python -m pstats)")
    asyncio.run(run(parser.parse_args()))
