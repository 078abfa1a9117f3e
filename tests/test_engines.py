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



def test_the_word_tables_belong_to_the_holder_not_to_a_module() -> None:
    """jieba's dictionary, OpenCC's tables and the name lists are engines: each services (each holder) keeps its
    own, built on first use; no module keeps one for everybody."""
    from bot.segmenter import JIEBA
    from knowledge.query import SIMPLIFIER
    from ocr.people import NAMES

    mine, theirs = Engines(), Engines()
    for key in (JIEBA, SIMPLIFIER, NAMES):
        assert mine.get(key) is mine.get(key)
        assert mine.get(key) is not theirs.get(key)
    assert mine.get(SIMPLIFIER).simplified("醫院採購") == "医院采购"
    assert "向日葵" in mine.get(NAMES).common_words


def test_importing_the_product_builds_nothing_and_leaves_the_environment_alone() -> None:
    """In a fresh interpreter: every module of the product imported, the environment and jieba's logging as
    before, and no dictionary loaded (jieba's default tokenizer not initialised)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = """
import importlib, logging, os, pkgutil
import jieba  # its own import sets its logger's level: ours must not change it after
before, level = dict(os.environ), logging.getLogger("jieba").level
for room in ("bot", "storage", "knowledge", "ocr", "reminders", "handlers", "app"):
    package = importlib.import_module(room)
    for info in pkgutil.walk_packages(package.__path__, room + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
assert logging.getLogger("jieba").level == level
assert not jieba.dt.initialized
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().endswith("ok"), done.stderr[-2000:]
