"""What a serving process does once before it opens its port or takes work: the dictionaries loaded off the loop,
and the garbage collector and GIL switch interval tuned for bursts (`serve` and its handler child alike)."""

from __future__ import annotations

import asyncio
import gc
import sys

from bot.engines import Engines
from bot.segmenter import JIEBA
from knowledge.query import SIMPLIFIER

SWITCH_INTERVAL_S = 0.0005  # see tune_gc


async def loaded_engines(engines: Engines | None = None) -> Engines:
    """jieba's and OpenCC's dictionaries, loaded before the port opens: jieba's one load stalls the event loop
    ~250 ms (bot/segmenter.py); the knowledge base reads OpenCC's tables when it is built (knowledge/query.py).
    `engines`: the process's holder when it has one already (a test process's), else a new one."""
    engines = engines or Engines()
    await asyncio.get_running_loop().run_in_executor(None, lambda: (engines.get(JIEBA), engines.get(SIMPLIFIER)))
    return engines


def tune_gc() -> None:
    """Fewer, cheaper garbage collections: with CPython's default thresholds a burst of callbacks
    triggers full collections over every live object, and the ACKs wait behind them (measured with
    bench/webhook.py at 500 callbacks/s: ACK p99 ≈ 100–150 ms with the defaults, ≈ 31 ms with these)."""
    gc.collect()
    gc.freeze()  # what start-up built lives for the whole process: never scan it again
    gc.set_threshold(50_000, 20, 100)
    # A thread doing CPU work (an import's tokenising, an index build) hands the GIL back after this long when
    # the event loop asks for it, and the loop asks again after every system call: at the default 5 ms a
    # 100,000-card import stalled the loop for 0.2 s (load 3.5; 0.05 s at 0.5 ms, bench/import_loop.py).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
