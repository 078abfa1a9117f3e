"""DingTalk HTTP mode cannot be replayed or pointed at us from elsewhere (issue 20, item 1).

The callback signature covers only a timestamp (valid for an hour) and not the body. Reproduced first: one
captured header pair, replayed with a forged body in an admin's name, changed the company calendar. Now a used
(timestamp, sign) pair is refused, the body's robotCode / chatbotCorpId / group chat must be ours, and an
admin-only command arriving over HTTP mode runs only after the admin's confirm click (a numbered reply).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from reminders.calendar import load_calendar
from tests.fakes.dingtalk_harness import Harness, signed_headers, start_harness, text_message

DAY = date(2026, 12, 8)  # a Tuesday, normally worked


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="http"):
        yield harness


async def is_workday(h: Harness, day: date) -> bool:
    async with h.services.db.session() as s:
        return (await load_calendar(s, h.services.settings.reminders)).is_workday(day)


async def test_a_captured_header_pair_cannot_carry_a_second_body(h: Harness) -> None:
    captured = signed_headers(h.now_ms())
    assert await h.post(text_message("帮助", sender="admin01"), headers=captured) == (200, {"outcome": "accepted"})
    forged = text_message(f"放假 {DAY.isoformat()}", sender="admin01")
    status, body = await h.post(forged, headers=captured)
    assert (status, body) == (403, {"error": "replayed sign"})
    await h.settle()
    assert await is_workday(h, DAY)
    assert not any(DAY.isoformat() in str(m) for m in h.fake.sent_to("admin01"))  # not even a confirm card


async def test_admin_command_over_http_mode_waits_for_a_confirm_click(h: Harness) -> None:
    await h.post(text_message(f"放假 {DAY.isoformat()} 年会", sender="admin01"))
    await h.settle()
    assert await is_workday(h, DAY)  # not yet
    card = h.fake.sent_to("admin01")[-1]
    assert card["title"] == "请确认管理员操作" and "回复数字即可操作：1 确认执行　2 取消" in card["text"]
    await h.post(text_message("1", sender="admin01"))
    await h.settle()
    assert not await is_workday(h, DAY)
    assert any("已设为休息日" in m.get("content", "") for m in h.fake.sent_to("admin01"))


async def test_a_forged_body_cannot_style_the_confirm_card(h: Harness) -> None:
    """The confirm card quotes a body the forger wrote: it must arrive inert, not as a link, image or heading."""
    await h.post(text_message(f"放假 {DAY.isoformat()} [点此确认](http://x.example/ok) ![a](http://x.example/a.png)"
                              "\n#### 系统通知", sender="admin01"))
    await h.settle()
    card = h.fake.sent_to("admin01")[-1]
    assert card["title"] == "请确认管理员操作"
    assert "](http" not in card["text"] and "![" not in card["text"] and "\n####" not in card["text"]
    assert "［点此确认］" in card["text"]


async def test_cancel_and_expiry_run_nothing(h: Harness, clock: ManualClock) -> None:
    await h.post(text_message(f"放假 {DAY.isoformat()}", sender="admin01"))
    await h.settle()
    await h.post(text_message("2", sender="admin01"))
    await h.settle()
    assert await is_workday(h, DAY)
    await h.post(text_message(f"放假 {DAY.isoformat()}", sender="admin01"))
    await h.settle()
    clock.advance(timedelta(minutes=11))
    await h.post(text_message("1", sender="admin01"))
    await h.settle()
    assert await is_workday(h, DAY)
    assert "已过期" in h.fake.sent_to("admin01")[-1]["content"]


async def test_rep_commands_need_no_confirm(h: Harness) -> None:
    await h.post(text_message("帮助", sender="rep01"))
    await h.settle()
    assert "你好" in h.fake.sent_to("rep01")[0]["text"]


@pytest.mark.parametrize(
    ("fields", "config"),
    [
        ({"robotCode": "dingSOMEOTHERBOT"}, {}),
        ({"robotCode": None}, {}),
        ({"chatbotCorpId": "dingOTHER", "senderCorpId": "dingOTHER"}, {"corp_id": "dingcorp"}),
        ({}, {"corp_id": "dingANOTHER"}),
        ({"conversationId": "cidElsewhere=="}, {"group_conversations": ["cidGroupXYZ=="]}),
    ],
)
async def test_a_body_for_another_robot_corp_or_group_is_403(settings: Settings, clock: ManualClock,
                                                             fields: dict[str, object], config: dict[str, object],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    async for h in start_harness(settings, clock, mode="http"):
        from bot.channels.dingtalk.callback import RECEIVER

        receiver = h.app[RECEIVER]
        receiver.settings = replace(receiver.settings, **config)  # type: ignore[arg-type]
        payload = {k: v for k, v in text_message("@销售助手 帮助", group=True, **fields).items() if v is not None}
        status, body = await h.post(payload)
        assert (status, body) == (403, {"error": "not for this robot"})
        assert "dingtalk message refused" in caplog.text
        await h.settle()
        assert h.fake.calls("groupSend") == [] and h.fake.sent_to("rep01") == []


async def test_the_group_chats_the_robot_serves_still_work(settings: Settings, clock: ManualClock) -> None:
    async for h in start_harness(settings, clock, mode="http"):
        from bot.channels.dingtalk.callback import RECEIVER

        receiver = h.app[RECEIVER]
        receiver.settings = replace(receiver.settings, corp_id="dingcorp", group_conversations=["cidGroupXYZ=="])
        assert await h.post(text_message("@销售助手 帮助", group=True)) == (200, {"outcome": "accepted"})


async def raw_post(h: Harness, headers: bytes, body: bytes = b"{}") -> tuple[int, bytes]:
    """Header bytes aiohttp's client would refuse to send (non-ASCII, not UTF-8)."""
    server = h.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"POST /dingtalk/callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers
                 + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    response = await reader.read()
    writer.close()
    return int(response.split(b" ", 2)[1]), response


@pytest.mark.parametrize("sign", ["签名".encode() + b"=" * 40, b"\xff\xfe\xfd" + b"A" * 41, b"A" * 44])
async def test_a_sign_outside_base64_is_403_not_500(h: Harness, sign: bytes, caplog: pytest.LogCaptureFixture
                                                    ) -> None:
    status, _ = await raw_post(h, b"timestamp: %d\r\nsign: %s\r\n" % (h.now_ms(), sign))
    assert status == 403
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text
