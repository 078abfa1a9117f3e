"""The demo knowledge base shipped with the embedded default (48 cards, 6 industries)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from knowledge import store
from knowledge.io import read_cards
from knowledge.schema import KbCard
from knowledge.taxonomy import Taxonomy, load_taxonomy

DEMO_PATH = Path(__file__).with_name("demo_cards.jsonl")


def demo_cards(taxonomy: Taxonomy | None = None) -> list[KbCard]:
    result = read_cards(DEMO_PATH, taxonomy or load_taxonomy())
    if result.issues:  # a broken shipped file is a bug, not user input
        raise RuntimeError("; ".join(str(i) for i in result.issues))
    return [c for _, c in result.cards]


async def seed_demo(db: Any, now: datetime, kb: Any) -> int:
    """Load the demo cards into an empty table; returns how many were added (0 if not empty)."""
    from knowledge.importer import import_cards_into

    async with db.session() as session:
        if await store.count_cards(session):
            return 0
    stats = await import_cards_into(db, kb, demo_cards(kb.taxonomy), now)
    return stats.inserted
