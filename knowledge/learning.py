"""What the knowledge base learns from use: admins' pins (a card fixed to a query wording, from the gaps
queue) and reps' votes (有用 / 没用 / 换一个), applied to similar later queries within a bounded amount.

Wordings are compared on their cleaned form (繁→简, filler removed) by character-pair overlap, so
「客户说太贵了!!」 and 「客户说太贵了」 are one wording. Every adjustment is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from knowledge.index import bigrams
from knowledge.query import Simplifier, clean

log = logging.getLogger(__name__)
VOTE_WEIGHT = {"up": 1.0, "down": -1.0, "next": -0.5}  # 换一个: the shown card was not the one
STEP = 0.5  # score per net vote on an identical wording
MAX_SHIFT = 1.5  # a card moves at most this much, however many votes (bounded learning)
SIMILAR = 0.6  # character-pair overlap from which a wording counts as the same question
PIN_SIMILAR = 0.8  # a pin applies to nearly the same wording only


@dataclass
class Learned:
    t2s: Simplifier  # how a wording is read (the knowledge base's)
    pins: dict[str, str] = field(default_factory=dict)  # wording → card id
    votes: dict[str, dict[str, float]] = field(default_factory=dict)  # wording → card id → net vote

    @classmethod
    def build(cls, t2s: Simplifier, pins: Mapping[str, str], votes: Iterable[tuple[str, str, str, int]]
              ) -> Learned:
        out = cls(t2s, {clean(w, t2s): c for w, c in pins.items() if clean(w, t2s)})
        for text, card, vote, count in votes:
            out.add_vote(text, card, vote, count)
        return out

    def copy(self) -> Learned:
        return Learned(self.t2s, dict(self.pins), {wording: dict(cards) for wording, cards in self.votes.items()})

    def wording(self, text: str) -> str:
        return clean(text, self.t2s)

    def overlap(self, a: str, b: str) -> float:
        """Jaccard overlap of character pairs (whole-string equality for one-character texts)."""
        x, y = set(bigrams(a, self.t2s)) or {a}, set(bigrams(b, self.t2s)) or {b}
        return len(x & y) / len(x | y) if x | y else 0.0

    def add_vote(self, text: str, card: str, vote: str, count: int = 1) -> None:
        key = self.wording(text)
        if key and vote in VOTE_WEIGHT:
            slot = self.votes.setdefault(key, {})
            slot[card] = slot.get(card, 0.0) + VOTE_WEIGHT[vote] * count

    def pinned(self, text: str) -> str | None:
        key = self.wording(text)
        if key in self.pins:
            return self.pins[key]
        best = max(self.pins, key=lambda w: self.overlap(key, w), default=None)
        return self.pins[best] if best is not None and self.overlap(key, best) >= PIN_SIMILAR else None

    def shifts(self, text: str) -> dict[str, float]:
        """card id → score change for this query (each within ±MAX_SHIFT)."""
        if not self.votes:
            return {}
        key = self.wording(text)
        total: dict[str, float] = {}
        for other, cards in self.votes.items():
            weight = 1.0 if other == key else self.overlap(key, other)
            if weight < SIMILAR:
                continue
            for card, net in cards.items():
                total[card] = total.get(card, 0.0) + weight * net * STEP
        out = {c: max(-MAX_SHIFT, min(MAX_SHIFT, v)) for c, v in total.items() if v}
        if out:
            log.info("kb learning: %r shifts %s", key[:40], {c: round(v, 2) for c, v in out.items()})
        return out
