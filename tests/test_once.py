"""bot/once.py: the one cache pattern for process-wide objects built from the code and the machine."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bot.once import once, once_per


def test_built_once_even_when_threads_ask_together() -> None:
    builds: list[int] = []
    gate = threading.Event()

    @once
    def dictionary() -> object:
        gate.wait(1)
        builds.append(1)
        time.sleep(0.01)  # a slow build: the others must wait for it, not start their own
        return object()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(dictionary) for _ in range(8)]
        gate.set()
        got = {id(f.result()) for f in futures}
    assert builds == [1] and len(got) == 1 and dictionary() is futures[0].result()


def test_once_per_key_and_a_failed_build_is_not_kept() -> None:
    calls: list[str] = []

    @once_per
    def engine(name: str) -> str:
        calls.append(name)
        if name == "unknown":
            raise ValueError(name)
        return name.upper()

    assert [engine("a"), engine("b"), engine("a")] == ["A", "B", "A"]
    for _ in range(2):
        try:
            engine("unknown")
        except ValueError:
            pass
    assert calls == ["a", "b", "unknown", "unknown"]  # asked again: a failure is not cached

