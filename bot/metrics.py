"""Latency histograms for /metrics (Prometheus text format, `prometheus_client`), beside the counters the
channels keep. One registry per process; `exposition()` renders it. docs/operations.md says what each means.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_LAG = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

ACK = Histogram("salesbot_ack_seconds", "Callback received → HTTP answer sent (what WeCom/DingTalk wait for)",
                ["channel"], buckets=_FAST, registry=REGISTRY)
HANDLER = Histogram("salesbot_handler_seconds", "One inbound message: who is asking → handler → commit",
                    ["kind"], buckets=_SLOW, registry=REGISTRY)
OCR = Histogram("salesbot_ocr_seconds", "One screenshot read (OCR and field extraction, LLM assist included)",
                buckets=_SLOW, registry=REGISTRY)
KB_SEARCH = Histogram("salesbot_kb_search_seconds", "One knowledge search (index refresh included)",
                      buckets=_FAST, registry=REGISTRY)
DELIVERY = Histogram("salesbot_outbox_delivery_seconds", "One outbox delivery attempt at the channel's API",
                     ["channel", "outcome"], buckets=_SLOW, registry=REGISTRY)
_STALL = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
LOOP_LAG = Histogram("salesbot_loop_lag_seconds", "How late a 20 ms sleep on the event loop wakes (loop stalls: "
                     "CPU work holding the loop or the GIL)", buckets=_STALL, registry=REGISTRY)
LOOP_LAG_MAX = Gauge("salesbot_loop_lag_max_seconds", "The longest loop stall since the process started",
                     registry=REGISTRY)
TICKER_LAG = Histogram("salesbot_ticker_lag_seconds", "A reminder's due time → the tick that fired it",
                       buckets=_LAG, registry=REGISTRY)


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe the block's wall time (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - start)


async def watch_loop(every_s: float = 0.02) -> None:
    """Runs for the life of the server: salesbot_loop_lag_seconds and its maximum."""
    worst = 0.0
    while True:
        start = time.perf_counter()
        await asyncio.sleep(every_s)
        lag = max(0.0, time.perf_counter() - start - every_s)
        LOOP_LAG.observe(lag)
        if lag > worst:
            worst = lag
            LOOP_LAG_MAX.set(lag)


def exposition() -> str:
    return generate_latest(REGISTRY).decode()
