"""Tokenizer, cue matcher (exact + pinyin-tolerant) and a sparse BM25 index over cards.

Built once per card set (in an executor: jieba and numpy work is blocking), then read-only:
`search.KnowledgeBase` swaps whole `CardIndex` objects, so readers never see half a build.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import chain, pairwise
from typing import Generic, TypeVar

import jieba
import numpy as np
from pypinyin import lazy_pinyin

from bot.engines import Engines
from bot.segmenter import WORD_TAGS, private_tokenizer
from knowledge import concepts
from knowledge.query import SIMPLIFIER, Simplifier
from knowledge.schema import AXES, KbCard
from knowledge.taxonomy import FIRMS, Cue, Taxonomy

STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 呀 哦 嘛 么 说 讲 问 怎么 怎么办 咋 咋办 咋回 回 要 想 在 是 我 我们 你 您 "
    "他 她 它 他们 客户 这个 那个 这 那 能 能不能 可以 不 没 有 和 与 及 就 都 也 还 又 很 太 让 被 "
    "把 给 对 跟 里 上 下 个 些 一 一下 什么 如何 应该 一直 觉得 感觉 现在 已经 会 该 时候 怎样".split()
)
WORD_RE = re.compile(r"[0-9a-z]+|[\u4e00-\u9fff]+")
FREQUENT_WORD = 3000  # a window that is itself this common a word is not taken as a typo of a cue
DICTIONARY_WORD = 50  # jieba frequency from which a longer word is a word of its own (服务器 is not 服务)
MAX_CUE_LEN = 8
MAX_LATIN_CUE_LEN = 16  # on-premise, subscription, installation: English cues are longer in characters
NO_PATH = -1e300
TOKENS_FORMAT = "card_tokens/2"  # bump when card_tokens() changes: stored tokens are then recomputed
MAX_RUNS = 200_000  # cut runs remembered (about 40 MB at most); the memory starts over when full
MAX_CUTS = 20_000  # whole texts cut by `Tokenizer.cut` remembered (a few MB); likewise
HISTORY = 8  # recent dictionaries a tokenizer remembers, to re-cut only the cards a new word can change


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


# Common southern-Mandarin confusions typed as homophones: zh/z, ch/c, sh/s, n/l, -ng/-n.
_FUZZY = [("zh", "z"), ("ch", "c"), ("sh", "s")]


_LOOKALIKE = {"0": "o", "1": "l", "5": "s"}  # P0C, SAa5 …
# Characters mistyped for a look-alike of another sound (形近字): 案列 for 案例, 租凭 for 租赁, 帐期 for 账期.
# Both sides of a comparison go through char_sound, so a cue holding one of these still matches itself.
_SHAPE = {"列": "例", "凭": "赁", "帐": "账", "己": "已", "侯": "候", "拔": "拨", "峻": "竣", "俢": "修",
          "栽": "载", "薄": "簿"}


@lru_cache(maxsize=20000)
def char_sound(ch: str) -> str:
    if not is_cjk(ch):
        return _LOOKALIKE.get(ch, ch)
    sound = lazy_pinyin(_SHAPE.get(ch, ch))[0]
    for a, b in _FUZZY:
        if sound.startswith(a):
            sound = b + sound[len(a):]
            break
    if sound.startswith("l"):
        sound = "n" + sound[1:]
    if sound.endswith("ng") and len(sound) > 2:
        sound = sound[:-1]
    return sound


def sounds(text: str) -> tuple[str, ...]:
    return tuple(char_sound(ch) if (is_cjk(ch) or ch.isalnum()) else "\0" for ch in text)


class Tokenizer:
    """jieba with a private user dictionary (taxonomy words + card keywords), reading text as the knowledge base
    does (`normalize`: NFKC, lower case, 简体). jieba's dictionary and OpenCC's come from `engines`."""

    def __init__(self, words: Iterable[str], engines: Engines) -> None:
        self.t2s = engines.get(SIMPLIFIER)
        self._engines = engines
        self._jieba = private_tokenizer(engines)
        self._total = self._jieba.total  # kept: an added word changes only the cut of texts that contain it
        self._known: set[str] = set()
        self.cards_tokenised = 0  # card_tokens() calls (observability, tests): a load should need none
        self._logp: dict[str, float] = {}  # word → log probability ("" → log of jieba's total)
        self._fingerprint = ""
        self._history: dict[str, frozenset[str]] = {}  # fingerprints this tokenizer had → its words then
        self._runs: dict[str, list[str]] = {}  # a run of Chinese characters → its tokens, for this dictionary
        self._cuts: dict[str, tuple[str, ...]] = {}  # a query (or card text) → its pieces, for this dictionary
        self.add_words(words)

    @property
    def fingerprint(self) -> str:
        """Persisted tokens are valid only for the dictionary that made them: jieba, stopwords and every word
        added (taxonomy words and card keywords: a new keyword can change how other cards' text is cut)."""
        if not self._fingerprint:
            basis = "\n".join([TOKENS_FORMAT, jieba.__version__, *sorted(STOPWORDS), "", *sorted(self._known)])
            self._fingerprint = hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]
            if len(self._history) >= HISTORY:
                self._history.pop(next(iter(self._history)))
            self._history[self._fingerprint] = frozenset(self._known)
        return self._fingerprint

    @property
    def words(self) -> frozenset[str]:
        """The words added to jieba's (`Tokenizer(words)` cuts as this one does)."""
        return frozenset(self._known)

    def added_since(self, fingerprint: str) -> frozenset[str] | None:
        """Words in one of the two dictionaries only: this one and the one that had `fingerprint` (None: not one
        this tokenizer knows — its own recent ones, or another process's learnt with `learn`)."""
        then = self._history.get(fingerprint)
        return None if then is None else frozenset(self._known ^ then)

    def known_fingerprints(self) -> list[str]:
        return [self.fingerprint, *self._history]

    def words_of(self, fingerprint: str) -> frozenset[str] | None:
        """The added words of a dictionary this tokenizer had or learnt (to persist them for other processes)."""
        return self._history.get(fingerprint)

    def learn(self, fingerprint: str, words: Iterable[str]) -> None:
        """Another process's dictionary (as it stored it): its cards' tokens can then be checked, not re-cut."""
        if fingerprint not in self._history:
            if len(self._history) >= HISTORY:
                self._history.pop(next(iter(self._history)))
            self._history[fingerprint] = frozenset(words)

    def add_words(self, words: Iterable[str]) -> None:
        for word in words:
            word = self.normalize(word.strip())
            if len(word) >= 2 and word not in self._known and not word.isascii():
                self._known.add(word)
                self._jieba.add_word(word, freq=max(self._jieba.FREQ.get(word, 0), 2000))
                self._jieba.total = self._total  # jieba would raise it: every other word's probability moves
                self._fingerprint = ""
                self._logp.pop(word, None)
                self._runs.clear()  # a new word can change the cut of any run holding it
                self._cuts.clear()

    def _segment(self, run: str) -> list[str]:
        """jieba's cut without HMM (most probable path over its word graph), for a run of Chinese characters:
        the same words as `lcut(run, HMM=False)`, in one backward pass with cached log-probabilities —
        about twice as fast, and tokenising is most of a large import."""
        freq, logp = self._jieba.FREQ, self._logp
        if not logp:
            logp[""] = math.log(self._jieba.total)
        log_total = logp[""]
        n = len(run)
        score = [0.0] * (n + 1)
        step = [1] * (n + 1)
        for k in range(n - 1, -1, -1):
            best, end = NO_PATH, k + 1
            j = k + 1
            while j <= n:
                piece = run[k:j]
                count = freq.get(piece)
                if count is None:
                    break  # no dictionary word starts with this piece
                if count:
                    lp = logp.get(piece)
                    if lp is None:
                        lp = logp[piece] = math.log(count) - log_total
                    if lp + score[j] >= best:  # ties: the longer word, as jieba
                        best, end = lp + score[j], j
                j += 1
            if best == NO_PATH:  # no word starts here: the character alone
                best = score[k + 1] - log_total
            score[k], step[k] = best, end - k
        out, k = [], 0
        while k < n:
            out.append(run[k:k + step[k]])
            k += step[k]
        return out

    def word_freq(self, word: str) -> int:
        return self._jieba.FREQ.get(word, 0)

    def word_tag(self, word: str) -> str:
        """jieba's part of speech of `word` ("n" for a word jieba does not know: a domain term). Blocking the first
        time (the table loads): call it in an executor."""
        return self._engines.get(WORD_TAGS).get(word, "n")

    def normalize(self, text: str) -> str:
        return self.t2s.simplified(text)

    def bigrams(self, text: str) -> list[str]:
        return bigrams(text, self.t2s)

    def card_bigrams(self, card: KbCard) -> list[str]:
        return card_bigrams(card, self.t2s)

    def cut(self, text: str) -> list[str]:
        """All pieces of the normalized text, stopwords and punctuation included (for coverage). One search cuts
        its query several times (coverage, backing, title, foreign nouns): each text is cut once per dictionary."""
        cuts = self._cuts
        found = cuts.get(text)
        if found is None:
            if len(cuts) >= MAX_CUTS:
                cuts.clear()
            found = cuts[text] = tuple(self._jieba.lcut(self.normalize(text), HMM=False))
        return list(found)

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        runs = self._runs
        for chunk in WORD_RE.findall(self.normalize(text)):
            if chunk.isascii():
                out.append(chunk)
                continue
            cut = runs.get(chunk)
            if cut is None:  # titles, keywords and stock phrases recur across cards: each run is cut once
                if len(runs) >= MAX_RUNS:
                    runs.clear()
                cut = runs[chunk] = [t for t in self._segment(chunk) if t not in STOPWORDS]
            out += cut
        return out

    def card_tokens(self, card: KbCard) -> list[str]:
        """Tokens persisted with a card: title and keywords count twice, then the talk track and case."""
        self.cards_tokenised += 1
        head = self.tokens(card.title) + [self.normalize(k) for k in card.keywords]
        for kw in card.keywords:
            head += self.tokens(kw)
        return head * 2 + self.tokens(card.talk_track) + self.tokens(card.success_case)


