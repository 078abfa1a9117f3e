"""DingTalk HTTP callback mode end to end: signed callback → our app → handlers → outbox →
DingtalkSender → the fake DingTalk API on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from app.server import METRICS, TASKS
from bot.actions import Action
from bot.clock import ManualClock
from bot.config import Settings
from bot.context import Context
from bot.dispatch import UNSUPPORTED
from bot.messages import Button, Card, Inbound, Text
from bot.router import Router
from storage.models import User
from tests.fakes.dingtalk_harness import (
    Harness,
    card_click,
    message,
    picture_message,
    signed_headers,
    start_harness,
    text_message,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="http"):
        yield harness


@pytest.fixture
def seen() -> list[Inbound]:
    """What the probe router (`probed`) was handed."""
    return []


@pytest.fixture
async def probed(settings: Settings, clock: ManualClock, seen: list[Inbound]) -> AsyncIterator[Harness]:
    """The app with the probe router in place of the product's routes."""
    async for harness in start_harness(settings, clock, mode="http", router=probe_router(seen)):
        yield harness


@dataclass(frozen=True)
class Take(Action):
    """The probe's own button: 「接手」 on the card 「升级」 sends."""

    prefix: ClassVar[str] = "esc:take"
    lead_id: int


def probe_router(seen: list[Inbound]) -> Router:
    """A router standing in for features not built yet: records what the channel delivered."""
    router = Router("probe")

    @router.image()
    async def on_image(ctx: Context, msg: Inbound) -> None:
        seen.append(msg)
        ctx.reply(Text("收到截图" if msg.data else "图片下载失败，请重新发送"))

    @router.command("升级")
    async def escalate(ctx: Context, msg: Inbound) -> None:
        seen.append(msg)
        buttons = (Button("esc:take:7", "接手", "primary"), Button("esc:snooze:7", "延期"))
        ctx.send("manager01", Card(title="线索超时未跟进", fields=(), buttons=buttons))

    @router.card_action(Take)
    async def take(ctx: Context, action: Take) -> None:
        seen.append(ctx.msg)
        ctx.update_card(f"已由 {ctx.user.name} 接手")

    @router.text()
    async def other(ctx: Context, msg: Inbound) -> None:
        seen.append(msg)
        ctx.reply(Text(f"你说：{msg.text}"))

    return router


async def test_help_command_is_answered_through_batch_send(h: Harness) -> None:
    status, body = await h.post(text_message("帮助", sender="rep01"))
    assert (status, body) == (200, {"outcome": "accepted"})
    await h.settle()
    sent = h.fake.sent_to("rep01")
    assert len(sent) == 1
    assert sent[0]["msgKey"] == "sampleMarkdown"
    assert "你好，张伟（销售）" in sent[0]["text"]
    call = next(c for c in h.fake.calls("batchSend") if c.body["userIds"] == ["rep01"])
    assert call.body["robotCode"] == h.fake.client_id
    assert call.headers["x-acs-dingtalk-access-token"].startswith("tok-")
    assert h.app[METRICS]["dingtalk_accepted"] == 1


async def test_duplicate_delivery_is_handled_once(h: Harness) -> None:
    payload = text_message("帮助", msg_id="msgDUP==")
    assert await h.post(payload) == (200, {"outcome": "accepted"})
    assert await h.post(payload) == (200, {"outcome": "duplicate"})
    await h.settle()
    assert len(h.fake.sent_to("rep01")) == 1


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"timestamp": "1795400000000", "sign": "bm90IHRoZSBzaWdu"}, "forged"),
        ({}, "missing"),
        ({"timestamp": "yesterday", "sign": "x"}, "malformed"),
        ({"timestamp": "17954000000²", "sign": "x"}, "malformed"),  # a digit to str.isdigit, not to int()
        ({"timestamp": "１７９５４０００００００", "sign": "x"}, "malformed"),  # full-width digits
    ],
)
async def test_bad_sign_is_403_and_logged(h: Harness, headers: dict[str, str], why: str,
                                          caplog: pytest.LogCaptureFixture) -> None:
    if why == "forged":
        headers = {**signed_headers(h.now_ms(), secret="wrong secret"), "Content-Type": "application/json"}
    status, body = await h.post(text_message("帮助"), headers=headers)
    assert status == 403 and body == {"error": f"{why} sign"}
    assert f"refused ({why} sign)" in caplog.text
    await h.settle()
    assert h.fake.sent_to("rep01") == []


async def test_stale_timestamp_is_403(h: Harness) -> None:
    stale = h.now_ms() - 3600 * 1000 - 1  # one hour and a millisecond ago, correctly signed
    status, body = await h.post(text_message("帮助"), headers=signed_headers(stale))
    assert (status, body) == (403, {"error": "stale sign"})
    within = h.now_ms() - 3600 * 1000 + 1000
    status, _ = await h.post(text_message("帮助"), headers=signed_headers(within))
    assert status == 200


