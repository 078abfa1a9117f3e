"""A database outage while WeCom callbacks keep arriving (issue 20): shared by the suite's short outage
(tests/test_claim_spool_outage.py) and the full 60 s run (bench/db_outage.py).

The test database refuses connections (ALLOW_CONNECTIONS false, its sessions terminated) for `seconds` while a
callback arrives every `every_s`, and WeCom's retry of each (the same message again) follows it. Once the
database is back, a few callbacks are re-sent once more (a late retry). Every distinct message must then be
answered exactly once: its one reply row delivered, and the fake WeCom API given exactly as many messages.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import func, select

from app.server import INTAKE
from storage.models import InboundHandled, OutboxMessage
from tests.fakes.wecom_callback import text_xml
from tests.fakes.wecom_harness import WecomHarness

USERS = ("rep01", "rep02", "rep03", "rep04", "rep05", "manager01", "manager02", "admin01")


@dataclass
class OutageResult:
    seconds: float  # how long the database refused connections
    sent: int = 0  # distinct callbacks during the outage
    retries: int = 0  # the same callbacks again (during the outage and after it)
    not_acked: int = 0  # callbacks answered anything but 200
    spooled: int = 0  # claims in the local spool when the database came back
    answered: int = 0  # messages the fake WeCom API received for them
    handled_once: int = 0  # distinct callbacks with exactly one inbound_handled row and one delivered reply
    drained_s: float = 0.0  # database back → every spooled callback answered
    ack_ms: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.sent - self.handled_once

    @property
    def duplicated(self) -> int:
        return max(0, self.answered - self.sent)


async def allow_connections(admin_dsn: str, database: str, allow: bool) -> None:
    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allow else "false"}')
        if not allow:
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = $1 AND pid <> pg_backend_pid()", database)
    finally:
        await conn.close()


async def run_outage(h: WecomHarness, admin_dsn: str, database: str, seconds: float, every_s: float = 0.2,
                     drain_timeout_s: float = 120.0, at_least: int = 0) -> OutageResult:
    """The outage, the callbacks, the recovery; counted, not asserted (the caller asserts or reports). The
    outage lasts `seconds`, and longer on a loaded machine until `at_least` callbacks have arrived in it."""
    result = OutageResult(seconds)
    assert (await h.text("rep01", "帮助")).status == 200  # the pool is warm, the org known
    await h.settle()
    before = len(h.fake.sent)
    ids: list[int] = []
    payloads: dict[int, str] = {}

    async def post(msg_id: int) -> None:
        started = time.perf_counter()
        status = (await h.post(payloads[msg_id])).status
        result.ack_ms.append((time.perf_counter() - started) * 1000)
        result.not_acked += status != 200

    async def callback_and_retry(msg_id: int) -> None:
        await post(msg_id)
        await post(msg_id)  # WeCom's retry of the same callback (it retries when an ACK is slow)

    await allow_connections(admin_dsn, database, False)
    try:
        end, posting = time.monotonic() + seconds, []
        # open loop: a callback every `every_s`, however slow the answers are
        while time.monotonic() < end or len(ids) < at_least:
            msg_id = next(h.ids)
            payloads[msg_id] = text_xml(h.fake.corp_id, USERS[len(ids) % len(USERS)], f"帮助 {len(ids)}", msg_id,
                                        h.now)
            ids.append(msg_id)
            posting.append(asyncio.create_task(callback_and_retry(msg_id)))
            await asyncio.sleep(every_s)
        await asyncio.gather(*posting)
        result.sent, result.retries = len(ids), len(ids)
        result.spooled = len(h.app[INTAKE].spool or ())
    finally:
        await allow_connections(admin_dsn, database, True)
    back = time.monotonic()
    for msg_id in ids[:3]:  # a retry that arrives after the database is back
        await post(msg_id)
        result.retries += 1
    while h.app[INTAKE].spool and time.monotonic() - back < drain_timeout_s:  # noqa: ASYNC110 (the replay loop drains it)
        await asyncio.sleep(0.05)
    await h.settle()
    result.drained_s = time.monotonic() - back
    result.answered = len(h.fake.sent) - before
    result.handled_once = await _handled_once(h, ids)
    return result


async def _handled_once(h: WecomHarness, ids: list[int]) -> int:
    """Distinct messages with one inbound_handled row and one delivered reply row."""
    keys = {f"m{i}" for i in ids}  # the WeCom channel's dedup key of a MsgId
    async with h.services.db.session() as s:
        handled = (await s.execute(select(InboundHandled.msg_id, func.count()).where(
            InboundHandled.channel == "wecom", InboundHandled.msg_id.in_(keys)).group_by(InboundHandled.msg_id))).all()
        replies = (await s.execute(select(OutboxMessage.dedup_key).where(
            OutboxMessage.status == "delivered", OutboxMessage.dedup_key.like("in:wecom:%")))).scalars().all()
    delivered: dict[str, int] = {}
    for key in replies:
        msg_id = key.split(":")[2]  # in:wecom:<msg_id>:<n>
        delivered[msg_id] = delivered.get(msg_id, 0) + 1
    return sum(1 for msg_id, n in handled if n == 1 and delivered.get(msg_id) == 1)
