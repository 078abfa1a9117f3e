"""Small curation steps an admin takes on one card: make it the answer to a question people ask."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from knowledge.importer import tokenise
from knowledge.schema import CardError, KbCard, parse_keywords
from knowledge.search import KnowledgeBase
from knowledge.store import SaveResult, row_to_card, save_card
from storage.models import KnowledgeCard

MAX_PIN_CHARS = 32  # a card keyword's limit (knowledge.schema.parse_keywords)


async def pin_query(db: Any, kb: KnowledgeBase, card_id: str, query: str, now: datetime) -> SaveResult:
    """Add `query` to the card's keywords, so that wording finds this card (a keyword found in a question is a
    strong cue in the ranking). Raises CardError when the wording cannot be a keyword."""
    wording = " ".join(query.split())
    if not wording or len(wording) > MAX_PIN_CHARS:
        raise CardError(f"keyword {wording[:20]!r}… is longer than {MAX_PIN_CHARS} characters")
    async with db.session() as session:
        row = await session.get(KnowledgeCard, card_id)
        card = row_to_card(row) if row is not None else None
    if card is None:
        return SaveResult(None)
    if wording in card.keywords:
        return SaveResult(card)
    pinned: KbCard = card.with_(keywords=parse_keywords([*card.keywords, wording]))
    ready = (await tokenise(kb, [pinned]))[0]
    async with db.session() as session:
        result = await save_card(session, ready, card.version, now)
    await kb.refresh_if_stale(db)
    return result
