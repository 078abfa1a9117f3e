"""bot/engines.py: the one cache pattern for the expensive objects built from the code and the machine."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bot.engines import Engine, EnginePer, Engines


def test_built_once_even_when_threads_ask_together() -> None:
    builds: list[int] = []
    gate = threading.Event()

    def build() -> object:
        gate.wait(1)
        builds.append(1)
        time.sleep(0.01)  # a slow build: the others must wait for it, not start their own
        return object()

    dictionary, engines = Engine("dictionary", build), Engines()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(engines.get, dictionary) for _ in range(8)]
        gate.set()
        got = {id(f.result()) for f in futures}
    assert builds == [1] and len(got) == 1 and engines.get(dictionary) is futures[0].result()
    assert Engines().get(dictionary) is not futures[0].result()  # each holder (each services) builds its own


def test_once_per_key_and_a_failed_build_is_not_kept() -> None:
    calls: list[str] = []

    def build(name: str) -> str:
        calls.append(name)
        if name == "unknown":
            raise ValueError(name)
        return name.upper()

    per, engines = EnginePer("engine", build), Engines()
    assert [engines.get_for(per, "a"), engines.get_for(per, "b"), engines.get_for(per, "a")] == ["A", "B", "A"]
    for _ in range(2):
        try:
            engines.get_for(per, "unknown")
        except ValueError:
            pass
    assert calls == ["a", "b", "unknown", "unknown"]  # asked again: a failure is not cached

