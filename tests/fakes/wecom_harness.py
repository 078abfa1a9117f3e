"""Test harness for the WeCom channel: our real app (create_app) on a TestServer, pointed at the fake
WeCom API, with encrypted callbacks built by the independent encryptor (tests/fakes/wecom_callback.py)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from app.server import METRICS, SCHEDULER, SERVICES, TASKS, create_app
from bot.channels.wecom.sender import WecomSender
from bot.clock import ManualClock
from bot.config import Settings, WecomSettings
from bot.jobs import JOBS
from bot.services import Services
from storage.models import OutboxMessage
from tests.conftest import ENGINES
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, event_xml, file_xml, image_xml, text_xml, voice_xml

TOKEN, AES_KEY = "cbToken123", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
AGENT_ID = 1000002


def wecom_settings(settings: Settings, fake: FakeWecom) -> Settings:
    return replace(settings, wecom=WecomSettings(
        corp_id=fake.corp_id, agent_id=AGENT_ID, secret=fake.secret, token=TOKEN, encoding_aes_key=AES_KEY,
        api_base=fake.base_url,
    ))


@dataclass
class WecomHarness:
    client: TestClient
    fake: FakeWecom
    clock: ManualClock
    cb: CallbackBuilder
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7_000_000))
    codes: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def app(self) -> web.Application:
        return self.client.app  # type: ignore[return-value]

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    @property
    def metrics(self) -> Any:
        return self.app[METRICS]

    @property
    def now(self) -> int:
        return int(self.clock.now().timestamp())

    async def post(self, plaintext: str) -> ClientResponse:
        query, body = self.cb.post(plaintext, self.now, nonce=str(next(self.ids)))
        return await self.client.post(f"/wecom/callback?{query}", data=body)

    async def text(self, user: str, content: str) -> ClientResponse:
        return await self.post(text_xml(self.fake.corp_id, user, content, next(self.ids), self.now))

    async def image(self, user: str, data: bytes, content_type: str = "image/jpeg") -> ClientResponse:
        media_id = f"MEDIA{next(self.ids)}"
        self.fake.media[media_id] = (data, content_type, "shot.jpg")
        return await self.post(image_xml(self.fake.corp_id, user, media_id, next(self.ids), self.now))

    async def file(self, user: str, data: bytes, file_name: str, content_type: str = "application/octet-stream"
                   ) -> ClientResponse:
        media_id = f"FILE{next(self.ids)}"
        self.fake.media[media_id] = (data, content_type, file_name)
        return await self.post(file_xml(self.fake.corp_id, user, media_id, file_name, next(self.ids), self.now))

    async def voice(self, user: str, amr: bytes) -> ClientResponse:
        media_id = f"VOICE{next(self.ids)}"
        self.fake.media[media_id] = (amr, "voice/amr", f"{media_id}.amr")
        return await self.post(voice_xml(self.fake.corp_id, user, media_id, next(self.ids), self.now))

    async def click(self, user: str, key: str, task_id: str) -> tuple[ClientResponse, str]:
        """A template_card_event as WeCom sends it; every click carries its own fresh ResponseCode."""
        code = f"RC{next(self.codes)}"
        resp = await self.post(event_xml(self.fake.corp_id, user, "template_card_event", self.now, EventKey=key,
                                         TaskId=task_id, CardType="button_interaction", ResponseCode=code))
        return resp, code

    async def settle(self) -> None:
        """Background jobs done and nothing due left in the outbox (the app's own loop may hold a row)."""
        await self.app[TASKS].join()
        await self.app[SCHEDULER].join()  # a tick in flight
        await self.services.shared(JOBS).join()
        outbox = self.services.outbox
        for _ in range(2000):
            await outbox.drain()
            if not await self.open_rows():
                return
            await asyncio.sleep(0.005)
        raise AssertionError("outbox did not drain")

    async def open_rows(self) -> int:
        o, now = OutboxMessage, self.clock.now()
        async with self.services.db.session() as s:
            stmt = select(func.count()).select_from(o).where(o.status.in_(("pending", "sending")),
                                                             o.next_attempt_at <= now)
            return int((await s.execute(stmt)).scalar_one())

    def cards_to(self, user: str) -> list[dict[str, Any]]:
        """template_card bodies accepted by message/send for `user`, in order."""
        return [b["template_card"] for b in self.fake.sent
                if b.get("touser") == user and b.get("msgtype") == "template_card"]


async def start_wecom_harness(settings: Settings, clock: ManualClock) -> AsyncIterator[WecomHarness]:
    fake = FakeWecom(corp_id="wwtestcorp0001")
    await fake.start()
    s = wecom_settings(settings, fake)
    app = await create_app(s, clock=clock, channels={"wecom": WecomSender(s.wecom, retry_delays=(0, 0, 0))},
                           engines=ENGINES)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    harness = WecomHarness(client, fake, clock, CallbackBuilder(TOKEN, AES_KEY, fake.corp_id))
    try:
        await harness.settle()  # the start-up runs' messages (the calendar check's note to the admins) first
        yield harness
    finally:
        await client.close()
        await fake.close()
