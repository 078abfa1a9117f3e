"""`[server] handler_process`: `salesbot serve` verifies, claims and ACKs callbacks, and a child process
(`serve --role handlers`) handles the messages (issue 19: the handlers' CPU on a second core, off the ACKs' loop).
Each message is answered once, by the child; a duplicate is still refused by serve; the child killed with -9 is
started again and messages are answered meanwhile; the child goes when serve goes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from aiohttp import ClientSession
from sqlalchemy import select

from app.handler_process import HandlerChild
from bot.channels.wecom.sender import DEFAULT_LIMITS
from bot.config import Settings
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import sqlite_url
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, text_xml
from tests.fakes.wecom_harness import AES_KEY, TOKEN
from tests.servers import Server, wecom_env
from tests.test_console_process import _children, _cmdline, _zombie
from tests.waiting import until


def _handlers(server: Server) -> list[int]:
    assert server.proc is not None
    return [pid for pid in _children(server.proc.pid) if "--role handlers" in _cmdline(pid) and not _zombie(pid)]


async def _metric(http: ClientSession, url: str, prefix: str, process: str | None = None) -> float:
    """The sum of the samples named `prefix…`: serve's own, or (`process`) those the child sent."""
    async with http.get(f"{url}/metrics") as resp:
        text = await resp.text()
    label = f'process="{process}"'
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(prefix) and (label in line if process else "process=" not in line))


async def test_messages_are_handled_in_the_child_once_each_and_it_survives_a_kill(tmp_path: Path) -> None:
    async with FakeWecom(corp_id="wwhandlerproc01") as fake:
        env = wecom_env(sqlite_url(tmp_path), fake.corp_id, fake.secret, fake.base_url,
                        SALESBOT_SERVER_WARM_UP="false", SALESBOT_SERVER_HANDLER_PROCESS="true",
                        SALESBOT_KNOWLEDGE_SEED_DEMO="false", SALESBOT_SERVER_SPOOL_DIR=str(tmp_path / "spool"))
        server = Server(tmp_path, env)
        await server.start()
        cb = CallbackBuilder(TOKEN, AES_KEY, fake.corp_id)
        children: list[int] = []
        try:
            await until(lambda: "handlers process ready" in server.log_text(), "the handler child ready",
                        timeout_s=90, log=server.log_text)
            children = _handlers(server)
            assert len(children) == 1, [_cmdline(pid) for pid in _children(server.proc.pid)]  # type: ignore[union-attr]

            async with ClientSession() as http:
                async def say(user: str, msg_id: int) -> int:
                    now = int(time.time())
                    query, body = cb.post(text_xml(fake.corp_id, user, "帮助", msg_id, now), now, nonce=str(msg_id))
                    async with http.post(f"{server.url}/wecom/callback?{query}", data=body) as resp:
                        return resp.status

                users = [f"hp{i:02d}" for i in range(12)]
                assert await asyncio.gather(*(say(u, 5000 + i) for i, u in enumerate(users))) == [200] * 12
                assert await say(users[0], 5000) == 200  # WeCom's retry of the same callback: ACKed, not handled
                await until(lambda: all(fake.texts_to(u) for u in users), "every user answered", timeout_s=30,
                            log=server.log_text)
                # serve itself handled none of them: its handler histogram is empty; the child's, on serve's
                # /metrics, counts the 12
                assert await _metric(http, server.url, "salesbot_handler_seconds_count") == 0

                async def child_counted() -> bool:
                    return await _metric(http, server.url, "salesbot_handler_seconds_count", "handlers") == 12

                await until(child_counted, "the child's handler histogram on serve's /metrics", timeout_s=15,
                            every_s=0.2)
                assert await _metric(http, server.url, "salesbot_wecom_duplicates") == 1

                os.kill(children[0], signal.SIGKILL)  # the child dies: serve handles meanwhile, then starts it again
                await until(lambda: "handlers process exited" in server.log_text(), "serve saw the child die",
                            log=server.log_text)
                assert await say("hp_during", 6000) == 200
                await until(lambda: fake.texts_to("hp_during"), "answered while the child was down", timeout_s=30,
                            log=server.log_text)
                await until(lambda: server.log_text().count("handlers process ready") == 2, "the child restarted",
                            timeout_s=90, log=server.log_text)
                children = _handlers(server)
                assert await say("hp_after", 6001) == 200
                await until(lambda: fake.texts_to("hp_after"), "answered by the new child", timeout_s=30,
                            log=server.log_text)
                await asyncio.sleep(1.0)  # any second answer would have been sent by now
                for user in [*users, "hp_during", "hp_after"]:
                    assert len(fake.texts_to(user)) == 1, (user, fake.texts_to(user))

            await server.kill()  # kill -9: nothing stops the child but its own check
            await until(lambda: all(not _cmdline(pid) or _zombie(pid) for pid in children),
                        "the child gone after serve", timeout_s=15)
        finally:
            await server.stop()
            for pid in children:
                if "--role handlers" in _cmdline(pid) and not _zombie(pid):
                    os.kill(pid, signal.SIGKILL)


