"""A message delivered just before a crash is not delivered twice (issue 20, item 7).

kill -9 between the platform accepting a message and the outbox marking it delivered leaves the row `sending`;
after the lease another sender (a restarted process) sends it again. Reproduced first for an image: the new
process uploaded the picture afresh, got a new media id, and the manager got the image twice (WeCom's duplicate
check only drops identical requests). Now the row's media id is kept in the database before the send, so the
resend is identical and WeCom drops it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from app.runtime import build_services
from bot.channels.wecom.sender import Throttle, WecomSender
from bot.clock import ManualClock
from bot.config import Settings
from bot.messages import Image, Outbound, Text
from bot.outbox import OutboxSender
from bot.services import Services
from tests.fakes.wecom_api import FakeWecom

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    async with FakeWecom() as server:
        yield server


def wecom_sender(settings: Settings, fake: FakeWecom, delays: tuple[float, ...]) -> WecomSender:
    wecom = replace(settings.wecom, corp_id=fake.corp_id, agent_id=1000002, secret=fake.secret, token="t",
                    encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", api_base=fake.base_url)
    return WecomSender(wecom, retry_delays=delays, throttle=Throttle(((60.0, 1000),)))


@pytest.fixture
async def svc(settings: Settings, clock: ManualClock, fake: FakeWecom) -> AsyncIterator[Services]:
    first = wecom_sender(settings, fake, (30.0,))  # after a lost answer it waits 30 s: we "kill" it meanwhile
    services = await build_services(replace(settings, wecom=first.settings), clock, {"wecom": first})
    yield services
    await first.close()
    await services.db.dispose()


@pytest.mark.parametrize("body", [Image(PNG, "日报.png"), Text("今天的跟进提醒")], ids=["image", "text"])
async def test_a_row_sent_before_a_crash_is_not_sent_again(svc: Services, fake: FakeWecom, clock: ManualClock,
                                                           settings: Settings, body: Image | Text) -> None:
    await svc.outbox.send_now([Outbound("manager01", body, channel="wecom", dedup_key="digest:1")])
    fake.fail("message/send", "lost_answer", times=1)  # WeCom takes the message; the answer never arrives
    crashed = asyncio.create_task(svc.outbox.drain())
    for _ in range(500):  # until WeCom has taken the message (a condition, not a guess of how long it takes)
        if fake.sent:
            break
        await asyncio.sleep(0.01)
    crashed.cancel()  # kill -9: the row stays `sending`, nothing in memory survives
    await asyncio.gather(crashed, return_exceptions=True)
    assert len(fake.sent) == 1

    clock.advance(timedelta(minutes=2))  # the lease has expired
    restarted = wecom_sender(settings, fake, (0.0,))
    restarted.bind(svc.db, clock)  # as app.runtime.build_services does
    await OutboxSender(svc.db, clock, {"wecom": restarted}).drain()
    await restarted.close()
    assert len(fake.sent) == 1 and fake.duplicates_dropped == 1  # the resend was identical: WeCom dropped it
