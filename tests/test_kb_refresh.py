"""Index freshness in the message path: a cheap generation check, one rebuild for a burst, old index served."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

from bot.commands.kb import ProgressBar
from knowledge.demo import seed_demo
from knowledge.importer import import_file
from knowledge.index import Tokenizer
from knowledge.search import KnowledgeBase
from knowledge.taxonomy import load_taxonomy
from storage.db import Database
from storage.migrate import ensure_schema

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TAXONOMY = load_taxonomy()
TOKENIZER = Tokenizer(TAXONOMY.dictionary_words())
NEW_CARD = ("---\nid: K900\ntitle: 冷链车队嫌贵的新话术\nindustry: 物流\nobjection: 嫌贵\nrole: 采购\n"
            "keywords: [冷链车队]\n---\n## 话术\n按温区计费。\n")


async def _db(tmp_path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path}/kb.db"
    await ensure_schema(url)
    return Database(url)


async def _import_elsewhere(tmp_path: Path, db: Database) -> None:
    """Another process imports a card: the generation row changes."""
    other = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER)
    md = tmp_path / "new.md"
    md.write_text(NEW_CARD, encoding="utf-8")
    await import_file(db, other, md, NOW)


async def test_burst_of_messages_after_an_import_rebuilds_once(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER))
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER)
        results = await asyncio.gather(*(kb.refresh_if_stale(db) for _ in range(8)))
        assert kb.builds == 1 and results.count(True) == 1  # the seven waiting behind the lock re-checked
        await _import_elsewhere(tmp_path, db)
        await asyncio.gather(*(kb.refresh_if_stale(db) for _ in range(8)))
        assert kb.builds == 2
        assert kb.search("冷链车队嫌贵").ranked[0] == "K900"
        assert await kb.refresh_if_stale(db) is False and kb.builds == 2
    finally:
        await db.dispose()


async def test_message_path_keeps_answering_from_the_old_index_while_rebuilding(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER))
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER)
        await kb.load(db)
        await _import_elsewhere(tmp_path, db)
        assert await kb.refresh_if_stale(db, wait=False) is True  # returns at once …
        assert "K900" not in kb.search("冷链车队嫌贵", top=10).ranked  # … and the old index answers meanwhile
        await asyncio.gather(*(kb.refresh_if_stale(db, wait=False) for _ in range(7)))  # the rest of the burst
        await kb._rebuild  # the background build the first message started
        assert kb.builds == 2
        assert kb.search("冷链车队嫌贵").ranked[0] == "K900"
        assert await kb.refresh_if_stale(db, wait=False) is False
    finally:
        await db.dispose()


async def test_unchanged_reimport_keeps_the_generation(tmp_path: Path) -> None:
    from knowledge import store

    db = await _db(tmp_path)
    try:
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER)
        await seed_demo(db, NOW, kb)
        before = await store.signature(db)
        assert before
        await seed_demo(db, NOW, kb)  # nothing written
        await _import_elsewhere(tmp_path, db)
        changed = await store.signature(db)
        await _import_elsewhere(tmp_path, db)  # identical content: unchanged
        assert changed != before and await store.signature(db) == changed
    finally:
        await db.dispose()


async def test_progress_bar_is_honest_across_tokenise_and_write(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        lines = ["id,title,objection,talk_track"] + [f"P{i},卡片{i},价格,话术{i}" for i in range(1200)]
        csv = tmp_path / "many.csv"
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out = io.StringIO()
        bar = ProgressBar("many.csv", stream=out)
        await import_file(db, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER), csv, NOW, bar.advance, bar.set_total)
        drawn = out.getvalue()  # before close(), which would force 100 %
        percents = [float(p.rstrip("%")) for p in drawn.replace("\r", " ").split() if p.endswith("%")]
        assert percents == sorted(percents) and percents[-1] == 100.0
        assert any(50.0 < p < 100.0 for p in percents)  # the write phase moves the bar too
    finally:
        await db.dispose()


async def _stored(db: Database, card_id: str, tokens: list[str]) -> None:
    from sqlalchemy import update

    from storage.models import KnowledgeCard

    async with db.session() as session:
        await session.execute(update(KnowledgeCard).where(KnowledgeCard.id == card_id).values(tokens=tokens))


async def test_stored_tokens_are_used_at_load_and_recomputed_when_the_dictionary_changes(tmp_path: Path) -> None:
    from knowledge.store import DICT_MARK

    db = await _db(tmp_path)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER))
        # A marker token only the stored list has: found ⇒ the stored tokens were used, not re-computed.
        await _stored(db, "K001", [DICT_MARK + TOKENIZER.fingerprint, "zzmarker"] * 3)
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER)
        await kb.load(db)
        assert kb._index is not None and kb._index.bm25.knows("zzmarker")
        # Same tokens stamped by another dictionary (an admin edited taxonomy.toml): re-tokenised at load.
        await _stored(db, "K001", [DICT_MARK + "0123456789abcdef", "zzmarker"] * 3)
        await kb.load(db)
        assert not kb._index.bm25.knows("zzmarker")
        assert kb.search("三甲设备科嫌贵").ranked[0] == "K001"
    finally:
        await db.dispose()


def test_fingerprint_follows_the_dictionary() -> None:
    assert Tokenizer(["设备科", "嫌贵"]).fingerprint == Tokenizer(["嫌贵", "设备科"]).fingerprint
    assert Tokenizer(["设备科", "嫌贵"]).fingerprint != Tokenizer(["设备科", "嫌贵", "医共体"]).fingerprint
