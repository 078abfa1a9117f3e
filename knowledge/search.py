"""Ranking and the calibrated decline, plus `KnowledgeBase`: the index a process keeps in memory.

score(card) = text relevance (BM25, scaled to 0..1) + axis agreement (role / industry / objection
found in the query via synonyms or pinyin; a card holding none of the query's words keeps only part of it,
so a cue word alone does not outrank a card about what the rest of the query says) + matched card
keywords. Whether to answer is judged against the query itself (how much of it the cues and the cards'
words explain) and against the runner-up card, never against one absolute score (`_judged`), and only
when more than one matched thing backs the first card: no employee's own matter without a customer in it, no
role/industry word or single vocabulary synonym alone (`_backed`); otherwise `answered=False` with close
categories.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from bot.engines import Engines
from knowledge import concepts, decision, frame, store
from knowledge.index import (
    STOPWORDS,
    CardIndex,
    CueHit,
    Tokenizer,
    build_index,
    edition_stem,
    is_cjk,
    value_code,
)
from knowledge.learning import Learned
from knowledge.query import SIMPLIFIER, clean, is_chatter
from knowledge.schema import AXES, KbCard
from knowledge.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)
W_AXIS = {"objection": 3.0, "industry": 2.5, "role": 1.5}
GENERIC_SHARE = 0.15  # a card without a value on an axis the query names fits partly
FAMILY_SHARE = 0.35  # a card whose value is in the same family (价格 ~ 付款方式) fits partly
MISMATCH_SHARE = 0.35  # a card with a different value of the vocabulary is pushed down (a new value is not)
RELATED_SHARE = 0.8  # a card whose new value holds the query's value and another (餐饮连锁 ~ 餐饮) fits mostly
KEYWORD_VALUE_SHARE = 0.5  # a card whose keywords name the query's value (its own value is another) fits half
GENERIC_BONUS = 0.8  # the query names no value: generic cards are the safer answer
W_TEXT = 2.5
AXIS_ALONE = 0.6  # share of its axis agreement kept by a card that holds none of the query's words
AXIS_TEXT = 0.4  # text relevance from which a card keeps all of its axis agreement
W_BIGRAM = 1.5
# Everyday concepts (knowledge/concepts.py), read only when no objection or card keyword of the query matched:
W_CONCEPT = 1.5  # a card voicing all of the query's concepts gains this much (text relevance gives up to 2.5)
CONCEPT_BACKED = 0.5  # share of the query's concepts (BM25) the first card voices for it to stand as a cue would
CONCEPT_WORDS = 2  # distinct concept words a query needs for concepts to count (one, 几天 or 开会, is chance)
W_TITLE = 1.0
W_KEYWORD = 2.0
W_RECENT = 0.3  # the newest card gets this much over one two years older
RECENT_DAYS = 730
PINYIN_SHARE = 0.8  # a pinyin-only (typo) hit counts a bit less than the exact word
AXIS_WORD_KEYWORD_SHARE = 0.3  # a card keyword that is also a taxonomy synonym is already counted by its axis
SUPERSEDED_PENALTY = 4.0
SAME_SUBJECT_MARGIN = 0.75  # a stale first card yields only to a fresher one about as relevant
TITLE_PIECES = 3  # character pairs (or numbers) from which a query can be a card's title
TITLE_SHARE = 0.9  # ... when its title holds this share of them
GENERIC_RATIO = 0.7  # a general card this close (share of the first score) comes before a role's or industry's
CLEARLY_MORE = 0.3  # share of the query's words: an older or a specific card keeps first place only this far ahead
FREEZE_FROM = 2000  # cards from which a build moves its objects out of the garbage collector's sight
CANDIDATES = 12  # the decision and the recency pass look at this many best cards
FILLER_FREQ = 20_000  # jieba frequency above which a word is grammar, not topic (问题, 你们, 现在 …)
KNOWN_SHARE = 0.5  # a word that only occurs somewhere in the cards explains less than a cue does
VOWELS = re.compile(r"[aeiouv]+")
FILLER_RE = re.compile(r"^[\u4e00-\u9fff]不[\u4e00-\u9fff]$|^([\u4e00-\u9fff])一\1$")  # 跟不上 谈不拢 比一比
LONG_TEXT = 3.0  # a paragraph's text part, relative to the best card: its many words each explain little
LONG_QUERY = 40  # characters: a voice-to-text paragraph; it is ranked and judged on its objection clauses
# Clause breaks in unpunctuated speech: punctuation, spaces, the connectives that start a new clause, and someone
# starting to speak (他一直在说…, 客户问…).
OWN = "我说|我就说|我跟他说|我跟她说|我们说|我回|我解释"  # the rep's own answer, not the objection
SPEAKS = ("(?:他们|她们|他|她|客户|对方|老板|领导)(?:一直|还|也|就|又|都|老是|总是|最|主要)?(?:在)?"
          "(?:说|问|讲|觉得|担心|嫌|怕|提到|表示|反映)")
CLAUSE_BREAK = re.compile(r"[，。！？；：,.!?;:\s]+|(?=但是|可是|不过|所以|然后|后来|而且|因为|结果|另外|还有|其实"
                          rf"|就是说|问我们|问你们|{OWN}|{SPEAKS})")
OWN_WORDS = re.compile(rf"^(?:{OWN})")
CONCERN = re.compile("怕|担心|嫌|要求|顾虑|介意|在意|纠结|问|说|觉得|反映|抱怨")  # a clause voicing the concern
ASK = re.compile("问我们|问你们|想问|想知道|能不能|有没有|可不可以")
MAIN = re.compile("最担心|最怕|最关心|最在意|最在乎|最头疼|最大的问题|最大的顾虑|主要是担心|主要担心|关键是|核心是"
                  "|主要是怕|主要怕|就是怕|就怕|担心的是|怕的是|顾虑的是|关心的是|在意的是|唯一担心|唯一的顾虑")
# The rep's story (我今天去了…, 刚才跟…聊, 下午见了…): where and whom, not what the customer objected to.
STORY = re.compile(r"^(?:(?:今天|昨天|刚才|刚刚|上午|下午|早上|晚上|前两天|前几天|上周|那天)?(?:我|我们)(?!们)"
                   r"|今天|昨天|刚才|刚刚|上午|下午|前两天|前几天|上周|那天)")


def objection_clauses(query: str, hits: Sequence[CueHit]) -> str:
    """The clauses of a long paragraph that say what matters most to the customer (最担心的是…), else those
    that hold an objection or a card keyword, but the rep's story (「今天我去…」, 「我跟…聊」) only when nothing
    else does; never the rep's own answer (「我说…」). The whole paragraph when that is all of it (or nothing)."""
    spans, pos = [], 0
    for piece in CLAUSE_BREAK.split(query):
        start = query.index(piece, pos) if piece else pos
        pos = start + len(piece)
        if piece.strip() and not OWN_WORDS.match(piece):
            spans.append((start, pos))
    topical = [h for h in hits if h.cue.axis in {"objection", "keyword"}]
    kept = [(a, b) for a, b in spans if MAIN.search(query[a:b])]  # 最担心的是…: what the customer says matters most
    kept += [(a, b) for a, b in spans if kept and ASK.match(query[a:b]) and (a, b) not in kept]  # … and the ask
    kept.sort()
    if not kept:  # the clauses holding a concern; of those, the ones where it is voiced (他嫌…, 怕…, 要求…)
        kept = [(a, b) for a, b in spans if any(h.start < b and a < h.end for h in topical)]
        kept = [(a, b) for a, b in kept if CONCERN.search(query[a:b])] or kept
    kept = [(a, b) for a, b in kept if not STORY.match(query[a:b])] or kept  # the rep's story only if nothing else
    if not kept or len(kept) == len(spans):
        return query
    return " ".join(query[a:b] for a, b in kept)


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
    why: tuple[str, ...] = ()  # the axis values and words that decided the first card
    work: bool = True  # a question about the rep's work: declined, it belongs in the gaps queue (small talk does not)

    @property
    def ranked(self) -> list[str]:
        return [h.card.id for h in self.hits]

    @property
    def scores(self) -> list[float]:
        return [round(h.score, 3) for h in self.hits]

    @property
    def best(self) -> KbCard | None:
        return self.hits[0].card if self.answered and self.hits else None

    def why_line(self) -> str:
        """「匹配：采购 · 医疗 · 价格」 under an answer card ("" when nothing in particular decided)."""
        return "匹配：" + " · ".join(self.why) if self.why else ""

    def to_json(self, why: bool = False) -> dict[str, object]:
        """The CLI contract: {"q","ranked","scores","answered"}, plus an optional "why" (words that decided)."""
        out: dict[str, object] = {"q": self.query, "ranked": self.ranked, "scores": self.scores,
                                  "answered": self.answered}
        if why:
            out["why"] = list(self.why)
        return out


