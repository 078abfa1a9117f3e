"""The HTTP edge under unauthenticated noise (issue 20, item 5), reproduced first against the real app:
a non-ASCII WeCom msg_signature was a 500 with a traceback; every aborted body logged an ERROR traceback; a slow
client was never timed out; a DingTalk 413 left no log line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from app.server import EDGE as APP_EDGE
from app.server import METRICS
from bot.clock import ManualClock
from bot.config import Settings
from tests.fakes.dingtalk_harness import Harness, start_harness, text_message
from tests.fakes.wecom_callback import text_xml
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness


def edgy(settings: Settings, **server: object) -> Settings:
    return replace(settings, server=replace(settings.server, **server))  # type: ignore[arg-type]


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(edgy(settings, read_timeout_s=0.5, max_slow_reads=2), clock, mode="http"):
        yield harness


async def open_raw(h: Harness, head: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    server = h.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head)
    await writer.drain()
    return reader, writer


def partial_post(length: int = 1000) -> bytes:
    return b"POST /dingtalk/callback HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n0123456789" % length


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> bool:
    return not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_an_aborted_body_is_one_info_line(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Aborted bodies are counted on /metrics; the log says it once (then a summary a minute), not once each:
    2,000 vanishing clients wrote 2,000 lines."""
    caplog.set_level(logging.INFO)
    for _ in range(3):
        _, writer = await open_raw(h, partial_post())
        for _ in range(200):  # until the server is waiting for the rest of the body
            await asyncio.sleep(0.01)
            if h.app[APP_EDGE].reading:
                break
        writer.close()
    for _ in range(200):
        await asyncio.sleep(0.01)
        if h.app[METRICS]["edge_client_gone"] == 3:
            break
    assert no_tracebacks(caplog)
    gone = [r for r in caplog.records if "client went away" in r.getMessage()]
    assert len(gone) == 1 and {r.levelno for r in gone} == {logging.INFO}
    assert h.app[METRICS]["edge_client_gone"] == 3


async def test_a_slow_body_times_out_and_the_socket_is_closed(h: Harness, caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    reader, writer = await open_raw(h, partial_post())
    started = time.monotonic()
    response = await asyncio.wait_for(reader.read(), 5)  # read() returns at EOF: the server closed it
    assert response.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 3
    writer.close()
    assert h.app[METRICS]["edge_read_timeout"] == 1 and no_tracebacks(caplog)


async def test_slow_bodies_beyond_the_cap_get_503_at_once(h: Harness) -> None:
    slow = [await open_raw(h, partial_post()) for _ in range(2)]
    for _ in range(100):  # until the server is reading both bodies (a condition, not a guess of how long)
        if h.app[APP_EDGE].reading == 2:
            break
        await asyncio.sleep(0.005)
    reader, writer = await open_raw(h, partial_post())
    response = await asyncio.wait_for(reader.read(), 0.4)  # before the 0.5 s read timeout
    assert response.startswith(b"HTTP/1.1 503")
    assert (await h.post(text_message("帮助")))[0] == 200  # a whole body still goes straight through
    for _, w in [*slow, (reader, writer)]:
        w.close()


async def test_dingtalk_413_is_logged(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    status, _ = await h.post(b"{" + b" " * (1100 * 1024) + b"}")
    assert status == 413
    assert "body over 1024 KB" in caplog.text and h.app[METRICS]["edge_too_large"] == 1


@pytest.fixture
async def w(settings: Settings, clock: ManualClock) -> AsyncIterator[WecomHarness]:
    async for harness in start_wecom_harness(settings, clock):
        yield harness


@pytest.mark.parametrize("signature", ["签名" * 20, "é" * 40, "g" * 40])
async def test_wecom_signature_outside_hex_is_403(w: WecomHarness, signature: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    query, body = w.cb.post(text_xml(w.fake.corp_id, "rep01", "帮助", 1, w.now), w.now)
    params = dict(p.split("=", 1) for p in query.split("&"))
    params["msg_signature"] = signature
    resp = await w.client.post("/wecom/callback", params=params, data=body)
    assert resp.status == 403
    assert no_tracebacks(caplog)


MALFORMED = [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /wecom/callback?msg_signature=\xff\xfe&timestamp=1&nonce=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Odd: a\x00b\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n",
    b"POST /dingtalk/callback HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
]


async def test_malformed_requests_are_400_and_one_info_line(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """aiohttp's own parser refuses these with 400 and logged `ERROR aiohttp.server: Error handling request` and a
    traceback for each (audit 20 re-run, 5e): unauthenticated noise is counted and said once at INFO."""
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        for head in MALFORMED:
            reader, writer = await open_raw(h, head)
            response = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert response.split(b"\r\n")[0].endswith(b"400 Bad Request"), (head[:60], response[:100])
    assert no_tracebacks(caplog), [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    said = [r for r in caplog.records if "malformed HTTP request" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO
    assert h.app[METRICS]["edge_malformed"] == 2 * len(MALFORMED)
    assert (await h.post(text_message("帮助")))[0] == 200
