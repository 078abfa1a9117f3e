"""Ranking and the calibrated decline, plus `KnowledgeBase`: the index a process keeps in memory.

score(card) = text relevance (BM25, scaled to 0..1) + axis agreement (role / industry / objection
found in the query via synonyms or pinyin) + matched card keywords. A query is answered only when
its best score, scaled down when the query carries few sales cues (an objection, a card keyword, or
role + industry) or when few of its topic words are known to the knowledge base, reaches `SCORE_FLOOR`;
otherwise `answered=False` with close categories.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from knowledge.index import STOPWORDS, CardIndex, CueHit, Tokenizer, build_index, is_cjk, normalize
from knowledge.schema import AXES, KbCard
from knowledge.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)
W_AXIS = {"objection": 3.0, "industry": 2.0, "role": 2.0}
GENERIC_SHARE = 0.3  # a card without a value on an axis the query names fits partly
MISMATCH_SHARE = 0.35  # a card with a different value is pushed down
GENERIC_BONUS = 0.6  # the query names no value: generic cards are the safer answer
W_TEXT = 2.0
W_KEYWORD = 2.0
PINYIN_SHARE = 0.8  # a pinyin-only (typo) hit counts a bit less than the exact word
AXIS_WORD_KEYWORD_SHARE = 0.3  # a card keyword that is also a taxonomy synonym is already counted by its axis
CUE_STRENGTH = {"objection": 1.0, "keyword": 1.0, "expansion": 0.5, "role": 0.5, "industry": 0.5}
FULL_STRENGTH = 1.0  # one objection or card keyword: below, the confidence shrinks in proportion
FULL_COVERAGE = 0.6  # share of the query's topic words explained: below, the confidence shrinks in proportion
KNOWN_SHARE = 0.4  # a word that only occurs somewhere in the cards explains less than a cue does
# Answered ⇔ the best card's confidence (score × strength and coverage factors) reaches the floor. A clean
# objection on a generic card scores ≥ 3.6, so one objection with 60 % of the words explained passes; calibrated
# on bench/data/kb_queries_dev.jsonl (off-topic max 2.95, correct answers min 3.49).
SCORE_FLOOR = 3.2
FILLER_FREQ = 20_000  # jieba frequency above which a word is grammar, not topic (问题, 你们, 现在 …)
VOWELS = re.compile(r"[aeiouv]+")
FILLER_RE = re.compile(r"^[\u4e00-\u9fff]不[\u4e00-\u9fff]$|^([\u4e00-\u9fff])一\1$")  # 跟不上 谈不拢 比一比


@dataclass(frozen=True, slots=True)
class Hit:
    card: KbCard
    score: float


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    answered: bool
    suggestions: tuple[str, ...] = ()
    matched: dict[str, tuple[str, ...]] = field(default_factory=dict)  # axis → values found in the query

    @property
    def ranked(self) -> list[str]:
        return [h.card.id for h in self.hits]

    @property
    def scores(self) -> list[float]:
        return [round(h.score, 3) for h in self.hits]

    @property
    def best(self) -> KbCard | None:
        return self.hits[0].card if self.answered and self.hits else None

    def to_json(self, why: bool = False) -> dict[str, object]:
        """The CLI contract: {"q","ranked","scores","answered"}, plus an optional "why" (words that decided)."""
        out: dict[str, object] = {"q": self.query, "ranked": self.ranked, "scores": self.scores,
                                  "answered": self.answered}
        if why:
            out["why"] = {axis: list(v) for axis, v in self.matched.items()}
        return out


def rank(index: CardIndex, query: str, top: int = 3) -> SearchResult:
    """Pure and synchronous: a few numpy operations over the snapshot."""
    original = query.strip()
    n = len(index.cards)
    if not original or n == 0:
        return SearchResult(original, (), False, _default_suggestions(index.taxonomy))
    query = index.pinyin.read(normalize(original))
    hits = index.matcher.find(query)
    values = _axis_values(hits)
    scores = np.zeros(n, dtype=np.float32)
    tokens = index.tokenizer.tokens(query) + _expansion_words(hits)
    ceiling = index.bm25.scores(tokens, scores)
    if ceiling > 0:
        scores *= W_TEXT / ceiling
    for axis in AXES:
        scores += _axis_table(index, axis, values.get(axis, {}))[index.axis_codes[axis]]
    for hit in hits:
        if hit.cue.axis == "keyword":
            weight = W_KEYWORD * (1 if hit.exact else PINYIN_SHARE)
            if index.taxonomy.is_axis_word(hit.cue.text):
                weight *= AXIS_WORD_KEYWORD_SHARE  # already counted through the axis
            scores[index.keyword_cards[normalize(hit.cue.text)]] += weight
    scores *= _confidence(index, query, hits)  # same factor for every card: the order is unchanged
    order = _top(scores, top)
    ranked = tuple(Hit(index.cards[i], float(scores[i])) for i in order)
    answered = bool(ranked) and ranked[0].score >= SCORE_FLOOR
    suggestions = () if answered else _suggestions(index, ranked, values)
    matched = {axis: tuple(v) for axis, v in values.items()}
    return SearchResult(original, ranked, answered, suggestions, matched)


def _axis_values(hits: Sequence[CueHit]) -> dict[str, dict[str, float]]:
    values: dict[str, dict[str, float]] = {}
    for hit in hits:
        if hit.cue.axis in AXES:
            weight = 1.0 if hit.exact else PINYIN_SHARE
            slot = values.setdefault(hit.cue.axis, {})
            slot[hit.cue.value] = max(slot.get(hit.cue.value, 0.0), weight)
    return values


def _expansion_words(hits: Sequence[CueHit]) -> list[str]:
    words: list[str] = []
    for hit in hits:
        words.extend(normalize(w) for w in hit.cue.words)
        if hit.cue.axis in AXES:
            words.append(normalize(hit.cue.value))
    return words


def _axis_table(index: CardIndex, axis: str, wanted: dict[str, float]) -> np.ndarray:
    names = index.taxonomy.values[axis]
    weight = W_AXIS[axis]
    table = np.zeros(len(names) + 1, dtype=np.float32)
    if not wanted:
        table[0] = GENERIC_BONUS
        return table
    best = max(wanted.values())
    table[:] = -weight * MISMATCH_SHARE
    table[0] = weight * GENERIC_SHARE * best
    for i, name in enumerate(names, 1):
        if name in wanted:
            table[i] = weight * wanted[name]
    return table


def _top(scores: np.ndarray, top: int) -> list[int]:
    top = max(1, min(top, len(scores)))
    part = np.argpartition(-scores, top - 1)[:top] if len(scores) > top else np.arange(len(scores))
    return sorted(part.tolist(), key=lambda i: (-scores[i], i))


def _confidence(index: CardIndex, query: str, hits: Sequence[CueHit]) -> float:
    """How much the query is a sales question we have cues for (1.0 = fully): scales every score."""
    strength = min(1.0, _strength(hits) / FULL_STRENGTH)
    return strength * min(1.0, _coverage(index, query, hits) / FULL_COVERAGE)


def _strength(hits: Sequence[CueHit]) -> float:
    """Sum of the distinct cues' strengths; an expansion inside another cue's span adds nothing ("KP")."""
    best: dict[tuple[str, str], float] = {}
    for hit in hits:
        if hit.cue.axis == "expansion" and any(
            o.cue.axis != "expansion" and o.start <= hit.start and hit.end <= o.end for o in hits
        ):
            continue
        key = (hit.cue.axis, hit.cue.value)
        best[key] = max(best.get(key, 0.0), CUE_STRENGTH[hit.cue.axis] * (1 if hit.exact else PINYIN_SHARE))
    return sum(best.values())


def _coverage(index: CardIndex, query: str, hits: Sequence[CueHit]) -> float:
    """Share of the query's content characters explained by cues or knowledge-base vocabulary."""
    text = normalize(query)
    covered = [False] * len(text)
    for hit in hits:
        covered[hit.start:hit.end] = [True] * (hit.end - hit.start)
    content = 0
    explained = 0
    pos = 0
    for token in index.tokenizer.cut(text):
        span = range(pos, pos + len(token))
        pos += len(token)
        cued = sum(covered[i] for i in span)
        if token in STOPWORDS or (not cued and _is_filler(index, token)):
            continue
        size = _size(token)
        content += size
        explained += max(cued * size / len(token), size * KNOWN_SHARE * index.bm25.knows(token))
    return explained / content if content else 0.0