PROGRESS_STEP = 500  # cards between progress reports
PART_SPREAD = 0.2  # share of the cards from which a part of a new value (电梯 of 电梯维保) is what they all sell


def cut_cards(tok: Tokenizer, cards: Sequence[KbCard], progress: Callable[[int], None] | None = None
              ) -> list[list[str]]:
    """Blocking: `card_tokens` of every card, in order. (Forked worker processes were tried: on this 2-core
    machine under its usual load they were slower than one thread, 10.7 s against 8.9 s for 20,000 cards.)"""
    out: list[list[str]] = []
    for lo in range(0, len(cards), PROGRESS_STEP):
        chunk = cards[lo:lo + PROGRESS_STEP]
        out += [tok.card_tokens(c) for c in chunk]
        if progress:
            progress(len(chunk))
    return out


@dataclass(frozen=True, slots=True)
class CueHit:
    cue: Cue
    start: int
    end: int
    exact: bool


class CueMatcher:
    """Finds taxonomy words and card keywords in a query, exactly or by (fuzzy) pinyin."""

    def __init__(self, cues: Sequence[Cue], tokenizer: Tokenizer) -> None:
        self._tok = tokenizer
        self._exact: dict[str, list[Cue]] = {}
        self._sound: dict[tuple[str, ...], list[Cue]] = {}
        for cue in cues:
            text = tokenizer.normalize(cue.text)
            if not text or len(text) > (MAX_LATIN_CUE_LEN if text.isascii() else MAX_CUE_LEN):
                continue
            for spelling in latin_spellings(text):
                self._exact.setdefault(spelling, []).append(cue)
            if sum(is_cjk(c) for c in text) >= 2 or (text.isascii() and len(text) >= 3 and text.isalpha()):
                self._sound.setdefault(sounds(text), []).append(cue)
        self._lengths = sorted({len(t) for t in self._exact}, reverse=True)

    def find(self, query: str) -> list[CueHit]:
        text = self._tok.normalize(query)
        snd = sounds(text)
        cuts = self._boundaries(text)
        hits: list[CueHit] = []
        for length in self._lengths:
            for start in range(0, len(text) - length + 1):
                window = text[start:start + length]
                if length > MAX_CUE_LEN and not window.isascii():
                    continue  # only English words (on-premise, installation) are this long
                for cue in self._exact.get(window, ()):
                    if self._ascii_boundary(text, start, start + length) and not self._inside_word(
                            text, start, start + length, cuts, cue.axis == "industry"):
                        hits.append(CueHit(cue, start, start + length, True))
                if window in self._exact or self._tok.word_freq(window) >= FREQUENT_WORD:
                    continue
                if start not in cuts or start + length not in cuts:
                    continue  # a sound-alike must be whole words: 剩几(天) is not 审计
                if length <= 3 and any(text[i] in STOPWORDS and i in cuts and i + 1 in cuts
                                       for i in range(start, start + length)):
                    continue  # nor, when short, hold a grammar word of its own: 老是 (老 + 是) is not 老师
                for cue in self._sound.get(snd[start:start + length], ()):
                    if self._ascii_boundary(text, start, start + length):
                        hits.append(CueHit(cue, start, start + length, False))
        return _prune(hits)

    def _inside_word(self, text: str, start: int, end: int, cuts: set[int], trade: bool = False) -> bool:
        """服务 inside 服务器: a cue strictly inside one common word that is not itself a cue (but a trade in the
        name of its firms is that trade: 纺织 in 纺织厂, 造纸 in 造纸企业)."""
        if start in cuts and end in cuts:
            return False
        left = max((c for c in cuts if c <= start), default=0)
        right = min((c for c in cuts if c >= end), default=len(text))
        word = text[left:right]
        if trade and left == start and (word[end - start:] in FIRMS or word[end - start:] == "业"):
            return False
        return word not in self._exact and self._tok.word_freq(word) >= DICTIONARY_WORD and (
            left, right) != (start, end)

    def _boundaries(self, text: str) -> set[int]:
        cuts, pos = {0}, 0
        for piece in self._tok.cut(text):
            pos += len(piece)
            cuts.add(pos)
        return cuts

    @staticmethod
    def _ascii_boundary(text: str, start: int, end: int) -> bool:
        """'it' must not match inside 'with': ASCII cues need non-letter neighbours."""
        if not text[start:end].isascii():
            return True
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        return not (before.isascii() and before.isalpha()) and not (after.isascii() and after.isalpha())


