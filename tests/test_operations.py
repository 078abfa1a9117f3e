"""What an operator sees: /metrics with HELP/TYPE lines and latency histograms that move with real traffic;
JSON log lines; a SIGTERM that finishes the work in flight before the process exits."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from bot.clock import ManualClock
from bot.config import Settings
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, text_xml
from tests.fakes.wecom_harness import AES_KEY, TOKEN, WecomHarness, start_wecom_harness
from tests.servers import Server, wecom_env


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[WecomHarness]:
    async for harness in start_wecom_harness(settings, clock):
        yield harness


def _sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(want)}\}})? (\S+)$" if want else rf"^{re.escape(name)} (\S+)$"
    found = re.search(pattern, text, re.M)
    assert found, f"{name} {labels} not in /metrics:\n{text}"
    return float(found.group(1))


async def test_metrics_show_latency_histograms_that_count_real_traffic(h: WecomHarness) -> None:
    before = await (await h.client.get("/metrics")).text()
    acks0 = _sample(before, "salesbot_ack_seconds_count", channel="wecom") \
        if 'salesbot_ack_seconds_count{channel="wecom"}' in before else 0.0  # a DingTalk test may have run here first
    for user in ("ops_u1", "ops_u2", "ops_u3"):
        assert (await h.text(user, "帮助")).status == 200
    await h.settle()
    text = await (await h.client.get("/metrics")).text()
    assert _sample(text, "salesbot_ack_seconds_count", channel="wecom") == acks0 + 3
    assert _sample(text, "salesbot_handler_seconds_count", kind="text") >= 3
    assert _sample(text, "salesbot_outbox_delivery_seconds_count", channel="wecom", outcome="delivered") >= 3
    assert _sample(text, 'salesbot_outbox', status="delivered") >= 3
    for name in ("salesbot_ack_seconds", "salesbot_handler_seconds", "salesbot_ocr_seconds",
                 "salesbot_kb_search_seconds", "salesbot_outbox_delivery_seconds", "salesbot_ticker_lag_seconds"):
        assert f"# TYPE {name} histogram" in text and f"# HELP {name} " in text
    assert "# TYPE salesbot_outbox gauge" in text
    assert 'salesbot_ack_seconds_bucket{channel="wecom",le="+Inf"}' in text


class SlowSend(FakeWecom):
    """message/send answers after `delay_s`: deliveries are in flight when the server is told to stop."""

    delay_s = 0.0

    async def _send(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.delay_s)
        return await super()._send(request)


async def test_sigterm_finishes_work_in_flight_and_logs_json(tmp_path: Path) -> None:
    async with SlowSend(corp_id="wwopscorp00001") as fake:
        env = wecom_env(f"sqlite+aiosqlite:///{tmp_path}/salesbot.db", fake.corp_id, fake.secret, fake.base_url,
                        SALESBOT_KNOWLEDGE_SEED_DEMO="false", SALESBOT_SERVER_WARM_UP="false",
                        SALESBOT_SERVER_LOG_FORMAT="json", SALESBOT_SERVER_SHUTDOWN_GRACE_S="20")
        server = Server(tmp_path, env)
        await server.start()
        cb = CallbackBuilder(TOKEN, AES_KEY, fake.corp_id)
        fake.delay_s = 1.0
        users = [f"grace_u{i}" for i in range(5)]
        async with ClientSession() as http:
            for i, user in enumerate(users):
                now = int(time.time())
                query, body = cb.post(text_xml(fake.corp_id, user, "帮助", 91_000 + i, now), now, nonce=f"g{i}")
                async with http.post(f"{server.url}/wecom/callback?{query}", data=body) as resp:
                    assert resp.status == 200
        assert await server.stop() == 0  # SIGTERM while the answers are still on their way
        # every answer went out before the exit (an admin may also get the notice that next year's holidays are
        # missing: it is sent in working hours of the last weeks of a year, whatever the test does)
        assert sorted(b["touser"] for b in fake.sent if b["touser"].startswith("grace_")) == users
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    assert any("drained" in r["message"] for r in records)
