"""N `salesbot serve` instances on one PostgreSQL behind nothing but different ports, a shared fake WeCom API,
and a client that spreads callbacks over them like a load balancer and resends what an instance did not
answer to another one (as WeCom retries). Used by tests/test_scale_out.py and bench/scaleout.py."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

from bot.messages import Text, body_to_json
from reminders.policies import NOTICE
from reminders.store import add_timer
from storage.db import Database
from storage.models import CalendarOverride
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, text_xml
from tests.fakes.wecom_harness import AES_KEY, TOKEN
from tests.servers import Server, run_cli, wecom_env


def cluster_env(db_url: str, fake: FakeWecom, **extra: str) -> dict[str, str]:
    """Every hour of every day is working time (reminders fire whenever the run happens), short leases and
    replay grace so a killed instance's work is taken over within seconds, not minutes."""
    settings = {
        "SALESBOT_KNOWLEDGE_SEED_DEMO": "false", "SALESBOT_SERVER_WARM_UP": "false",
        "SALESBOT_SERVER_TICK_SECONDS": "1", "SALESBOT_SERVER_REPLAY_GRACE_S": "4",
        "SALESBOT_SERVER_REPLAY_INTERVAL_S": "1", "SALESBOT_REMINDERS_LEASE_S": "6",
        "SALESBOT_REMINDERS_TIMEZONE": "UTC", "SALESBOT_REMINDERS_WORK_START": "00:00",
        "SALESBOT_REMINDERS_WORK_END": "23:59"}
    return wecom_env(db_url, fake.corp_id, fake.secret, fake.base_url, **(settings | extra))


async def prepare(db_url: str, env: dict[str, str]) -> None:
    code, err = await run_cli(env, "db", "upgrade")
    assert code == 0, err
    db = Database(db_url)
    try:
        async with db.session() as session:
            today = datetime.now(UTC).date()
            for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
                session.add(CalendarOverride(day=day, is_workday=True, note="scale-out run"))
    finally:
        await db.dispose()


async def add_notices(db_url: str, n: int, due_in_s: float) -> list[str]:
    """n reminder notices due shortly, one per recipient; returns their texts."""
    db = Database(db_url)
    now = datetime.now(UTC)
    texts = [f"提醒第{i}号" for i in range(n)]
    try:
        async with db.session() as session:
            for i, text in enumerate(texts):
                payload = {"to": f"rem{i:03d}", "body": body_to_json(Text(text)), "key": f"scale:rem:{i}",
                           "line": text, "standalone": True}
                await add_timer(session, None, NOTICE, now + timedelta(seconds=due_in_s), now, payload=payload)
    finally:
        await db.dispose()
    return texts


async def start_cluster(tmp: Path, env: dict[str, str], n: int) -> list[Server]:
    servers = [Server(tmp, env, f"serve{i}") for i in range(n)]
    await asyncio.gather(*(s.spawn() for s in servers))
    await asyncio.gather(*(s.healthy() for s in servers))
    return servers


class Spreader:
    """Round-robin over live instances; a callback that gets no 200 goes to the next instance."""

    def __init__(self, fake: FakeWecom, servers: Sequence[Server], concurrency: int = 32) -> None:
        self.cb = CallbackBuilder(TOKEN, AES_KEY, fake.corp_id)
        self.corp = fake.corp_id
        self.servers = list(servers)
        self.dead: set[int] = set()
        self.limit = asyncio.Semaphore(concurrency)
        self.turn = itertools.count()
        self.resent = 0
        self.acked_at: dict[str, float] = {}

    def callback(self, user: str, text: str, msg_id: int) -> tuple[str, bytes]:
        now = int(time.time())
        return self.cb.post(text_xml(self.corp, user, text, msg_id, now), now, nonce=f"n{msg_id}")

    async def send(self, http: ClientSession, key: str, query: str, body: bytes, first: int | None = None) -> None:
        start = next(self.turn) if first is None else first
        async with self.limit:
            for attempt in range(3 * len(self.servers)):
                i = (start + attempt) % len(self.servers)
                if i in self.dead:
                    continue
                try:
                    async with http.post(f"{self.servers[i].url}/wecom/callback?{query}", data=body) as resp:
                        await resp.read()
                        if resp.status == 200:
                            self.acked_at.setdefault(key, time.monotonic())
                            return
                except (ClientError, OSError, TimeoutError):
                    pass
                self.resent += 1
                await asyncio.sleep(0.05)
        raise AssertionError(f"no instance took {key}")

    def session(self) -> ClientSession:
        return ClientSession(connector=TCPConnector(limit=64), timeout=ClientTimeout(total=10))