@dataclass
class Scored:
    """One query against one index: the per-card score parts the decision needs."""

    query: str
    hits: list[CueHit]
    values: dict[str, dict[str, float]]
    total: np.ndarray
    text: np.ndarray  # text relevance, 0..1 of what the query's words could give
    keyword: np.ndarray  # matched card keywords (weight)
    paragraph: str = ""  # a voice-to-text paragraph `query` was taken from (who speaks is told anywhere in it)
    concept: np.ndarray | None = None  # 0..1 per card: the query's everyday concepts the card voices (None: not read)
    concept_words: int = 0  # distinct concept words in the query (when no cue matched)


def rank(
    index: CardIndex, query: str, top: int = 3, stale_days: int = 365, learned: Learned | None = None
) -> SearchResult:
    """Pure and synchronous: a few numpy operations over the snapshot."""
    original, t2s = query.strip(), index.tokenizer.t2s
    text = clean(original, t2s)
    if not text or not index.cards or is_chatter(original, t2s):
        work = bool(text) and not is_chatter(original, t2s) and not _off_duty(index, text)
        return SearchResult(original, (), False, _default_suggestions(index.taxonomy), work=work)
    scored, order, pinned = _ordered(index, text, original, top, stale_days, learned)
    if pinned is not None:
        order = [pinned, *(i for i in order if i != pinned)]
        answered, why = True, ("置顶", *_why(index, scored, index.cards[pinned]))
    else:
        answered, why = _decide(index, scored, order[0], order[1] if len(order) > 1 else None)
    ranked = tuple(Hit(index.cards[i], float(scored.total[i])) for i in order[:top])
    suggestions = () if answered else _suggestions(index, ranked, scored.values)
    matched = {axis: tuple(v) for axis, v in scored.values.items()}
    return SearchResult(original, ranked, answered, suggestions, matched, why if answered else (),
                        answered or not _off_duty(index, scored.paragraph or scored.query))


def _ordered(index: CardIndex, text: str, original: str, top: int, stale_days: int, learned: Learned | None
             ) -> tuple[Scored, list[int], int | None]:
    """The query scored against every card, the best cards in order, and the card pinned to this wording."""
    scored = score_all(index, text)
    pinned = _apply_learning(index, scored, original, learned)
    order = _fresh_first(index, _top(scored.total, max(top, CANDIDATES)), scored, stale_days)
    return scored, order, pinned


def decision_inputs(index: CardIndex, query: str, stale_days: int = 365
                    ) -> tuple[str, dict[str, float], bool] | None:
    """The first card's id, the features the answer / decline decision weighs and whether a veto declines it anyway
    (for bench/kb_decision.py); None when the query is declined before any card is weighed (empty, chatter)."""
    original, t2s = query.strip(), index.tokenizer.t2s
    text = clean(original, t2s)
    if not text or not index.cards or is_chatter(original, t2s):
        return None
    scored, order, _ = _ordered(index, text, original, CANDIDATES, stale_days, None)
    best, runner_up = order[0], order[1] if len(order) > 1 else None
    card = index.cards[best]
    backing = _backing(index, scored, card, _why(index, scored, card))
    signs = chance_signs(index, scored, best, backing)
    return card.id, decision_features(index, scored, best, runner_up, backing, signs), bool(signs & HARD_SIGNS)


def _off_duty(index: CardIndex, query: str) -> bool:
    """The question is about the rep's own day (canteen, leave, expenses, weather, a hotel to book), with no
    customer in it: no card should answer it, and its decline is no gap in the knowledge base."""
    text = index.tokenizer.normalize(query)
    tokens = index.tokenizer.cut(text)
    own = [m for m in frame.own_matters(text, tokens) if not frame.is_grammar(m.group(0))]
    return bool(own or frame.errands(text)) and not frame.customer_framed(text, tokens)


def score_all(index: CardIndex, text: str) -> Scored:
    query = _glossed(index, _without_modals(index, index.pinyin.read(text)))
    hits = index.matcher.find(query)
    context: list[CueHit] = []
    focus = objection_clauses(query, hits) if len(query) >= LONG_QUERY else query
    paragraph = query if focus != query else ""
    if focus != query:  # a voice-to-text paragraph: rank on what the customer objected to, not the story
        context = [h for h in hits if h.cue.axis in {"role", "industry"}]  # who and where, named anywhere
        query, hits = focus, index.matcher.find(focus)
    norm = index.tokenizer.normalize
    named = _named_industries(hits, norm(query)) | _named_industries(context, norm(paragraph))
    values = _axis_values([h for h in [*_implied(hits, named), *_implied(context, named)] if h])
    said, told = query, hits  # the words text relevance is judged on
    if len(text) >= LONG_QUERY:
        passing = _by_mentions(values, hits)
        aside = [h for h in hits if h.cue.axis == "objection" and h.cue.value in passing]
        told = [h for h in hits if h not in aside]
        for hit in sorted(aside, key=lambda h: -h.start):  # 问了价格 in passing: not what the cards should hold
            said = said[:hit.start] + " " + said[hit.end:]
    n = len(index.cards)
    words = np.zeros(n, dtype=np.float32)
    ceiling = index.bm25.scores(index.tokenizer.tokens(said) + _expansion_words(index.tokenizer, told), words)
    relevance = words / ceiling if ceiling > 0 else words
    grams = np.zeros(n, dtype=np.float32)
    ceiling = index.bigrams.scores(index.tokenizer.bigrams(said), grams)
    if ceiling > 0:
        grams /= ceiling
    title = np.zeros(n, dtype=np.float32)
    ceiling = index.titles.scores(index.tokenizer.bigrams(said), title)
    if ceiling > 0:
        title /= ceiling
    total = W_TEXT * relevance + W_BIGRAM * grams + W_TITLE * title
    concept, concept_words = _concept_relevance(index, said, hits)
    if concept is not None:
        total += W_CONCEPT * concept
    total += _own_title(index, said, total)
    if len(text) >= LONG_QUERY and float(total.max()) > 0:  # a paragraph: its words, relative to the best card
        total *= np.float32(LONG_TEXT / float(total.max()))
    axes = np.zeros(n, dtype=np.float32)
    for axis in AXES:
        axes += _axis_part(index, axis, values.get(axis, {}))
    for value in {h.cue.value for h in (*hits, *context) if h.cue.axis == "industry"} - set(values.get("industry", ())):
        code = value_code(index.taxonomy, "industry", value)  # implied by a department, another industry said
        axes[index.axis_codes["industry"] == code] -= W_AXIS["industry"] * (1 - MISMATCH_SHARE)
    if _says_more(index, query, hits):  # words besides the cues: a card should hold some of them too
        support = AXIS_ALONE + (1 - AXIS_ALONE) * np.minimum(1.0, np.maximum(relevance, grams) / AXIS_TEXT)
        axes = np.where(axes > 0, axes * support, axes)
    total += axes
    keyword = np.zeros(n, dtype=np.float32)
    for hit in hits:
        if hit.cue.axis == "keyword":
            weight = W_KEYWORD * (1 if hit.exact else PINYIN_SHARE) * min(1.5, max(0.7, len(hit.cue.text) / 3))
            cards = index.keyword_cards[index.tokenizer.normalize(hit.cue.text)]
            keyword[cards] += weight * _keyword_shares(index, hit.cue.text, cards)
    total += keyword + _recency(index) - index.superseded * np.float32(SUPERSEDED_PENALTY)
    return Scored(query, hits, values, total, np.maximum(relevance, grams), keyword, paragraph, concept,
                  concept_words)


