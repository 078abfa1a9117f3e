"""Everyday sales concepts: families of the words cards, reps and customers use for one thing (价钱, 交期, 售后,
环保健康 …), read from `concepts.toml`. A card's text and a query are both read for these words (longest first,
no overlaps) and each is indexed under its concepts, so 「客户嫌送过来要等好久」 meets a card about 交货期 on the
concept 交期 although they share no word. Looking up a text is a scan of its characters against a set (a few µs
for a query); a card's pieces are remembered, as titles and stock phrases recur."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

CONCEPTS_FILE = Path(__file__).with_name("concepts.toml")
MIN_WORD = 2  # one character names no concept on its own (修, 贵, 送 are everywhere)


class Concepts:
    """word (lower case, simplified) → the concepts it voices."""

    def __init__(self, words: dict[str, tuple[str, ...]]) -> None:
        self.words = words
        self._lengths = tuple(sorted({len(w) for w in words}, reverse=True))
        self._heads = frozenset(w[:MIN_WORD] for w in words)
        self._cached = lru_cache(maxsize=65_536)(self._find)

    def find(self, text: str) -> list[str]:
        """The concepts `text` (normalized: lower case, simplified) voices, once per word found in it."""
        return [name for _, names in self._cached(text) for name in names]

    def words_in(self, text: str) -> list[str]:
        """The concept words found in `text`, in order (longest first at each place, no overlaps)."""
        return [word for word, _ in self._cached(text)]

    def _find(self, text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        out: list[tuple[str, tuple[str, ...]]] = []
        words, heads, lengths = self.words, self._heads, self._lengths
        i, end = 0, len(text)
        while i < end - 1:
            if text[i:i + MIN_WORD] in heads:
                for size in lengths:
                    found = words.get(text[i:i + size]) if i + size <= end else None
                    if found:
                        out.append((text[i:i + size], found))
                        i += size
                        break
                else:
                    i += 1
            else:
                i += 1
        return tuple(out)

    def of_pieces(self, pieces: Iterable[tuple[str, int]]) -> list[str]:
        """Concept tokens of a card's pieces, each piece's concepts `weight` times (title and keywords count more)."""
        out: list[str] = []
        for text, weight in pieces:
            out += self.find(text) * weight
        return out


def parse(data: dict[str, Any]) -> Concepts:
    """The families of a concepts file (its `[[concept]]` tables: a name and its words)."""
    words: dict[str, list[str]] = {}
    for entry in data.get("concept", []):
        name = str(entry["name"])
        for word in [name, *entry.get("words", [])]:
            key = str(word).strip().lower()
            if len(key) >= MIN_WORD and name not in words.setdefault(key, []):
                words[key].append(name)
    return Concepts({w: tuple(c) for w, c in words.items()})


@cache
def shipped() -> Concepts:
    with CONCEPTS_FILE.open("rb") as f:
        return parse(tomllib.load(f))
