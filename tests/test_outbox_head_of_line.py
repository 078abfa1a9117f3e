"""Per-recipient order with a way out (issue 20, item 2), against the fake WeCom API.

Reproduced first: a failing row kept every later row of its recipient back until it dead-lettered, and a
non-JSON 4xx (a gateway's HTML page) was retried as transient ~24 times (1.3–2.6 h), so 126 messages to two
managers waited behind two failing digest images. Now a failing row steps aside after HOL_ATTEMPTS attempts,
a non-JSON 4xx is permanent, and the admins hear about dead letters once a day.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.runtime import build_services
from bot.channels.wecom.sender import Throttle, WecomSender
from bot.clock import ManualClock
from bot.config import Settings
from bot.messages import Image, Outbound, Text
from bot.outbox import HOL_ATTEMPTS, HOL_MAX_ATTEMPTS
from bot.services import Services
from handlers.dead_letters import send_dead_letter_report
from storage.models import OutboxMessage
from tests.fakes.wecom_api import FakeWecom, strip_marker

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    async with FakeWecom() as server:
        yield server


@pytest.fixture
async def svc(settings: Settings, clock: ManualClock, fake: FakeWecom) -> AsyncIterator[Services]:
    wecom = replace(settings.wecom, corp_id=fake.corp_id, agent_id=1000002, secret=fake.secret, token="t",
                    encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", api_base=fake.base_url)
    sender = WecomSender(wecom, retry_delays=(0, 0, 0), throttle=Throttle(((60.0, 100_000),)))
    s = replace(settings, wecom=wecom, reminders=replace(settings.reminders, digest_time="09:30"))
    services = await build_services(s, clock, {"wecom": sender})
    yield services
    await sender.close()
    await services.db.dispose()


async def two_images_then_a_hundred_texts(svc: Services) -> None:
    """…while the rest of the team gets messages (the channel works: the fault is these rows')."""
    others = [Outbound(f"rep0{i}", Text("早上好"), channel="wecom", dedup_key=f"o{i}") for i in range(1, 6)]
    await svc.outbox.send_now(others)
    images = [Outbound("manager01", Image(PNG, f"日报{i}.png"), channel="wecom", dedup_key=f"img{i}") for i in (1, 2)]
    texts = [Outbound("manager01", Text(f"第{i}条"), channel="wecom", dedup_key=f"t{i}") for i in range(100)]
    await svc.outbox.send_now([*images, *texts])


def texts_to(fake: FakeWecom, user: str) -> list[str]:
    return [strip_marker(b["text"]["content"]) for b in fake.sent if b.get("touser") == user
            and b.get("msgtype") == "text"]


async def rows(svc: Services, *keys: str) -> list[tuple[str, int]]:
    async with svc.db.session() as s:
        found = await s.execute(select(OutboxMessage.status, OutboxMessage.attempts)
                                .where(OutboxMessage.dedup_key.in_(keys)).order_by(OutboxMessage.id))
        return [(status, attempts) for status, attempts in found]


async def test_two_failing_rows_hold_a_hundred_back_only_briefly(svc: Services, fake: FakeWecom,
                                                                 clock: ManualClock) -> None:
    fake.fail("media/upload", "drop")  # retryable: the connection goes away, every time
    await two_images_then_a_hundred_texts(svc)
    rounds = 0
    while len(texts_to(fake, "manager01")) < 100 and rounds < 30:
        await svc.outbox.drain()
        clock.advance(timedelta(seconds=10))  # a retry's backoff is 2–8 s here
        rounds += 1
    assert texts_to(fake, "manager01") == [f"第{i}条" for i in range(100)]  # in order among themselves
    # each failing row holds the queue for at most HOL_ATTEMPTS attempts (the second one starts after the first
    # stepped aside): about a minute of this clock in 10 s steps, where it was hours (24 attempts each)
    assert rounds <= 2 * HOL_ATTEMPTS + 1
    assert [status for status, _ in await rows(svc, "img1", "img2")] == ["pending", "pending"]  # retried on their own


async def test_alone_on_a_silent_channel_a_failing_row_steps_aside_later(svc: Services, fake: FakeWecom,
                                                                        clock: ManualClock) -> None:
    """Nothing else delivered (it may be an outage: keep the order longer), but still a bounded wait."""
    fake.fail("media/upload", "drop")
    await svc.outbox.send_now([Outbound("manager01", Image(PNG, "图.png"), channel="wecom", dedup_key="img"),
                               Outbound("manager01", Text("之后的消息"), channel="wecom", dedup_key="after")])
    rounds = 0
    while not texts_to(fake, "manager01") and rounds < 60:
        await svc.outbox.drain()
        clock.advance(timedelta(seconds=30))
        rounds += 1
    assert texts_to(fake, "manager01") == ["之后的消息"]
    assert (await rows(svc, "img"))[0][1] == HOL_MAX_ATTEMPTS  # it held the order this long, then stepped aside


async def test_a_non_json_4xx_is_permanent(svc: Services, fake: FakeWecom) -> None:
    fake.fail("media/upload", "html_403")
    await two_images_then_a_hundred_texts(svc)
    await svc.outbox.drain()
    assert await rows(svc, "img1", "img2") == [("dead", 1), ("dead", 1)]
    assert len(texts_to(fake, "manager01")) == 100


async def test_admins_hear_about_dead_letters_once_a_day(svc: Services, fake: FakeWecom,
                                                         clock: ManualClock) -> None:
    fake.fail("media/upload", "html_403")
    await two_images_then_a_hundred_texts(svc)
    await svc.outbox.drain()
    assert await send_dead_letter_report(svc) == 1  # admin01
    assert await send_dead_letter_report(svc) == 0  # once a day
    await svc.outbox.drain()
    report = texts_to(fake, "admin01")[-1]
    assert "有 2 条消息没能送达" in report and "王经理：2 条（对方拒绝接收）" in report
    clock.advance(timedelta(days=1))
    assert await send_dead_letter_report(svc) == 0  # nothing new since: no message