def _concept_relevance(index: CardIndex, said: str, hits: Sequence[CueHit]) -> tuple[np.ndarray | None, int]:
    """0..1 per card: how much of the everyday concepts the query voices (knowledge/concepts.py) the card voices
    too, and the number of distinct concept words found. Read only when the vocabulary found no objection and no
    card keyword in the query (where a cue names the topic, concepts only tipped near ties the wrong way: kb-dev,
    held-out E and S lost a query each when they were read always), and only from two concept words on: one
    (开会, 几天) put a card that shares a character pair with an own-day ask first, and it was answered."""
    if index.concepts is None or any(h.cue.axis in TOPIC_AXES for h in hits):
        return None, 0
    text = index.tokenizer.normalize(said)
    words = len(set(concepts.shipped().words_in(text)))
    if words < CONCEPT_WORDS:
        return None, words
    out = np.zeros(len(index.cards), dtype=np.float32)
    ceiling = index.concepts.scores(concepts.shipped().find(text), out)
    return (out / ceiling if ceiling > 0 else None), words


OWN_TITLE = 4.0  # a query that is (nearly) a card's own title: more than one axis cue gives another card
OWN_TITLE_QUERY = 0.8  # share of the query's character pairs the title holds
OWN_TITLE_HELD = 0.6  # ... and share of the title's (edition notes aside) the query holds
OWN_TITLE_CANDIDATES = 5  # titles compared, the best by title relevance


def _own_title(index: CardIndex, query: str, text: np.ndarray) -> np.ndarray | float:
    """Per card, a bonus for a query that is most of its title (「管网保温改造要停产多久」): an admin or a rep
    looking a card up by its name, whatever axis cue its words also hold (停产, 报价). Compared: the cards whose
    words (`text`: text relevance) the query holds most."""
    if len(query) >= LONG_QUERY or not text.any():
        return 0.0
    pieces = set(_content_bigrams(index, query)) | _latin(index.tokenizer.normalize(query))
    if len(pieces) < TITLE_PIECES:
        return 0.0
    bonus = np.zeros(len(text), dtype=np.float32)
    for i in _top(text, OWN_TITLE_CANDIDATES):
        stem = edition_stem(index.tokenizer.normalize(index.cards[i].title))
        pairs = set(index.tokenizer.bigrams(stem)) | _latin(stem)
        held = pieces & pairs
        if pairs and len(held) >= OWN_TITLE_QUERY * len(pieces) and len(held) >= OWN_TITLE_HELD * len(pairs):
            bonus[i] = OWN_TITLE * min(len(held) / len(pieces), len(held) / len(pairs))
    return bonus


def _latin(text: str) -> set[str]:
    return set(re.findall(r"[0-9a-z]+", text))


def _glossed(index: CardIndex, query: str) -> str:
    """「truck开到山里没signal」 reads 「货车开到山里没信号」: an English word of the vocabulary that no card holds is
    replaced by its Chinese word, so the phrases it is part of (没信号) and the cards' character pairs match."""
    if not query.isascii() and not re.search(r"[a-z]{3}", query):
        return query
    hits = index.matcher.find(query)
    keywords = [h for h in hits if h.cue.axis == "keyword"]
    glosses = [h for h in hits if h.exact and h.cue.axis == "expansion" and h.cue.words and is_cjk(h.cue.words[0][0])
               and h.cue.text.isascii() and not index.bm25.knows(index.tokenizer.normalize(h.cue.text))
               and not any(k.start < h.end and h.start < k.end for k in keywords)
               and not any(o.exact and o.start <= h.start and h.end <= o.end and o.end - o.start > h.end - h.start
                           for o in hits)]  # sales inside after sales: the compound is the word
    for hit in sorted(glosses, key=lambda h: h.start, reverse=True):
        query = query[:hit.start] + _gloss_word(index, hit.cue.words) + query[hit.end:]
    return query


def _gloss_word(index: CardIndex, words: Sequence[str]) -> str:
    """The Chinese word this knowledge base says the English one with: a card keyword (demo → 试用 where the
    admin wrote 试用, 演示 where they wrote that), else the vocabulary's first word (IT → 技术, a role word)."""
    norm = index.tokenizer.normalize
    return next((w for w in words if norm(w) in index.keyword_cards), words[0])


MODALS = frozenset({"能", "能不能", "可以", "可不可以", "能否", "可否", "会不会", "要不要"})


def _without_modals(index: CardIndex, query: str) -> str:
    """「数据能拿走」 reads 「数据拿走」, 「安装要不要停业」 reads 「安装停业」: a modal verb standing alone between two
    words splits the phrase a cue is made of (one inside a word — 功能, 能耗 — is kept)."""
    pieces = index.tokenizer.cut(query)
    if not MODALS.intersection(pieces):
        return query
    kept = [p for i, p in enumerate(pieces) if not (
        p in MODALS and 0 < i < len(pieces) - 1 and is_cjk(pieces[i - 1][-1]) and is_cjk(pieces[i + 1][0]))]
    return "".join(kept)


def _says_more(index: CardIndex, query: str, hits: Sequence[CueHit]) -> bool:
    """The query holds a topic word no cue explains (「报警」 in 「报警了没人管」; none in 「物流财务账期异议」)."""
    covered: set[int] = set()
    for hit in hits:
        covered.update(range(hit.start, hit.end))
    pos = 0
    for token in index.tokenizer.cut(query):
        span = range(pos, pos + len(token))
        pos += len(token)
        if not covered.issuperset(span) and not _is_filler(index, token) and (len(token) > 1 or token.isalnum()):
            return True
    return False


def _keyword_shares(index: CardIndex, word: str, cards: np.ndarray) -> np.ndarray | float:
    """A card keyword that is also a vocabulary word counts less on the cards whose axis value it names (the
    axis already counted it), fully on the others: the admin filed the word under that card's own subject
    (「优惠」 on a promotion card, 「NDA」 under confidentiality) whatever the vocabulary says it means."""
    counted = np.zeros(len(cards), dtype=bool)
    for axis in AXES:
        value = index.taxonomy.canonical(axis, word)
        if value is not None:
            counted |= index.axis_codes[axis][cards] == value_code(index.taxonomy, axis, value)
    return np.where(counted, AXIS_WORD_KEYWORD_SHARE, 1.0) if counted.any() else 1.0


def _apply_learning(index: CardIndex, scored: Scored, query: str, learned: Learned | None) -> int | None:
    """Votes on similar wordings shift cards (bounded); a pin on this wording returns the pinned position."""
    if learned is None:
        return None
    positions = index.positions
    for card_id, shift in learned.shifts(query).items():
        if card_id in positions:
            scored.total[positions[card_id]] += shift
    pinned = learned.pinned(query)
    return positions.get(pinned) if pinned else None


def _recency(index: CardIndex) -> np.ndarray:
    cached = index.__dict__.get("_recency")
    if cached is None:
        cached = index.__dict__["_recency"] = _recency_of(index)
    return cached


def _recency_of(index: CardIndex) -> np.ndarray:
    known = index.days[index.days > 0]
    if not known.size:
        return np.zeros(len(index.cards), dtype=np.float32)
    age = np.where(index.days > 0, int(known.max()) - index.days, RECENT_DAYS)
    return (W_RECENT * np.clip(1 - age / RECENT_DAYS, 0, 1)).astype(np.float32)


def _fresh_first(index: CardIndex, order: list[int], scored: Scored, stale_days: int) -> list[int]:
    """Who comes first among cards on one subject (the same objection; the same role and industry too for
    freshness): a query naming no role (or no industry) gets the card with no value there (`_generic_first`),
    and a newer card beats an older one on the same role × industry × objection (`_newest_first`) unless the
    query holds clearly more of the older card's own words. A card older than the staleness limit never stays
    before a fresher one about as relevant, whatever its words."""
    order = _role_first(index, _generic_first(index, order, scored), scored)
    return _replaced_last(index, _newest_first(index, order, scored, stale_days), scored)