async def test_serve_and_its_child_together_stay_within_the_per_member_limit(tmp_path: Path) -> None:
    """SQLite, `handler_process` on: serve's outbox and the child's both send (serve polls, the child hands its
    answers over), each with its own in-memory throttle; the per-member limit holds over both, because each send
    counts what the outbox says was delivered, by any process. A rep writes more than the limit allows in a
    minute, spread over serve's polls: WeCom gets exactly the limit, the rest waits."""
    per_minute = DEFAULT_LIMITS[0][1]
    async with FakeWecom(corp_id="wwhandlerproc02") as fake:
        env = wecom_env(sqlite_url(tmp_path), fake.corp_id, fake.secret, fake.base_url,
                        SALESBOT_SERVER_WARM_UP="false", SALESBOT_SERVER_HANDLER_PROCESS="true",
                        SALESBOT_SERVER_TICK_SECONDS="0.2", SALESBOT_KNOWLEDGE_SEED_DEMO="false")
        server = Server(tmp_path, env)
        await server.start()
        cb = CallbackBuilder(TOKEN, AES_KEY, fake.corp_id)
        try:
            await until(lambda: "handlers process ready" in server.log_text(), "the handler child ready",
                        timeout_s=90, log=server.log_text)
            async with ClientSession() as http:
                for i in range(per_minute + 12):
                    now = int(time.time())
                    query, body = cb.post(text_xml(fake.corp_id, "chatty", "帮助", 7000 + i, now), now,
                                          nonce=str(7000 + i))
                    async with http.post(f"{server.url}/wecom/callback?{query}", data=body) as resp:
                        assert resp.status == 200
                    await asyncio.sleep(0.05)  # spread over several of serve's polls
            db = Database(sqlite_url(tmp_path))
            try:
                async def held_back() -> bool:
                    async with db.reader() as conn:
                        rows = (await conn.execute(select(OutboxMessage.status, OutboxMessage.last_error).where(
                            OutboxMessage.recipient == "chatty"))).all()
                    return (len(rows) == per_minute + 12 and not any(s == "sending" for s, _e in rows)
                            and any(e and e.startswith("throttled") for _s, e in rows))

                await until(held_back, "every answer queued, none in flight, one held back by the limit",
                            timeout_s=60, every_s=0.1, log=server.log_text)
            finally:
                await db.dispose()
            assert len(fake.texts_to("chatty")) == per_minute  # not up to twice the limit (two senders)
        finally:
            await server.stop()


class SlowHandlers(HandlerChild):
    """A stand-in for the child, speaking its protocol: ready, then reads three payloads and tells its backlog."""

    def command(self) -> list[str]:
        script = ("import sys\nprint('ready', flush=True)\nfor _ in range(3): sys.stdin.readline()\n"
                  "print('pending 3 3', flush=True)\nsys.stdin.read()\n")
        return [sys.executable, "-c", script]


async def test_the_backlog_serve_counts_includes_the_payloads_still_in_the_pipe(settings: Settings) -> None:
    """A child slower than the callbacks: what it has not read yet counts too, so serve answers 503 before the
    child's pool is full (counting only its own report, serve handed a 1,000/s burst's child a thousand payloads
    more than it took; each then waited `replay_grace_s` for the sweep)."""
    child = SlowHandlers(settings, None)
    child.start()
    try:
        await until(lambda: child.ready, "the stand-in ready", timeout_s=20)
        assert all(child.send("wecom", f"<xml>{i}</xml>") for i in range(10))
        await until(lambda: child.reported == 3, "the stand-in's report", timeout_s=20)
        assert child.pending == 3 + 7  # three in its pool, seven not read yet
    finally:
        await child.stop(timeout=5)
    assert child.pending == 0  # gone: serve handles messages itself, no stale backlog
