"""Quiz questions generated from the knowledge cards at run time (nothing hand-written here).

A question takes one card and puts its situation as one sentence made from the card's axes (industry × role ×
objection) in the vocabulary's words — 「医院的设备科提出价格方面的顾虑（嫌贵）」 — never from its title, which a rep
who read the card would match without knowing its talk track. Multiple choice: the card's talk track among others
of which none fits the situation (`distractors`: the same objection only when the situation names the key card's
own word for it and the other card does not say it; else other objections), each shown by what tells it apart
(`option_texts`) — never a title's words. Written: the rep answers in
their own words; the answer passes when it covers enough of the card's key points (`key_points`,
`check_answer`: content words, not how the customer is addressed; a bare list of them is no answer), and the
rep is told which sentences of the reference hold the points missed. `QuizMaker` indexes the cards once, so a
question costs a few lookups.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from handlers.ramp.path import TaskSpec
from knowledge.schema import KbCard
from knowledge.taxonomy import AXES, Taxonomy

PLACEHOLDER = re.compile(r"\{[^{}\s]{1,12}\}")
OPTION_MIN = 6  # characters an option shows at least (see option_texts)
TITLE_SHARED = 4  # a situation shares fewer characters in a row with the card's title than this
OBJECTION_WORDS = 2  # an objection is voiced with one of the vocabulary's first synonyms (嫌贵, 太贵)
_CLAUSE = re.compile(r"(?<=[，,。；;！!？?：:])")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Question:
    card_id: str
    line: str  # the situation (customer_line)
    options: tuple[str, ...] = ()  # card ids in the order shown (multiple choice); () → a written answer
    answer: int = 0  # 1-based position of the right option

    def to_json(self) -> dict[str, object]:
        return {"card": self.card_id, "line": self.line, "options": list(self.options), "answer": self.answer}


def track_text(card: KbCard) -> str:
    """The talk track on one line, a template's blank as ××(「签约后 {天数} 天发货」)."""
    return PLACEHOLDER.sub("××", " ".join(card.talk_track.split()))


def option_texts(cards: Sequence[KbCard], room: int) -> tuple[list[str], bool]:
    """The options of a question as shown on a card, in `room` characters for all of them: the clauses every
    option opens alike (「理解您的顾虑，」) left out as 「…」; then each option's first clauses until it says
    something (`OPTION_MIN`) no other option says, and more of each while the room allows (whole when it fits).
    Still too long for the room, the longest are cut; the second value is then True, and the caller lists the
    options in full below the card."""
    clauses = [[p for p in _CLAUSE.split(track_text(c)) if p.strip()] or [""] for c in cards]
    skip = _common_opening(clauses)
    rest = [c[skip:] for c in clauses]
    used = _telling_apart(rest)

    def shown(i: int) -> str:
        text = "".join(rest[i][:used[i]])
        return ("…" if skip else "") + (text.rstrip("，,：:；; ") + "…" if used[i] < len(rest[i]) else text)

    while True:  # one more clause for the shortest option that has more, while all still fit
        more = sorted((len(shown(i)), i) for i in range(len(rest)) if used[i] < len(rest[i]))
        if not more:
            break
        i = more[0][1]
        used[i] += 1
        if sum(len(shown(j)) for j in range(len(rest))) > room:
            used[i] -= 1
            break
    out = [shown(i) for i in range(len(rest))]
    cap = _fair_share([len(t) for t in out], room)
    return [t if len(t) <= cap else t[:cap - 1] + "…" for t in out], any(len(t) > cap for t in out)


def _telling_apart(rest: Sequence[Sequence[str]]) -> list[int]:
    """How many clauses of each option say something (`OPTION_MIN`) that no other option says."""
    used = [1] * len(rest)
    for i in range(len(rest)):
        while len("".join(rest[i][:used[i]])) < OPTION_MIN and used[i] < len(rest[i]):
            used[i] += 1
    while True:
        texts = ["".join(r[:n]) for r, n in zip(rest, used, strict=True)]
        alike = [i for i, t in enumerate(texts) if texts.count(t) > 1 and used[i] < len(rest[i])]
        if not alike:
            return used
        for i in alike:
            used[i] += 1


