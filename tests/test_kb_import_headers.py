"""「导入话术」 told admins to write the header 标题、内容, and the importer then refused every row: 「话术为空」
(内容 was no header it knew) and 「缺少编号」 for a row without 标题. The instructions name headers the importer
takes, 内容 is read as the talk track, and a row without a title is refused for that, not for a missing id."""

from __future__ import annotations

from pathlib import Path

from bot import phrases as P
from knowledge.io import CN_HEADERS, HEADER_ALIASES, read_cards
from knowledge.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()


def test_the_headers_the_import_help_names_are_the_importers() -> None:
    named = P.KB_IMPORT_HOW.split("表头写", 1)[1].split("，", 1)[0]
    words = [w.strip() for w in named.replace("、", " ").split() if w.strip()]
    assert words and all(w in HEADER_ALIASES for w in words), words
    assert HEADER_ALIASES["内容"] == CN_HEADERS["话术"]


def test_a_sheet_written_as_the_help_says_imports(tmp_path: Path) -> None:
    path = tmp_path / "cards.csv"
    path.write_text("标题,内容,角色,行业\n展会门票太贵,先算清参展能带来的客户数再谈价格,采购,制造\n"
                    ",没有标题的一行,采购,制造\n", encoding="utf-8")
    result = read_cards(path, TAXONOMY)
    assert [c.talk_track for _, c in result.cards] == ["先算清参展能带来的客户数再谈价格"]
    assert [i.message for i in result.issues] == ["缺少标题"], result.issues
