"""Crash recovery for inbound messages: claims keep the payload, handlers mark them handled in their own
transaction, and the sweep replays what a crash left unhandled, once."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.server import CLAIMS, INTAKE
from bot.channels.wecom.parse import parse_message
from bot.clock import ManualClock
from bot.config import Settings
from bot.context import Context
from bot.dedup import InboundClaimer, mark_handled, open_claims_db
from bot.dispatch import dispatch
from bot.messages import Inbound, Text
from bot.replay import GRACE, prune, sweep
from bot.services import Services
from storage.db import Database
from storage.migrate import upgrade
from storage.models import AuditLog, InboundDedup, InboundHandled
from tests.conftest import MONDAY_10AM
from tests.fakes.wecom_callback import text_xml
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness

T0 = MONDAY_10AM


@dataclass
class Replays:
    """The replayer side of the sweep: records payloads; `room` False = the TaskPool is full."""

    got: list[str] = field(default_factory=list)
    room: bool = True

    async def wecom(self, payload: str) -> bool:
        if self.room:
            self.got.append(payload)
        return self.room


@dataclass
class Dbs:
    claimer: InboundClaimer
    claims: Database
    main: Database


@pytest.fixture
async def dbs(db_url: str) -> AsyncIterator[Dbs]:
    await upgrade(db_url)
    claimer = InboundClaimer(db_url)
    main = Database(db_url)
    yield Dbs(claimer, await claimer.database(), main)
    await claimer.close()
    await main.dispose()


async def handled(db: Database, channel: str, msg_id: str) -> None:
    async with db.session() as session:
        assert await mark_handled(session, channel, msg_id, T0)


async def claim(d: Dbs, msg_id: str, at_s: float = 0, payload: str | None = None) -> None:
    assert await d.claimer.claim("wecom", msg_id, T0 + timedelta(seconds=at_s), payload=payload or f"<{msg_id}>")


async def test_unhandled_claim_older_than_grace_is_replayed_once(dbs: Dbs) -> None:
    await claim(dbs, "lost")
    await claim(dbs, "done")
    await claim(dbs, "young", at_s=60)
    await handled(dbs.main, "wecom", "done")
    assert await dbs.claimer.claim("wecom", "nopayload", T0)  # claims without a payload are never replayed
    replays = Replays()
    now = T0 + GRACE + timedelta(seconds=10)
    assert await sweep(dbs.claims, dbs.main, {"wecom": replays.wecom}, now) == 1
    assert replays.got == ["<lost>"]
    assert await sweep(dbs.claims, dbs.main, {"wecom": replays.wecom}, now + timedelta(seconds=30)) == 0
    assert replays.got == ["<lost>"]
    later = T0 + timedelta(seconds=60) + GRACE + timedelta(seconds=1)  # now "young" is past the grace too
    assert await sweep(dbs.claims, dbs.main, {"wecom": replays.wecom}, later) == 1
    assert replays.got == ["<lost>", "<young>"]
    async with dbs.claims.session() as s:
        payloads = {k: p for k, p in await s.execute(select(InboundDedup.msg_id, InboundDedup.payload))}
    assert payloads["done"] is None  # a handled claim's payload is dropped by the sweep


async def test_concurrent_sweepers_replay_each_message_once(dbs: Dbs, db_url: str) -> None:
    for i in range(60):
        await claim(dbs, f"m{i}")
    other = InboundClaimer(db_url)  # a second server process: own engine, own connections
    a, b = Replays(), Replays()
    now = T0 + GRACE * 2
    try:
        counts = await asyncio.gather(sweep(dbs.claims, dbs.main, {"wecom": a.wecom}, now),
                                      sweep(await other.database(), Database(db_url), {"wecom": b.wecom}, now))
    finally:
        await other.close()
    assert sum(counts) == 60
    assert sorted(a.got + b.got) == sorted(f"<m{i}>" for i in range(60))


async def test_full_pool_is_retried_next_sweep(dbs: Dbs) -> None:
    await claim(dbs, "m1")
    replays = Replays(room=False)
    now = T0 + GRACE * 2
    assert await sweep(dbs.claims, dbs.main, {"wecom": replays.wecom}, now) == 0
    replays.room = True
    assert await sweep(dbs.claims, dbs.main, {"wecom": replays.wecom}, now) == 1
    assert replays.got == ["<m1>"]


async def test_old_claims_are_not_replayed_and_pruned_after_a_week(dbs: Dbs) -> None:
    await claim(dbs, "old")
    await handled(dbs.main, "wecom", "old")
    replays = Replays()
    assert await sweep(dbs.claims, dbs.main, {"wecom": replays.wecom}, T0 + timedelta(hours=25)) == 0
    await prune(dbs.claims, dbs.main, T0 + timedelta(days=6))
    assert (await count(dbs.claims, InboundDedup), await count(dbs.main, InboundHandled)) == (1, 1)
    await prune(dbs.claims, dbs.main, T0 + timedelta(days=7, seconds=1))
    assert (await count(dbs.claims, InboundDedup), await count(dbs.main, InboundHandled)) == (0, 0)


async def count(db: Database, model: type) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


def test_older_sidecar_gets_the_new_columns(tmp_path: Path) -> None:
    """A sidecar claims file written before payloads existed keeps its rows and gains the columns."""
    old = sqlite3.connect(tmp_path / "salesbot.inbound.db")
    old.execute("CREATE TABLE inbound_dedup (id INTEGER NOT NULL PRIMARY KEY, channel VARCHAR(16) NOT NULL, "
                "msg_id VARCHAR(191) NOT NULL, received_at DATETIME NOT NULL, "
                "CONSTRAINT uq_inbound_channel_msg UNIQUE (channel, msg_id))")
    old.execute("INSERT INTO inbound_dedup (channel, msg_id, received_at) VALUES ('wecom', 'seen', '2026-11-23')")
    old.commit()
    old.close()

    async def run() -> tuple[bool, bool]:
        claimer = InboundClaimer(f"sqlite+aiosqlite:///{tmp_path}/salesbot.db")
        try:
            return (await claimer.claim("wecom", "seen", T0, payload="x"),
                    await claimer.claim("wecom", "new", T0, payload="<new>"))
        finally:
            await claimer.close()

    assert asyncio.run(run()) == (False, True)
    db = sqlite3.connect(tmp_path / "salesbot.inbound.db")
    assert db.execute("SELECT payload FROM inbound_dedup WHERE msg_id = 'new'").fetchone() == ("<new>",)
    assert {r[1] for r in db.execute("PRAGMA index_list(inbound_dedup)")} >= {"ix_inbound_dedup_received_at"}
    db.close()
    asyncio.run(_reopen(tmp_path))  # opening an up-to-date sidecar again changes nothing


async def _reopen(tmp_path: Path) -> None:
    db = await open_claims_db(f"sqlite+aiosqlite:///{tmp_path}/salesbot.db")
    await db.dispose()


# -- the handled row guards the handler's effects ---------------------------------------------
def probe(services: Services) -> None:
    @services.router.command("记")
    async def note(ctx: Context, msg: Inbound) -> None:
        session = await ctx.db()
        session.add(AuditLog(actor_id=ctx.user.id, action="note", target=msg.msg_id, detail={}, created_at=ctx.now()))
        ctx.reply(Text("记下了"))


async def test_a_second_run_of_a_handled_message_changes_nothing(
        services: Services, caplog: pytest.LogCaptureFixture) -> None:
    probe(services)
    msg = Inbound("wecom", "rep01", "m42", "text", services.clock.now(), text="记")
    with caplog.at_level(logging.WARNING):
        await asyncio.gather(dispatch(services, msg), dispatch(services, msg))
        await dispatch(services, msg)
    assert await count(services.db, AuditLog) == 1
    assert await count(services.db, InboundHandled) == 1
    assert sum("already handled" in r.getMessage() for r in caplog.records) == 2


async def test_failed_and_refused_messages_count_as_handled(services: Services) -> None:
    @services.router.command("炸")
    async def boom(ctx: Context, msg: Inbound) -> None:
        raise RuntimeError("kaboom")

    now = services.clock.now()
    await dispatch(services, Inbound("wecom", "rep01", "m1", "text", now, text="炸"))
    await dispatch(services, Inbound("wecom", "stranger", "m2", "text", now, text="你好"))
    async with services.db.session() as s:
        rows = {(c, m) for c, m in await s.execute(select(InboundHandled.channel, InboundHandled.msg_id))}
    assert rows == {("wecom", "m1"), ("wecom", "m2")}


# -- end to end: the real app and the fake WeCom API ------------------------------------------
@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[WecomHarness]:
    async for harness in start_wecom_harness(settings, clock):
        yield harness


async def test_message_claimed_but_never_handled_is_replayed_once(
        h: WecomHarness, caplog: pytest.LogCaptureFixture) -> None:
    plain = text_xml(h.fake.corp_id, "rep01", "帮助", 4242, h.now)
    key = parse_message(plain).dedup_key
    # The crash: the callback claimed the message (and WeCom got its ACK); the process died before the job ran.
    assert await h.app[CLAIMS].claim("wecom", key, h.clock.now(), payload=plain)
    assert (await h.post(plain)).status == 200  # a late resend is a duplicate: no help from here
    await h.settle()
    assert h.fake.texts_to("rep01") == [] and h.metrics["wecom_duplicates"] == 1
    assert await h.app[INTAKE].sweep() == 0  # still inside the grace period

    h.clock.advance(GRACE + timedelta(seconds=1))
    with caplog.at_level(logging.WARNING):
        assert await h.app[INTAKE].sweep() == 1
    assert f"replaying wecom:{key} not handled before a crash" in caplog.text
    await h.settle()
    (text,) = h.fake.texts_to("rep01")  # (admins may also get the start-up holiday-data notice)
    assert "销售助手能帮你做什么" in text

    h.clock.advance(timedelta(minutes=1))
    assert await h.app[INTAKE].sweep() == 0
    await h.settle()
    assert len(h.fake.texts_to("rep01")) == 1


async def test_handled_callback_is_not_replayed(h: WecomHarness) -> None:
    assert (await h.text("rep02", "帮助")).status == 200
    await h.settle()
    h.clock.advance(GRACE * 2)
    assert await h.app[INTAKE].sweep() == 0
    await h.settle()
    assert len(h.fake.texts_to("rep02")) == 1