def _common_opening(clauses: Sequence[Sequence[str]]) -> int:
    n = 0
    while len(clauses) > 1 and all(len(c) > n + 1 for c in clauses) and len({c[n] for c in clauses}) == 1:
        n += 1
    return n


def _fair_share(lengths: Sequence[int], room: int) -> int:
    """The longest an option may be so that all fit in `room` (short ones leave their share to the long)."""
    cap = max(lengths, default=0)
    while cap > OPTION_MIN and sum(min(n, cap) for n in lengths) > room:
        cap -= 1
    return cap


class QuizMaker:
    def __init__(self, cards: Sequence[KbCard], taxonomy: Taxonomy) -> None:
        self.cards = [c for c in cards if c.active and c.talk_track.strip()]
        self.by_id = {c.id: c for c in self.cards}
        self.by_objection: dict[str, list[KbCard]] = defaultdict(list)
        for card in self.cards:
            self.by_objection[card.objection].append(card)
        self.words: dict[str, dict[str, list[str]]] = {a: defaultdict(list) for a in AXES}  # to write with
        for axis in AXES:
            for word, value in taxonomy.synonyms.get(axis, {}).items():
                if _CJK.search(word) and 2 <= len(word) <= 6 and word != value:
                    self.words[axis][value].append(word)

    def matching(self, spec: TaskSpec) -> list[KbCard]:
        """The cards a reading task shows: its filters, in id order."""
        wanted = spec.filters()
        source = self.by_objection.get(spec.objection, []) if spec.objection else self.cards
        return sorted((c for c in source if all(getattr(c, a) == v for a, v in wanted.items())), key=lambda c: c.id)

    def pool(self, spec: TaskSpec) -> list[KbCard]:
        """The cards a task draws from: its filters, and an objection to voice."""
        wanted = spec.filters()
        source = self.by_objection.get(spec.objection, []) if spec.objection else self.cards
        return [c for c in source if c.objection and all(getattr(c, a) == v for a, v in wanted.items())]

    def question(self, spec: TaskSpec, rng: random.Random, *, avoid: Collection[str] = (),
                 done: Collection[str] = (), choices: int = 4) -> Question | None:
        """A new question for the task: cards not yet asked first, then cards not yet answered right (`done`);
        None when no card fits the task."""
        pool = self.pool(spec)
        if not pool:
            return None
        fresh = ([c for c in pool if c.id not in avoid and c.id not in done] or [c for c in pool if c.id not in done]
                 or pool)
        card = rng.choice(fresh)
        line, detail = self.situation(card, random.Random(card.id))  # its words: the same each time it is asked
        if spec.mode == "write":
            return Question(card.id, line)
        others = self.distractors(card, rng, max(1, choices - 1), detail)
        if not others:
            return Question(card.id, line)  # nothing to choose from: write the answer instead
        options = [card, *others]
        rng.shuffle(options)
        return Question(card.id, line, tuple(c.id for c in options), options.index(card) + 1)

    def distractors(self, card: KbCard, rng: random.Random, n: int, detail: str | None = None) -> list[KbCard]:
        """Exactly one option may fit the situation. Talk tracks for the same objection from other industries /
        roles first (other industry before other role) — only when the situation names a `detail` (the key card's
        own word) and the other card says neither it nor any other of the key's words for the objection
        (「上线慢」 vs a 「到货慢」 card) — then cards of other objections that do not say the detail either; never
        the same text twice."""
        mine = self._concerns(card) | ({detail} if detail else set())
        same = [c for c in self.by_objection.get(card.objection, []) if c.id != card.id and detail
                and (c.industry, c.role) != (card.industry, card.role)
                and not any(w in _full_text(c) for w in mine)]
        rng.shuffle(same)
        same.sort(key=lambda c: c.industry == card.industry)
        seen, out = {_norm(card.talk_track)}, list[KbCard]()
        for c in same:
            if len(out) == n:
                return out
            if _norm(c.talk_track) not in seen:
                seen.add(_norm(c.talk_track))
                out.append(c)
        if len(out) < n:
            rest = [c for c in self.cards if c.objection != card.objection
                    and not (detail and detail in _full_text(c))]
            for c in rng.sample(rest, min(len(rest), 4 * n)):
                if len(out) == n:
                    break
                if _norm(c.talk_track) not in seen:
                    seen.add(_norm(c.talk_track))
                    out.append(c)
        return out

    def customer_line(self, card: KbCard, rng: random.Random) -> str:
        return self.situation(card, rng)[0]

    def situation(self, card: KbCard, rng: random.Random) -> tuple[str, str | None]:
        """The question's situation from the card's axes, never its title (a rep who read the card would match
        the title's words without knowing its talk track): who, in the vocabulary's words (those the card's
        keywords use first, then for the role its talk track), and what worries them:
        「医院的设备科提出价格方面的顾虑（嫌贵）」. The detail in brackets is a word for the objection the card
        itself uses (keywords, talk track, else a short one of its title), else none: a word it does not use
        could fit another card better. Returns the line and that detail."""
        texts = (" ".join(card.keywords), " ".join([card.talk_track, card.success_case]))
        role = self._word("role", card.role, texts, rng) if card.role else ""
        industry = self._word("industry", card.industry, texts[:1], rng, skip=role) if card.industry else ""
        detail = self._detail(card, texts)
        concern = f"{card.objection}方面的顾虑" + (f"（{detail}）" if detail else "")
        return f"{industry or '客户'}的{role or '对接人'}提出{concern}", detail

    def _detail(self, card: KbCard, texts: Sequence[str]) -> str | None:
        """The card's own longest word for its objection; one its title holds too only when shorter than
        TITLE_SHARED (the situation never repeats the title)."""
        words = [w for w in self.words["objection"].get(card.objection, [])
                 if w not in card.title or len(w) < TITLE_SHARED]
        for text in (*texts, card.title):
            inside = [w for w in words if w in text]
            if inside:
                return max(inside, key=len)
        return None

    def _concerns(self, card: KbCard) -> set[str]:
        """The words for the card's objection its own texts use (its title too)."""
        text = _full_text(card)
        return {w for w in self.words["objection"].get(card.objection, []) if w in text}

    def _word(self, axis: str, value: str, texts: Sequence[str], rng: random.Random, skip: str = "",
              avoid: str = "") -> str:
        """The longest synonym of `value` the card's keywords use, else its texts; else a synonym from the
        vocabulary (one of the first listed for an objection, the first for a role or an industry). `avoid`: a
        text whose words are not taken when another will do (the card's title)."""
        words = [w for w in self.words[axis].get(value, []) if not skip or (skip not in w and w not in skip)]
        words = [w for w in words if w not in avoid] or words if avoid else words
        for text in texts:
            inside = [w for w in words if w in text]
            if inside:
                return max(inside, key=len)
        if not words:
            return value
        return rng.choice(words[:OBJECTION_WORDS]) if axis == "objection" else words[0]


