"""Outbox: retries with backoff, dead-letter, per-recipient order, exactly-once, lease takeover.

The remote is a real aiohttp server on 127.0.0.1 that can be told to fail; the channel under test
is a minimal HTTP sender, so everything between the outbox row and the wire is real.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, update

from bot.clock import ManualClock
from bot.delivery import DeliveryError
from bot.messages import Body, Button, Card, Outbound, Text, body_to_json
from bot.outbox import OutboxSender, RetryPolicy, enqueue
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage
from tests.conftest import MONDAY_10AM
from tests.fakes.local import serve_local
from tests.waiting import until


class FlakyRemote:
    """A remote API that answers 503 while `failing`, and records what it accepted."""

    def __init__(self) -> None:
        self.failing = False
        self.received: list[dict[str, Any]] = []
        self.url = ""
        self.hold: dict[str, asyncio.Event] = {}  # recipient → answer only once set (a slow remote)
        self.held: set[str] = set()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (gate := self.hold.pop(body["to"], None)) is not None:  # holds one request
            self.held.add(body["to"])
            await gate.wait()
        if self.failing:
            return web.json_response({"errcode": -1, "errmsg": "system busy"}, status=503)
        self.received.append(body)
        return web.json_response({"errcode": 0, "msgid": f"m{len(self.received)}"})


class HttpSender:
    name = "wecom"

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession()

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        payload = {"to": recipient, "body": body_to_json(body), "key": dedup_key}
        async with self.http.post(self.url, json=payload) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise DeliveryError(f"HTTP {resp.status} errcode {data.get('errcode')}")
            return {"msgid": data["msgid"]}


@pytest.fixture
async def remote() -> AsyncIterator[FlakyRemote]:
    fake = FlakyRemote()
    app = web.Application()
    app.router.add_post("/send", fake.handle)
    runner, base = await serve_local(app)
    fake.url = f"{base}/send"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    await upgrade(db_url)
    database = Database(db_url)
    yield database
    await database.dispose()


async def put(db: Database, clock: ManualClock, *messages: Outbound) -> None:
    async with db.session() as s:
        await enqueue(s, messages, clock.now(), "wecom")


async def statuses(db: Database) -> list[tuple[str, str, int]]:
    async with db.session() as s:
        rows = await s.execute(select(OutboxMessage.dedup_key, OutboxMessage.status, OutboxMessage.attempts)
                               .order_by(OutboxMessage.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_outage_then_recovery_delivers_each_once_in_order(db: Database, remote: FlakyRemote) -> None:
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    outbox = OutboxSender(db, clock, {"wecom": sender}, policy=RetryPolicy(max_attempts=50, max_delay_s=60))
    msgs = [Outbound(to=f"rep0{i % 3}", body=Text(f"msg {n}"), channel="wecom", dedup_key=f"k{n}")
            for n, i in enumerate(range(12))]
    await put(db, clock, *msgs)
    remote.failing = True
    for _ in range(40):  # two minutes of outage, the clock moving 3 s per round
        await outbox.run_once()
        clock.advance(timedelta(seconds=3))
    assert remote.received == []
    remote.failing = False
    clock.advance(timedelta(minutes=2))
    for _ in range(30):
        await outbox.run_once()
        clock.advance(timedelta(seconds=61))
    keys = [m["key"] for m in remote.received]
    assert sorted(keys) == sorted(f"k{n}" for n in range(12))  # each exactly once
    for rep in ("rep00", "rep01", "rep02"):
        texts = [m["body"]["text"] for m in remote.received if m["to"] == rep]
        assert texts == sorted(texts, key=lambda t: int(t.split()[1]))  # order kept per recipient
    assert {s for _, s, _ in await statuses(db)} == {"delivered"}
    await sender.http.close()


async def test_dead_letter_after_max_attempts_is_logged_and_unblocks_recipient(
    db: Database, remote: FlakyRemote, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    outbox = OutboxSender(db, clock, {"wecom": sender}, policy=RetryPolicy(max_attempts=3, base_delay_s=1))
    await put(db, clock, Outbound(to="rep01", body=Text("first"), channel="wecom", dedup_key="a"))
    remote.failing = True
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        for _ in range(6):
            await outbox.run_once()
            clock.advance(timedelta(minutes=5))
    assert await statuses(db) == [("a", "dead", 3)]
    assert any("dead-lettered" in r.message for r in caplog.records)
    remote.failing = False
    await put(db, clock, Outbound(to="rep01", body=Text("second"), channel="wecom", dedup_key="b"))
    await outbox.drain()
    assert [m["body"]["text"] for m in remote.received] == ["second"]
    await sender.http.close()


async def test_same_dedup_key_enqueued_twice_is_sent_once(db: Database, remote: FlakyRemote) -> None:
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    card = Card(title="提醒", buttons=(Button("x:1", "好"),))
    for _ in range(3):
        await put(db, clock, Outbound(to="rep01", body=card, channel="wecom", dedup_key="rem:1:1"))
    await asyncio.gather(*(OutboxSender(db, clock, {"wecom": sender}).drain() for _ in range(3)))
    assert len(remote.received) == 1
    assert remote.received[0]["body"]["buttons"] == [{"key": "x:1", "text": "好", "style": "default"}]
    await sender.http.close()


async def test_expired_lease_is_taken_over(db: Database, remote: FlakyRemote) -> None:
    """A sender that crashed after claiming: its lease runs out and another sender delivers."""
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    crashed = OutboxSender(db, clock, {"wecom": sender}, lease_s=60)
    await put(db, clock, Outbound(to="rep01", body=Text("hi"), channel="wecom", dedup_key="z"))
    assert len(await crashed._claim()) == 1  # claimed, then "crashed" before delivering
    survivor = OutboxSender(db, clock, {"wecom": sender}, lease_s=60)
    assert await survivor.run_once() == 0  # lease still held
    clock.advance(timedelta(seconds=61))
    assert await survivor.run_once() == 1
    assert [m["key"] for m in remote.received] == ["z"]
    await sender.http.close()


async def test_unknown_channel_rows_wait_for_their_sender(db: Database, remote: FlakyRemote) -> None:
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    await put(db, clock, Outbound(to="u", body=Text("x"), channel="dingtalk", dedup_key="d"))
    assert await OutboxSender(db, clock, {"wecom": sender}).run_once() == 0
    async with db.session() as s:
        await s.execute(update(OutboxMessage).values(channel="wecom"))
    assert await OutboxSender(db, clock, {"wecom": sender}).run_once() == 1
    await sender.http.close()


async def test_slow_delivery_does_not_hold_back_other_recipients(db: Database, remote: FlakyRemote) -> None:
    """rep01's remote call hangs; rep02's message, queued (and woken for) meanwhile, still goes out at once."""
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    outbox = OutboxSender(db, clock, {"wecom": sender})
    gate = remote.hold["rep01"] = asyncio.Event()
    await put(db, clock, Outbound(to="rep01", body=Text("slow 1"), channel="wecom", dedup_key="s1"),
              Outbound(to="rep01", body=Text("slow 2"), channel="wecom", dedup_key="s2"))
    stop = asyncio.Event()
    loop = asyncio.create_task(outbox.run_forever(interval_s=60, stop=stop))
    try:
        await until(lambda: "rep01" in remote.held)
        await put(db, clock, Outbound(to="rep02", body=Text("fast"), channel="wecom", dedup_key="f"))
        outbox.wake()
        await until(lambda: [m["key"] for m in remote.received] == ["f"])
    finally:
        gate.set()
    await until(lambda: len(remote.received) == 3)
    stop.set()
    await loop
    assert [m["key"] for m in remote.received] == ["f", "s1", "s2"]  # rep01's order kept
    await sender.http.close()


async def test_late_answer_of_a_taken_over_delivery_changes_nothing(db: Database, remote: FlakyRemote) -> None:
    """Sender A's call outlives its lease; B takes the row over and delivers it. A's late failure must not
    put the row back to pending (that would send it twice)."""
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    a, b = (OutboxSender(db, clock, {"wecom": sender}, lease_s=60) for _ in range(2))
    await put(db, clock, Outbound(to="rep01", body=Text("hi"), channel="wecom", dedup_key="z"))
    gate = remote.hold["rep01"] = asyncio.Event()
    slow = asyncio.create_task(a.run_once())
    try:
        await until(lambda: "rep01" in remote.held)
        clock.advance(timedelta(seconds=61))
        assert await b.run_once() == 1
        remote.failing = True  # A's call now ends in an error
    finally:
        gate.set()
    await slow
    assert await statuses(db) == [("z", "delivered", 2)]
    remote.failing = False
    clock.advance(timedelta(hours=1))
    assert await a.drain() == 0 and await b.drain() == 0
    assert [m["key"] for m in remote.received] == ["z"]
    await sender.http.close()


async def test_a_hanging_delivery_is_cut_off_inside_its_lease(db: Database, remote: FlakyRemote) -> None:
    """No answer at all: the attempt ends at half the lease and the row is retried, never left to expire."""
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    outbox = OutboxSender(db, clock, {"wecom": sender}, lease_s=0.4)
    await put(db, clock, Outbound(to="rep01", body=Text("hi"), channel="wecom", dedup_key="h"))
    gate = remote.hold["rep01"] = asyncio.Event()
    try:
        assert await outbox.run_once() == 1  # returns after ~0.2 s although the remote never answered
    finally:
        gate.set()
    async with db.session() as s:
        row = (await s.execute(select(OutboxMessage))).scalar_one()
    assert (row.status, row.attempts) == ("pending", 1) and "no answer" in (row.last_error or "")
    clock.advance(timedelta(minutes=1))
    await outbox.drain()
    assert await statuses(db) == [("h", "delivered", 2)]
    await sender.http.close()


async def test_rows_waiting_for_a_free_slot_are_not_claimed_yet(db: Database, remote: FlakyRemote) -> None:
    """A batch bigger than the sender's concurrency: rows that cannot start yet must not be claimed, or their
    lease runs out while they wait, another sender delivers them, and then this one delivers them again."""
    clock = ManualClock(MONDAY_10AM)
    sender = HttpSender(remote.url)
    a, b = (OutboxSender(db, clock, {"wecom": sender}, lease_s=60, concurrency=1) for _ in range(2))
    await put(db, clock, Outbound(to="rep01", body=Text("slow"), channel="wecom", dedup_key="slow"),
              Outbound(to="rep02", body=Text("queued"), channel="wecom", dedup_key="queued"))
    gate = remote.hold["rep01"] = asyncio.Event()
    busy = asyncio.create_task(a.run_once())
    try:
        await until(lambda: "rep01" in remote.held)
        clock.advance(timedelta(seconds=61))  # A's call to rep01 hangs past its lease
        await b.drain()
    finally:
        gate.set()
    await busy
    await a.drain()
    assert [m["key"] for m in remote.received].count("queued") == 1
    assert dict((k, s) for k, s, _ in await statuses(db)) == {"slow": "delivered", "queued": "delivered"}
    await sender.http.close()


async def test_sending_queues_in_the_callers_transaction_and_wakes_only_after_a_commit(db: Database) -> None:
    """The once-a-day jobs claim their day and queue their messages in one transaction: a job that fails after
    queueing leaves no row (the claim and the message roll back together) and wakes nothing; one that commits
    wakes the sender, with no `wake()` by hand at the call site (issue 12)."""
    outbox = OutboxSender(db, ManualClock(MONDAY_10AM), {})
    with pytest.raises(RuntimeError):
        async with outbox.sending() as out:
            assert await out.add([Outbound("rep01", Text("a"), channel="wecom", dedup_key="k:a")]) == 1
            raise RuntimeError("the job failed after queueing")
    assert await statuses(db) == [] and not outbox._wake.is_set()
    async with outbox.sending() as out:
        await out.add(Outbound(u, Text("b"), channel="wecom", dedup_key=f"k:{u}") for u in ("rep01", "rep02"))
        assert not outbox._wake.is_set()  # not before the commit: the sender would find nothing
    assert [s[0] for s in await statuses(db)] == ["k:rep01", "k:rep02"] and outbox._wake.is_set()
    outbox._wake.clear()
    async with outbox.sending() as out:
        await out.add([])
    assert not outbox._wake.is_set()  # nothing queued: nothing to wake for
