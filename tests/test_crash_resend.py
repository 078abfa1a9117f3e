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
from typing import Any

import pytest
from sqlalchemy import select, text

from app.runtime import build_services
from bot.channels.dingtalk.sender import DingtalkSender
from bot.channels.wecom.sender import Throttle, WecomSender
from bot.clock import ManualClock
from bot.config import DingtalkSettings, Settings
from bot.messages import Button, Card, Field, Image, Outbound, Text
from bot.outbox import OutboxSender, enqueue
from bot.services import Services
from storage.models import OutboxMessage
from tests.fakes.dingtalk_api import CLIENT_ID as DT_ID
from tests.fakes.dingtalk_api import CLIENT_SECRET as DT_SECRET
from tests.fakes.dingtalk_api import FakeDingtalk
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


# -- DingTalk: the cardBizId is its idempotency key ---------------------------------------------------------------

async def dingtalk_process(fake: FakeDingtalk, settings: Settings, clock: ManualClock) -> tuple[Services, Any]:
    """A fresh process (build_services, as `salesbot serve` wires it) on the shared database."""
    sender = DingtalkSender(DingtalkSettings(client_id=DT_ID, client_secret=DT_SECRET, api_base=fake.base_url))
    return await build_services(settings, clock, {"dingtalk": sender}, seed=False), sender


@pytest.mark.parametrize("to", ["manager01", "group:cid-team"])
async def test_a_dingtalk_card_taken_before_its_answer_was_lost_is_not_sent_again(
        settings: Settings, clock: ManualClock, to: str) -> None:
    """DingTalk took the approval card, the answer never came (a crash, a dropped connection); the next attempt, in
    a restarted process, finds the card under its cardBizId instead of sending a second one."""
    fake = FakeDingtalk()
    await fake.start()
    card = Card(title="线索超时未跟进", fields=(Field("客户", "某公司"),), buttons=(Button("esc:take:7", "接手"),),
                card_id="esc7")
    try:
        first, sender = await dingtalk_process(fake, settings, clock)
        fake.lose_answer("cardSend")
        async with first.db.session() as session:
            await enqueue(session, [Outbound(to, card, channel="dingtalk", dedup_key="esc:7")], clock.now(), "dingtalk")
        await first.outbox.drain()
        await sender.close()
        await first.db.dispose()
        clock.advance(timedelta(minutes=10))  # past the retry delay and any lease
        again, sender = await dingtalk_process(fake, settings, clock)
        await again.outbox.drain()
        await sender.close()
        async with again.db.session() as session:
            status = (await session.execute(select(OutboxMessage.status))).scalars().all()
        await again.db.dispose()
        taken = [c for c in fake.calls("cardSend") if c.body["_status"] == 200]
        assert len(taken) == 1, "the card was sent twice"
        assert [c.body["_status"] for c in fake.calls("cardUpdate")] == [200]  # found, and shown as this attempt
        assert status == ["delivered"]
    finally:
        await fake.close()


async def test_a_dingtalk_card_whose_first_attempt_never_arrived_is_sent(settings: Settings,
                                                                        clock: ManualClock) -> None:
    """The reconciliation does not swallow a card: an attempt that failed before DingTalk took it is sent again."""
    fake = FakeDingtalk()
    await fake.start()
    card = Card(title="请确认", buttons=(Button("ok:1", "确认"),), card_id="c1")
    try:
        services, sender = await dingtalk_process(fake, settings, clock)
        fake.fail("cardSend", status=503)  # refused: nothing shown
        async with services.db.session() as session:
            await enqueue(session, [Outbound("rep01", card, channel="dingtalk", dedup_key="c:1")], clock.now(),
                          "dingtalk")
        await services.outbox.drain()
        clock.advance(timedelta(minutes=10))
        await services.outbox.drain()
        await sender.close()
        await services.db.dispose()
        assert [c.body["_status"] for c in fake.calls("cardSend")] == [503, 200]
        assert [c.body["_status"] for c in fake.calls("cardUpdate")] == [400]  # asked first: not there
    finally:
        await fake.close()


# -- DingTalk robot messages: no idempotency key, so a small window and a bound ----------------------------------

async def outbox_status(services: Services) -> list[str]:
    async with services.db.session() as session:
        return list((await session.execute(select(OutboxMessage.status))).scalars().all())