def _full_text(card: KbCard) -> str:
    return " ".join([card.title, *card.keywords, card.talk_track, card.success_case])


def _norm(text: str) -> str:
    return "".join(text.split())


# -- written answers ------------------------------------------------------------------------------------------
COMMON_WORD = 3_000  # jieba frequency above which a word is everyday language (关心, 加入, 老板), not a key point
MIN_POINTS = 2  # a written answer names at least this many key points (fewer when the card has fewer)
POINTS_SHARE = 3  # … and at least a third of them
LIST_SHARE = 0.25  # an answer whose other words are less than this share of it is a list of points, not a reply
LIST_CHARS = 4
# parts of speech that never carry a card's content: pronouns, conjunctions (是因为), adverbs, prepositions,
# particles, numerals and measures, idioms and set phrases (您好), direction words
_FILLER_POS = ("r", "c", "d", "p", "u", "y", "e", "o", "f", "q", "x", "w", "zg", "l")
# how the rep addresses the customer: honorifics (贵院, 贵司, 您), titles (院长, 主任, 王总, 老板), 一分钱-type phrases
_ADDRESS = re.compile(r"^贵.{1,2}$|您|(?:长|总|主任|经理|老板|老师|领导|先生|女士)$|^一[个分点些次把条位天下]")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")
_PUNCT = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class Check:
    covered: tuple[str, ...]
    missing: tuple[str, ...]
    need: int
    bare_list: bool = False  # the answer only lists words, it says nothing to the customer

    @property
    def passed(self) -> bool:
        return not self.bare_list and len(self.covered) >= self.need

    def explain(self, talk_track: str = "") -> str:
        """Why a written answer did not pass, in Chinese: the topics left out (which sentences of the reference
        talk track hold them), never the words themselves — a pasted list of them would not be an answer."""
        if self.bare_list:
            return "只列出几个词不算：请用完整的话回复客户，就像你当面对客户说的那样。"
        where = _sentences_with(talk_track, self.missing)
        hint = (f"还没提到的要点在参考话术的第 {'、'.join(map(str, where))} 句。" if where
                else "还没提到的要点，对照上面的参考话术再想想。")
        if not self.covered:
            return f"没看到具体的应对内容：只说「会了」「明白」不算，请写出你会怎么对客户说。{hint}"
        return f"答到了 {len(self.covered)} 个要点（{'、'.join(self.covered)}），至少要 {self.need} 个。{hint}"


