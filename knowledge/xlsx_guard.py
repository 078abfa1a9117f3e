"""Refuse an XLSX that would cost far more to read than its size suggests, before openpyxl opens it.

A 77 KB file claiming a sheet dimension of A1:XFD1048576 kept the reader busy for 12.8 s of CPU (read-only mode pads
every row to the claimed width), and a 2.4 MB zip bomb inflated to 525 MB. Both are checked from the zip directory
and the sheet's <dimension> element only (a few KB read), with limits far above any real card sheet.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

MAX_UNZIPPED_BYTES = 200 * 2**20  # all parts of the workbook, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, for parts over 1 MB (XML compresses ~10–30×)
MAX_CELLS = 2_000_000  # claimed sheet rows × columns
DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+)?(\d+)?:?([A-Z]+)(\d+)"')


class XlsxTooCostly(ValueError):
    """Why the workbook is refused, in Chinese for the import report."""


def check_xlsx(path: Path) -> None:
    """Raise XlsxTooCostly for a zip bomb or a sheet claiming millions of cells; a file that is no zip at all is
    left to the reader (it reports it as unreadable)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with archive:
        infos = archive.infolist()
        if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES or any(
                i.file_size > 2**20 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos):
            raise XlsxTooCostly("表格解压后过大（可能是压缩炸弹），请另存为普通 Excel 文件后再导入")
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with archive.open(info) as part:
                    _check_dimension(part.read(4096))


def _check_dimension(head: bytes) -> None:
    match = DIMENSION.search(head)
    if match is None:
        return
    rows, cols = int(match.group(4)), _column_number(match.group(3).decode())
    if rows * cols > MAX_CELLS:
        raise XlsxTooCostly(f"表格的范围过大（约 {rows} 行 × {cols} 列），请删除多余的空行和空列后再导入")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - ord("A") + 1
    return n