def _role_first(index: CardIndex, order: list[int], scored: Scored) -> list[int]:
    """The query names whom (老板, the boss): of the cards on the first card's objection, the one for that role
    comes before one for another role or for anyone, when it is a fair second."""
    wanted = scored.values.get("role")
    first = order[0]
    codes = index.axis_codes
    if not wanted or not codes["objection"][first]:
        return order
    named = {value_code(index.taxonomy, "role", v) for v in wanted} - {0}
    if codes["role"][first] in named:
        return order
    total = scored.total
    for other in order[1:]:
        if (codes["role"][other] in named and codes["objection"][other] == codes["objection"][first]
                and codes["industry"][other] in (0, codes["industry"][first])
                and total[other] >= GENERIC_RATIO * total[first]
                and scored.text[other] >= GENERIC_RATIO / 2 * scored.text[first]):
            return [other, *(i for i in order if i != other)]
    return order


def _replaced_last(index: CardIndex, order: list[int], scored: Scored) -> list[int]:
    """A card a much newer sibling replaced (`index.newer`) comes right after it, the sibling brought in when the
    ranking left it out — unless the query is that old card's own title (an admin looking it up)."""
    out = list(order)
    for card in order[:3]:
        newer = int(index.newer[card])
        while newer >= 0 and index.newer[newer] >= 0:
            newer = int(index.newer[newer])
        if newer < 0 or _asks_for_title(index, scored.query, card, newer):
            continue
        at = out.index(card)
        if newer in out and out.index(newer) < at:
            continue
        if newer in out:
            out.remove(newer)
        out.insert(at, newer)
    return out


def _asks_for_title(index: CardIndex, query: str, card: int, newer: int) -> bool:
    """The query is (nearly all) words of `card`'s title, some of which the newer card's title lacks (its year)."""
    tok = index.tokenizer
    title, other = tok.normalize(index.cards[card].title), tok.normalize(index.cards[newer].title)
    pieces = _content_bigrams(index, query) + re.findall(r"[0-9a-z]+", tok.normalize(query))
    if len(pieces) < TITLE_PIECES:
        return False
    held = [p for p in pieces if p in title]
    return len(held) >= TITLE_SHARE * len(pieces) and any(p not in other for p in held)


def _generic_first(index: CardIndex, order: list[int], scored: Scored) -> list[int]:
    """A card for one role (财务, 老板) or one industry yields to the card for anyone on the same objection when
    the query names no role (no industry) and the general card is a fair second: the rep did not say whom."""
    loose = [a for a in ("role", "industry") if not scored.values.get(a)]
    first = order[0]
    codes = index.axis_codes
    if not any(codes[a][first] for a in loose):
        return order
    total = scored.total
    for other in order[1:]:
        if codes["objection"][other] != codes["objection"][first] or _two_labels(index, first, other):
            continue
        fits = all(codes[a][other] == codes[a][first] or (a in loose and not codes[a][other]) for a in AXES)
        fair = total[other] >= GENERIC_RATIO * total[first] and scored.text[other] >= GENERIC_RATIO / 2 * scored.text[
            first]  # ... and holds a fair part of the query words the specific card holds (not another subject)
        if fits and (fair or _about_as_good(scored, first, other)):
            return [other, *(i for i in order if i != other)]
    return order


def _two_labels(index: CardIndex, first: int, other: int) -> bool:
    """An admin's own objection label that joined a value (员工不配合, 界面难用 → 使用) and another label of that
    value are two subjects, not one told twice: neither card stands in for the other."""
    a, b = index.cards[first].objection, index.cards[other].objection
    added = index.taxonomy.added.get("objection", ())
    return a != b and (a in added or b in added)


def _newest_first(index: CardIndex, order: list[int], scored: Scored, stale_days: int) -> list[int]:
    first = order[0]
    if not index.days[first]:
        return order  # undated: nothing to compare
    codes = [index.axis_codes[a] for a in AXES]
    total = scored.total
    for other in order[1:]:
        if not all(c[other] == c[first] for c in codes) or index.superseded[other] or _two_labels(index, first, other):
            continue
        newer = int(index.days[other]) - int(index.days[first])
        stale = newer > stale_days and total[first] - total[other] <= SAME_SUBJECT_MARGIN
        if newer > 0 and (stale or _about_as_good(scored, first, other)) and not _asks_for_title(
                index, scored.query, first, other):
            return [other, *(i for i in order if i != other)]
    return order


def _about_as_good(scored: Scored, first: int, other: int) -> bool:
    """`other` scores about as well as `first` and holds about as much of the query's own words: the two are
    one subject told twice (an old and a new price card), not two subjects under one label."""
    return bool(scored.total[first] - scored.total[other] <= SAME_SUBJECT_MARGIN
                and scored.text[first] - scored.text[other] < CLEARLY_MORE)


def _decide(index: CardIndex, scored: Scored, best: int, runner_up: int | None) -> tuple[bool, tuple[str, ...]]:
    """Answer when the fitted decision (knowledge/decision.py) finds the first card backed by what the query says:
    judged against the query itself, the whole knowledge base and the runner-up card, never one absolute score."""
    why = _why(index, scored, index.cards[best])
    backing = _backing(index, scored, index.cards[best], why)  # once: the signs and the features both weigh it
    signs = chance_signs(index, scored, best, backing)
    if signs & HARD_SIGNS:
        return False, why
    return decision.shipped().answers(decision_features(index, scored, best, runner_up, backing, signs)), why


# Thresholds of the rules the fitted decision replaced, kept as signs of a card found by chance (`chance_signs`).
MIN_TOPIC = 0.15  # share of the query besides role and industry words explained (by cues, card words)
MIN_COVERAGE = (0.34, 0.5)  # share of the whole query explained: a third of it; half of it
MIN_TEXT = (0.4, 0.5)  # share of the query's words (or character pairs) the first card holds
# Signs that decline whatever the fitted decision says. The one left for it to weigh: a customer voicing a concern
# in other words than the cards' (「隔壁嫌吵」) shares as little with its card as an off-topic ask sharing one word
# (「办公室空调噪音大」) does; a customer saying it, in words some card uses, is what tells the two apart.
HARD_SIGNS = frozenset({"chance", "no_cue", "nothing_held", "own_matter"})


def chance_signs(index: CardIndex, scored: Scored, best: int, backing: Backing) -> frozenset[str]:
    """Signs that the first card was found by chance, each what a rule the fitted decision replaced required of
    every answer (those in `HARD_SIGNS` decline on their own):
    - chance: no objection and no card keyword, and one word shared with the first card while the query is mostly
      unexplained (「电钻去哪借」, a role or an industry alone: 「医院挂号怎么挂」), or none at all;
    - voiced_by_chance: the same, but a customer voices it (说, 嫌, 担心; not 问: `frame.customer_voices`) in words
      some card uses: a feature the decision weighs (「电工说电表带不动」), not a decline;
    - no_cue: no cue at all, and the first card holds under `MIN_TEXT[0]` of the query's words (weighed instead,
      it answered off-topic asks of the dev set in which a customer speaks);
    - own_matter: a third of the query explained, no customer in it, and the card holds at most one of its words:
      the rep's own matter (「送水的师傅今天来了吗」) sharing one word with a card;
    - nothing_held: the query's concern is one no card is about (`_about_nothing_held`).
    A query no cue matched whose first card voices half of its everyday concepts (two words or more) is judged as
    one a cue matched: only nothing_held holds, and the fitted decision weighs it."""
    card = index.cards[best]
    coverage = _coverage(index, scored.query, scored.hits)
    signs = set()
    if scored.concept is not None and float(scored.concept[best]) >= CONCEPT_BACKED:
        return frozenset({"nothing_held"} if _about_nothing_held(index, scored, best) else ())
    if not any(h.cue.axis in TOPIC_AXES for h in scored.hits):
        pieces = _pieces(index, scored, card)
        unexplained = coverage < MIN_COVERAGE[1] or _coverage(index, scored.query, scored.hits, True) < MIN_TOPIC
        if pieces == 0 or (pieces == 1 and unexplained):
            voiced = coverage > 0 and _customer_voices(index, scored)  # in words some card uses
            signs.add("voiced_by_chance" if voiced else "chance")
    if not scored.hits and float(scored.text[best]) < MIN_TEXT[0]:
        signs.add("no_cue")
    if coverage < MIN_COVERAGE[0] and not backing.customer and backing.held_words <= 1 and backing.rest_held < 0.5:
        signs.add("own_matter")
    if _about_nothing_held(index, scored, best):
        signs.add("nothing_held")
    return frozenset(signs)


