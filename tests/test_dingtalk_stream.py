"""DingTalk Stream mode: recorded frames through the SDK's CallbackMessage/handler boundary, and the
SDK client running inside our loop against the fake Stream gateway (WebSocket on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage

from app.server import CLAIMS, INTAKE, TASKS
from bot.actions import Action
from bot.channels.dingtalk.callback import CARD_TOPIC, RECEIVER, StreamHandler
from bot.clock import ManualClock
from bot.config import Settings
from bot.context import Context
from bot.dedup import claims_url
from bot.messages import Inbound, Text
from bot.router import Router
from tests.fakes.dingtalk_harness import (
    Harness,
    card_click,
    message,
    start_harness,
    stream_frame,
    text_message,
)
from tests.waiting import until


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="stream"):
        yield harness


@dataclass(frozen=True)
class Take(Action):
    """A probe router's own buttons (the product's are in bot/actions.py)."""

    prefix: ClassVar[str] = "esc:take"
    lead_id: int


@dataclass(frozen=True)
class Follow(Action):
    prefix: ClassVar[str] = "lead:follow"
    lead_id: int


def handler(h: Harness) -> StreamHandler:
    return StreamHandler(h.app[RECEIVER])


async def wait_for(predicate: Callable[[], object], what: str) -> None:
    await until(predicate, what, timeout_s=5)


async def test_recorded_message_frame_is_acked_then_answered(h: Harness) -> None:
    frame = stream_frame(text_message("帮助", sender="rep04", msg_id="msgS1=="), message_id="frame-1")
    msg = CallbackMessage.from_dict(frame)
    assert ChatbotMessage.from_dict(msg.data).sender_staff_id == "rep04"  # the SDK reads the same frame
    ack = await handler(h).raw_process(msg)
    assert (ack.code, ack.headers.message_id, json.loads(ack.to_dict()["data"])) == (
        AckMessage.STATUS_OK, "frame-1", {"response": "OK"})
    await h.settle()
    sent = h.fake.sent_to("rep04")
    assert len(sent) == 1 and "杨静" in sent[0]["text"]
    # DingTalk redelivers when the ACK was late: acknowledged again, handled once
    again = await handler(h).raw_process(CallbackMessage.from_dict(frame))
    assert again.code == AckMessage.STATUS_OK
    await h.settle()
    assert len(h.fake.sent_to("rep04")) == 1


async def test_recorded_card_callback_frame_becomes_a_click(settings: Settings, clock: ManualClock) -> None:
    clicks: list[Inbound] = []
    router = Router("probe")

    @router.card_action(Take)
    async def on_click(ctx: Context, action: Take) -> None:
        clicks.append(ctx.msg)
        ctx.update_card("已由 王经理 接手")

    async for h in start_harness(settings, clock, mode="stream", router=router):
        await _click_becomes_an_update(h, clicks)


async def _click_becomes_an_update(h: Harness, clicks: list[Inbound]) -> None:
    frame = stream_frame(card_click("sbCARD1", "esc:take:9"), topic=CARD_TOPIC)
    ack = await handler(h).raw_process(CallbackMessage.from_dict(frame))
    assert ack.code == AckMessage.STATUS_OK
    await h.settle()
    assert [(c.kind, c.click_key, c.card_ref, c.user_id) for c in clicks] == [
        ("click", "esc:take:9", "sbCARD1", "manager01")]
    assert h.fake.calls("cardUpdate")[0].body["cardBizId"] == "sbCARD1"


async def test_unreadable_frame_is_acked_and_full_pool_asks_for_redelivery(h: Harness) -> None:
    bad = stream_frame({"msgtype": "text", "text": {"content": "hi"}})  # no msgId
    ack = await handler(h).raw_process(CallbackMessage.from_dict(bad))
    assert (ack.code, ack.message) == (AckMessage.STATUS_OK, "OK")  # 200 is the only "consumed" code
    h.app[TASKS].max_pending = 0
    busy = await handler(h).raw_process(CallbackMessage.from_dict(stream_frame(text_message("帮助"))))
    assert busy.code == AckMessage.STATUS_SYSTEM_EXCEPTION


async def test_sdk_client_runs_in_our_loop_acks_and_reconnects(h: Harness) -> None:
    await wait_for(lambda: h.fake.connections == 1, "the stream connection")
    opened = h.fake.calls("open")[0].body
    assert {s["topic"] for s in opened["subscriptions"]} == {"/v1.0/im/bot/messages/get", CARD_TOPIC}
    assert opened["clientId"] == h.fake.client_id

    await h.fake.frames.put(stream_frame(text_message("帮助", sender="rep05"), message_id="frame-live-1"))
    await wait_for(lambda: h.fake.acks, "the ACK")
    assert h.fake.acks[0]["code"] == 200 and h.fake.acks[0]["headers"]["messageId"] == "frame-live-1"
    await h.settle()
    assert len(h.fake.sent_to("rep05")) == 1

    await h.fake.frames.put({"_close": True})  # the gateway drops the connection
    await wait_for(lambda: h.fake.connections == 2, "the reconnect")
    await h.fake.frames.put(stream_frame(card_click("sbX", "nothing:1"), topic=CARD_TOPIC, message_id="frame-live-2"))
    await wait_for(lambda: len(h.fake.acks) == 2, "the second ACK")
    assert h.fake.acks[1]["headers"]["messageId"] == "frame-live-2"


async def test_gateway_refusal_is_retried_with_backoff(h: Harness) -> None:
    await wait_for(lambda: h.fake.connections == 1, "first connection")
    h.fake.fail("open", status=500, times=1)
    await h.fake.frames.put({"_close": True})  # drop; the next open is refused, the one after works
    await wait_for(lambda: h.fake.connections == 2, "reconnect after a refused open")
    assert len(h.fake.calls("open")) == 3


async def test_http_route_absent_in_stream_mode(h: Harness) -> None:
    resp = await h.client.post("/dingtalk/callback", data=b"{}")
    assert resp.status == 404


async def test_second_click_on_the_same_button_is_handled_but_a_redelivery_is_not(settings: Settings,
                                                                                 clock: ManualClock) -> None:
    """跟进 twice on one card is two clicks (two frames); the same frame again is a redelivery."""
    clicks: list[Inbound] = []
    router = Router("probe")

    @router.card_action(Follow)
    async def on_click(ctx: Context, action: Follow) -> None:
        clicks.append(ctx.msg)
        ctx.reply(Text("已记录跟进"))

    async for h in start_harness(settings, clock, mode="stream", router=router):
        await _two_clicks_and_a_redelivery(h, clicks)


async def _two_clicks_and_a_redelivery(h: Harness, clicks: list[Inbound]) -> None:
    first = stream_frame(card_click("sbLEAD", "lead:follow:3", user="rep01"), topic=CARD_TOPIC, message_id="f-a")
    for frame in (first, first):  # the gateway redelivers the first frame (late ACK)
        assert (await handler(h).raw_process(CallbackMessage.from_dict(frame))).code == AckMessage.STATUS_OK
    await h.settle()
    assert len(clicks) == 1
    second = stream_frame(card_click("sbLEAD", "lead:follow:3", user="rep01"), topic=CARD_TOPIC, message_id="f-b")
    assert (await handler(h).raw_process(CallbackMessage.from_dict(second))).code == AckMessage.STATUS_OK
    await h.settle()
    assert len(clicks) == 2
    assert [m["content"] for m in h.fake.sent_to("rep01")] == ["已记录跟进", "已记录跟进\n#" + _tag(clicks[1])]


def _tag(msg: Inbound) -> str:
    import hashlib

    return hashlib.sha256(f"in:dingtalk:{msg.msg_id}:0".encode()).hexdigest()[:4]


# -- frames we cannot use: ACKed (so DingTalk does not push them again), logged, stream keeps running --
async def live_ack(h: Harness, frame: dict[str, Any]) -> dict[str, Any]:
    """Push one frame over the live gateway connection; the ACK frame our client sent back."""
    await wait_for(lambda: h.fake.connections >= 1, "the stream connection")
    seen = len(h.fake.acks)
    await h.fake.frames.put(frame)
    await wait_for(lambda: len(h.fake.acks) > seen, f"the ACK of {frame['headers']['messageId']}")
    return h.fake.acks[-1]


def warnings_about(caplog: pytest.LogCaptureFixture, frame_id: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and frame_id in r.getMessage()]


def assert_ok_ack(ack: dict[str, Any], frame_id: str) -> None:
    assert (ack["code"], ack["message"], ack["headers"]["messageId"]) == (200, "OK", frame_id)


async def test_frame_with_malformed_json_data_is_acked_and_logged(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    frame = stream_frame({}, message_id="frame-badjson")
    frame["data"] = '{"msgtype": "text", "msgId": '  # cut off mid-object
    ack = await live_ack(h, frame)
    assert_ok_ack(ack, "frame-badjson")
    assert any("JSONDecodeError" in m for m in warnings_about(caplog, "frame-badjson"))
    # the stream task lives on: the next frame on the same connection is handled
    ok = await live_ack(h, stream_frame(text_message("帮助", sender="rep06"), message_id="frame-after"))
    assert_ok_ack(ok, "frame-after")
    await h.settle()
    assert len(h.fake.sent_to("rep06")) == 1 and h.fake.connections == 1


async def test_frame_on_a_topic_we_do_not_subscribe_is_acked_and_logged(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    ack = await live_ack(h, stream_frame({"foo": 1}, topic="/v1.0/graph/api/invoke", message_id="frame-topic"))
    assert_ok_ack(ack, "frame-topic")
    assert any("/v1.0/graph/api/invoke" in m for m in warnings_about(caplog, "frame-topic"))


async def test_frame_missing_msg_id_is_acked_and_logged(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    data = text_message("帮助")
    del data["msgId"]
    ack = await live_ack(h, stream_frame(data, message_id="frame-noid"))
    assert_ok_ack(ack, "frame-noid")
    assert any("msgId missing" in m for m in warnings_about(caplog, "frame-noid"))


async def test_frame_missing_sender_staff_id_is_acked_and_logged(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    data = text_message("帮助")
    del data["senderStaffId"]
    ack = await live_ack(h, stream_frame(data, message_id="frame-nostaff"))
    assert_ok_ack(ack, "frame-nostaff")
    assert any("senderStaffId" in m for m in warnings_about(caplog, "frame-nostaff"))


async def test_unknown_msgtype_is_acked_and_answered_friendly(h: Harness) -> None:
    data = message("video", sender="rep07", content={"duration": 3, "downloadCode": "video01"})
    ack = await live_ack(h, stream_frame(data, message_id="frame-video"))
    assert_ok_ack(ack, "frame-video")
    await h.settle()
    assert ["暂不支持" in json.dumps(m, ensure_ascii=False) for m in h.fake.sent_to("rep07")] == [True]


async def test_claim_failure_is_spooled_acked_and_handled_once_the_database_is_back(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """The claims database is briefly unusable: the verified frame is kept in the local spool and ACKed (bot/spool.py),
    handled once the database is back, and DingTalk's redelivery then counts as the duplicate it is."""
    await h.app[CLAIMS].database()  # the sidecar exists with its table
    path = claims_url(h.services.settings.database.url).split(":///", 1)[1]
    await asyncio.to_thread(_sql, path, "ALTER TABLE inbound_dedup RENAME TO inbound_dedup_away")
    frame = stream_frame(text_message("帮助", sender="rep08", msg_id="msgClaim1=="), message_id="frame-claim")
    assert_ok_ack(await live_ack(h, frame), "frame-claim")
    assert "kept in the local spool" in caplog.text
    await asyncio.to_thread(_sql, path, "ALTER TABLE inbound_dedup_away RENAME TO inbound_dedup")
    assert await h.app[INTAKE].drain_spool() == 1
    await h.settle()
    assert_ok_ack(await live_ack(h, frame), "frame-claim")  # DingTalk's redelivery: a duplicate now
    await h.settle()
    assert len(h.fake.sent_to("rep08")) == 1 and h.fake.connections == 1


def _sql(path: str, statement: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(statement)
        conn.commit()
