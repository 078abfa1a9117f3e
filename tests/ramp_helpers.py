"""The ramp-up tests' own knowledge cards (tests/fixtures/ramp_cards.jsonl: three objections × three industries)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.services import Services
from knowledge import store
from knowledge.schema import KbCard, parse_card
from tests.leads_helpers import cn

CARDS = Path(__file__).parent / "fixtures" / "ramp_cards.jsonl"


def ramp_cards() -> list[KbCard]:
    return [parse_card(json.loads(line)) for line in CARDS.read_text(encoding="utf-8").splitlines() if line.strip()]


async def seed_cards(services: Services) -> list[KbCard]:
    cards = ramp_cards()
    async with services.db.session() as s:
        await store.upsert_cards(s, cards, cn(20, 9), lambda c: [])
        await store.bump_generation(s, cn(20, 9))
    return cards
