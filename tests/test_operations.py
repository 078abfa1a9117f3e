"""What an operator sees: /metrics with HELP/TYPE lines and latency histograms that move with real traffic."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness


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
    acks0 = _sample(before, "salesbot_ack_seconds_count", channel="wecom") if "salesbot_ack_seconds_count{" in before \
        else 0.0
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