def _about_nothing_held(index: CardIndex, scored: Scored, best: int) -> bool:
    """The query's concern is one no card is about (「独家代理」 where no card's objection or keywords name it), and
    the first card holds neither a keyword of the query nor most of its words: generic words (客户, 我们, 怎么办)
    then found a card by chance."""
    own = index.cards[best].objection
    if scored.keyword[best] > 0 or float(scored.text[best]) >= MIN_TEXT[1] or len(scored.paragraph or scored.query) >= (
            LONG_QUERY):
        return False  # a voice-to-text paragraph holds several concerns: it is left to the decision
    if own in index.taxonomy.added.get("objection", ()) and index.taxonomy.canonical("objection", own) == own:
        return False  # the card's objection is an admin's word the vocabulary cannot relate: no evidence either way
    return _concern_no_card_holds(index, scored)


def _pieces(index: CardIndex, scored: Scored, card: KbCard) -> int:
    """Distinct character pairs (or Latin words) of the query's words (not its grammar) the card holds."""
    shared = set(_content_bigrams(index, scored.query)) & set(index.tokenizer.card_bigrams(card))
    latin = set(re.findall(r"[0-9a-z]{2,}", scored.query)) & set(card.tokens or ())
    return len(shared) + len(latin)


SCORE_SCALE = 8.0  # about the score of a card agreeing on every axis and holding all of the query's words
PIECES = 4  # distinct character pairs (or Latin words) shared with the first card from which more says no more


def decision_features(index: CardIndex, scored: Scored, best: int, runner_up: int | None, backing: Backing,
                      signs: frozenset[str] = frozenset()) -> dict[str, float]:
    """What the answer / decline decision weighs about the first card. Each is a share of the query or a small
    count, so it holds whatever the card set's size and wording (a lead over `runner_up`, the share of the query's
    words the card holds and their number were tried too: with these they told nothing more, leave one set out):
    - pieces: distinct character pairs (or Latin words) of the query's topic the card holds, out of `PIECES`;
    - title: share of the query's topic words that are words of the card's title;
    - score: the card's whole score (text, axes, keywords), out of `SCORE_SCALE`;
    - one_synonym: the query's topic is named only by one objection synonym of the vocabulary;
    - beside: the words it shares sit in another matter (the rep's own day or errand, a thing no card sells, a noun
      no card uses right before the shared word, the speaker's own hesitation);
    - lone_word: the card holds at most one of the query's topic words and less than half of those besides the cues;
    - vague: every topic cue is an everyday word (贵, 考虑) and no customer is its subject, less the share of the
      other topic words the card holds (「种植户嫌我们卖得太贵了」 is a customer's objection, 「太贵了」 alone is not).
    - voiced_by_chance: the card was found by chance, but a customer voices the concern (`chance_signs`).
    `HARD_SIGNS` decline whatever these say.
    """
    card = index.cards[best]
    return {
        "pieces": min(_pieces(index, scored, card), PIECES) / PIECES,
        "title": _title_share(index, scored, card),
        "score": min(max(float(scored.total[best]), 0.0) / SCORE_SCALE, 1.5),
        "one_synonym": float(backing.one_synonym and not scored.keyword[best] > 0),
        "beside": float(backing.beside_the_point or _other_product(index, scored, card)),
        "lone_word": float(backing.held_words <= 1 and backing.rest_held < 0.5),
        "coverage": _coverage(index, scored.query, scored.hits),
        "concern_elsewhere": float(_concern_no_card_holds(index, scored)),
        "vague": float(backing.vague and not backing.customer) * (1.0 - backing.rest_held),
        "voiced_by_chance": float("voiced_by_chance" in signs),
    }


def _customer_voices(index: CardIndex, scored: Scored) -> bool:
    """A customer voices a concern in the query (`frame.customer_voices`)."""
    text = index.tokenizer.normalize(scored.query)
    return frame.customer_voices(text, index.tokenizer.cut(text))


def _concern_no_card_holds(index: CardIndex, scored: Scored) -> bool:
    """The query names an objection of the vocabulary that no card is about (by its own value or its keywords):
    「独家代理」 where no card speaks of agency terms; the generic words around it then found a card by chance."""
    wanted = scored.values.get("objection")
    if not wanted:
        return False
    held = _objections_held(index)
    return not any(value_code(index.taxonomy, "objection", value) in held for value in wanted)


def _objections_held(index: CardIndex) -> frozenset[int]:
    """The objection values some card is about: its own value, or one its keywords name."""
    cached = index.__dict__.get("_objections_held")
    if cached is None:
        codes = {int(c) for c in np.unique(index.axis_codes["objection"])} | set(index.keyword_values["objection"])
        cached = index.__dict__["_objections_held"] = frozenset(codes - {0})
    return cached


def _title_share(index: CardIndex, scored: Scored, card: KbCard) -> float:
    """Share of the query's topic words (all but grammar, quantities and who / where words) that are words of two
    characters or more of the card's title: 「客户问质保几年」 and a card titled 「质保条款：…」."""
    tok = index.tokenizer
    text, title = tok.normalize(scored.query), tok.normalize(card.title)
    place = {i for h in scored.hits if h.cue.axis in {"role", "industry"} for i in range(h.start, h.end)}
    topic = held = 0
    pos = 0
    for token in tok.cut(text):
        span = range(pos, pos + len(token))
        pos += len(token)
        if place.issuperset(span) or _is_filler(index, token) or QUANTITY.match(token):
            continue
        topic += 1
        held += len(token) > 1 and token in title
    return held / topic if topic else 0.0


def _content_bigrams(index: CardIndex, query: str) -> list[str]:
    """The query's character pairs but those of its grammar words: 「可以」 in 「试用期可以延长」 says nothing
    about a card's subject."""
    tok = index.tokenizer
    grammar = {b for word in tok.cut(query) if _is_filler(index, word) for b in tok.bigrams(word)}
    return [b for b in tok.bigrams(query) if b not in grammar]


TOPIC_AXES = frozenset({"objection", "keyword"})
ONE_CHARACTER = 0.5
# Numbers, amounts and dates say how much or when, not what about: neither evidence nor its absence.
QUANTITY = re.compile(r"^(?:[0-9零一二两三四五六七八九十百千万亿几半多]+[个块元万千百天年月号日周岁台家次点条张份%]*"
                      r"|今年|明年|去年|今天|明天|昨天|下周|上周|本周|这周|下个月|上个月|这个月|下月|上月|月底|年底|年初|月初)$")


@dataclass
class Backing:
    """How the first card backs the query's topic words (all but role and industry words, fillers, quantities)."""

    one_synonym: bool  # the topic is named only through one objection of the vocabulary (no card keyword)
    customer: bool  # a customer is the subject (客户说…, 对方担心…)
    for_self: bool  # the speaker is the subject of an everyday cue (「我再考虑」): their own matter, no objection
    own: tuple[str, ...]  # words of an employee's own matter the card does not hold (工资, 报销, 电脑 …)
    # a noun no card uses right before the one objection word (叉车的报价, 投标保证金): that word is about another thing
    foreign: tuple[str, ...]
    errands: tuple[str, ...]  # a rep's errand around a customer (订酒店, 接机) the card does not hold
    held_words: int  # distinct topic words of two characters or more (or English) the card holds itself
    rest_held: float  # share of the topic words besides the vocabulary's cues that the card holds
    objection_agreed: bool  # an objection cue of the query is the card's own (not only a card keyword)
    vague: bool  # every topic cue is an everyday word (贵, 考虑, 麻烦): it needs a second, specific word beside it

    @property
    def beside_the_point(self) -> bool:
        """The rep's own matter (with no customer in it) or errand, a noun no card uses as what the shared word is
        about, or the speaker's own hesitation: the card's words may be shared, but it does not answer this."""
        foreign = bool(self.foreign) and (self.one_synonym or not self.objection_agreed)  # not when the card agrees
        return bool((self.own and not self.customer) or self.errands or foreign or self.for_self)


