"""A typed lead reads needs with the company's own catalog, like a screenshot does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.chat import ChatSession
from bot.config import Settings
from bot.services import Services
from tests.leads_helpers import get_lead


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    catalog = tmp_path / "catalog.txt"
    catalog.write_text("磁悬浮鼓风机: 磁浮风机, 悬浮风机\n", encoding="utf-8")
    return replace(settings, ocr=replace(settings.ocr, catalog=str(catalog)))


async def test_typed_lead_names_the_catalog_product(chat: ChatSession, services: Services) -> None:
    await chat.handle_line("新线索 孟庆林 13700002222 客户想了解磁浮风机，预算80万")
    draft = await get_lead(services, 1)
    assert draft.needs == ["磁悬浮鼓风机"]  # the catalog's own name, not the customer's shorthand
