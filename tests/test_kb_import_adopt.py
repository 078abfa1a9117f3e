"""An import's index is built from the cards in memory while they are published, and taken only when it is
exactly the live cards': the same index a fresh load builds, else the process loads as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from knowledge.demo import seed_demo
from knowledge.importer import import_file
from knowledge.index import Tokenizer
from knowledge.search import KnowledgeBase
from knowledge.taxonomy import load_taxonomy
from storage.db import Database
from storage.migrate import ensure_schema
from tests.conftest import ENGINES

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TAXONOMY = load_taxonomy()
TOKENIZER = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)
# an invented bakery-equipment vendor: new cards, a new keyword, a new objection value, and two demo cards changed
CARDS = [
    {"id": "B-oven", "title": "烤炉耗电太高怎么回应", "role": "财务", "industry": "餐饮", "objection": "电费",
     "talk_track": "按每炉次的电量算，隔热层让待机功率降了三成，一年电费少一台小冰箱的钱。", "keywords": ["烤炉电费"]},
    {"id": "B-mixer", "title": "和面机噪音大", "role": "使用部门", "industry": "餐饮", "objection": "噪音",
     "talk_track": "低速档在六十分贝以下，后厨说话不用提高嗓门。", "keywords": ["和面机"]},
    {"id": "K001", "title": "设备科嫌贵：先拆五年总成本", "role": "采购", "industry": "医疗", "objection": "价格",
     "talk_track": "把报价拆成设备、维保和耗材，对比的是五年的总花费。", "updated_at": "2026-10-01"},
    {"id": "K002", "title": "付款方式可以分期", "role": "财务", "objection": "付款",
     "talk_track": "首付三成，余款按验收节点分两次付。", "active": False},
]
QUERIES = ["烤炉太费电", "和面机吵", "医院设备科说太贵", "付款能分期吗", "后厨嫌噪音", "客户说价格高", "报价"]


async def _db(tmp_path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path}/kb.db"
    await ensure_schema(url)
    return Database(url)


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "bakery.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in CARDS) + "\n", encoding="utf-8")
    return path


def _view(kb: KnowledgeBase) -> list[tuple[object, ...]]:
    return [(c.id, c.version, c.title, c.objection, c.tokens, c.tokens_dict, c.keywords, c.updated_at)
            for c in kb.cards()]


async def test_the_index_built_during_the_publish_is_the_one_a_load_builds(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
        await kb.load(db)
        report = await import_file(db, kb, _file(tmp_path), NOW)
        assert report.ok and report.inserted == 2 and report.updated == 2
        assert kb.adopted == 1 and kb.builds == 2  # taken, not loaded again
        assert await kb.refresh_if_stale(db) is False  # it holds the live generation
        fresh = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
        await fresh.load(db)
        assert _view(kb) == _view(fresh) and "K002" not in {c.id for c in kb.cards()}
        for query in QUERIES:
            mine, theirs = kb.search(query, top=5), fresh.search(query, top=5)
            assert (mine.ranked, mine.scores, mine.answered) == (theirs.ranked, theirs.scores, theirs.answered)
    finally:
        await db.dispose()


async def test_a_card_written_elsewhere_meanwhile_means_a_load_instead(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        await seed_demo(db, NOW, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES))
        kb = KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES)
        await kb.load(db)
        other = tmp_path / "other.jsonl"  # another process imports a card this index has not seen
        other.write_text(json.dumps({"id": "C-1", "title": "冷库温控报警太频繁", "objection": "误报",
                                     "talk_track": "报警阈值可以按库位分别设置。"}, ensure_ascii=False) + "\n",
                         encoding="utf-8")
        await import_file(db, KnowledgeBase(TAXONOMY, tokenizer=TOKENIZER, engines=ENGINES), other, NOW)
        await import_file(db, kb, _file(tmp_path), NOW)
        assert kb.adopted == 0  # its cards plus the file's are not the live cards: loaded instead
        assert {"C-1", "B-oven", "B-mixer"} <= {c.id for c in kb.cards()}
        assert kb.search("冷库温控报警太频繁").ranked[0] == "C-1"
    finally:
        await db.dispose()
