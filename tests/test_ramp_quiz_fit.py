"""Audit 18d #20: on the shipped demo cards a quiz's situation pointed at a distractor (「交付方面的顾虑（到货慢）」
with the 到货慢 card among the options, the key being the 上线慢 card). Exactly one option must fit: the detail in
brackets is the key card's own word and no other option's; without a detail no other option shares the key's
objection."""

from __future__ import annotations

import random
import re

from handlers.ramp.path import TaskSpec
from handlers.ramp.quiz import QuizMaker
from knowledge.demo import demo_cards
from knowledge.schema import KbCard
from knowledge.taxonomy import load_taxonomy
from tests.ramp_helpers import ramp_cards

DETAIL = re.compile(r"方面的顾虑（(.+)）$")


def _text(card: KbCard) -> str:
    return " ".join([card.title, *card.keywords, card.talk_track, card.success_case])


def _check(cards: list[KbCard]) -> int:
    taxonomy = load_taxonomy(None)
    maker = QuizMaker(cards, taxonomy)
    asked = 0
    for objection in sorted({c.objection for c in maker.cards if c.objection}):
        for seed in range(12):
            q = maker.question(TaskSpec("quiz", objection=objection), random.Random(seed))
            if q is None or not q.options:
                continue
            asked += 1
            key = maker.by_id[q.card_id]
            others = [maker.by_id[i] for i in q.options if i != q.card_id]
            found = DETAIL.search(q.line)
            if found:
                detail = found.group(1)
                assert detail in _text(key), (q.line, key.title)
                assert not any(detail in _text(o) for o in others), (q.line, [o.title for o in others])
            assert all(o.objection != key.objection for o in others if not found), (q.line, [o.title for o in others])
    return asked


def test_exactly_one_option_fits_the_situation_on_the_shipped_demo_cards() -> None:
    assert _check(demo_cards(load_taxonomy(None))) >= 20


def test_exactly_one_option_fits_the_situation_on_the_ramp_fixture() -> None:
    assert _check(ramp_cards()) >= 10