def _backing(index: CardIndex, scored: Scored, card: KbCard, why: tuple[str, ...]) -> Backing:
    tok = index.tokenizer
    text = tok.normalize(scored.query)
    hit_at: list[CueHit | None] = [None] * len(text)
    for hit in scored.hits:
        for i in range(hit.start, min(hit.end, len(text))):
            hit_at[i] = hit_at[i] or hit
    words, pairs = set(card.tokens or ()), set(tok.card_bigrams(card))
    agreed = [h for h in scored.hits if _card_agrees(tok, card, h, why, words)]
    tokens = tok.cut(text)
    own = [m for m in frame.own_matters(text, tokens)
           if frame.is_grammar(m.group(0)) or not (_card_holds(tok, m.group(0), words, pairs) or any(
               h.exact and h.cue.axis in TOPIC_AXES and h.start <= m.start() and m.end() <= h.end
               for h in scored.hits))]
    own_at = {i for m in own for i in range(m.start(), m.end())}
    cues = [h for h in scored.hits if h.cue.axis in TOPIC_AXES]  # what the query's topic is, by the vocabulary
    framing = {i for a, b in frame.customer_spans(text, tokens) for i in range(a, b)}
    content = held = 0.0
    cue_size = cue_held = 0.0  # the topic cues' own part of `content` / `held`
    own_words: set[str] = set()
    pos = 0
    for token in tokens:
        span = range(pos, pos + len(token))
        pos += len(token)
        hits = {id(h): h for i in span if (h := hit_at[i]) is not None}.values()
        if own_at.isdisjoint(span) and hits and all(h.cue.axis in {"role", "industry"} for h in hits) and all(
                hit_at[i] for i in span):
            continue  # who and where: not what the question is about (but an own matter's word counts: 快递)
        if framing.issuperset(span) or (own_at.isdisjoint(span) and (token in STOPWORDS or (not hits and (
                _is_filler(index, token) or QUANTITY.match(token))))):
            continue  # who speaks, grammar, quantities and dates; but an own matter's words count (吃 in 吃什么)
        size = _size(token)
        content += size
        cue = any(h in cues for h in hits)
        cue_size += size * cue
        if any(h in agreed and h.end - h.start > 1 for h in hits) or _card_holds(tok, token, words, pairs):
            held += size
            cue_held += size * cue
            if _size(token) > 1 or token.isascii():
                own_words.add(token)
        elif any(h in agreed for h in hits):
            held += size * ONE_CHARACTER  # 修, 贵: one character of the vocabulary is weak evidence
            cue_held += size * ONE_CHARACTER * cue
    objections = {h.cue.value for h in scored.hits if h.cue.axis == "objection"}
    by_keyword = any(h.cue.axis == "keyword" or tok.normalize(h.cue.text) == tok.normalize(card.objection)
                     for h in agreed)
    rest = content - cue_size
    for_self = any(frame.speaks_for_self(text, h.start) for h in cues if frame.ambiguous(tok.normalize(h.cue.text)))
    return Backing(not by_keyword and len(objections) == 1, bool(framing) or _customer_told(index, scored), for_self,
                   tuple(m.group(0) for m in own),
                   _foreign_nouns(index, text, tokens, scored.hits, words, pairs,
                                  len(scored.paragraph or scored.query) < LONG_QUERY),
                   tuple(w for w in frame.errands(text) if not _card_holds(tok, w, words, pairs)), len(own_words),
                   (held - cue_held) / rest if rest > 0 else 1.0, any(h.cue.axis == "objection" for h in agreed),
                   bool(cues) and all(frame.ambiguous(tok.normalize(h.cue.text)) for h in cues))


NOUN_TAGS = frozenset({"n", "nz"})  # plain nouns (not 应付 vn, not a maker's name nr: 西门子的更稳定 is a rival)
FREQUENT_NOUN = 3000  # jieba frequency from which a noun is everyday (机器, 东西, 产品), not a thing of its own
HOW_MUCH = re.compile(r"^(?:多|几)|时间$")  # 多长时间, 几年: how much or when, not what


def _foreign_nouns(index: CardIndex, text: str, tokens: Sequence[str], hits: Sequence[CueHit], words: set[str],
                   pairs: set[str], keywords: bool = True) -> tuple[str, ...]:
    """Nouns no card uses standing right before a topic cue (「叉车的报价」, 「投标保证金」, 「碳排放报告」): what that
    cue is about there. Adverbs and idioms (「三天两头趴窝」) say how, not what. With `keywords` (a short question,
    not a paragraph of many things) a card keyword counts as such a cue, and so does the noun it qualifies
    (「茶水间的冰箱」, 「宿舍退租」): the one word shared with a card is about another thing."""
    ends: dict[int, str] = {}
    starts: dict[int, str] = {}
    pos = 0
    for token in tokens:
        starts[pos] = token
        pos += len(token)
        ends[pos] = token
    out: list[str] = []
    for hit in (h for h in hits if h.cue.axis == "objection" or (keywords and h.cue.axis == "keyword")):
        at = hit.start - 1 if text[hit.start - 1:hit.start] == "的" else hit.start
        found = [(ends.get(at, ""), at)]
        if hit.cue.axis == "keyword" and text[hit.end:hit.end + 1] == "的":  # 茶水间的冰箱: about the 冰箱
            found.append((starts.get(hit.end + 1, ""), hit.end + 1 + len(starts.get(hit.end + 1, ""))))
        out += [token for token, end in found if _foreign(index, token, end, hits, words, pairs)]
    return tuple(out)


def _foreign(index: CardIndex, token: str, end: int, hits: Sequence[CueHit], words: set[str], pairs: set[str]
             ) -> bool:
    """`token` (ending at `end`) is a plain noun of its own: no grammar, no amount, no card's or cue's word."""
    return (len(token) >= 2 and all(is_cjk(c) for c in token) and not _is_filler(index, token)
            and not HOW_MUCH.match(token) and index.tokenizer.word_freq(token) < FREQUENT_NOUN
            and _known(index, token) < KNOWN_SHARE and not _card_holds(index.tokenizer, token, words, pairs)
            and not any(h.start < end and end - len(token) < h.end for h in hits)
            and index.tokenizer.word_tag(token) in NOUN_TAGS)


def _other_product(index: CardIndex, scored: Scored, card: KbCard) -> bool:
    """「有没有卖农药的渠道」: the query asks whether we sell a thing no card speaks of — another company's
    product, whatever else (渠道, 价格) it shares with a card."""
    tok = index.tokenizer
    words, pairs = set(card.tokens or ()), set(tok.card_bigrams(card))
    return any(not _card_holds(tok, thing, words, pairs) and _known(index, thing) < KNOWN_SHARE
               for thing in frame.products_asked(tok.normalize(scored.query)))


def _customer_told(index: CardIndex, scored: Scored) -> bool:
    """A paragraph whose story names the customer speaking (他说…) outside the clauses it was judged on."""
    text = index.tokenizer.normalize(scored.paragraph)
    return bool(text) and frame.customer_framed(text, index.tokenizer.cut(text))


def _card_agrees(tok: Tokenizer, card: KbCard, hit: CueHit, why: tuple[str, ...], words: set[str]) -> bool:
    """The card is about what this cue names: its objection, one of its keywords, or an expansion's words."""
    if hit.cue.axis == "objection":
        return bool(card.objection) and card.objection in why
    if hit.cue.axis == "keyword":
        return tok.normalize(hit.cue.text) in {tok.normalize(k) for k in card.keywords}
    if hit.cue.axis == "expansion":
        return any(tok.normalize(w) in words for w in hit.cue.words)
    return False


def _card_holds(tok: Tokenizer, token: str, words: set[str], pairs: set[str]) -> bool:
    grams = tok.bigrams(token)
    return token in words or (bool(grams) and all(g in pairs for g in grams))


def _why(index: CardIndex, scored: Scored, card: KbCard) -> tuple[str, ...]:
    """The query's axis values the card agrees with (own value or family), in role · industry · objection order."""
    out: list[str] = []
    for axis in AXES:
        wanted = scored.values.get(axis, {})
        value = index.taxonomy.canonical(axis, getattr(card, axis)) or getattr(card, axis)
        if value and (value in wanted or _family_match(index, axis, value, wanted)
                      or any(r in wanted for r in index.taxonomy.related_to(axis, value))):
            out.append(getattr(card, axis))
    words = [h.cue.text for h in scored.hits if h.cue.axis == "keyword" and h.cue.text in
             {index.tokenizer.normalize(k) for k in card.keywords}]
    return tuple(dict.fromkeys(out + words[:2]))