LATIN_JOINT = re.compile(r"(?<=[a-z])[- ](?=[a-z])")


def latin_spellings(text: str) -> tuple[str, ...]:
    """An English word as reps type it: prices for price; after-sales, after sales, aftersales for a compound."""
    if text.isascii() and text.isalpha() and len(text) >= 3 and not text.endswith("s"):
        return (text, plural(text))
    if not (text.isascii() and LATIN_JOINT.search(text)):
        return (text,)
    return tuple(dict.fromkeys((text, LATIN_JOINT.sub("-", text), LATIN_JOINT.sub(" ", text),
                                LATIN_JOINT.sub("", text))))


def plural(word: str) -> str:
    """The regular English plural: policy → policies, box → boxes, patch → patches, seat → seats."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(?:x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def _prune(hits: list[CueHit]) -> list[CueHit]:
    """Axis hits strictly inside a longer axis hit are dropped (供应链公司 is not 供应链 the role), and so
    are sound-alike hits overlapping an exact one (跟竞品 is not a typo of 跟进)."""
    axis_hits = [h for h in hits if h.cue.axis in AXES]
    exact = [h for h in hits if h.exact]
    # an admin's own term (exact, or a sound-alike of four characters or more): 合同能源管理 is not 合同
    terms = [h for h in hits if h.cue.axis == "keyword" and (h.exact or h.end - h.start >= 4)]
    # and a Chinese word of the vocabulary that holds an axis word: 对接人 (the contact) is not 对接 (integration)
    terms += [h for h in hits if h.cue.axis == "expansion" and h.exact and is_cjk(h.cue.text[0])]
    kept: list[CueHit] = []
    for hit in hits:
        if not hit.exact and any(o.start < hit.end and hit.start < o.end and o.end - o.start >= hit.end - hit.start
                                 for o in exact):
            continue  # 跟竞品 is not a typo of 跟进; but 渗头测试 is 渗透测试 although 测试 is a word
        if hit.cue.axis in AXES and any(
            o.start <= hit.start and hit.end <= o.end and (o.end - o.start) > (hit.end - hit.start)
            and (o.exact or not hit.exact or o.cue.axis == "keyword")
            for o in (*axis_hits, *terms)
        ):
            continue
        if hit.cue.axis in AXES and any(  # 首付太高了: 高了 (price) only overlaps 首付太高 (payment terms)
            o.exact and o.cue.axis == hit.cue.axis and o.start < hit.end and hit.start < o.end
            and (o.end - o.start) > (hit.end - hit.start) for o in axis_hits
        ):
            continue
        kept.append(hit)
    return kept


Term = TypeVar("Term", bound=Hashable)


class Postings(Generic[Term]):
    """BM25 with per-term postings in numpy arrays (CSR layout): a query touches only its terms. `vocab` maps a
    term (a token string, or a character pair's integer code) to its row."""

    vocab: dict[Term, int]

    def _fit(self, term_ids: np.ndarray, doc_ids: np.ndarray, lengths: np.ndarray, k1: float, b: float) -> None:
        """Postings from parallel arrays (term id, document id) of every token occurrence."""
        n = max(len(lengths), 1)
        uniq, tf = np.unique(term_ids * n + doc_ids, return_counts=True)  # sorted by term, then doc
        self._postings(uniq // n, (uniq % n).astype(np.int32), tf, lengths, k1, b)

    def _postings(self, terms: np.ndarray, docs_of: np.ndarray, tf: np.ndarray, lengths: np.ndarray, k1: float,
                  b: float) -> None:
        """CSR postings from (term, document, count) triples sorted by term, then document."""
        self.n_docs = len(lengths)
        self.k1 = k1
        avg = float(lengths.mean()) if self.n_docs and lengths.sum() else 1.0
        if not len(terms):
            self.indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
            self.doc_idx = np.zeros(0, dtype=np.int32)
            self.weights = np.zeros(0, dtype=np.float32)
            self.idf = np.zeros(0, dtype=np.float32)
            return
        df = np.bincount(terms, minlength=len(self.vocab)).astype(np.float32)
        self.idf = np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = k1 * (1 - b + b * lengths[docs_of] / avg)
        self.weights = (self.idf[terms] * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
        self.doc_idx = docs_of
        self.indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(self.vocab)), out=self.indptr[1:])

    def _scores(self, query_terms: Iterable[Term], out: np.ndarray) -> float:
        """Add BM25 scores into `out`; returns the best score any document could get (for scaling)."""
        ceiling = 0.0
        for token in set(query_terms):
            term = self.vocab.get(token)
            if term is None:
                continue
            lo, hi = self.indptr[term], self.indptr[term + 1]
            out[self.doc_idx[lo:hi]] += self.weights[lo:hi]
            ceiling += float(self.idf[term]) * 2.2
        return ceiling


class SparseBM25(Postings[str]):
    """BM25 over token strings."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.vocab = {}
        parts = []
        for lo in range(0, len(docs), SLICE):  # C-level loops, a slice at a time (see SLICE)
            flat = list(chain.from_iterable(docs[lo:lo + SLICE]))
            for token in dict.fromkeys(flat):
                self.vocab.setdefault(token, len(self.vocab))
            parts.append(np.fromiter(map(self.vocab.__getitem__, flat), dtype=np.int64, count=len(flat)))
        lengths = np.array([len(doc) for doc in docs], dtype=np.float32)
        term_ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        doc_ids = np.repeat(np.arange(len(docs), dtype=np.int64), lengths.astype(np.int64))
        self._fit(term_ids, doc_ids, lengths, k1, b)

    def scores(self, query_tokens: Iterable[str], out: np.ndarray) -> float:
        return self._scores(query_tokens, out)

    def knows(self, token: str) -> bool:
        return token in self.vocab

    def holders(self, token: str) -> np.ndarray:
        """The documents holding `token`."""
        row = self.vocab.get(token)
        return self.doc_idx[:0] if row is None else self.doc_idx[self.indptr[row]:self.indptr[row + 1]]


class PairBM25(Postings[int]):
    """BM25 over the character pairs of Chinese text, built without making a string per pair: all documents
    are encoded once as code points and each pair becomes one integer (both characters are below U+A000).
    A 20,000-card index is numpy work, not millions of Python strings."""

    def __init__(self, docs: Sequence[Sequence[str]], t2s: Simplifier, k1: float = 1.2, b: float = 0.75) -> None:
        """`docs`: per document, its text pieces (pairs never span two pieces)."""
        sliced = [_pair_codes(docs[lo:lo + SLICE], lo, t2s) for lo in range(0, len(docs), SLICE)] \
            or [_pair_codes([], 0, t2s)]
        codes = np.concatenate([c for c, _ in sliced])
        doc_ids = np.concatenate([d for _, d in sliced])
        lengths = np.bincount(doc_ids, minlength=len(docs)).astype(np.float32)
        # One sort of (pair, document) keys gives the vocabulary, the postings and the counts at once
        # (pair codes are below 2^32, so the keys fit in 64 bits for any number of documents up to 2^31).
        n = max(len(docs), 1)
        uniq, tf = np.unique(codes * n + doc_ids, return_counts=True)
        pair_of, docs_of = uniq // n, (uniq % n).astype(np.int32)
        starts = np.ones(len(pair_of), dtype=bool)
        starts[1:] = pair_of[1:] != pair_of[:-1]
        vocab = pair_of[starts]
        self.vocab = {}
        for lo in range(0, len(vocab), 50 * SLICE):
            self.vocab.update(zip(vocab[lo:lo + 50 * SLICE].tolist(), range(lo, lo + 50 * SLICE), strict=False))
        self._postings(np.cumsum(starts) - 1, docs_of, tf, lengths, k1, b)

    def scores(self, query_tokens: Iterable[str], out: np.ndarray) -> float:
        return self._scores(map(pair_code, query_tokens), out)

    def knows(self, token: str) -> bool:
        return pair_code(token) in self.vocab


def _pair_codes(docs: Sequence[Sequence[str]], first: int, t2s: Simplifier) -> tuple[np.ndarray, np.ndarray]:
    """(pair code, document number) of every character pair in `docs`, numbered from `first`."""
    texts = [PIECE.join(p.replace(DOC, " ").replace(PIECE, " ") for p in pieces) for pieces in docs]
    joined = DOC.join(texts)
    if t2s.has_traditional(joined):  # rare: convert only the documents that need it
        joined = DOC.join(map(t2s.simplified, texts))
    if BECOMES_CJK.search(joined):  # NFKC leaves U+4E00–U+9FFF alone: only these characters can turn into one
        joined = unicodedata.normalize("NFKC", joined)
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    doc_of = np.cumsum(points == ord(DOC), dtype=np.int32)  # document number of every character
    cjk = (points >= 0x4E00) & (points <= 0x9FFF)
    pair = cjk[:-1] & cjk[1:]
    codes = (points[:-1].astype(np.int64) << 16 | points[1:])[pair]
    return codes, doc_of[:-1][pair].astype(np.int64) + first


DOC, PIECE = "\x00", "\x01"
# Documents per slice of the C-level loops above: one C call holds the GIL until it returns, and the event loop
# of a serving process waits for the GIL; on 100,000 cards one call over all of them stopped it for 0.4 s.
SLICE = 2000
BECOMES_CJK = re.compile(  # NFKC turns these into U+4E00–U+9FFF: radicals, 〸, ㆒, ㈱, 兀, 🈐
    "[\u2e80-\u2fdf\u3038-\u303a\u3190-\u319f\u3200-\u33ff\uf900-\ufaff\U0001f200-\U0001f2ff\U0002f800-\U0002fa1f]")


def pair_code(pair: str) -> int:
    return ord(pair[0]) << 16 | ord(pair[1]) if len(pair) == 2 else -1


PINYIN_RUN = re.compile(r"[a-z]+(?: +[a-z]+)*")
MIN_PINYIN_SHARE = 0.6  # a Latin run is read as pinyin only when most of its letters spell known words
INITIALS = re.compile(r"[b-df-hj-np-tw-z]{3,8}")  # no vowel: not a syllable, so initials (mclz = 明厨亮灶)
# Letters that split into pinyin syllables (an initial, then a final): "sales", "record", "bill" do not, so they
# stay English. Loose on purpose (it lets "ra" pass): it only has to tell English spelling from pinyin.
SYLLABLES = re.compile(r"(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan"
                       r"|ai|ei|ao|ou|an|en|in|un|vn|ia|ie|iu|ua|uo|ue|ui|ve|er|a|o|e|i|u|v))+")
LATIN_TERMS = frozenset({"ai", "api"})  # English abbreviations that happen to spell pinyin (ai = 爱)


class PinyinReader:
    """Reads queries typed in full pinyin ("yiyuan jiage") or in initials ("yyjg") back into known words
    (the vocabulary, card keywords and the words of card titles). Built on the first Latin run it meets:
    most queries have none, and an index build does not pay for it."""

    def __init__(self, words: Callable[[], Iterable[str]], keep: Iterable[str]) -> None:
        """`keep`: Latin words that mean something already (poc, roi …), normalized."""
        self._source = words
        self._words: dict[str, str] | None = None
        self._initials: dict[str, str] = {}
        self._keep = set(keep)
        self._longest = 0

    def read(self, text: str) -> str:
        return PINYIN_RUN.sub(self._run, text) if PINYIN_RUN.search(text) else text

    def _dictionaries(self) -> dict[str, str]:
        if self._words is None:
            words: dict[str, str] = {}
            initials: dict[str, str] = {}
            for word in sorted(set(self._source()), key=lambda w: (-len(w), w)):  # on a clash the longer word wins
                if word and all(is_cjk(c) for c in word):
                    sound = lazy_pinyin(word)
                    words.setdefault("".join(sound), word)
                    if len(word) >= 2:  # one letter is no word
                        initials.setdefault("".join(p[0] for p in sound), word)
            self._words, self._initials = words, initials
            self._longest = max((len(k) for k in words), default=0)
        return self._words

    def _run(self, match: re.Match[str]) -> str:
        """Each stretch of words between kept Latin words (gsp, poc …) and English ones (sales, record: not
        pinyin syllables) is read on its own."""
        out: list[str] = []
        stretch: list[str] = []
        for word in [*match.group(0).split(), ""]:
            if word and word not in self._keep and word not in LATIN_TERMS and (
                    SYLLABLES.fullmatch(word) or INITIALS.fullmatch(word)):
                stretch.append(word)
                continue
            if stretch:
                out.append(self._stretch(" ".join(stretch)))
                stretch = []
            if word:
                out.append(word)
        return " ".join(out)

    def _stretch(self, run: str) -> str:
        words = self._dictionaries()
        letters = run.replace(" ", "")
        if INITIALS.fullmatch(letters):
            spelt, words_spelt = _cover(letters, self._initials, len(letters))
            if spelt == len(letters):
                return "".join(words_spelt)
        covered, pieces = _cover(letters, words, self._longest)
        if covered < MIN_PINYIN_SHARE * len(letters):
            return run
        out: list[str] = []
        for piece in pieces:  # glue leftover letters back together ("c","h","a"… → "chang")
            if out and piece.isascii() and out[-1].isascii():
                out[-1] += piece
            else:
                out.append(piece)
        return " ".join(p for p in out)


def _cover(letters: str, words: dict[str, str], longest: int) -> tuple[int, list[str]]:
    """The reading of `letters` covering most letters with dictionary keys (then the fewest pieces)."""
    best: list[tuple[int, list[str]]] = [(0, list[str]())] + [(-1, list[str]())] * len(letters)
    for i in range(len(letters)):
        covered, pieces = best[i]
        if covered < 0:
            continue
        for j in range(i + 1, min(len(letters), i + longest) + 1):
            word = words.get(letters[i:j])
            gain, piece = (j - i, word) if word else (0, letters[i:j])
            if covered + gain > best[j][0] or (covered + gain == best[j][0] and len(pieces) < len(best[j][1])):
                best[j] = (covered + gain, [*pieces, piece])
    return best[-1]


@dataclass
class CardIndex:
    """Everything a search needs, for one snapshot of the active cards."""

    cards: list[KbCard]
    taxonomy: Taxonomy
    tokenizer: Tokenizer
    matcher: CueMatcher
    bm25: SparseBM25
    axis_codes: dict[str, np.ndarray]  # axis → int16 per card (0 = empty, i+1 = taxonomy value i)
    titles: PairBM25  # character bigrams of the titles alone: a card is found by its own title
    bigrams: PairBM25  # character bigrams of the card text: typos, unseen compounds, words jieba cuts apart
    days: np.ndarray  # int32 per card: updated_at as an ordinal day (0 = unknown)
    superseded: np.ndarray  # bool per card: marked as replaced (旧版 / 已停用 / 作废 …)
    # int32 per card: position of a much newer card on the same role × industry × objection and topic (-1: none)
    newer: np.ndarray
    keyword_cards: dict[str, np.ndarray]  # normalized keyword → card positions
    # axis → value code → positions of the cards that name that value in their keywords but carry another one
    # (a card filed under 数据安全 with the keyword 私有化 is about 部署 too)
    keyword_values: dict[str, dict[int, np.ndarray]]
    pinyin: PinyinReader
    retokenised: list[KbCard]  # cards whose tokens this build computed (new dictionary): for the caller to save
    # everyday concepts each card's text voices (knowledge/concepts.py): a paraphrase meets its card on them
    concepts: SparseBM25 | None = None

    @property
    def positions(self) -> dict[str, int]:
        """card id → position (built once per snapshot)."""
        found = self.__dict__.get("_positions")
        if found is None:
            found = self.__dict__["_positions"] = {c.id: i for i, c in enumerate(self.cards)}
        return found


def build_index(cards: Sequence[KbCard], taxonomy: Taxonomy, tokenizer: Tokenizer) -> CardIndex:
    """Blocking: run in an executor. Cards without tokens from this dictionary are (re-)tokenised here."""
    cards = [c for c in cards if c.active]
    taxonomy = taxonomy.extended({axis: {getattr(c, axis) for c in cards} for axis in AXES})
    tokenizer.add_words(dictionary_words(taxonomy, cards))
    taxonomy = taxonomy.with_voiced("objection", voiced_values(taxonomy, tokenizer, cards))
    fresh = tokenizer.fingerprint
    docs: list[list[str]] = []
    retokenised: list[KbCard] = []
    stale: list[int] = []
    for i, card in enumerate(cards):
        if card.tokens and card.tokens_dict != fresh and still_cut_so(tokenizer, card):
            cards[i] = card.with_(tokens_dict=fresh)  # no new word occurs in it: its cut is the same
            retokenised.append(cards[i])
        elif not (card.tokens and card.tokens_dict == fresh):
            stale.append(i)
    recut = dict(zip(stale, cut_cards(tokenizer, [cards[i] for i in stale]), strict=True))
    for i, card in enumerate(cards):
        if i not in recut:
            docs.append(list(card.tokens))
            continue
        docs.append(recut[i])
        if docs[-1]:
            cards[i] = card.with_(tokens=tuple(docs[-1]), tokens_dict=fresh)  # the index keeps what it used
            retokenised.append(cards[i])
    codes = {axis: np.array([value_code(taxonomy, axis, getattr(c, axis)) for c in cards], dtype=np.int16)
             for axis in AXES}
    by_keyword: dict[str, list[int]] = {}
    for pos, card in enumerate(cards):
        for kw in card.keywords:
            by_keyword.setdefault(tokenizer.normalize(kw), []).append(pos)
    bm25 = SparseBM25(docs)
    # parts of new values (substrings: no word of the dictionary), but not the knowledge base's own subject
    taxonomy = taxonomy.with_parts(tokenizer.word_freq, lambda word, value: _topic_word(
        bm25.holders(word), codes["industry"], value_code(taxonomy, "industry", value)))
    cues = taxonomy.cues() + [Cue(k, "keyword", k) for k in by_keyword]
    matcher = CueMatcher(cues, tokenizer)
    days = np.array([c.updated_at.toordinal() if c.updated_at else 0 for c in cards], dtype=np.int32)
    tokenizer.word_tag("的")  # jieba's parts of speech (~0.3 s, once) are read here in the executor, not by a search
    return CardIndex(
        cards=cards,
        taxonomy=taxonomy,
        tokenizer=tokenizer,
        matcher=matcher,
        bm25=bm25,
        axis_codes=codes,
        titles=PairBM25([(c.title,) for c in cards], tokenizer.t2s),
        bigrams=PairBM25([card_pieces(c) for c in cards], tokenizer.t2s),
        days=days,
        superseded=np.array([is_superseded(c, tokenizer.t2s) for c in cards], dtype=bool),
        newer=newer_siblings(cards, codes, days, docs, bm25),
        keyword_cards={k: np.array(v, dtype=np.int32) for k, v in by_keyword.items()},
        keyword_values=_keyword_values(taxonomy, cards, codes, tokenizer.t2s),
        pinyin=PinyinReader(_pinyin_words(cues, cards, tokenizer),
                            (tokenizer.normalize(c.text) for c in cues if c.text.isascii())),
        retokenised=retokenised,
        concepts=SparseBM25([concept_tokens(c, d, tokenizer.t2s) for c, d in zip(cards, docs, strict=True)]),
    )


def concept_tokens(card: KbCard, tokens: Sequence[str], t2s: Simplifier) -> list[str]:
    """The everyday concepts a card voices, read from its persisted tokens (title and keywords are in them twice)
    and their adjacent pairs (新 + 址), and from its objection label (twice): a dictionary look-up per token, as
    scanning every card's text character by character cost seconds at 20,000 cards."""
    words = concepts.shipped().words
    out: list[str] = []
    for i, token in enumerate(tokens):
        found = words.get(token)
        if found is None and i + 1 < len(tokens):
            found = words.get(token + tokens[i + 1])
        if found:
            out += found
    return out + concepts.shipped().find(t2s.simplified(card.objection)) * 2


VOICED_CARDS = 20  # cards of one new objection value read for the known values they voice
VOICED_SHARE = 0.5  # a known value voiced by at least this share of the value's best-voiced one's weight
VOICED_MIN = 2.0  # ... and with at least this weight: a title or keyword word, or the talk track twice


def voiced_values(taxonomy: Taxonomy, tokenizer: Tokenizer, cards: Sequence[KbCard]) -> dict[str, tuple[str, ...]]:
    """Per admin objection value the vocabulary cannot relate (档期安排, 色差), the known objections its cards'
    own words voice: words of the vocabulary (two characters or more) in its title and keywords count twice, in
    its talk track once, each value once per piece. The vocabulary's words are words of the tokenizer, so this
    reads tokens (cut once per run and remembered), not the query-side matcher: thousands of cards stay cheap."""
    words = taxonomy.synonyms["objection"]
    new = {v for v in taxonomy.added.get("objection", ()) if taxonomy.canonical("objection", v) == v}
    by_value: dict[str, list[KbCard]] = {}
    for card in cards:
        if card.objection in new and len(by_value.setdefault(card.objection, [])) < VOICED_CARDS:
            by_value[card.objection].append(card)
    out: dict[str, tuple[str, ...]] = {}
    for value, group in by_value.items():
        weight: dict[str, float] = {}
        for card in group:
            for piece, share in ((card.title, 2.0), *((k, 2.0) for k in card.keywords), (card.talk_track, 1.0)):
                said = {words[t] for t in tokenizer.tokens(piece) if len(t) > 1 and t in words} - {value}
                for name in said:
                    weight[name] = weight.get(name, 0.0) + share / len(group)
        top = max(weight.values(), default=0.0)
        voiced = tuple(v for v, w in sorted(weight.items(), key=lambda vw: -vw[1]) if w >= VOICED_MIN and
                       w >= VOICED_SHARE * top)
        if voiced:
            out[value] = voiced
    return out


def _topic_word(holders: np.ndarray, industries: np.ndarray, code: int) -> bool:
    """A part of an industry value (维保 of 电梯维保) that many cards, or more cards of other industries than of
    that one, hold is what the cards are about, not the trade of a customer."""
    own = int(np.count_nonzero(industries[holders] == code))
    return len(holders) > PART_SPREAD * len(industries) or len(holders) - own > own


def _keyword_values(taxonomy: Taxonomy, cards: Sequence[KbCard], codes: Mapping[str, np.ndarray],
                    t2s: Simplifier) -> dict[str, dict[int, np.ndarray]]:
    out: dict[str, dict[int, list[int]]] = {axis: {} for axis in AXES}
    named: dict[str, list[tuple[str, int]]] = {}  # keyword → the (axis, value code) pairs it names
    for pos, card in enumerate(cards):
        for kw in card.keywords:
            pairs = named.get(kw)
            if pairs is None:
                pairs = named[kw] = [(axis, value_code(taxonomy, axis, value)) for axis in AXES
                                     if (value := taxonomy.canonical(axis, t2s.simplified(kw)))]
            for axis, code in pairs:
                if code and code != codes[axis][pos]:
                    out[axis].setdefault(code, []).append(pos)
    return {axis: {c: np.array(sorted(set(p)), dtype=np.int32) for c, p in by.items()} for axis, by in out.items()}


def _pinyin_words(cues: Sequence[Cue], cards: Sequence[KbCard], tokenizer: Tokenizer) -> Callable[[], list[str]]:
    """The words a pinyin query may spell: cue words, stopwords and the words of card titles (read lazily)."""

    def words() -> list[str]:
        return [*(tokenizer.normalize(c.text) for c in cues), *STOPWORDS,
                *(w for c in cards for w in tokenizer.tokens(c.title))]

    return words


def dictionary_words(taxonomy: Taxonomy, cards: Sequence[KbCard]) -> set[str]:
    """The words an index of `cards` cuts with: the vocabulary, the cards' new axis values, their keywords."""
    return dictionary_words_of(taxonomy, {axis: {getattr(c, axis) for c in cards} for axis in AXES},
                               {k for c in cards for k in c.keywords})


def dictionary_words_of(taxonomy: Taxonomy, axis_values: Mapping[str, Iterable[str]], keywords: Iterable[str]
                        ) -> set[str]:
    """`dictionary_words` from the cards' axis values and keywords alone."""
    return taxonomy.extended(axis_values).dictionary_words() | set(keywords)


def still_cut_so(tokenizer: Tokenizer, card: KbCard) -> bool:
    """Stored tokens from a dictionary this tokenizer knows stay right when no word that only one of the two
    dictionaries has occurs in the card (jieba's total is held constant, so a word changes only the cut of text
    that contains it)."""
    added = tokenizer.added_since(card.tokens_dict)
    if added is None:
        return False
    text = tokenizer.normalize(PIECE.join(card_pieces(card)))
    return not any(word in text for word in added)


SUPERSEDED = re.compile(
    r"已停用|停止使用|作废|已过时|旧版|旧报价|已失效|废弃|不再使用|已替换|被替代|已结束|已过期|已下架|已下线|不再适用|停售"
    r"|superseded|deprecated|obsolete|expired")


SIBLING_DAYS = 180  # a card this much older than a sibling on the same subject is its earlier version
SIBLING_TOPIC = 0.3  # share of the smaller card's words (weighted by rarity) the two hold both: one subject
SIBLINGS_COMPARED = 4  # newer siblings each card is compared with (a huge group stays linear)
YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def newer_siblings(cards: Sequence[KbCard], codes: Mapping[str, np.ndarray], days: np.ndarray,
                   docs: Sequence[Sequence[str]], bm25: SparseBM25) -> np.ndarray:
    """Per card, the newest card that replaced it (-1: none): one on the same role × industry × objection about the
    same topic that is much newer — by `SIBLING_DAYS`, or dated in a later year than the year the older card's
    title names (「2024年价格政策」 beside a 2025 card). The admin kept the old card; it is no longer the answer."""
    out = np.full(len(cards), -1, dtype=np.int32)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i in np.flatnonzero(days > 0).tolist():
        groups.setdefault((int(codes["role"][i]), int(codes["industry"][i]), int(codes["objection"][i])), []).append(i)
    idf, vocab = bm25.idf.tolist(), bm25.vocab
    words: dict[int, tuple[set[int], float]] = {}

    def weighted(i: int) -> tuple[set[int], float]:
        if i not in words:
            terms = set(map(vocab.__getitem__, set(docs[i])))  # every token of a document is in the vocabulary
            words[i] = terms, sum(map(idf.__getitem__, terms))
        return words[i]

    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: -int(days[i]))  # newest first
        before = [-int(days[i]) for i in members]  # ascending
        for rank, old in enumerate(members[1:], 1):
            year = max((int(y) for y in YEAR.findall(cards[old].title)), default=0)
            later = date(year + 1, 1, 1).toordinal() if year else -before[rank] + SIBLING_DAYS
            newer = bisect.bisect_right(before, -max(min(later, -before[rank] + SIBLING_DAYS), 1 - before[rank]))
            for new in members[:min(newer, SIBLINGS_COMPARED)]:  # newest first: the first one found replaced it
                (a, a_total), (b, b_total) = weighted(old), weighted(new)
                shared = sum(map(idf.__getitem__, a & b))
                if min(a_total, b_total) > 0 and shared >= SIBLING_TOPIC * min(a_total, b_total):
                    out[old] = new
                    break
    _same_title_versions(cards, codes, days, out)
    _edition_versions(cards, codes, days, out)
    return out


