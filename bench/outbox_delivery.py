"""CPU of the outbox's WeCom delivery alone: render, message/send, mark delivered — per row.

The fake WeCom API runs in a child process (its CPU is not counted); this process queues N markdown rows
(one per recipient, a 「帮助」-sized reply each) in a fresh SQLite file, written already claimed as the group
commit writes a handler's answer, then hands them to the real `OutboxSender` and `WecomSender` 50 at a time,
and prints this process's CPU (every thread: the SQLite driver's too) per row.

    python -m bench.outbox_delivery [--n 3000] [--runs 3]

Run it from the worktree whose code is measured (`python -m` imports from the current directory).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bot.channels.wecom.sender import WecomSender
from bot.clock import SystemClock
from bot.config import WecomSettings
from bot.messages import Markdown, Outbound
from bot.outbox import OutboxSender
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage

REPLY = "**可以这样用我**\n" + "\n".join(
    f"- 第{i}项：发送关键词即可查看对应的说明和示例，随时可以再问。" for i in range(20)
)


def _serve_fake(port_out: multiprocessing.Queue[int]) -> None:
    from tests.fakes.wecom_api import FakeWecom

    async def main() -> None:
        fake = FakeWecom()
        await fake.start()
        port_out.put(int(fake.base_url.rsplit(":", 1)[1]))
        await asyncio.Event().wait()  # until the bench terminates this process

    asyncio.run(main())


BURST = 50


async def delivered_count(db: Database) -> int:
    async with db.session() as session:
        found = await session.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "delivered")
        )
        return int(found.scalar_one())


async def one_run(base_url: str, n: int, folder: Path, run: int) -> float:
    url = f"sqlite+aiosqlite:///{folder}/outbox{run}.db"
    await upgrade(url)
    db = Database(url)
    clock = SystemClock()
    settings = WecomSettings(corp_id="wwfakecorp", agent_id=1000002, secret="fake-secret", api_base=base_url)
    wecom = WecomSender(settings)
    wecom.bind(db, clock)
    outbox = OutboxSender(db, clock, {"wecom": wecom}, default_channel="wecom")
    messages = [
        Outbound(to=f"bench{run}u{i:05d}", body=Markdown("", REPLY), channel="wecom", dedup_key=f"bench:{run}:{i}")
        for i in range(n)
    ]
    async with db.session() as session:  # as the handlers' group commit writes them: claimed, handed over
        handed = await outbox.enqueue_many_handing_over(session, [([m], m.to) for m in messages])
    claimed = [row for rows, _queued in handed for row in rows]
    await wecom.api.access_token()  # the token fetch is not the per-row cost
    cpu = time.process_time()
    for start in range(0, n, BURST):  # a burst's replies arrive a group commit at a time
        outbox.start(claimed[start : start + BURST])
        await asyncio.sleep(0)
    while outbox._running:
        await asyncio.wait(set(outbox._running))
    used = time.process_time() - cpu
    delivered = await delivered_count(db)
    await wecom.close()
    await db.dispose()
    assert delivered == n, f"{delivered} of {n} delivered"
    return 1000 * used / n


async def main(args: argparse.Namespace) -> None:
    spawn = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue[int] = spawn.Queue()
    fake = spawn.Process(target=_serve_fake, args=(ports,), daemon=True)
    fake.start()
    try:
        base_url = f"http://127.0.0.1:{ports.get(timeout=30)}"
        with tempfile.TemporaryDirectory() as tmp:
            per_row = [await one_run(base_url, args.n, Path(tmp), run) for run in range(args.runs)]
    finally:
        fake.terminate()
    print(
        f"outbox delivery, {args.n} rows × {args.runs} runs: CPU per row "
        f"{', '.join(f'{ms:.3f}' for ms in per_row)} ms (median {statistics.median(per_row):.3f}); "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
