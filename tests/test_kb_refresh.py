"""Index freshness in the message path: a cheap generation check, one rebuild for a burst, old index served."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.commands.kb import ProgressBar
from knowledge.demo import seed_demo
from knowledge.importer import import_file
from knowledge.index import Tokenizer, build_index, dictionary_words
from knowledge.schema import KbCard
from knowledge.search import KnowledgeBase
from knowledge.taxonomy import load_taxonomy
from storage.db import Database
from storage.migrate import ensure_schema, upgrade
from tests.conftest import ENGINES  # this test process's (no services here)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TAXONOMY = load_taxonomy()
TOKENIZER = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)
NEW_CARD = ("---\nid: K900\ntitle: 冷链车队嫌贵的新话术\nindustry: 物流\nobjection: 嫌贵\nrole: 采购\n"
            "keywords: [冷链车队]\n---\n## 话术\n按温区计费。\n")


async def _db(tmp_path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path}/kb.db"
    await ensure_schema(url)
    return Database(url)


async def _import_elsewhere(tmp_path: Path, db: Database) -> None:
    """Another process imports a card: the generation row changes."""
    other = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
    md = tmp_path / "new.md"
    md.write_text(NEW_CARD, encoding="utf-8")
    await import_file(db, other, md, NOW)


async def test_burst_of_messages_after_an_import_rebuilds_once(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
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
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
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
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
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
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
        await import_file(db, kb, csv, NOW, bar.advance, bar.set_total)
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
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        # A marker token only the stored list has: found ⇒ the stored tokens were used, not re-computed.
        await _stored(db, "K001", [DICT_MARK + TOKENIZER.fingerprint, "zzmarker"] * 3)
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
        await kb.load(db)
        assert kb._index is not None and kb._index.bm25.knows("zzmarker")
        # Same tokens stamped by another dictionary (an admin edited taxonomy.toml): a process starting now
        # re-tokenises them at load.
        await _stored(db, "K001", [DICT_MARK + "0123456789abcdef", "zzmarker"] * 3)
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
        await kb.load(db)
        assert kb._index is not None and not kb._index.bm25.knows("zzmarker")
        assert kb.search("三甲设备科嫌贵").ranked[0] == "K001"
    finally:
        await db.dispose()


async def test_an_import_is_not_read_back_nor_cut_again(tmp_path: Path) -> None:
    """20,000 cards: the index build after an import used to read every row back (about a second of JSON) and,
    when the file brought a new role or industry, re-stamp and re-save every card; a re-import of the same
    file cut every card again. Now the importer hands its cards to the index, and unchanged cards keep tokens."""
    db = await _db(tmp_path)
    tokenizer = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)
    try:
        csv = tmp_path / "cards.csv"
        csv.write_text("id,title,role,industry,objection,talk_track\n" + "".join(
            f"Q{i},冷库租赁报价{i},仓储主管,冷链仓储,价格,我们的冷库按托盘计费第{i}套方案\n" for i in range(30)),
            encoding="utf-8")
        kb = KnowledgeBase(TAXONOMY, tokenizer=tokenizer, engines=ENGINES)
        report = await import_file(db, kb, csv, NOW)
        assert report.inserted == 30 and kb.size == 30
        assert tokenizer.cards_tokenised == 30  # each card cut once, none re-cut by the build (new values)
        assert kb._index is not None and kb._index.retokenised == []
        # The rows as stored carry a marker: a load that reads them back would index it.
        async with db.session() as session:
            from sqlalchemy import select

            from storage.models import KnowledgeCard
            stored = list(await session.scalars(select(KnowledgeCard).where(KnowledgeCard.id == "Q0")))
        await _stored(db, "Q0", [*stored[0].tokens, "zzmarker"])
        other = tmp_path / "other.csv"  # another process (same dictionary) imports a card: the generation moves
        other.write_text("id,title,objection,talk_track\nQ99,冷库续约,价格,续约按年计费\n", encoding="utf-8")
        await import_file(db, KnowledgeBase(TAXONOMY, tokenizer=tokenizer, engines=ENGINES), other, NOW)
        await kb.refresh_if_stale(db)
        assert kb.size == 31 and not kb._index.bm25.knows("zzmarker")  # its own cards were not read back
        fresh = KnowledgeBase(TAXONOMY, tokenizer=tokenizer, engines=ENGINES)
        await fresh.load(db)
        assert fresh._index is not None and fresh._index.bm25.knows("zzmarker")  # a new process reads rows
        cut = tokenizer.cards_tokenised
        again = await import_file(db, kb, csv, NOW)
        assert again.unchanged == 30 and tokenizer.cards_tokenised == cut  # the same file: nothing cut again
    finally:
        await db.dispose()


def test_fingerprint_follows_the_dictionary() -> None:
    assert Tokenizer(["设备科", "嫌贵"], ENGINES).fingerprint == Tokenizer(["嫌贵", "设备科"], ENGINES).fingerprint
    assert (Tokenizer(["设备科", "嫌贵"], ENGINES).fingerprint
            != Tokenizer(["设备科", "嫌贵", "医共体"], ENGINES).fingerprint)


def test_a_new_keyword_retokenises_cards_whose_text_it_cuts() -> None:
    """An admin adds a card with keyword 温控专线: an older card whose talk track says 温控专线 must be found by
    that word too, so its stored tokens (cut before the keyword existed) are recomputed."""
    tokenizer = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)
    old = KbCard(id="A1", title="冷链运输嫌贵", industry="物流", talk_track="我们的温控专线按温区计费，全程可追溯。")
    stored = build_index([old], TAXONOMY, tokenizer).retokenised[0]
    assert "温控专线" not in stored.tokens
    new = KbCard(id="B1", title="温控专线报价", industry="物流", keywords=("温控专线",))
    rebuilt = {c.id: c for c in build_index([stored, new], TAXONOMY, tokenizer).retokenised}
    assert "温控专线" in rebuilt["A1"].tokens
    assert rebuilt["A1"].tokens_dict == tokenizer.fingerprint != stored.tokens_dict


async def _stamps(db: Database) -> dict[str, tuple[str, int, datetime]]:
    """Per card: the stored dictionary fingerprint, the version and modified_at."""
    from sqlalchemy import select

    from knowledge.store import DICT_MARK
    from storage.models import KnowledgeCard

    async with db.session() as session:
        rows = await session.execute(select(KnowledgeCard.id, KnowledgeCard.tokens, KnowledgeCard.version,
                                            KnowledgeCard.modified_at))
        return {i: (str((t or [""])[0]).removeprefix(DICT_MARK), v, m) for i, t, v, m in rows}


def _edited_taxonomy(tmp_path: Path) -> str:
    """An admin adds a synonym to taxonomy.toml: processes started afterwards have another dictionary."""
    from knowledge.taxonomy import DEFAULT_PATH

    original = DEFAULT_PATH.read_text(encoding="utf-8")
    text = original.replace('synonyms = ["采购科长",', 'synonyms = ["器械科", "采购科长",', 1)
    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


async def test_tokens_recomputed_for_an_edited_taxonomy_are_saved_so_the_next_start_skips_them(
    tmp_path: Path, db_url: str,
) -> None:
    from knowledge import store

    await upgrade(db_url)
    db = Database(db_url)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        generation, seeded = await store.signature(db), await _stamps(db)
        # Two processes start at once after the edit: both re-stamp the stored tokens and write them back,
        # harmlessly; they cut again only the cards holding a word one dictionary has and the other has not
        # (the seeding process's words are stored with its tokens).
        path = _edited_taxonomy(tmp_path)
        first = [KnowledgeBase(taxonomy_path=path, engines=ENGINES) for _ in range(2)]
        await asyncio.gather(*(kb.load(db) for kb in first))
        fresh = first[0].tokenizer.fingerprint  # the edited taxonomy plus the cards' keywords
        assert fresh == first[1].tokenizer.fingerprint != TOKENIZER.fingerprint
        assert all(kb.tokenizer.cards_tokenised < kb.size == len(seeded) for kb in first)
        scratch = Tokenizer(first[0].taxonomy.dictionary_words(), ENGINES)  # a full cut with the new dictionary
        scratch.add_words(dictionary_words(first[0].taxonomy, first[0].cards()))
        assert scratch.fingerprint == fresh
        assert all(list(c.tokens) == scratch.card_tokens(c) for c in first[0].cards())
        saved = await _stamps(db)
        assert {stamp for stamp, _, _ in saved.values()} == {fresh}
        # Derived data only: versions, modified_at and the generation stay, so no other process rebuilds.
        assert {i: s[1:] for i, s in saved.items()} == {i: s[1:] for i, s in seeded.items()}
        assert await store.signature(db) == generation
        # The next start with that dictionary uses the stored tokens: the tokeniser sees no card.
        tokenizer = first[0].tokenizer
        before = tokenizer.cards_tokenised
        again = KnowledgeBase(first[0].taxonomy, tokenizer=tokenizer, engines=ENGINES)
        await again.load(db)
        assert tokenizer.cards_tokenised == before
        for query in ("三甲器械科嫌贵", "器械科说要比价"):  # stored tokens rank like freshly computed ones
            assert again.search(query, top=5).to_json() == first[0].search(query, top=5).to_json()
        assert again.search("三甲器械科嫌贵").ranked[0] == "K001"
    finally:
        await db.dispose()


async def test_saving_recomputed_tokens_skips_a_card_changed_since_the_load(tmp_path: Path, db_url: str) -> None:
    from knowledge import store

    await upgrade(db_url)
    db = Database(db_url)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        await _import_elsewhere(tmp_path, db)
        _, cards = await store.load_active_cards(db)
        stale = [c.with_(tokens=("zzstale",), tokens_dict="0123456789abcdef") for c in cards]
        # Between this load and its write-back another process edits K900 (new version, fresh tokens).
        md = tmp_path / "new.md"
        md.write_text(NEW_CARD.replace("按温区计费。", "按温区和里程计费。"), encoding="utf-8")
        await import_file(db, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES), md, NOW)
        await store.save_tokens(db, stale)
        stamps = await _stamps(db)
        assert stamps.pop("K900")[0] == TOKENIZER.fingerprint  # the import's tokens survive
        assert {stamp for stamp, _, _ in stamps.values()} == {"0123456789abcdef"}
    finally:
        await db.dispose()


async def test_the_per_message_freshness_check_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """Every question first reads the card and learning generations. On SQLite that read opened a session
    (BEGIN IMMEDIATE), so it queued for the write lock behind any writing message or a running import; the
    read-only connection answers while a writer holds the lock."""
    from sqlalchemy import text

    db = await _db(tmp_path)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
        await kb.refresh_if_stale(db)
        async with db.session() as writer:  # a long write transaction holds SQLite's write lock
            await writer.execute(text("UPDATE kv SET updated_at = updated_at"))
            assert await asyncio.wait_for(kb.refresh_if_stale(db, wait=False), 2) is False
            assert kb.search("三甲设备科嫌贵").ranked[0] == "K001"
    finally:
        await db.dispose()


async def test_a_large_index_is_kept_out_of_full_garbage_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 20,000 cards a full collection walked ~300,000 index objects with the event loop stopped (0.1-0.4 s
    on the tail of any message); a large index is frozen after its build, so a full collection skips it."""
    import gc

    import knowledge.search

    cards = [KbCard(id=f"G{i}", title=f"冷库租赁报价{i}", objection="价格", talk_track=f"按托盘计费第{i}套方案",
                    keywords=(f"托盘{i}",)) for i in range(300)]
    monkeypatch.setattr(knowledge.search, "FREEZE_FROM", 200)
    kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
    try:
        await kb.build_from(cards)
        assert kb._index is not None
        indexed = {id(c) for c in kb._index.cards}
        assert gc.get_freeze_count() >= 300 and indexed.isdisjoint(map(id, gc.get_objects()))  # no full walk
        gc.collect()
        assert kb.search("冷库租赁报价7托盘7").ranked[0] == "G7"
    finally:
        gc.unfreeze()