async def test_malformed_json_is_400_and_nothing_claimed(h: Harness) -> None:
    status, body = await h.post(b'{"msgtype": "text", "msgId": ')
    assert (status, body) == (400, {"error": "malformed JSON"})
    status, body = await h.post({"msgtype": "text", "text": {"content": "帮助"}})  # no msgId / sender
    assert status == 400 and "msgId missing" in body["error"]
    status, body = await h.post([1, 2])
    assert status == 400
    await h.settle()
    assert h.fake.sent_to("rep01") == []


async def test_deeply_nested_json_is_400_not_500(h: Harness) -> None:
    status, body = await h.post(b"[" * 200_000 + b"]" * 200_000)
    assert (status, body) == (400, {"error": "malformed JSON"})
    status, body = await h.post(b'{"msgId": ' + b"9" * 5000 + b"}")  # int() refuses > 4300 digits
    assert (status, body) == (400, {"error": "malformed JSON"})


async def test_oversized_body_is_413(h: Harness) -> None:
    big = text_message("x" * (h.services.settings.server.max_body_kb * 1024 + 10))
    status, _ = await h.post(big)
    assert status == 413


async def test_unknown_msgtype_gets_the_unsupported_answer(h: Harness) -> None:
    payload = message("video", content={"duration": "4000", "downloadCode": "video1", "videoType": "mp4"})
    assert await h.post(payload) == (200, {"outcome": "accepted"})
    await h.settle()
    assert [m["content"] for m in h.fake.sent_to("rep01")] == [UNSUPPORTED]


async def test_picture_is_downloaded_and_handed_to_the_image_handler(probed: Harness, seen: list[Inbound]) -> None:
    h = probed
    h.fake.files["pic-code-1"] = PNG
    assert await h.post(picture_message("pic-code-1", sender="rep02"))  == (200, {"outcome": "accepted"})
    await h.settle()
    assert len(seen) == 1
    msg = seen[0]
    assert (msg.kind, msg.data, msg.data_error, msg.user_id, msg.channel) == ("image", PNG, None, "rep02", "dingtalk")
    download = h.fake.calls("download")[0].body
    assert download["downloadCode"] == "pic-code-1" and download["robotCode"] == h.fake.client_id
    assert h.fake.sent_to("rep02")[0]["content"] == "收到截图"


@pytest.mark.parametrize("fault", ["download", "file", "unknown_code"])
async def test_failed_image_download_reaches_the_handler_as_data_error(probed: Harness, seen: list[Inbound],
                                                                      fault: str) -> None:
    h = probed
    if fault != "unknown_code":
        h.fake.files["pic-code-2"] = PNG
        h.fake.fail(fault, status=500, times=-1)
    await h.post(picture_message("pic-code-2"))
    await h.settle()
    assert [(m.kind, m.data, m.data_error) for m in seen] == [("image", None, "download_failed")]
    assert h.fake.sent_to("rep01")[0]["content"] == "图片下载失败，请重新发送"


async def test_rich_text_with_pictures_and_group_mention(probed: Harness, seen: list[Inbound]) -> None:
    h = probed
    h.fake.files.update({"rt-1": PNG, "rt-2": PNG + b"2"})
    rich = {"richText": [{"text": "@销售助手 这个客户"}, {"type": "picture", "downloadCode": "rt-1"},
                         {"type": "picture", "downloadCode": "rt-2"}]}
    await h.post(message("richText", content=rich, group=True, msg_id="msgRT=="))
    await h.post(text_message("@销售助手  你好呀", group=True))
    await h.settle()
    images = [m for m in seen if m.kind == "image"]
    assert [(m.msg_id, m.data, m.text) for m in images] == [("msgRT==#0", PNG, "这个客户"), ("msgRT==", PNG + b"2", "")]
    assert all(m.conversation_id == "cidGroupXYZ==" for m in seen)
    assert [m.text for m in seen if m.kind == "text"] == ["你好呀"]


async def test_group_question_is_answered_in_the_group(h: Harness) -> None:
    """@bot 帮助 in a group: the answer goes to that group (groupMessages/send), not to a one-to-one chat."""
    assert await h.post(text_message("@销售助手 帮助", group=True, sender="rep01")) == (200, {"outcome": "accepted"})
    await h.settle()
    assert h.fake.sent_to("rep01") == []
    sent = h.fake.calls("groupSend")
    assert len(sent) == 1 and sent[0].body["_status"] == 200
    assert sent[0].body["openConversationId"] == "cidGroupXYZ=="
    assert "你好，张伟（销售）" in json.loads(sent[0].body["msgParam"])["text"]


async def test_lead_commands_asked_in_a_group_are_answered_one_to_one(h: Harness) -> None:
    """@bot 我的线索 in a group: a rep's customers never show up in front of the group; the list goes 1:1."""
    asked = text_message("@销售助手 我的线索", group=True, sender="rep01")
    assert await h.post(asked) == (200, {"outcome": "accepted"})
    await h.settle()
    assert h.fake.calls("groupSend") == []
    assert len(h.fake.sent_to("rep01")) == 1