def _family_match(index: CardIndex, axis: str, value: str, wanted: dict[str, float]) -> bool:
    family = index.taxonomy.family(axis, value)
    return bool(family) and any(index.taxonomy.family(axis, w) == family for w in wanted)


def _implied(hits: Sequence[CueHit], named: set[str]) -> list[CueHit | None]:
    """`hits` with None for an industry a department or a title implies (设备科 and 信息科 are a hospital's,
    院长 too) when other industries are `named` outright (造纸厂, 饮料厂): that word only tells where when
    nothing else does."""
    roles = {(h.start, h.end) for h in hits if h.cue.axis == "role"}
    return [None if named and h.cue.axis == "industry" and (h.start, h.end) in roles and h.cue.value not in named
            else h for h in hits]


def _axis_values(hits: Sequence[CueHit]) -> dict[str, dict[str, float]]:
    values: dict[str, dict[str, float]] = {}
    for hit in hits:
        if hit.cue.axis in AXES:
            weight = 1.0 if hit.exact else PINYIN_SHARE
            slot = values.setdefault(hit.cue.axis, {})
            slot[hit.cue.value] = max(slot.get(hit.cue.value, 0.0), weight)
    return values


ORGANISATION = re.compile(r"(?:厂|公司|企业|集团|厂家|厂商|客户|医院|院|学校|校|银行|行|店|园区|局|单位|业)")


def _named_industries(hits: Sequence[CueHit], text: str) -> set[str]:
    """Industries the query names as the customer's organisation (纺织厂, 饮料厂, 医院): the cue is no role's word
    and is, or is followed by, a word for a firm or an institution (not 系统 in 「系统太复杂」)."""
    roles = {(h.start, h.end) for h in hits if h.cue.axis == "role"}
    return {h.cue.value for h in hits if h.cue.axis == "industry" and (h.start, h.end) not in roles and (
        ORGANISATION.search(h.cue.text[-2:]) or ORGANISATION.match(text, h.end))}


LESS_SAID = 0.5  # a paragraph's objection said fewer times than its main one counts this much


def _by_mentions(values: dict[str, dict[str, float]], hits: Sequence[CueHit]) -> set[str]:
    """In a paragraph naming several objections, the one said most often (没下文 … 开会研究) is the concern; one
    said in passing (问了价格) counts less. Returns the values said in passing."""
    wanted = values.get("objection", {})
    if len(wanted) < 2:
        return set()
    said = {v: sum(1 for h in hits if h.cue.axis == "objection" and h.cue.value == v) for v in wanted}
    most = max(said.values())
    passing = {value for value, times in said.items() if times < most}
    for value in passing:
        wanted[value] *= LESS_SAID
    return passing


def _expansion_words(tok: Tokenizer, hits: Sequence[CueHit]) -> list[str]:
    words: list[str] = []
    for hit in hits:
        words.extend(tok.normalize(w) for w in hit.cue.words)
        if hit.cue.axis in AXES:
            words.append(tok.normalize(hit.cue.value))
    return words


def _axis_part(index: CardIndex, axis: str, wanted: dict[str, float]) -> np.ndarray:
    """Per card, its agreement on `axis`: by its own value, or (less) by a value its keywords name."""
    part = _axis_table(index, axis, wanted)[index.axis_codes[axis]]
    for value, weight in wanted.items():
        cards = index.keyword_values[axis].get(value_code(index.taxonomy, axis, value))
        if cards is not None:
            part[cards] = np.maximum(part[cards], W_AXIS[axis] * KEYWORD_VALUE_SHARE * weight)
    return part


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
    families = {index.taxonomy.family(axis, w) for w in wanted} - {""}
    new_values = set(index.taxonomy.added.get(axis, ()))
    for i, name in enumerate(names, 1):
        related = [wanted[r] for r in index.taxonomy.related_to(axis, name) if r in wanted]
        if name in wanted:
            table[i] = weight * wanted[name]
        elif related:
            table[i] = weight * RELATED_SHARE * max(related)
        elif families and index.taxonomy.family(axis, name) in families:
            table[i] = weight * FAMILY_SHARE * best
        elif name in new_values:  # an admin's own word the vocabulary cannot relate: no evidence either way
            table[i] = 0.0
    return table


def _top(scores: np.ndarray, top: int) -> list[int]:
    top = max(1, min(top, len(scores)))
    part = np.argpartition(-scores, top - 1)[:top] if len(scores) > top else np.arange(len(scores))
    return sorted(part.tolist(), key=lambda i: (-scores[i], i))


def _coverage(index: CardIndex, query: str, hits: Sequence[CueHit], skip_axes: bool = False) -> float:
    """Share of the query's content characters explained by cues or knowledge-base vocabulary. With
    `skip_axes`, role and industry words are left out: what is left is the topic of the question."""
    text = index.tokenizer.normalize(query)
    covered = [0] * len(text)  # 0 = not, 1 = by a topic cue, 2 = by a role/industry cue
    for hit in hits:
        mark = 2 if hit.cue.axis in {"role", "industry"} else 1
        for i in range(hit.start, hit.end):
            covered[i] = covered[i] or mark
    content = explained = 0.0
    pos = 0
    for token in index.tokenizer.cut(text):
        span = range(pos, pos + len(token))
        pos += len(token)
        marks = [covered[i] for i in span]
        if skip_axes and marks and all(m == 2 for m in marks):
            continue
        cued = sum(1 for m in marks if m)
        if token in STOPWORDS or (not cued and _is_filler(index, token)):
            continue
        size = _size(token)
        content += size
        explained += max(cued * size / len(token), size * KNOWN_SHARE * _known(index, token))
    return explained / content if content else 0.0


def _known(index: CardIndex, token: str) -> float:
    """1 when the cards use the word; else the share of its character pairs they use."""
    if index.bm25.knows(token):
        return 1.0
    pairs = index.tokenizer.bigrams(token)
    return sum(index.bigrams.knows(p) for p in pairs) / len(pairs) if pairs else 0.0


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


@dataclass(frozen=True)
class NextIndex:
    """An index built ahead (`KnowledgeBase.build_next`) and what it was built on."""

    signature: str | None  # the card generation of the index it extends
    taxonomy: Taxonomy
    index: CardIndex


