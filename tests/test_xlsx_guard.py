"""An XLSX that costs far more to read than its size is refused at the reader's entry (issue 20, item 5):
a 77 KB "dimension bomb" took 12.8 s of CPU, a 2.4 MB zip bomb inflated to 525 MB."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from knowledge.io import FormatError, read_rows


def real_sheet(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["标题", "话术"])
    sheet.append(["报价单要盖章", "先确认抬头再走用印流程"])
    book.save(path)
    return path


def rewrite(src: Path, dst: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change.get(info.filename, zin.read(info.filename)))
        for name in set(change) - set(zin.namelist()):
            zout.writestr(name, change[name])
    return dst


def test_a_normal_sheet_still_reads(tmp_path: Path) -> None:
    rows = list(read_rows(real_sheet(tmp_path / "ok.xlsx")))
    assert rows and rows[0][1]["title"] == "报价单要盖章"


def test_a_dimension_bomb_is_refused_at_once(tmp_path: Path) -> None:
    src = real_sheet(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    bomb = xml.replace(b'<dimension ref="A1:B2" />', b'<dimension ref="A1:XFD1048576" />')
    bomb = bomb.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>')
    assert bomb != xml
    path = rewrite(src, tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": bomb})
    started = time.monotonic()
    with pytest.raises(FormatError, match="范围过大"):
        list(read_rows(path))
    assert time.monotonic() - started < 2


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    src = real_sheet(tmp_path / "src.xlsx")
    path = rewrite(src, tmp_path / "zipbomb.xlsx", {"xl/media/pad.xml": b"\x00" * (50 * 2**20)})
    assert path.stat().st_size < 2**20
    with pytest.raises(FormatError, match="解压后过大"):
        list(read_rows(path))
