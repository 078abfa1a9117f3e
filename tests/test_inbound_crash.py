"""A real crash: `salesbot serve` on SQLite is killed (SIGKILL) while a callback it already ACKed is being
handled; after a restart the message is replayed and answered exactly once."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from bot.replay import GRACE
from tests.fakes.wecom_api import FakeWecom, Recorded
from tests.fakes.wecom_callback import CallbackBuilder, image_xml, text_xml
from tests.fakes.wecom_harness import AES_KEY, AGENT_ID, TOKEN
from tests.waiting import until

ROOT = Path(__file__).resolve().parent.parent


class HangingMedia(FakeWecom):
    """media/get never answers while `hang` is set: the handler is stuck before its transaction."""

    hang = True
    released: asyncio.Event | None = None

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        if self.hang:
            self.requests.append(Recorded("media/get", dict(request.query), None))
            self.released = self.released or asyncio.Event()
            await self.released.wait()  # until the fake closes
            return web.Response(status=503)
        return await super()._media_get(request)

    async def close(self) -> None:
        if self.released is not None:
            self.released.set()
        await super().close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m app.cli serve` configured through SALESBOT_* variables."""

    def __init__(self, tmp_path: Path, fake: FakeWecom) -> None:
        self.port = free_port()
        self.log = tmp_path / "serve.log"
        self.env = {
            "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
            "SALESBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/salesbot.db",
            "SALESBOT_SERVER_PORT": str(self.port), "SALESBOT_KNOWLEDGE_SEED_DEMO": "false",
            "SALESBOT_WECOM_CORP_ID": fake.corp_id, "SALESBOT_WECOM_AGENT_ID": str(AGENT_ID),
            "SALESBOT_WECOM_SECRET": fake.secret, "SALESBOT_WECOM_TOKEN": TOKEN,
            "SALESBOT_WECOM_ENCODING_AES_KEY": AES_KEY, "SALESBOT_WECOM_API_BASE": fake.base_url,
        }
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "serve", cwd=ROOT, env=self.env, stdout=log, stderr=log)
        async with ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except OSError:
                    pass
                assert self.proc.returncode is None, self.log.read_text()
                await asyncio.sleep(0.1)
        raise AssertionError(f"server did not start: {self.log.read_text()[-3000:]}")

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def server_until(cond: Callable[[], bool], what: str, server: Server) -> None:
    await until(cond, what, timeout_s=30, every_s=0.05, log=server.log.read_text)


@pytest.fixture
async def fake() -> AsyncIterator[HangingMedia]:
    async with HangingMedia(corp_id="wwtestcorp0001") as server:
        yield server


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_kill_9_after_the_ack_loses_nothing(tmp_path: Path, fake: HangingMedia) -> None:
    server = Server(tmp_path, fake)
    cb = CallbackBuilder(TOKEN, AES_KEY, fake.corp_id)
    fake.media["MEDIA1"] = (b"not a picture at all", "image/jpeg", "shot.jpg")
    await server.start()
    try:
        async with ClientSession() as http:
            now = int(time.time())
            query, body = cb.post(image_xml(fake.corp_id, "rep01", "MEDIA1", 5001, now), now, nonce="1")
            async with http.post(f"{server.url}/wecom/callback?{query}", data=body) as resp:
                assert resp.status == 200  # ACKed: WeCom will not send it again
            await server_until(lambda: bool(fake.calls("media/get")), "media download", server)
            await server.kill()  # mid-handler: nothing committed
            assert fake.texts_to("rep01") == []  # (an admin may get the start-up holiday-data notice)

            # Time passes beyond the grace period (moved in the claims file instead of waiting for it).
            db = sqlite3.connect(tmp_path / "salesbot.inbound.db")
            db.execute("UPDATE inbound_dedup SET received_at = datetime(received_at, ?)",
                       (f"-{int(GRACE.total_seconds()) + 10} seconds",))
            db.commit()
            db.close()

            fake.hang = False
            await server.start()  # the start-up sweep replays the message
            await server_until(lambda: bool(fake.texts_to("rep01")), "the reply", server)
            now = int(time.time())
            query, body = cb.post(text_xml(fake.corp_id, "rep01", "帮助", 5002, now), now, nonce="2")
            async with http.post(f"{server.url}/wecom/callback?{query}", data=body) as resp:
                assert resp.status == 200
            await server_until(lambda: len(fake.texts_to("rep01")) >= 2, "the help reply", server)
    finally:
        await server.stop()
    image_reply, help_reply = fake.texts_to("rep01")
    assert "图片" in image_reply and "销售助手能帮你做什么" in help_reply
    assert server.log.read_text().count("replaying wecom:m5001 not handled before a crash") == 1
