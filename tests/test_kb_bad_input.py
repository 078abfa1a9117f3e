"""Bad card files: each gets a Chinese report with line numbers, good rows land in one transaction,
nothing is half-imported and nothing crashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook

from knowledge import store
from knowledge.importer import import_file
from knowledge.io import MAX_FILE_BYTES, read_cards
from knowledge.search import KnowledgeBase
from knowledge.taxonomy import load_taxonomy
from storage.db import Database
from storage.migrate import ensure_schema
from tests.conftest import ENGINES  # this test process's (no services here)

TAXONOMY = load_taxonomy()
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def test_renamed_xlsx_mixed_encodings_and_odd_ids(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["标题", "话术"])
    book.active.append(["展台报价", "按平米算"])
    renamed = tmp_path / "cards.csv"
    book.save(renamed)  # an XLSX with a .csv name
    assert [c.title for _, c in read_cards(renamed, TAXONOMY).cards] == ["展台报价"]
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes("编号,标题,话术\nM1,展台报价,按平米算\n".encode() + "M2,搭建工期,提前进馆\n".encode("gbk")
                      + "M 3,带空格的编号,话术\n展台,汉字编号,话术\n".encode())
    result = read_cards(mixed, TAXONOMY)
    assert [(c.id, c.title) for _, c in result.cards] == [("M1", "展台报价"), ("M2", "搭建工期")]
    assert [(i.line, i.message[:i.message.index("」") + 1]) for i in result.issues] == [
        (4, "编号「M 3」"), (5, "编号「展台」")]


def test_huge_talk_track_nested_json_and_oversized_file(tmp_path: Path) -> None:
    rows = [{"id": "N1", "title": "正常", "talk_track": "话术"},
            {"id": "N2", "title": "超长", "talk_track": "长" * 100_000},
            *({"id": f"X{i}", "title": {"nested": [i]}, "talk_track": "x"} for i in range(10_000))]
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    result = read_cards(path, TAXONOMY)
    assert [c.id for _, c in result.cards] == ["N1"]
    assert len(result.issues) == 10_001 and "话术太长" in result.issues[0].message
    assert "标题应为文字" in result.issues[1].message
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    (issue,) = read_cards(big, TAXONOMY).issues
    assert issue.line == 0 and "文件太大（50.1 MB，最多 50 MB）" in issue.message  # not "50 MB, at most 50 MB"


async def test_good_rows_land_in_one_transaction(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/kb.db"
    await ensure_schema(url)
    db = Database(url)
    try:
        path = tmp_path / "cards.csv"
        path.write_text("编号,标题,话术\nG1,好卡片,话术\nG2,,缺标题\nG3,另一张,话术\n", encoding="utf-8")
        report = await import_file(db, KnowledgeBase(TAXONOMY, engines=ENGINES), path, NOW)
        assert (report.inserted, [i.line for i in report.issues]) == (2, [3])
        async with db.session() as session:
            assert [c.id for c in await store.all_cards(session)] == ["G1", "G3"]
    finally:
        await db.dispose()
