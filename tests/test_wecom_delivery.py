"""Outbox → WeCom under faults: a two-minute outage (errcode -1 on every send), lost answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.runtime import build_services
from bot.channels.wecom.sender import Throttle, WecomSender
from bot.clock import ManualClock
from bot.config import Settings, WecomSettings
from bot.messages import Outbound, Text
from bot.outbox import enqueue
from bot.services import Services
from storage.models import OutboxMessage
from tests.fakes.wecom_api import FakeWecom

USERS = ("rep01", "rep02", "manager01")


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    async with FakeWecom() as server:
        yield server


@pytest.fixture
async def services(settings: Settings, clock: ManualClock, fake: FakeWecom) -> AsyncIterator[Services]:
    wecom = WecomSettings(corp_id=fake.corp_id, agent_id=1000002, secret=fake.secret, token="t",
                          encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", api_base=fake.base_url)
    s = replace(settings, wecom=wecom)
    sender = WecomSender(wecom, retry_delays=(0, 0, 0))
    svc = await build_services(s, clock, {"wecom": sender})
    yield svc
    await sender.close()
    await svc.db.dispose()


async def queue(services: Services, n: int) -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {u: [] for u in USERS}
    messages = []
    for i in range(n):
        for user in USERS:
            text = f"第{i}条提醒"  # the same text for everyone: only the dedup key tells repeats apart
            expected[user].append(text)
            messages.append(Outbound(to=user, body=Text(text), channel="wecom", dedup_key=f"t:{user}:{i}"))
    async with services.db.session() as session:
        await enqueue(session, messages, services.clock.now(), "wecom")
    return expected


async def statuses(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        rows = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return dict(rows.all())  # type: ignore[arg-type]


async def test_two_minute_outage_then_everything_once_in_order(
    services: Services, clock: ManualClock, fake: FakeWecom
) -> None:
    expected = await queue(services, 6)
    outbox = services.outbox
    start = clock.now()
    fake.fail("message/send", "busy")
    for _ in range(400):
        if clock.now() - start >= timedelta(minutes=2):
            fake.clear_faults()
        await outbox.run_once()
        if (await statuses(services)).get("pending", 0) == 0 and not fake.faults:
            break
        clock.advance(timedelta(seconds=1))
    assert len(fake.calls("message/send")) > len(fake.sent)  # the outage really happened
    assert await statuses(services) == {"delivered": 18}
    for user in USERS:
        assert fake.texts_to(user) == expected[user]  # exactly once, in order per recipient
    assert fake.duplicates_dropped == 0


async def test_lost_answer_resend_is_dropped_by_duplicate_check(services: Services, fake: FakeWecom) -> None:
    await queue(services, 1)
    fake.fail("message/send", "lost_answer", times=1)  # WeCom got the first message, we never heard back
    outbox = services.outbox
    await outbox.drain()
    assert await statuses(services) == {"delivered": 3}
    assert fake.duplicates_dropped == 1  # our retry carried identical content, so WeCom kept one copy
    assert sum(len(fake.texts_to(u)) for u in USERS) == 3


async def test_permanent_error_dead_letters_without_blocking_others(services: Services, fake: FakeWecom) -> None:
    fake.invalid_users.add("rep02")  # errcode 81013 for a recipient nobody knows
    await queue(services, 2)
    outbox = services.outbox
    await outbox.drain()
    assert await statuses(services) == {"delivered": 4, "dead": 2}
    assert fake.texts_to("rep01") == ["第0条提醒", "第1条提醒"]


async def test_throttled_recipient_does_not_delay_others(
    settings: Settings, clock: ManualClock, fake: FakeWecom
) -> None:
    """rep01 is at WeCom's per-member limit: their rows wait (handed back with retry_after), rep02's go now."""
    tick = Tick()
    wecom = replace(settings.wecom, corp_id=fake.corp_id, agent_id=1000002, secret=fake.secret, token="t",
                    encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", api_base=fake.base_url)
    sender = WecomSender(wecom, retry_delays=(0, 0, 0), throttle=Throttle(((14.0, 1),), monotonic=tick))
    svc = await build_services(replace(settings, wecom=wecom), clock, {"wecom": sender})
    outbox = svc.outbox
    await send_now(svc, Outbound(to="rep01", body=Text("一"), channel="wecom", dedup_key="r1"))
    await outbox.drain()
    stop = asyncio.Event()
    loop = asyncio.create_task(outbox.run_forever(interval_s=60, stop=stop))
    await send_now(svc, Outbound(to="rep01", body=Text("二"), channel="wecom", dedup_key="r2"))
    await handed_back(svc, "r2", clock.now())  # the loop took rep01's throttled row first and gave it back
    await send_now(svc, Outbound(to="rep02", body=Text("你好"), channel="wecom", dedup_key="o1"))
    for _ in range(500):  # a generous bound (5 s); before the fix rep02 waited out rep01's 14 s throttle
        if fake.texts_to("rep02"):
            break
        await asyncio.sleep(0.01)
    assert fake.texts_to("rep02") == ["你好"] and fake.texts_to("rep01") == ["一"]
    async with svc.db.session() as session:
        row = (await session.execute(select(OutboxMessage).where(OutboxMessage.dedup_key == "r2"))).scalar_one()
    assert row.status == "pending" and row.next_attempt_at > clock.now()  # handed back, not slept on
    assert row.attempts == 0  # waiting out a throttle is not a failed attempt: a long burst never dead-letters
    tick.t += 15
    clock.advance(timedelta(seconds=15))
    outbox.wake()
    for _ in range(500):
        if len(fake.texts_to("rep01")) == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await loop
    assert fake.texts_to("rep01") == ["一", "二"]
    await sender.close()
    await svc.db.dispose()


async def test_untrusted_ip_rows_wait_and_go_out_after_the_fix(
    services: Services, clock: ManualClock, fake: FakeWecom
) -> None:
    """60020 on every call: nothing dead-letters however long the admin takes (attempts are not used up);
    once the IP is added everything is delivered once."""
    expected = await queue(services, 2)
    outbox = services.outbox
    fake.fail("*", "untrusted_ip")
    for _ in range(30):  # two and a half hours of the misconfiguration (past 24 attempts), 5 minutes per round
        await outbox.run_once()
        clock.advance(timedelta(minutes=5))
    assert await statuses(services) == {"pending": 6}
    async with services.db.session() as session:
        assert set((await session.execute(select(OutboxMessage.attempts))).scalars()) == {0}
    fake.clear_faults()
    for _ in range(30):
        await outbox.run_once()
        if await statuses(services) == {"delivered": 6}:
            break
        clock.advance(timedelta(minutes=5))
    assert await statuses(services) == {"delivered": 6}
    for user in USERS:
        assert fake.texts_to(user) == expected[user]


class Tick:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def send_now(svc: Services, msg: Outbound) -> None:
    async with svc.db.session() as session:
        await enqueue(session, [msg], svc.clock.now(), "wecom")
    svc.outbox.wake()


async def handed_back(svc: Services, key: str, now: datetime) -> None:
    """Until the sender has tried the row `key` and handed it back for later (no guess of how long that takes)."""
    for _ in range(500):
        async with svc.db.session() as session:
            row = (await session.execute(select(OutboxMessage).where(OutboxMessage.dedup_key == key))).scalar_one()
        if row.status == "pending" and row.next_attempt_at > now:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{key} was never handed back")
