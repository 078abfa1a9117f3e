"""A large card import is cut in a child process (knowledge/importer.py Cutter): in a thread of the serving
process the cutting held the GIL and everyone's ACKs waited (issue 20, 6b). The child's tokens are the ones this
process would have cut, and this process cuts none of them."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from knowledge import importer
from knowledge.importer import import_file
from knowledge.search import KnowledgeBase
from storage.db import Database
from storage.migrate import upgrade
from storage.models import KnowledgeCard
from tests.conftest import ENGINES

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def cards_csv(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "话术.csv"
    lines = ["编号,标题,异议,关键词,话术"] + [f"C{i:03d},客户嫌第{i}套方案太贵,价格,分期付款,先讲清楚总拥有成本再谈分期"
                                          for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def imported_tokens(url: str, path: Path, apart_from: int, monkeypatch: pytest.MonkeyPatch
                          ) -> tuple[dict[str, list[str]], int]:
    monkeypatch.setattr(importer, "CUT_APART", apart_from)
    await upgrade(url)
    db = Database(url)
    try:
        kb = KnowledgeBase(engines=ENGINES)  # no services here
        report = await import_file(db, kb, path, NOW)
        assert report.inserted == 30
        async with db.session() as s:
            rows = (await s.execute(select(KnowledgeCard.id, KnowledgeCard.tokens))).all()
        return {r.id: r.tokens for r in rows}, kb.tokenizer.cards_tokenised
    finally:
        await db.dispose()


async def test_a_large_import_is_cut_in_a_child_process_the_same_way(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = cards_csv(tmp_path, 30)
    here, cut_here = await imported_tokens(f"sqlite+aiosqlite:///{tmp_path}/a.db", path, 1000, monkeypatch)
    apart, cut_apart = await imported_tokens(f"sqlite+aiosqlite:///{tmp_path}/b.db", path, 10, monkeypatch)
    assert cut_here == 30 and cut_apart == 0  # the child cut every card of the large file
    assert apart == here and all(here.values())


async def test_when_the_cutting_process_dies_this_process_cuts(tmp_path: Path) -> None:
    """kill -9 of the child (the OOM killer, an operator): the import goes on, cut here."""
    from knowledge.importer import Cutter, tokenise
    from knowledge.io import read_cards

    kb = KnowledgeBase(engines=ENGINES)
    cards = [card for _line, card in read_cards(cards_csv(tmp_path, 30), kb.taxonomy).cards]
    cutter = Cutter(kb.tokenizer)
    try:
        assert await cutter.cut(cards[:2]) is not None  # the child runs
        for pid in list(cutter._pool._processes):  # the child: killed for real
            os.kill(pid, signal.SIGKILL)
        assert await cutter.cut(cards) is None
        ready = await tokenise(kb, cards, None, {}, cutter)
        assert all(card.tokens for card in ready)
    finally:
        cutter.close()