def _size(token: str) -> int:
    """A Latin word weighs about one character per syllable (vowel group): "chang" ≈ 长, "kp" = 1."""
    if token.isascii() and token.isalpha():
        return max(1, len(VOWELS.findall(token)))
    return len(token)


def _is_filler(index: CardIndex, token: str) -> bool:
    """Words that carry no topic: stopwords, punctuation, very common words, 跟不上 / 比一比 patterns."""
    return (
        token in STOPWORDS
        or not any(is_cjk(c) or c.isalnum() for c in token)
        or index.tokenizer.word_freq(token) >= FILLER_FREQ
        or bool(FILLER_RE.match(token))
    )


def _suggestions(index: CardIndex, ranked: Sequence[Hit], values: dict[str, dict[str, float]]) -> tuple[str, ...]:
    if not values:
        return _default_suggestions(index.taxonomy)
    out: list[str] = []
    for hit in ranked:
        label = " · ".join(hit.card.tags()) or hit.card.title
        if label not in out:
            out.append(label)
    return tuple(out[:3])


def _default_suggestions(taxonomy: Taxonomy) -> tuple[str, ...]:
    return tuple(f"{v}异议" if v in {"价格"} else v for v in taxonomy.values["objection"][:4])


class KnowledgeBase:
    """The in-memory index of one process, kept fresh from the `knowledge_cards` table."""

    def __init__(
        self, taxonomy: Taxonomy | None = None, taxonomy_path: str = "", tokenizer: Tokenizer | None = None
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy(taxonomy_path or None)
        self._index: CardIndex | None = None
        self._signature: str | None = None
        self._tokenizer = tokenizer  # jieba takes ~1 s to load: share one per process when possible
        self._lock = asyncio.Lock()
        self._rebuild: asyncio.Task[bool] | None = None
        self.builds = 0  # how many indexes this process built (observability, tests)

    @property
    def size(self) -> int:
        return len(self._index.cards) if self._index else 0

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(self.taxonomy.dictionary_words())
        return self._tokenizer

    async def load(self, db: object, *, only_if_stale: bool = False) -> bool:
        """(Re)build from the table. With `only_if_stale`, the generation is re-checked inside the lock,
        so callers that queued behind a rebuild do not repeat it."""
        from knowledge import store

        async with self._lock:
            if only_if_stale and self._index is not None and await store.signature(db) == self._signature:
                return False
            signature, cards = await store.load_active_cards(db)
            await self._build(cards)
            self._signature = signature
            await self._save_tokens(db)
            return True

    async def _save_tokens(self, db: object) -> None:
        """Write back the tokens this build re-computed; on failure the index still serves (next start retries)."""
        from knowledge import store

        assert self._index is not None
        cards, self._index.retokenised = self._index.retokenised, []
        if not cards:
            return
        try:
            await store.save_tokens(db, cards)
        except SQLAlchemyError:
            log.warning("could not store %d re-computed card token lists", len(cards), exc_info=True)

    async def refresh_if_stale(self, db: object, *, wait: bool = True) -> bool:
        """Cheap generation check; rebuild only when it changed. With `wait=False` (the message path) an
        existing index keeps answering while the new one is built in the background."""
        from knowledge import store

        if self._index is not None and await store.signature(db) == self._signature:
            return False
        if wait or self._index is None:
            return await self.load(db, only_if_stale=True)
        if self._rebuild is None or self._rebuild.done():
            self._rebuild = asyncio.create_task(self.load(db, only_if_stale=True))
            self._rebuild.add_done_callback(_log_failure)
        return True

    async def build_from(self, cards: Sequence[KbCard]) -> None:
        """Index cards that are not (yet) in a database, e.g. for benchmarks."""
        await self._build(list(cards))

    async def _build(self, cards: list[KbCard]) -> None:
        self.builds += 1
        loop = asyncio.get_running_loop()
        tokenizer = await loop.run_in_executor(None, lambda: self.tokenizer)
        self._index = await loop.run_in_executor(None, build_index, cards, self.taxonomy, tokenizer)

    def search(self, query: str, top: int = 3) -> SearchResult:
        if self._index is None:
            raise RuntimeError("KnowledgeBase.load() has not run")
        return rank(self._index, query, top)

    def card(self, card_id: str) -> KbCard | None:
        if self._index is None:
            return None
        return next((c for c in self._index.cards if c.id == card_id), None)


def _log_failure(task: asyncio.Task[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("knowledge index rebuild failed", exc_info=task.exception())
