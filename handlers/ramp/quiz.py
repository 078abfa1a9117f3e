"""Quiz questions generated from the knowledge cards at run time (nothing hand-written here).

A question takes one card and says its objection the way a customer of that industry and role would, in
words taken from the card itself where it has them (title, keywords, texts) or else from the taxonomy's
synonyms: 「医院的设备科说：「嫌贵」」. Multiple choice: the card's talk track among the talk tracks of cards
with the same objection from other industries or roles. Written: the rep answers in their own words and is
shown the card to compare. `QuizMaker` indexes the cards once, so a question costs a few lookups.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from handlers.ramp.path import TaskSpec
from knowledge.schema import KbCard
from knowledge.taxonomy import AXES, Taxonomy

PLACEHOLDER = re.compile(r"\{[^{}\s]{1,12}\}")
SAID = re.compile(r"(?:说|嫌|觉得|担心|质疑|认为|抱怨|问)([\u4e00-\u9fffA-Za-z0-9]{2,16})[？?。！!]?$")
OPTION_CHARS = 70  # an option shows the start of a talk track
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Question:
    card_id: str
    line: str  # what the customer says
    options: tuple[str, ...] = ()  # card ids in the order shown (multiple choice); () → a written answer
    answer: int = 0  # 1-based position of the right option

    def to_json(self) -> dict[str, object]:
        return {"card": self.card_id, "line": self.line, "options": list(self.options), "answer": self.answer}


def option_text(card: KbCard) -> str:
    text = PLACEHOLDER.sub("××", " ".join(card.talk_track.split()))  # 「签约后 {天数} 天发货」: a template's blank
    return text if len(text) <= OPTION_CHARS else text[:OPTION_CHARS] + "…"


class QuizMaker:
    def __init__(self, cards: Sequence[KbCard], taxonomy: Taxonomy) -> None:
        self.cards = [c for c in cards if c.active and c.talk_track.strip()]
        self.by_id = {c.id: c for c in self.cards}
        self.by_objection: dict[str, list[KbCard]] = defaultdict(list)
        for card in self.cards:
            self.by_objection[card.objection].append(card)
        self.words: dict[str, dict[str, list[str]]] = {a: defaultdict(list) for a in AXES}
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
                 choices: int = 4) -> Question | None:
        """A new question for the task (cards not yet asked first); None when no card fits the task."""
        pool = self.pool(spec)
        if not pool:
            return None
        fresh = [c for c in pool if c.id not in avoid] or pool
        card = rng.choice(fresh)
        line = self.customer_line(card, rng)
        if spec.mode == "write":
            return Question(card.id, line)
        others = self.distractors(card, rng, max(1, choices - 1))
        if not others:
            return Question(card.id, line)  # nothing to choose from: write the answer instead
        options = [card, *others]
        rng.shuffle(options)
        return Question(card.id, line, tuple(c.id for c in options), options.index(card) + 1)

    def distractors(self, card: KbCard, rng: random.Random, n: int) -> list[KbCard]:
        """Talk tracks for the same objection from other industries / roles first (other industry before
        other role), then any other card; never the same text twice."""
        same = [c for c in self.by_objection.get(card.objection, []) if c.id != card.id
                and (c.industry, c.role) != (card.industry, card.role)]
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
            rest = [c for c in self.cards if c.objection != card.objection]
            for c in rng.sample(rest, min(len(rest), 4 * n)):
                if len(out) == n:
                    break
                if _norm(c.talk_track) not in seen:
                    seen.add(_norm(c.talk_track))
                    out.append(c)
        return out

    def customer_line(self, card: KbCard, rng: random.Random) -> str:
        """「<industry>的<role>说：「<objection>」」 in words from the card, else the taxonomy's."""
        texts = (" ".join([card.title, *card.keywords]), " ".join([card.talk_track, card.success_case]))
        role = self._word("role", card.role, texts, rng) if card.role else ""
        industry = self._word("industry", card.industry, texts, rng, skip=role) if card.industry else ""
        quoted = SAID.search(card.title)  # a title written as the customer's words: 「物流公司说售后没保障」
        said = quoted.group(1) if quoted else self._word("objection", card.objection, texts, rng)
        who = f"{industry or '客户'}的{role or '对接人'}"
        return f"{who}说：「{said}」"

    def _word(self, axis: str, value: str, texts: Sequence[str], rng: random.Random, skip: str = "") -> str:
        """The longest synonym of `value` the card's title or keywords use, else its texts; else a synonym
        from the vocabulary (any for an objection, the first listed for a role or an industry)."""
        words = [w for w in self.words[axis].get(value, []) if not skip or (skip not in w and w not in skip)]
        for text in texts:
            inside = [w for w in words if w in text]
            if inside:
                return max(inside, key=len)
        if not words:
            return value
        return rng.choice(words) if axis == "objection" else words[0]


def _norm(text: str) -> str:
    return "".join(text.split())