async def test_a_dingtalk_text_that_dingtalk_took_is_not_sent_again_when_the_outbox_mark_was_lost(
        settings: Settings, clock: ManualClock) -> None:
    """DingTalk took the text and answered; the process died before the outbox row was marked delivered (here the
    database refuses the mark: the row stays `sending`, as after a kill -9). The next process does not send it again:
    the call's outcome was written right after the call."""
    fake = FakeDingtalk()
    await fake.start()
    try:
        first, sender = await dingtalk_process(fake, settings, clock)
        async with first.db.session() as session:
            await session.execute(text("CREATE TRIGGER no_mark BEFORE UPDATE OF status ON outbox "
                                       "WHEN NEW.status = 'delivered' BEGIN SELECT RAISE(ABORT, 'down'); END"))
            await enqueue(session, [Outbound("manager01", Text("今日跟进日报"), channel="dingtalk",
                                             dedup_key="digest:9")], clock.now(), "dingtalk")
        await first.outbox.drain()
        assert await outbox_status(first) == ["sending"]
        async with first.db.session() as session:
            await session.execute(text("DROP TRIGGER no_mark"))
        await sender.close()
        await first.db.dispose()
        clock.advance(timedelta(minutes=10))  # the lease has expired
        again, sender = await dingtalk_process(fake, settings, clock)
        await again.outbox.drain()
        await sender.close()
        assert await outbox_status(again) == ["delivered"]
        await again.db.dispose()
        assert len(fake.calls("batchSend")) == 1, "the text was sent again"
    finally:
        await fake.close()


@pytest.mark.parametrize("to", ["manager01", "group:cid-team"])
async def test_a_dingtalk_text_whose_answers_were_lost_is_sent_once_more_then_never_again(
        settings: Settings, clock: ManualClock, to: str) -> None:
    """Nobody saw the outcome of the first call (the connection dropped after DingTalk took it): the text is sent
    once more, identical (DingTalk drops an identical one-to-one repeat); when that answer is lost too, it is not
    sent a third time — at most two copies of a row, whatever happens."""
    fake = FakeDingtalk()
    await fake.start()
    route = "groupSend" if to.startswith("group:") else "batchSend"
    try:
        services, sender = await dingtalk_process(fake, settings, clock)
        fake.lose_answer(route, times=5)
        async with services.db.session() as session:
            await enqueue(session, [Outbound(to, Text("今日跟进日报"), channel="dingtalk", dedup_key="digest:3")],
                          clock.now(), "dingtalk")
        for _ in range(4):
            await services.outbox.drain()
            clock.advance(timedelta(minutes=30))  # past any backoff
        await sender.close()
        assert await outbox_status(services) == ["delivered"]
        await services.db.dispose()
        calls = fake.calls(route)
        assert len(calls) == 2
        assert calls[0].body["msgParam"] == calls[1].body["msgParam"]  # byte-identical: no new tag
    finally:
        await fake.close()


async def test_a_dingtalk_text_dingtalk_refused_is_sent_when_it_can_be(settings: Settings, clock: ManualClock) -> None:
    """A refusal (DingTalk answered: nothing shown) is no unseen outcome: every later attempt may send."""
    fake = FakeDingtalk()
    await fake.start()
    try:
        services, sender = await dingtalk_process(fake, settings, clock)
        fake.fail("batchSend", status=503, times=3)
        async with services.db.session() as session:
            await enqueue(session, [Outbound("rep01", Text("请补充客户电话"), channel="dingtalk", dedup_key="ask:1")],
                          clock.now(), "dingtalk")
        for _ in range(5):
            await services.outbox.drain()
            clock.advance(timedelta(minutes=30))
        await sender.close()
        assert await outbox_status(services) == ["delivered"]
        await services.db.dispose()
        assert [c.body["_status"] for c in fake.calls("batchSend")] == [503, 503, 503, 200]
    finally:
        await fake.close()


async def test_send_records_are_forgotten_once_nobody_can_read_them_again(org_db: Any) -> None:
    """The hourly clean-up drops attempt records after two days and media ids after four (uploads live three days);
    younger ones stay, so a resend within the platform's window still reuses them."""
    from bot.channels.media_memo import call_starts, forget_send_records, media_for

    start = ManualClock().now()

    async def upload() -> str:
        return "m-1"

    await media_for(org_db, start, "wecom", "row-old", timedelta(days=3), upload)
    await call_starts(org_db, start, "wecom", "row-old")
    later = start + timedelta(days=3)
    await media_for(org_db, later, "wecom", "row-new", timedelta(days=3), upload)
    await call_starts(org_db, later, "wecom", "row-new")
    assert await forget_send_records(org_db, start + timedelta(days=1, hours=23)) == 0  # nothing old enough yet
    assert await forget_send_records(org_db, later) == 1  # the old attempt record (3 days), its media id kept
    assert await forget_send_records(org_db, start + timedelta(days=4, hours=1)) == 1  # now the old media id
    async with org_db.session() as session:
        left = (await session.execute(text("select key from kv order by key"))).scalars().all()
    assert left == ["attempt:wecom:row-new", "media:wecom:row-new"]
