"""Off-topic asks that share one everyday noun with a card are declined; the real asks still answer.

The cards and queries are tests/fixtures/kb_purifier_*: an invented office water-purifier leasing vendor, 15 cards
and 58 asks — 20 real ones, 38 about the office, HR, home or school, each holding one word a card also has (茶水间,
押金, 租期, 报价单, 电费 …), written before the decision was tuned on them. First run: top-1 0.95, top-3 0.95,
no-answer F1 0.917 (five off-topic asks answered through one card keyword); after: 0.95 / 0.95 / 0.974.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.demo import demo_cards
from knowledge.index import CardIndex, build_index
from knowledge.io import read_cards
from knowledge.search import rank
from tests.kb_support import TAXONOMY, held_out_scores, index_of, new_tokenizer

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = [json.loads(line) for line in (FIXTURES / "kb_purifier_queries.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()]
FLOORS = {"top1": 0.9, "top3": 0.9, "noans_f1": 0.95}


@pytest.fixture(scope="module")
def index() -> CardIndex:
    return index_of(FIXTURES / "kb_purifier_cards.jsonl")


@pytest.fixture(scope="module")
def mixed() -> CardIndex:
    """The same cards beside the 48 demo cards of another trade: a larger set, other words, other scores."""
    own = [card for _, card in read_cards(FIXTURES / "kb_purifier_cards.jsonl", TAXONOMY).cards]
    return build_index(own + demo_cards(TAXONOMY), TAXONOMY, new_tokenizer())


def test_the_set_scores_above_its_floors(index: CardIndex) -> None:
    preds = {row["q"]: rank(index, row["q"], top=5).to_json() for row in ROWS}
    got = held_out_scores(ROWS, preds)
    assert all(got[name] >= floor for name, floor in FLOORS.items()), got


@pytest.mark.parametrize("query", [
    "茶水间的冰箱该清理了",  # a card keyword naming where; the question is about a thing no card holds
    "茶水间的垃圾谁来倒",
    "宿舍退租要提前几天说",  # a noun no card uses right before the keyword: whose 退租 it is
    "同事请假了他那份报价单谁来发",  # 他 is the colleague: a leave question, no customer in it
])
def test_one_shared_card_word_does_not_answer_an_office_question(index: CardIndex, mixed: CardIndex,
                                                                 query: str) -> None:
    for cards in (index, mixed):
        found = rank(cards, query)
        assert not found.answered, found.to_json(why=True)


@pytest.mark.parametrize(("query", "card"), [
    ("客户茶水间地方小放得下吗", "P14"),
    ("装的时候要不要砸墙改水管", "P04"),
    ("客户说他们一直喝瓶装水挺好的", "P08"),
    ("行政说要先比价走流程", "P12"),
])
def test_the_same_words_in_a_customer_question_still_answer(index: CardIndex, mixed: CardIndex, query: str,
                                                            card: str) -> None:
    for cards in (index, mixed):
        found = rank(cards, query)
        assert found.answered and found.ranked[0] == card, found.to_json(why=True)
