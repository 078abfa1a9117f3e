"""The one cache pattern for an expensive object that depends on nothing but the code and the machine.

Two kinds of long-lived objects exist, and each has one home:
- **Built from the settings or the database** (the knowledge index, the insight miner, a worker id): a `Shared`
  key declared next to its user, built and kept by the services (`services.shared(KEY)`, bot/services.py).
- **Built from the code and the machine only** (jieba's dictionary, an OCR engine and its models, the OCR thread
  pool, word lists read from an installed package): `@once` here. A CLI command or a bench that builds no services
  uses them too, so they cannot live on the services; they are built on first use (or by the warm-up), once per
  process even when two threads ask at the same moment, and never at import time.

Pure functions memoised for speed (`functools.lru_cache` on `simplified(text)`) are neither: they hold no
singleton and stay as they are; nor is a file re-read when it changes (the OCR catalog, ocr/catalog.py).
No module changes the environment (`os.environ`, logging levels) at import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Once(Generic[T]):
    """`build()` run on the first call only; every later call returns what it built."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: list[T] = []  # empty until built (T may itself admit None)
        self.__doc__ = build.__doc__
        self.__name__ = getattr(build, "__name__", "once")

    def __call__(self) -> T:
        if not self._value:
            with self._lock:
                if not self._value:
                    self._value.append(self._build())
        return self._value[0]


class OncePer(Generic[K, T]):
    """`build(key)` run on the first call with each key (an engine per name and language)."""

    def __init__(self, build: Callable[[K], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._values: dict[K, T] = {}
        self.__doc__ = build.__doc__
        self.__name__ = getattr(build, "__name__", "once_per")

    def __call__(self, key: K) -> T:
        try:
            return self._values[key]
        except KeyError:
            pass
        with self._lock:
            if key not in self._values:
                self._values[key] = self._build(key)
            return self._values[key]


def once(build: Callable[[], T]) -> Once[T]:
    """Decorator: a zero-argument builder of a process-wide object, run once."""
    return Once(build)


def once_per(build: Callable[[K], T]) -> OncePer[K, T]:
    """Decorator: a one-argument builder, run once per argument value."""
    return OncePer(build)