class KnowledgeBase:
    """The in-memory index of one process, kept fresh from the `knowledge_cards` table."""

    def __init__(self, taxonomy: Taxonomy | None = None, taxonomy_path: str = "", tokenizer: Tokenizer | None = None,
                 *, engines: Engines) -> None:
        """`engines`: the process's (jieba's and OpenCC's dictionaries: bot/engines.py)."""
        self._engines = engines
        self.t2s = engines.get(SIMPLIFIER)
        self.taxonomy = taxonomy or load_taxonomy(taxonomy_path or None)
        self._base_taxonomy = self.taxonomy
        self._edits: dict[str, object] = {}
        self._index: CardIndex | None = None
        self._signature: str | None = None
        self._learning: str | None = None  # learning generation of `learned` (votes, pins)
        self._tokenizer = tokenizer  # jieba takes ~1 s to load: share one per process when possible
        self._lock = asyncio.Lock()
        self._rebuild: asyncio.Task[bool] | None = None
        self._written: dict[tuple[str, int], KbCard] = {}  # see remember()
        self.builds = 0  # how many indexes this process built (observability, tests)
        self.adopted = 0  # of them, built during an import's publish and taken (`adopt`) instead of a reload
        self.learned = Learned(self.t2s)
        self.stale_days = 365

    @property
    def size(self) -> int:
        return len(self._index.cards) if self._index else 0

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(self.taxonomy.dictionary_words(), self._engines)
        return self._tokenizer

    async def load(self, db: object, *, only_if_stale: bool = False) -> bool:
        """(Re)build from the table. With `only_if_stale`, the generation is re-checked inside the lock,
        so callers that queued behind a rebuild do not repeat it."""
        async with self._lock:
            if only_if_stale and self._index is not None and await store.signature(db) == self._signature:
                return False
            signature, cards = await store.load_active_cards(db, self._known_cards())
            pins, votes, edits, learning = await store.load_learning(db)
            await self._learn_dictionaries(db, cards)
            self._apply_edits(edits)
            await self._build(cards)
            self.learned = Learned.build(self.t2s, pins, votes)
            self._signature, self._learning = signature, learning
            await self._save_tokens(db)
            return True

    async def reload_learning(self, db: object) -> None:
        """Votes and pins written by any process since the last read (one small query; no index rebuild)."""
        pins, votes, _, learning = await store.load_learning(db)
        self.learned, self._learning = Learned.build(self.t2s, pins, votes), learning

    def _known_cards(self) -> dict[tuple[str, int], KbCard]:
        """The cards this process holds — indexed, or just written by its importer — by (id, version)."""
        known = {(c.id, c.version): c for c in self.cards()}
        known.update(self._written)
        self._written = {}
        return known

    def remember(self, cards: Sequence[KbCard]) -> None:
        """Cards as just stored (their new versions): the next load need not read them back."""
        self._written.update(((c.id, c.version), c) for c in cards)

    async def _learn_dictionaries(self, db: object, cards: Sequence[KbCard]) -> None:
        """The dictionaries (of other processes, or of this one before a restart) that stamped the stored tokens:
        with them a build checks those tokens instead of cutting every card again."""
        tokenizer = await asyncio.get_running_loop().run_in_executor(None, lambda: self.tokenizer)  # jieba: ~1 s
        unknown = sorted({c.tokens_dict for c in cards if c.tokens_dict} - set(tokenizer.known_fingerprints()))
        for fingerprint, words in (await store.load_dictionaries(db, unknown)).items():
            tokenizer.learn(fingerprint, words)

    async def save_dictionary(self, db: object, fingerprint: str) -> None:
        """Persist the words behind a fingerprint that stamped stored tokens (see `_learn_dictionaries`)."""
        words = self.tokenizer.words_of(fingerprint)
        if words is None:
            return
        try:
            await store.save_dictionary(db, fingerprint, words, datetime.now(UTC))
        except SQLAlchemyError:
            log.warning("could not store the dictionary %s", fingerprint, exc_info=True)

    async def _save_tokens(self, db: object) -> None:
        """Write back the tokens this build re-computed; on failure the index still serves (next start retries)."""
        assert self._index is not None
        cards, self._index.retokenised = self._index.retokenised, []
        if not cards:
            return
        await self.save_dictionary(db, cards[0].tokens_dict)
        try:
            await store.save_tokens(db, cards)
        except SQLAlchemyError:
            log.warning("could not store %d re-computed card token lists", len(cards), exc_info=True)

    async def refresh_if_stale(self, db: object, *, wait: bool = True) -> bool:
        """Cheap generation check; rebuild only when it changed. With `wait=False` (the message path) an
        existing index keeps answering while the new one is built in the background."""
        cards, learning = await store.signatures(db)
        if self._index is not None and cards == self._signature:
            if learning != self._learning:  # a vote or a pin (here or in another process): cheap, at once
                self._learning = learning  # one reload per change, not one per message arriving meanwhile
                try:
                    await self.reload_learning(db)
                except SQLAlchemyError:
                    self._learning = None  # the next message tries again; this one ranks as before
                    log.warning("could not reload knowledge votes and pins", exc_info=True)
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

    async def build_next(self, written: Sequence[KbCard]) -> NextIndex | None:
        """The index of this one's cards with `written` (an import's cards as it stores them) in their place,
        built in the executor while the import publishes them (None before the first load): `adopt` takes it
        instead of reading the cards back and building again after the publish."""
        if self._index is None:
            return None
        signature, held, taxonomy = self._signature, self._index.cards, self.taxonomy

        def build() -> CardIndex:
            merged = {c.id: c for c in held}
            merged.update((c.id, c) for c in written)
            return build_index(sorted(merged.values(), key=lambda c: c.id), taxonomy, self.tokenizer)

        return NextIndex(signature, taxonomy, await asyncio.get_running_loop().run_in_executor(None, build))

    async def adopt(self, db: object, built: NextIndex, generations: tuple[str, str]) -> bool:
        """Take `built` when the publish's last transaction replaced the generation it was built on — no other
        card write since this index was loaded, so the index's cards plus the import's are the live cards — and
        that generation is still this one's (no reload meanwhile). `generations`: (replaced, written)."""
        replaced, written = generations
        async with self._lock:
            if built.signature is None or replaced != built.signature or self._signature != built.signature \
                    or self.taxonomy is not built.taxonomy:
                return False
            self.builds, self.adopted = self.builds + 1, self.adopted + 1
            self._install(built.index)
            self._signature, self._written = written, {}
            await self._save_tokens(db)
            return True

    async def _build(self, cards: list[KbCard]) -> None:
        self.builds += 1
        loop = asyncio.get_running_loop()
        tokenizer = await loop.run_in_executor(None, lambda: self.tokenizer)
        self._install(await loop.run_in_executor(None, build_index, cards, self.taxonomy, tokenizer))

    def _install(self, index: CardIndex) -> None:
        self._index = index
        if len(self._index.cards) >= FREEZE_FROM:
            # A 20,000-card index is ~300,000 tracked objects (cards, token tuples): every full collection of
            # the cyclic garbage collector walked them all (0.1-0.4 s with the event loop stopped). They hold
            # no cycles (an old index is freed by reference counting), so they go to the permanent generation.
            gc.freeze()

    def search(self, query: str, top: int = 3) -> SearchResult:
        if self._index is None:
            raise RuntimeError("KnowledgeBase.load() has not run")
        return rank(self._index, query, top, self.stale_days, self.learned)

    async def asearch(self, query: str, top: int = 3) -> SearchResult:
        """`search` in the executor, as jieba and index builds run: ranking is milliseconds of CPU at 20,000 cards
        (bench/kb.py), too long for the event loop. The index and the learned votes it reads are never changed
        in place (a build, a vote or a pin replaces them), so the thread ranks against one consistent snapshot."""
        if self._index is None:
            raise RuntimeError("KnowledgeBase.load() has not run")
        index, learned = self._index, self.learned
        return await asyncio.get_running_loop().run_in_executor(
            None, rank, index, query, top, self.stale_days, learned)

    def index_taxonomy(self) -> Taxonomy:
        """The vocabulary as the current index sees it (admin edits and the cards' own new values)."""
        return self._index.taxonomy if self._index else self.taxonomy

    def _apply_edits(self, edits: dict[str, object]) -> None:
        """Admin synonyms / merges from the database on top of the file vocabulary."""
        if edits == self._edits:
            return
        self._edits = edits
        self.taxonomy = self._base_taxonomy.with_edits(edits)
        if self._tokenizer is not None:
            self._tokenizer.add_words(self.taxonomy.dictionary_words())

    def learn(self, query: str, card_id: str, vote: str) -> None:
        """A vote counts at once in this process (others pick it up with their next index build). Copied, not
        changed in place: a search ranking in the executor keeps reading the votes it started with."""
        learned = self.learned.copy()
        learned.add_vote(query, card_id, vote)
        self.learned = learned

    def pin(self, query: str, card_id: str | None) -> None:
        key = clean(query, self.t2s)
        learned = self.learned.copy()
        if card_id is None:
            learned.pins.pop(key, None)
        else:
            learned.pins[key] = card_id
        self.learned = learned

    def cards(self) -> Sequence[KbCard]:
        """The indexed (active) cards; the same list object until the next build."""
        return self._index.cards if self._index else ()

    def newer_version(self, card_id: str) -> KbCard | None:
        """The newest card that replaced `card_id` (same role × industry × objection and topic, much newer), if any."""
        position = self._index.positions.get(card_id) if self._index else None
        if self._index is None or position is None or self._index.newer[position] < 0:
            return None
        while self._index.newer[position] >= 0:
            position = int(self._index.newer[position])
        return self._index.cards[position]

    def card(self, card_id: str) -> KbCard | None:
        if self._index is None:
            return None
        return next((c for c in self._index.cards if c.id == card_id), None)


def _log_failure(task: asyncio.Task[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("knowledge index rebuild failed", exc_info=task.exception())