# A version or year marker in a title: （2024版）, 2025年, v2, 第二版, 旧版 / 新版, 最新, 修订版, (更新)
VERSION_MARK = re.compile(r"[（(【\[]?\s*(?:20\d\d\s*(?:年度|年版|年|版)?|v\d+(?:\.\d+)*|第[一二三四五六七八九十0-9]+版"
                          r"|[新旧]版|最新版?|修订版?|更新版?|[0-9.]+版)\s*[）)】\]]?", re.IGNORECASE)
STEM_MIN = 4  # characters a title keeps without its markers to name a subject


def title_stem(title: str) -> str:
    """A title without its version or year markers and punctuation: what the card is about."""
    return re.sub(r"[\W_]+", "", VERSION_MARK.sub("", title)).lower()


def _same_title_versions(cards: Sequence[KbCard], codes: Mapping[str, np.ndarray], days: np.ndarray,
                         out: np.ndarray) -> None:
    """Cards for the same role and industry whose titles are one title apart from a version or year marker
    (「价目表（2025版）」, 「价目表（2026版）」) are versions of one card whatever objection label each got and however
    close their dates: each older one is replaced by the newest."""
    groups: dict[tuple[int, int, str], list[int]] = {}
    for i in np.flatnonzero(days > 0).tolist():
        stem = title_stem(cards[i].title)
        if len(stem) >= STEM_MIN:
            groups.setdefault((int(codes["role"][i]), int(codes["industry"][i]), stem), []).append(i)
    for members in groups.values():
        newest = max(members, key=lambda i: int(days[i]))
        for old in members:
            if out[old] < 0 and days[old] < days[newest]:
                out[old] = newest


