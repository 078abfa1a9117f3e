"""Three `salesbot serve` processes on one PostgreSQL: callbacks spread over them, some resent to another
instance, reminders falling due, one instance killed with SIGKILL mid-burst. Every message is answered exactly
once, every reminder delivered once, and a rep who writes 40 times in a row is never sent more than WeCom's
per-member limit in a minute, by all instances together."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels.wecom.sender import DEFAULT_LIMITS
from reminders.policies import NOTICE
from storage.db import Database
from storage.models import InboundHandled, OutboxMessage, Reminder
from tests.fakes.wecom_api import FakeWecom, strip_marker
from tests.scaleout import Spreader, add_notices, cluster_env, prepare, start_cluster
from tests.waiting import until

USERS = 60  # enough that the kill lands mid-burst with callbacks in flight; volume is bench/scaleout.py's job
CHATTY = 40  # messages from one rep, more than the per-member limit allows in a minute


async def _until(cond: Callable[[], bool], what: str) -> None:
    await until(cond, what, timeout_s=90, every_s=0.1)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_three_instances_a_kill_9_and_nothing_lost_or_sent_twice(tmp_path: Path, pg_url: str) -> None:
    async with FakeWecom(corp_id="wwscalecorp001") as fake:
        env = cluster_env(pg_url, fake)
        await prepare(pg_url, env)
        servers = await start_cluster(tmp_path, env, 3)
        try:
            reminders = await add_notices(pg_url, 20, due_in_s=2.0)
            spread = Spreader(fake, servers)
            jobs = [(f"su{i:03d}", "帮助", 5_000_000 + i) for i in range(USERS)]
            jobs += [("chatty", f"帮助{'' if i % 2 else ' '}", 6_000_000 + i) for i in range(CHATTY)]
            async with spread.session() as http:
                tasks = []
                for n, (user, text, msg_id) in enumerate(jobs):
                    query, body = spread.callback(user, text, msg_id)
                    key = f"{user}:{msg_id}"
                    tasks.append(asyncio.create_task(spread.send(http, key, query, body)))
                    if n % 4 == 0:  # WeCom's retry of the very same callback, to another instance
                        tasks.append(asyncio.create_task(spread.send(http, key, query, body)))
                    if n == len(jobs) * 2 // 5:  # mid-burst: callbacks in flight, ACKed work in its handlers
                        await servers[1].kill()  # the spreader finds out by failing, and resends elsewhere
                    await asyncio.sleep(0.002)
                await asyncio.gather(*tasks)

            def sends() -> Counter[str]:
                return Counter(b["touser"] for b in fake.sent)

            await _until(lambda: all(sends()[f"su{i:03d}"] >= 1 for i in range(USERS)), "every rep answered")
            await _until(lambda: all(f"rem{i:03d}" in sends() for i in range(len(reminders))), "reminders")
            db = Database(pg_url)
            try:
                async def handled(user: str) -> int:
                    async with db.session() as s:
                        return int((await s.execute(select(func.count()).select_from(OutboxMessage).where(
                            OutboxMessage.recipient == user))).scalar_one())

                async def settled() -> bool:
                    """Nothing is left that could still reach anyone but the chatty rep: every message handled,
                    every notice sent, no outbox row waiting or in flight. A row the killed instance held goes out
                    again once its lease runs out: that is where a late duplicate would come from."""
                    async with db.session() as s:
                        n_handled = (await s.execute(select(func.count()).select_from(InboundHandled))).scalar_one()
                        notices = (await s.execute(select(func.count()).select_from(Reminder).where(
                            Reminder.rule == NOTICE, Reminder.status.in_(("pending", "claimed"))))).scalar_one()
                        rows = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
                            OutboxMessage.status.in_(("pending", "sending")),
                            OutboxMessage.recipient != "chatty"))).scalar_one()
                    return n_handled == USERS + CHATTY and notices == 0 and rows == 0

                for _ in range(900):  # every chatty message handled once (40 replies queued), the rest settled
                    if await handled("chatty") >= CHATTY and await settled():
                        break
                    await asyncio.sleep(0.1)
                counts = sends()
                assert [u for u in counts if counts[u] > 1 and u != "chatty"] == []  # exactly once
                reminder_texts = Counter(strip_marker(b["text"]["content"]) for b in fake.sent
                                         if b.get("msgtype") == "text" and str(b["touser"]).startswith("rem"))
                assert all(reminder_texts[t] == 1 for t in reminders), reminder_texts
                assert await handled("chatty") == CHATTY  # every message of the chatty rep answered once
                assert counts["chatty"] <= DEFAULT_LIMITS[0][1]  # ≤ the per-member limit within this minute
                async with db.session() as s:
                    n_handled = (await s.execute(select(func.count()).select_from(InboundHandled))).scalar_one()
                assert n_handled == USERS + CHATTY
            finally:
                await db.dispose()
            assert spread.resent > 0  # the killed instance's share went elsewhere
        finally:
            for server in servers:
                await server.stop()
