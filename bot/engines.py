"""The one cache pattern for the expensive objects of a process: a typed key declared next to its user, built on
first use by the holder the services own, never at import.

- **Built from the settings or the database** (the knowledge index, the insight miner, a worker id): a `Shared`
  key, `services.shared(KEY)` (bot/services.py).
- **Built from the code, the installed packages and the machine only**: an `Engine` / `EnginePer` key, kept by the
  process's `Engines` — `services.engines` in the server, the chat runner and the console; a CLI command, a bench
  or a test module that builds no services makes one `Engines()` itself and passes it down the same way. Built
  once per holder even when two threads ask at the same moment. The keys: jieba's dictionary and its parts of
  speech (`JIEBA`, `WORD_TAGS`, bot/segmenter.py), OpenCC's tables (`SIMPLIFIER`, knowledge/query.py), the name
  lists of jieba's dictionary file (`NAMES`, ocr/people.py), the OCR engine and threads (`OCR_ENGINE`,
  ocr/engine.py; `OCR_THREADS`, ocr/pipeline.py), libc's `malloc_trim` (`MALLOC_TRIM`, ocr/pipeline.py), the
  openai client package (`OPENAI`, bot/asr.py), the intent model of the shipped examples (`SHIPPED`, keyed by
  the holder whose jieba cuts them, handlers/intent_model.py), the report chart's fonts (`FONT_FILE`: fc-match's
  choice; `FONT` per size, handlers/report_chart.py).

A function that needs one takes it as a parameter of its own type (`understand(…, t2s=…)`, `extract(…,
names=…)`, `train(examples, words)`), or the holder (`Tokenizer(words, engines)`, `read_screenshot(…,
engines=…)`) when it needs several. Pure functions memoised for speed (`lru_cache` on `char_sound`) are no
engines; nor is a file re-read when it changes (the OCR catalog, ocr/catalog.py). No module changes the
environment (`os.environ`, logging levels) at import: the OCR engine sets its tesseract children's environment
when it is built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, eq=False)
class Engine(Generic[T]):
    """One expensive object of a process: `JIEBA = Engine("jieba", load)`, then `engines.get(JIEBA)`."""

    name: str
    build: Callable[[], T]


@dataclass(frozen=True, eq=False)
class EnginePer(Generic[K, T]):
    """One per argument value (an OCR engine per name and language): `engines.get_for(OCR_ENGINE, (name, lang))`."""

    name: str
    build: Callable[[K], T]


class Engines:
    """The expensive objects one process built, each on its first use."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # a builder may ask for another engine
        self._built: dict[Engine[Any], Any] = {}
        self._built_per: dict[tuple[EnginePer[Any, Any], Hashable], Any] = {}

    def is_built(self, engine: Engine[Any]) -> bool:
        """Whether `engine` was built already (a warm-up's work is observable without building it)."""
        return engine in self._built

    def get(self, engine: Engine[T]) -> T:
        try:
            return cast(T, self._built[engine])
        except KeyError:
            pass
        with self._lock:
            if engine not in self._built:
                self._built[engine] = engine.build()
            return cast(T, self._built[engine])

    def get_for(self, engine: EnginePer[K, T], key: K) -> T:
        try:
            return cast(T, self._built_per[engine, key])
        except KeyError:
            pass
        with self._lock:
            if (engine, key) not in self._built_per:
                self._built_per[engine, key] = engine.build(key)
            return cast(T, self._built_per[engine, key])
