"""The knowledge index over a card file, as the search tests build it (no services: the test process's engines)."""

from __future__ import annotations

from pathlib import Path

from knowledge.index import CardIndex, Tokenizer, build_index
from knowledge.io import read_cards
from knowledge.taxonomy import load_taxonomy
from tests.conftest import ENGINES

TAXONOMY = load_taxonomy()
BENCH_DATA = Path(__file__).resolve().parents[1] / "bench" / "data"


def new_tokenizer() -> Tokenizer:
    return Tokenizer(TAXONOMY.dictionary_words(), ENGINES)


def index_of(cards: Path, tokenizer: Tokenizer | None = None) -> CardIndex:
    """The index of a JSONL card file that must import without a single issue."""
    result = read_cards(cards, TAXONOMY)
    assert not result.issues
    return build_index([c for _, c in result.cards], TAXONOMY, tokenizer or new_tokenizer())