async def test_a_restarted_process_checks_stored_tokens_instead_of_cutting_every_card(tmp_path: Path) -> None:
    """The process that imported had one more word in its dictionary (from a card since retired); a restarted
    process, without that word, had another fingerprint and no memory of the first, so it cut every card again
    (20,000 cards: seconds of CPU at every start). The importing process's words are stored with its tokens:
    only a card holding a word one dictionary has and the other has not is cut again."""
    db = await _db(tmp_path)
    try:
        before = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)
        before.add_words(["冷链车队"])  # a keyword of a card no longer active
        csv = tmp_path / "cards.csv"
        csv.write_text("id,title,objection,talk_track\n" + "".join(
            f"R{i},冷库租赁报价{i},价格,我们按托盘计费第{i}套方案\n" for i in range(20))
            + "R99,车队报价,价格,冷链车队按趟计费\n", encoding="utf-8")
        await import_file(db, KnowledgeBase(TAXONOMY, tokenizer=before, engines=ENGINES), csv, NOW)
        after = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)  # the restarted process
        kb = KnowledgeBase(TAXONOMY, tokenizer=after, engines=ENGINES)
        await kb.load(db)
        assert after.fingerprint != before.fingerprint
        assert after.cards_tokenised == 1  # R99 only: its text holds 冷链车队
        assert kb.search("冷库租赁报价7").ranked[0] == "R7"
        stamps = await _stamps(db)
        assert {s for s, _, _ in stamps.values()} == {after.fingerprint}  # re-stamped and stored: next start is free
    finally:
        await db.dispose()