# An edition note in brackets (「（2023版，含旧标准）」, 「(现行)」): which version, not what about.
EDITION_NOTE = re.compile(
    r"[（(【\[][^（(【\[）)】\]]*?(?:20\d\d|版|现行|最新|新规|旧|有效|停用|废止)[^（(【\[）)】\]]*[）)】\]]")
CURRENT = re.compile(r"现行|当前版|最新|新版|新规|有效版|current", re.IGNORECASE)  # the admin's mark: in force
EDITION_OVERLAP = 0.5  # share of the shorter title's character pairs two titles on one subject share (an edition)
TITLE_OVERLAP = 0.8  # ... when neither title names an edition
COMMON_PAIR = 200  # a title pair this many cards of one group hold names no subject (too common to compare by)


def edition_stem(title: str) -> str:
    """A title without its edition notes (「（2023版，含旧标准）」, 「现行」) and punctuation."""
    return title_stem(CURRENT.sub("", EDITION_NOTE.sub("", title)))


@dataclass(frozen=True)
class _Edition:
    """What a card's title and date say of its edition, read once per card (not once per pair compared)."""

    year: int  # the latest year its title names, else the year of its date (0: neither)
    names_year: bool  # its title names a year
    marked: bool  # its title names a year, an edition note or 「现行」
    current: bool  # its title marks it in force (「现行」, 最新 …)


