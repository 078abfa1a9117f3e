"""Card files in and out: every format round-trips; bad rows are reported with their line and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from knowledge.demo import demo_cards
from knowledge.io import read_cards, write_cards
from knowledge.schema import KbCard
from knowledge.taxonomy import TaxonomyError, load_taxonomy

TAXONOMY = load_taxonomy()


@pytest.fixture(scope="module")
def cards() -> list[KbCard]:
    return demo_cards(TAXONOMY)


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "md", "json", "jsonl"])
def test_export_round_trips(tmp_path: Path, cards: list[KbCard], suffix: str) -> None:
    path = tmp_path / f"cards.{suffix}"
    assert write_cards(path, cards) == len(cards)
    result = read_cards(path, TAXONOMY)
    assert result.issues == []
    back = [c for _, c in result.cards]
    assert [c.id for c in back] == [c.id for c in cards]
    assert all(a.content_equal(b) for a, b in zip(cards, back, strict=True))
    assert any(c.quote_template and "\n" not in c.quote_template for c in back)


def test_csv_chinese_headers_synonyms_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "cards.csv"
    path.write_text(
        "编号,标题,角色,行业,异议,话术,报价模板,成功案例,关键词,更新日期\n"
        "A1,三甲嫌贵,设备科,三甲,嫌贵,先拆分报价,模板,案例,三甲、设备科,2024/05/01\n"
        'A2,缺话术,采购,医疗,价格,"",,,,\n'
        "A3,未知行业,采购,航天,价格,话术,,,,\n"
        '"A4","多行',
        encoding="utf-8",
    )
    path.write_text(path.read_text(encoding="utf-8") + '\n标题",采购,医疗,价格,ok,,,,2025-13-01\n', encoding="utf-8")
    result = read_cards(path, TAXONOMY)
    (line, card), (line3, card3) = result.cards
    assert (line, card.id, card.role, card.industry, card.objection) == (2, "A1", "采购", "医疗", "价格")
    assert card.keywords == ("三甲", "设备科") and card.updated_at.isoformat() == "2024-05-01"
    assert (line3, card3.industry) == (4, "航天")  # an unknown value is the admin's own new value
    assert result.new_values == {"industry": ["航天"]}
    assert [(i.line, i.message[:4]) for i in result.issues] == [(3, "话术为空"), (5, "更新日期")]


def test_gbk_csv_from_excel(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("id,title,objection,talk_track\nG1,太贵了,太贵,先问预算\n".encode("gbk"))
    result = read_cards(path, TAXONOMY)
    assert [c.objection for _, c in result.cards] == ["价格"]


def test_xlsx_bad_row_reports_its_row(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "标题", "异议", "话术", "更新日期"])
    sheet.append(["X1", "好的", "交期", "按节点交付", None])
    sheet.append([None, None, None, None, None])
    sheet.append(["bad id!", "坏编号", "价格", "x", None])
    sheet.append([1002, "数字编号", "到货慢", "y", None])
    book.save(tmp_path / "cards.xlsx")
    result = read_cards(tmp_path / "cards.xlsx", TAXONOMY)
    assert [(line, c.id, c.objection) for line, c in result.cards] == [(2, "X1", "交付"), (5, "1002", "交付")]
    assert [i.line for i in result.issues] == [4]


def test_jsonl_and_json_report_lines(tmp_path: Path) -> None:
    good = {"id": "J1", "title": "t", "objection": "价格", "talk_track": "x"}
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(json.dumps(good) + "\n\n{broken\n" + json.dumps({**good, "id": "J1"}) + "\n", encoding="utf-8")
    result = read_cards(jsonl, TAXONOMY)
    assert [c.id for _, c in result.cards] == ["J1"]
    assert [(i.line, i.message) for i in result.issues] == [
        (3, "不是有效的 JSON"), (4, "编号 J1 重复：第 1 行和第 4 行")]
    as_json = tmp_path / "c.json"
    as_json.write_text('{"cards": [\n  ' + json.dumps(good) + ",\n  " + json.dumps({"id": "J2"}) + "\n]}",
                       encoding="utf-8")
    result = read_cards(as_json, TAXONOMY)
    assert [line for line, _ in result.cards] == [2] and [i.line for i in result.issues] == [3]
    assert "缺少标题" in result.issues[0].message


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "cards.md"
    path.write_text(
        "---\nid: M1\ntitle: 学校交期\nrole: 采购\nindustry: 学校\nobjection: 交期\nkeywords: [开学前, 暑假]\n---\n"
        "## 话术\n倒排工期。\n\n---\n\n## 报价模板\n节点表\n\n"
        "---\nid: M2\ntitle: 缺话术\n---\n## 成功案例\n某校\n",
        encoding="utf-8",
    )
    result = read_cards(path, TAXONOMY)
    (line, card), = result.cards
    assert (line, card.industry, card.objection, card.keywords) == (1, "教育", "交付", ("开学前", "暑假"))
    assert card.talk_track.startswith("倒排工期。") and card.quote_template == "节点表"
    assert [i.line for i in result.issues] == [17]


def test_whole_file_problems_are_one_clear_issue(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "b.csv").write_text("编号,话术\n一,二\n", encoding="utf-8")
    (tmp_path / "c.xlsx").write_bytes(b"not a zip")
    messages = [str(read_cards(tmp_path / n, TAXONOMY).issues[0]) for n in ("a.txt", "b.csv", "c.xlsx", "d.json")]
    assert "不支持的文件类型 .txt" in messages[0]
    assert "没有「标题」" in messages[1]
    assert "不是可读取的 XLSX" in messages[2]
    assert "找不到文件" in messages[3]


def test_taxonomy_override_and_errors(tmp_path: Path) -> None:
    custom = tmp_path / "tax.toml"
    custom.write_text(
        '[[role]]\nname = "采购"\n[[industry]]\nname = "能源"\nsynonyms = ["电厂"]\n'
        '[[objection]]\nname = "价格"\nsynonyms = ["贵"]\n', encoding="utf-8")
    tax = load_taxonomy(custom)
    assert tax.canonical("industry", "电厂") == "能源" and tax.canonical("industry", "医院") is None
    custom.write_text('[[role]]\nname = "采购"\nsynonyms = ["x"]\n[[industry]]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(TaxonomyError, match="objection"):
        load_taxonomy(custom)


def test_header_below_a_merged_title_row_and_variant_headers(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["青柚仓储 销售话术库（内部）"])
    sheet.merge_cells("A1:E1")
    sheet.append([None])
    sheet.append(["问题", "回答", "所属行业", "客户异议", "标签"])
    sheet.append(["冷库嫌月租贵", "按托位计费", "冷链物流", "太贵", "托位,月租"])
    sheet.append(["通用的开场白", "先问现状", "不限", "通用", None])
    book.save(tmp_path / "sheet.xlsx")
    result = read_cards(tmp_path / "sheet.xlsx", TAXONOMY)
    assert result.issues == []
    (line, card), (_, generic) = result.cards
    assert (line, card.title, card.talk_track, card.industry, card.objection) == (4, "冷库嫌月租贵", "按托位计费",
                                                                                  "冷链物流", "价格")
    assert card.keywords == ("托位", "月租") and (generic.industry, generic.objection) == ("", "")
    assert result.new_values == {} and result.joined == {"冷链物流": "物流"}  # contains a known word: joins it


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("编号,标题,话术\nD1,一,甲\nD2,二,乙\nD1,三,丙\n", encoding="utf-8")
    result = read_cards(path, TAXONOMY)
    assert [c.id for _, c in result.cards] == ["D1", "D2"]
    assert [str(i) for i in result.issues] == [f"{path}:4: 编号 D1 重复：第 2 行和第 4 行"]


def test_csv_export_neutralises_formula_cells_and_round_trips(tmp_path: Path) -> None:
    risky = [KbCard(id=f"F{i}", title=text, talk_track=text) for i, text in
             enumerate(["=HYPERLINK(\"x\")", "+86 报价", "-10% 折扣", "@采购", "\t缩进"])]
    path = tmp_path / "out.csv"
    write_cards(path, risky)
    rows = path.read_text(encoding="utf-8-sig").splitlines()[1:]
    assert all(row.split(",", 2)[1].lstrip('"').startswith("'") for row in rows)
    back = read_cards(path, TAXONOMY)
    assert [c.title for _, c in back.cards] == [c.title.strip() for c in risky]

