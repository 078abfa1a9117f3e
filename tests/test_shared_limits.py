"""Per-recipient limits across processes (PostgreSQL instances; on SQLite serve and its handler child): two
senders (two processes' worth: own engine, own in-memory throttle, own API client) draining one outbox stay
together within WeCom's per-member limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from bot.channels.shared_limits import apply_pause
from bot.channels.wecom.sender import DEFAULT_LIMITS, WecomSender
from bot.clock import ManualClock
from bot.config import WecomSettings
from bot.delivery import DeliveryError
from bot.messages import Outbound, Text
from bot.outbox import OutboxSender, enqueue
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage
from storage.notify import PAUSE, Listener
from tests.conftest import MONDAY_10AM
from tests.fakes.wecom_api import FakeWecom


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    async with FakeWecom(corp_id="wwlimitcorp001") as server:
        yield server


def _instance(url: str, fake: FakeWecom, clock: ManualClock) -> tuple[Database, WecomSender, OutboxSender]:
    db = Database(url)
    sender = WecomSender(WecomSettings(corp_id=fake.corp_id, agent_id=1000002, secret=fake.secret, token="t",
                                       encoding_aes_key="k" * 43, api_base=fake.base_url), retry_delays=(0,))
    sender.bind(db, clock)
    return db, sender, OutboxSender(db, clock, {"wecom": sender}, default_channel="wecom")


async def test_two_instances_together_respect_the_per_member_limit(db_url: str, fake: FakeWecom) -> None:
    """Both backends: on SQLite the two senders are `serve` and its handler child."""
    await upgrade(db_url)
    clock = ManualClock(MONDAY_10AM)
    instances = [_instance(db_url, fake, clock) for _ in range(2)]
    per_minute = DEFAULT_LIMITS[0][1]
    try:
        db = instances[0][0]
        async with db.session() as session:
            await enqueue(session, [Outbound("busy_rep", Text(f"第{i}条"), channel="wecom", dedup_key=f"lim:{i}")
                                    for i in range(per_minute + 12)], clock.now(), "wecom")
        for _ in range(per_minute + 12):  # both instances claim and send as fast as they can
            await asyncio.gather(*(outbox.run_once() for _db, _s, outbox in instances))
        sent = [b for b in fake.sent if b["touser"] == "busy_rep"]
        assert len(sent) == per_minute  # not 2 × the limit
        async with db.session() as session:
            waiting = (await session.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "pending", OutboxMessage.last_error.like("throttled%")))).scalar_one()
        assert waiting == 1  # the next row waits for the window (order kept: the others queue behind it)
        clock.advance(timedelta(seconds=61))
        for _ in range(12):
            await asyncio.gather(*(outbox.run_once() for _db, _s, outbox in instances))
        assert len([b for b in fake.sent if b["touser"] == "busy_rep"]) == per_minute + 12
    finally:
        for db, sender, _outbox in instances:
            await sender.close()
            await db.dispose()


async def test_three_instances_fetch_one_token_and_share_a_refresh(pg_db_url: str, fake: FakeWecom) -> None:
    await upgrade(pg_db_url)
    clock = ManualClock(MONDAY_10AM)
    instances = [_instance(pg_db_url, fake, clock) for _ in range(3)]
    try:
        tokens = await asyncio.gather(*(sender.api.access_token() for _db, sender, _o in instances))
        assert len(set(tokens)) == 1 and len(fake.calls("gettoken")) == 1  # one fetch, not three
        fake.expire_tokens()  # WeCom refuses it: the first instance to notice refreshes, the others reuse that
        fresh = await instances[0][1].api.access_token(stale=tokens[0])
        again = await asyncio.gather(*(sender.api.access_token(stale=tokens[0]) for _db, sender, _o in instances))
        assert fresh != tokens[0] and set(again) == {fresh}
        assert len(fake.calls("gettoken")) == 2
    finally:
        for db, sender, _outbox in instances:
            await sender.close()
            await db.dispose()


async def test_a_45009_met_by_one_instance_pauses_all(pg_db_url: str, fake: FakeWecom) -> None:
    await upgrade(pg_db_url)
    clock = ManualClock(MONDAY_10AM)
    instances = [_instance(pg_db_url, fake, clock) for _ in range(2)]
    stop = asyncio.Event()
    listener = Listener(pg_db_url, {PAUSE: partial(apply_pause, [instances[1][1]])})  # instance 2 listens
    task = asyncio.create_task(listener.run(stop))
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        fake.fail("message/send", "rate_limited", times=1)
        with pytest.raises(DeliveryError):
            await instances[0][1].deliver("rep_a", Text("一"), dedup_key="p1")
        for _ in range(100):  # until the NOTIFY has reached instance 2
            if listener.received:
                break
            await asyncio.sleep(0.05)
        calls = len(fake.calls("message/send"))
        with pytest.raises(DeliveryError, match="45009"):
            await instances[1][1].deliver("rep_b", Text("二"), dedup_key="p2")
        assert len(fake.calls("message/send")) == calls  # instance 2 did not call WeCom during the pause
    finally:
        stop.set()
        await task
        for db, sender, _outbox in instances:
            await sender.close()
            await db.dispose()