def _edition(card: KbCard, day: int) -> _Edition:
    named = [int(y) for y in YEAR.findall(card.title)]
    year = max(named) if named else (date.fromordinal(day).year if day > 0 else 0)
    current = bool(CURRENT.search(card.title))
    return _Edition(year, bool(named), bool(named or EDITION_NOTE.search(card.title) or current), current)


def _edition_versions(cards: Sequence[KbCard], codes: Mapping[str, np.ndarray], days: np.ndarray,
                      out: np.ndarray) -> None:
    """Cards on the same role × industry × objection whose titles (without edition notes) share most of their
    character pairs are one subject; of two, the older one is replaced — older by `SIBLING_DAYS`, or by the
    year its title names (「（2023版）」 beside a 2026 card or a 「现行」 one), however differently they read."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i in range(len(cards)):
        if days[i] > 0 or YEAR.search(cards[i].title):
            groups.setdefault(tuple(int(codes[a][i]) for a in AXES), []).append(i)  # type: ignore[arg-type]
    for members in groups.values():
        if len(members) < 2:
            continue
        pairs = {i: set(_stem_pairs(edition_stem(cards[i].title))) for i in members}
        editions = {i: _edition(cards[i], int(days[i])) for i in members}
        sizes, marked = np.zeros(len(cards)), np.zeros(len(cards), dtype=bool)  # by card position
        sizes[members] = [len(pairs[i]) for i in members]
        marked[members] = [editions[i].marked for i in members]
        posting: dict[str, list[int]] = {}
        for i in members:
            for pair in pairs[i]:
                posting.setdefault(pair, []).append(i)
        for old in members:
            if out[old] >= 0 or not pairs[old]:
                continue
            shared = Counter(chain.from_iterable(  # counted in C: 20,000 cards of one subject are millions
                holders for pair in pairs[old] if len(holders := posting[pair]) <= COMMON_PAIR))
            others = np.fromiter(shared.keys(), dtype=np.int64, count=len(shared))
            counts = np.fromiter(shared.values(), dtype=np.int64, count=len(shared))
            needed = np.where(marked[others] | marked[old], EDITION_OVERLAP, TITLE_OVERLAP)  # _overlap_needed
            close = others[(counts >= needed * np.minimum(sizes[old], sizes[others])) & (others != old)]
            found = [new for new in close.tolist() if _replaces(editions[old], editions[new], int(days[old]),
                                                                int(days[new]))]
            if found:
                out[old] = max(found, key=lambda i: (int(days[i]), editions[i].year))


def _stem_pairs(stem: str) -> list[str]:
    return [a + b for a, b in pairwise(stem)] or ([stem] if stem else [])


def _replaces(old: _Edition, new: _Edition, a: int, b: int) -> bool:
    """`new` (dated `b`) is a later version than `old` (dated `a`): much newer, or of a later year, or marked in
    force and newer."""
    if a and b and b - a >= SIBLING_DAYS:
        return True
    if old.names_year and old.year and new.year > old.year and (not (a and b) or b > a):
        return True
    return bool(new.current and not old.current and (not (a and b) or b > a) and (a or b))


def is_superseded(card: KbCard, t2s: Simplifier) -> bool:
    """An admin marks a replaced card in its title or keywords (旧版, 已停用, 作废 …)."""
    return bool(SUPERSEDED.search(t2s.simplified(" ".join([card.title, *card.keywords]))))


def value_code(taxonomy: Taxonomy, axis: str, value: str) -> int:
    """Position + 1 of the value a card's own word stands for (0 = fits any)."""
    if not value:
        return 0
    canonical = taxonomy.canonical(axis, value) or value
    try:
        return taxonomy.values[axis].index(canonical) + 1
    except ValueError:
        return 0


CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def bigrams(text: str, t2s: Simplifier) -> list[str]:
    """The character pairs of the Chinese runs of `text` as the knowledge base reads it (Tokenizer.bigrams)."""
    out: list[str] = []
    for run in CJK_RUN.findall(t2s.simplified(text)):
        out.extend(map(str.__add__, run, run[1:]))  # C-level: 20,000 cards' pairs in about a second
    return out


def card_pieces(card: KbCard) -> tuple[str, ...]:
    """The texts whose character pairs describe a card: title and keywords count twice."""
    head = (card.title, *card.keywords)
    return (*head, *head, card.talk_track, card.success_case)


def card_bigrams(card: KbCard, t2s: Simplifier) -> list[str]:
    return [b for piece in card_pieces(card) for b in bigrams(piece, t2s)]