@pytest.mark.parametrize(
    ("fields", "why"),
    [({"senderStaffId": ""}, "no senderStaffId"), ({"senderCorpId": "dingOTHERcorp"}, "another organisation")],
)
async def test_unidentified_or_outside_senders_are_refused(h: Harness, fields: dict[str, str], why: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """No staff id (only the encrypted senderId) or another corp: never registered as a rep, never answered
    as one; a group gets a short line (a one-to-one chat cannot be answered without a staff id)."""
    single = text_message("我的线索", **fields)
    assert await h.post(single) == (200, {"outcome": "refused"})
    assert await h.post(text_message("@销售助手 我的线索", group=True, msg_id="msgREF==", **fields)) == (
        200, {"outcome": "refused"})
    await h.settle()
    assert why in caplog.text and "dingtalk message refused" in caplog.text
    assert h.fake.sent_to("$:LWCP_v1:$encrypted") == [] and h.fake.sent_to("rep01") == []
    group = [json.loads(c.body["msgParam"]) for c in h.fake.calls("groupSend")]
    assert group == [{"content": "抱歉，我只为本企业已登记的同事服务，请联系管理员开通。"}]
    async with h.services.db.session() as s:
        ids = set((await s.execute(select(User.id))).scalars())
    assert "$:LWCP_v1:$encrypted" not in ids


async def test_group_message_not_addressed_to_the_bot_is_ignored(h: Harness) -> None:
    status, body = await h.post(text_message("大家好", group=True, isInAtList=False))
    assert (status, body) == (200, {"outcome": "ignored"})


async def test_http_mode_card_buttons_are_numbered_replies(probed: Harness, seen: list[Inbound]) -> None:
    """HTTP mode has no card-click callback: the card comes as markdown listing its buttons by number,
    and replying with a number is the click (the status that replaces the buttons comes as a text)."""
    h = probed
    await h.post(text_message("升级", sender="rep01"))
    await h.settle()
    assert h.fake.calls("cardSend") == []
    card = h.fake.sent_to("manager01")
    assert len(card) == 1 and card[0]["msgKey"] == "sampleMarkdown" and card[0]["title"] == "线索超时未跟进"
    assert "回复数字即可操作：1 接手　2 延期" in card[0]["text"]

    assert await h.post(text_message("1", sender="manager01", nick="王经理")) == (200, {"outcome": "accepted"})
    await h.settle()
    click = seen[-1]
    assert (click.kind, click.click_key, click.user_id) == ("click", "esc:take:7", "manager01")
    assert [m["content"] for m in h.fake.sent_to("manager01")[1:]] == ["已由 王经理 接手"]
    await h.post(text_message("9", sender="manager01"))  # no such button: just a text
    await h.post(text_message("1", sender="rep02"))  # rep02 got no card: just a text
    await h.settle()
    # two users: handled concurrently, so compare without order (order is kept per user only)
    last_two = sorted((m.user_id, m.kind, m.text) for m in seen[-2:])
    assert last_two == [("manager01", "text", "9"), ("rep02", "text", "1")]


async def test_http_mode_refuses_card_callbacks(h: Harness) -> None:
    """Card clicks arrive only over Stream; a click-shaped POST to the robot callback is not one."""
    status, body = await h.post(card_click("sbX-1", "esc:take:7"))
    assert status == 400 and "stream" in body["error"]
    await h.settle()
    assert h.fake.calls("cardUpdate") == []


async def test_full_task_pool_answers_503_before_claiming(h: Harness) -> None:
    h.app[TASKS].max_pending = 0
    payload = text_message("帮助", msg_id="msgBUSY==")
    status, _ = await h.post(payload)
    assert status == 503
    h.app[TASKS].max_pending = 100
    assert await h.post(payload) == (200, {"outcome": "accepted"})  # the redelivery is not a duplicate


async def test_expired_token_is_refreshed_while_replying(h: Harness) -> None:
    await h.post(text_message("帮助"))
    await h.settle()
    h.fake.expire_tokens()
    await h.post(text_message("帮助"))
    await h.settle()
    assert len(h.fake.sent_to("rep01")) == 2
    statuses: list[Any] = [c.body["_status"] for c in h.fake.calls("batchSend") if c.body["userIds"] == ["rep01"]]
    assert statuses == [200, 400, 200]
    assert len(h.fake.calls("token")) == 2


async def test_too_large_picture_reaches_the_handler_as_too_large(settings: Settings, clock: ManualClock) -> None:
    from dataclasses import replace

    small = replace(settings, ocr=replace(settings.ocr, max_image_mb=0.001))  # ~1 KB
    seen: list[Inbound] = []
    async for harness in start_harness(small, clock, mode="http", router=probe_router(seen)):
        harness.fake.files["huge"] = b"\x89PNG" + b"\x00" * 5000
        await harness.post(picture_message("huge"))
        await harness.settle()
        assert [(m.data, m.data_error) for m in seen] == [(None, "too_large")]
