"""Latency histograms for /metrics (Prometheus text format, `prometheus_client`), beside the counters the
channels keep. One registry per process; `exposition()` renders it. docs/operations.md says what each means.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

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
LOOP_CPU_MAX = Gauge("salesbot_loop_cpu_max_seconds", "The most CPU the event loop's thread used during one lag "
                     "sample since the process started: an upper bound of the longest work done on the loop",
                     registry=REGISTRY)
LOOP_STALLS = Counter("salesbot_loop_stalls", "Lag samples over 100 ms by where the loop thread's time went: `loop` "
                      "(its own work), `os` (runnable, but the machine ran something else: overloaded), `blocked` "
                      "(waiting: for the GIL another thread holds, or a blocking call on the loop)", ["cause"],
                      registry=REGISTRY)
STALL_S = 0.1
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
    """Runs for the life of the server: salesbot_loop_lag_seconds and its maximum, the loop thread's CPU per
    sample (its maximum), and each stall over STALL_S put down to its cause."""
    worst = busiest = 0.0
    run_queue = RunQueue()
    try:
        while True:
            start, cpu, queued = time.perf_counter(), time.thread_time(), run_queue.seconds()
            await asyncio.sleep(every_s)
            wall = time.perf_counter() - start
            lag, used = max(0.0, wall - every_s), time.thread_time() - cpu
            LOOP_LAG.observe(lag)
            if lag > worst:
                worst = lag
                LOOP_LAG_MAX.set(lag)
            if used > busiest:
                busiest = used
                LOOP_CPU_MAX.set(used)
            if lag > STALL_S:
                LOOP_STALLS.labels(stall_cause(wall, used, run_queue.seconds() - queued)).inc()
    finally:
        run_queue.close()


class RunQueue:
    """Seconds the calling thread has waited, runnable, for a CPU (Linux schedstat; 0 where there is none). The
    file is opened once, by the thread it describes, and read again from its start (50 samples a second: an open
    and a close each cost more than the read)."""

    def __init__(self) -> None:
        try:
            self.fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self.fd = None

    def seconds(self) -> float:
        if self.fd is None:
            return 0.0
        try:
            return int(os.pread(self.fd, 128, 0).split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def stall_cause(wall: float, cpu: float, queued: float) -> str:
    """Where most of a late sample's `wall` seconds went (see LOOP_STALLS)."""
    return max((cpu, "loop"), (queued, "os"), (wall - cpu - queued, "blocked"))[1]


# The handler child's histograms, shown on serve's /metrics with process="handlers" (app/handler_process.py)
FORWARDED = ("salesbot_handler_seconds", "salesbot_kb_search_seconds", "salesbot_ocr_seconds",
             "salesbot_outbox_delivery_seconds")
Samples = dict[str, list[tuple[str, dict[str, str], float]]]  # family → (sample name, labels, value)


def forwarded_samples() -> Samples:
    """In the child: the FORWARDED families' samples, for serve (JSON-able; `_created` left out)."""
    return {family.name: [(s.name, s.labels, s.value) for s in family.samples if not s.name.endswith("_created")]
            for family in REGISTRY.collect() if family.name in FORWARDED}


class _WithChildren:
    """REGISTRY's families with the children's samples added, each labelled with its process."""

    def __init__(self, children: Mapping[str, Samples]) -> None:
        self.children = children

    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            for process, samples in self.children.items():
                family.samples += [Sample(name, {**labels, "process": process}, value)
                                   for name, labels, value in samples.get(family.name, ())]
            yield family


def exposition(children: Mapping[str, Samples] | None = None) -> str:
    """This process's metrics, and `children`'s (process name → what it sent) beside them."""
    return generate_latest(_WithChildren(children) if children else REGISTRY).decode()
