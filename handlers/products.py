"""The products the needs matcher knows in chat: the `[ocr] catalog` (or the built-in list) plus the knowledge
base's card keywords that name a product (「会员系统」, 「手持终端」; not 「分期」 or 「隐性成本」). Read from the
cards table's keyword column, not from the search index, so a process that only reads screenshots never builds it;
re-read when the card generation changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.config import Settings
from bot.services import Services, Shared
from knowledge import store
from knowledge.taxonomy import load_taxonomy
from ocr.catalog import Catalog, product_like
from ocr.pipeline import catalog_for


@dataclass
class KbProducts:
    generation: str | None = None
    words: frozenset[str] = frozenset()


KB_PRODUCTS = Shared("kb_products", lambda _s: KbProducts())


async def lead_catalog(services: Services) -> Catalog:
    """The catalog for this message's needs (building a changed one reads jieba's dictionary: executor)."""
    words = await kb_product_words(services)
    return await asyncio.get_running_loop().run_in_executor(None, _combined, services.settings, words)


async def kb_product_words(services: Services) -> frozenset[str]:
    held = services.shared(KB_PRODUCTS)
    generation, _learning = await store.signatures(services.db)
    if generation != held.generation:
        generation, keywords = await store.active_keywords(services.db)
        held.words = frozenset(w for w in keywords if product_like(w)) - _axis_words(services.settings)
        held.generation = generation
    return held.words


def _axis_words(settings: Settings) -> set[str]:
    """Role, industry and objection words: a concern filed as a keyword is never a product."""
    return load_taxonomy(settings.knowledge.taxonomy_path or None).dictionary_words()


def _combined(settings: Settings, words: frozenset[str]) -> Catalog:
    return catalog_for(settings.ocr).with_products(words)
