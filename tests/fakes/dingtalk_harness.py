"""Test harness for the DingTalk channel: our real app (create_app) on a TestServer, pointed at
the fake DingTalk API, plus builders for signed callbacks and recorded Stream frames."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from dingtalk_stream import CallbackMessage
from sqlalchemy import func, select

from app.server import SCHEDULER, SERVICES, TASKS, create_app
from bot.channels.dingtalk.sign import compute_sign
from bot.clock import ManualClock
from bot.config import DingtalkSettings, Settings
from bot.jobs import JOBS
from bot.router import Router
from bot.services import Services
from storage.models import OutboxMessage
from tests.conftest import ENGINES
from tests.fakes.dingtalk_api import CLIENT_ID, CLIENT_SECRET, FakeDingtalk

_ids = itertools.count(1)
MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


def dingtalk_settings(settings: Settings, fake: FakeDingtalk, mode: str = "http") -> Settings:
    return replace(settings, dingtalk=DingtalkSettings(
        mode=mode, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base=fake.base_url,
        oapi_base=fake.base_url,
    ))


def signed_headers(now_ms: int, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {"timestamp": str(now_ms), "sign": compute_sign(str(now_ms), secret), "Content-Type": "application/json"}


def message(msgtype: str = "text", *, sender: str = "rep01", nick: str = "张伟", group: bool = False,
            msg_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A robot message as DingTalk delivers it (HTTP body = Stream frame data)."""
    body: dict[str, Any] = {
        "msgtype": msgtype,
        "msgId": msg_id or f"msgZ{next(_ids):06d}==",
        "createAt": 1795400000000,
        "conversationType": "2" if group else "1",
        "conversationId": "cidGroupXYZ==" if group else "cidSingle==",
        "senderId": "$:LWCP_v1:$encrypted",
        "senderNick": nick,
        "senderCorpId": "dingcorp",
        "senderStaffId": sender,
        "chatbotUserId": "$:LWCP_v1:$bot",
        "chatbotCorpId": "dingcorp",
        "robotCode": CLIENT_ID,
        "isAdmin": False,
        "isInAtList": True,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=fake",
        "sessionWebhookExpiredTime": 1795400600000,
    }
    if group:
        body["conversationTitle"] = "华东销售群"
        body["atUsers"] = [{"dingtalkId": "$:LWCP_v1:$bot"}]
    body.update(fields)
    return body


def text_message(text: str, **kw: Any) -> dict[str, Any]:
    return message("text", text={"content": text}, **kw)


def picture_message(code: str, **kw: Any) -> dict[str, Any]:
    return message("picture", content={"downloadCode": code, "pictureDownloadCode": code}, **kw)


def audio_message(recognition: str, duration_ms: int = 8000, code: str = "audioCode1", **kw: Any
                  ) -> dict[str, Any]:
    """A voice message with DingTalk's own recognition text (content.recognition)."""
    return message("audio", content={"duration": duration_ms, "downloadCode": code, "recognition": recognition},
                   **kw)


def card_click(out_track_id: str, action_id: str, user: str = "manager01") -> dict[str, Any]:
    """Card callback data (Stream topic /v1.0/card/instances/callback)."""
    return {
        "type": "actionCallback", "outTrackId": out_track_id, "corpId": "dingcorp", "userId": user,
        "userIdType": 1, "spaceType": "IM_ROBOT", "spaceId": "fake-space",
        "content": json.dumps({"cardPrivateData": {"actionIds": [action_id], "params": {}}}),
        "extension": "{}",
    }


def stream_frame(data: dict[str, Any], topic: str = MESSAGE_TOPIC,
                 message_id: str | None = None) -> dict[str, Any]:
    """A CALLBACK frame as the Stream gateway sends it (data is a JSON string)."""
    return {
        "specVersion": "1.0", "type": "CALLBACK",
        "headers": {"appId": "fake-app", "connectionId": "conn-1", "contentType": "application/json",
                    "messageId": message_id or f"frame-{next(_ids)}", "time": "1795400000000", "topic": topic},
        "data": json.dumps(data, ensure_ascii=False),
    }


@dataclass
class Harness:
    client: TestClient
    fake: FakeDingtalk
    clock: ManualClock

    @property
    def app(self) -> web.Application:
        return self.client.app  # type: ignore[return-value]

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    async def post(self, payload: Any, *, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        # DingTalk signs each callback afresh; a used (timestamp, sign) pair is refused, so each post gets its own
        headers = signed_headers(self.now_ms() - next(_ids) % 600_000) if headers is None else headers
        resp = await self.client.post("/dingtalk/callback", data=raw, headers=headers)
        body = await resp.json(content_type=None) if resp.status != 413 else {}
        return resp.status, body

    async def frame(self, data: dict[str, Any], topic: str = MESSAGE_TOPIC, message_id: str | None = None) -> int:
        """A recorded-shape Stream frame through the SDK boundary (CallbackMessage → our handler); the ACK code."""
        from bot.channels.dingtalk.callback import RECEIVER, StreamHandler

        msg = CallbackMessage.from_dict(stream_frame(data, topic, message_id))
        return int((await StreamHandler(self.app[RECEIVER]).raw_process(msg)).code)

    async def settle(self, rounds: int = 500) -> None:
        """Background jobs finished and nothing due left in the outbox."""
        for _ in range(rounds):
            await self.app[TASKS].join()  # background jobs (downloads, handlers) first
            await self.app[SCHEDULER].join()  # a tick in flight
            await self.services.shared(JOBS).join()  # and what they started (a file import)
            await self.services.outbox.drain()
            if not await self._open_outbox_rows():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("outbox did not settle")

    async def _open_outbox_rows(self) -> int:
        now = self.clock.now()
        o = OutboxMessage
        async with self.services.db.session() as s:
            stmt = select(func.count()).select_from(o).where(
                (o.status == "sending") | ((o.status == "pending") & (o.next_attempt_at <= now)))
            return int((await s.execute(stmt)).scalar_one())


async def start_harness(settings: Settings, clock: ManualClock, mode: str = "http", router: Router[Any] | None = None
                        ) -> AsyncIterator[Harness]:
    """The app on a fake DingTalk; `router`: a probe instead of the product's routes."""
    fake = FakeDingtalk()
    await fake.start()
    app = await create_app(dingtalk_settings(settings, fake, mode), clock=clock, router=router, engines=ENGINES)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    harness = Harness(client, fake, clock)
    try:
        await harness.settle()  # the start-up runs' messages (the calendar check's note to the admins) first
        yield harness
    finally:
        await client.close()
        await fake.close()