def _sentences_with(text: str, words: Sequence[str]) -> list[int]:
    sentences = [s for s in _SENTENCE_END.split(text.lower()) if s.strip()]
    return [i for i, s in enumerate(sentences, 1) if any(w in s for w in words)]


class Lexicon(Protocol):
    """What jieba's dictionary says of a word: how common it is, its part of speech (knowledge/index.Tokenizer)."""

    def word_freq(self, word: str) -> int: ...

    def word_tag(self, word: str) -> str: ...


def is_content_word(word: str, words: Lexicon, *, keyword: bool = False) -> bool:
    """A word a rep's answer should say: not how the customer is addressed, not a function word, and (unless
    the card lists it as a keyword) not everyday language."""
    if len(word) < 2 or _ADDRESS.search(word):
        return False
    if keyword:
        return True
    pos = words.word_tag(word)
    return not (pos.startswith(_FILLER_POS) or pos == "m") and words.word_freq(word) <= COMMON_WORD


def key_points(card: KbCard, tokens: Sequence[str], words: Lexicon) -> list[str]:
    """What an answer to this card should mention: its keywords, then the content words of its talk track
    (`tokens`: the talk track cut by the knowledge tokenizer, stopwords dropped; `words`: that tokenizer). Blocking
    (jieba's tag table loads on first use): in an executor."""
    keywords = {k.strip().lower() for k in card.keywords}
    out: list[str] = []
    for word in [*card.keywords, *tokens]:
        word = word.strip().lower()
        if len(word) < 2 or any(word in p or p in word for p in out):  # 「设备」 after 「设备科」: one point
            continue
        if is_content_word(word, words, keyword=word in keywords):
            out.append(word)
    return out


def check_answer(answer: str, points: Sequence[str]) -> Check:
    """A point is covered when the answer says it (or, for a longer word, a two-character part of it:
    「首付价」 for 「首付」). An answer that is mostly the points themselves (「排期、时间表、二季度」) is a list,
    not a reply, and does not pass."""
    text = "".join(answer.lower().split())
    covered = tuple(p for p in points if p in text or (len(p) >= 3 and any(p[i:i + 2] in text
                                                                          for i in range(len(p) - 1))))
    need = min(len(points), max(MIN_POINTS, -(-len(points) // POINTS_SHARE)))
    said = _PUNCT.sub("", text)
    rest = said
    for p in sorted(covered, key=len, reverse=True):
        rest = rest.replace(p, "")
    bare = len(covered) >= need and len(rest) < max(LIST_CHARS, LIST_SHARE * len(said))
    return Check(covered, tuple(p for p in points if p not in covered), need, bare)

# a text sent while a written question waits is not an answer when it asks something: it ends in a question
# mark or particle, or it is short and built on a question word (「工厂嫌交期长怎么回」)
_ASKS_END = re.compile(r"(?:[?？]|吗|呢|么)\s*$")
_ASKS_WORD = re.compile(r"怎么|怎样|如何|咋|为什么|为啥|什么|哪些|哪个|哪里|多少|能不能|可不可以|有没有|是不是|要不要")
QUESTION_CHARS = 24  # longer texts with a question word are answers that quote one (「您可能会问为什么…」)


def reads_as_question(text: str) -> bool:
    text = text.strip()
    return bool(_ASKS_END.search(text)) or (len(text) <= QUESTION_CHARS and bool(_ASKS_WORD.search(text)))
