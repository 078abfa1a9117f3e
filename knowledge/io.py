"""Card files in and out: CSV, XLSX, Markdown with front matter, JSON, JSONL.

Readers yield `(line, raw mapping)`; `read_cards` validates each row, reports bad rows with file
and line number and keeps going. Writers produce files the readers accept (export round-trips).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from knowledge.schema import AXES, KEYWORD_SPLIT, CardError, KbCard, parse_card
from knowledge.taxonomy import Taxonomy

FIELDS = ("id", "title", "role", "industry", "objection", "talk_track", "quote_template", "success_case",
          "keywords", "updated_at", "version", "active")
CN_HEADERS = {"编号": "id", "标题": "title", "角色": "role", "行业": "industry", "异议": "objection",
              "话术": "talk_track", "报价模板": "quote_template", "成功案例": "success_case",
              "关键词": "keywords", "更新日期": "updated_at", "版本": "version", "启用": "active"}
HEADER_ALIASES = {**CN_HEADERS, "ID": "id", "卡片编号": "id", "序号编号": "id", "异议类型": "objection",
                  "更新时间": "updated_at", "状态": "active", "标签": "keywords",
                  # common variants in admins' own sheets
                  "问题": "title", "客户问题": "title", "场景": "title", "卡片标题": "title", "题目": "title",
                  "回答": "talk_track", "答案": "talk_track", "内容": "talk_track", "回复": "talk_track",
                  "应答": "talk_track",
                  "话术内容": "talk_track", "标准话术": "talk_track", "推荐话术": "talk_track",
                  "应对话术": "talk_track",
                  "报价": "quote_template", "报价话术": "quote_template", "案例": "success_case",
                  "客户案例": "success_case", "角色类型": "role", "客户角色": "role", "对象": "role",
                  "所属行业": "industry", "行业类型": "industry", "客户行业": "industry", "异议点": "objection",
                  "客户异议": "objection", "异议分类": "objection", "分类": "objection", "关键字": "keywords",
                  "标签词": "keywords", "修改日期": "updated_at", "修改时间": "updated_at", "日期": "updated_at",
                  "是否启用": "active", "启用状态": "active"}
MAX_FILE_BYTES = 50 * 2**20
HEADER_SEARCH_ROWS = 10  # the header may sit below a merged sheet title and notes
FORMULA_START = tuple("=+-@\t\r")  # a spreadsheet runs a cell starting with these as a formula
MD_SECTIONS = {"话术": "talk_track", "报价模板": "quote_template", "成功案例": "success_case"}
SUFFIXES = {".csv", ".xlsx", ".md", ".markdown", ".json", ".jsonl"}

Row = tuple[int, dict[str, Any]]
HeaderMap = Callable[[Sequence[Any]], list[str | None]]


class FormatError(ValueError):
    """The whole file is unreadable (wrong type, broken JSON, missing id column …)."""


@dataclass(frozen=True, slots=True)
class Issue:
    file: str
    line: int  # 1-based line (CSV/Markdown/JSON/JSONL) or row (XLSX); 0 = whole file
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class ReadResult:
    file: str
    cards: list[tuple[int, KbCard]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    rows: int = 0
    new_values: dict[str, list[str]] = field(default_factory=dict)  # axis → values the taxonomy did not know
    joined: dict[str, str] = field(default_factory=dict)  # new word → the known value it joins (合同条款 → 合同)
    good: int = 0  # cards that would be imported (held in `cards` unless read with keep=False)
    keywords: set[str] = field(default_factory=set)  # of the good cards (the words an index of them cuts with)
    axis_values: dict[str, set[str]] = field(default_factory=dict)  # axis → values of the good cards


def read_cards(path: str | Path, taxonomy: Taxonomy, progress: Callable[[int], None] | None = None,
               keep: bool = True) -> ReadResult:
    """Parse and validate every row of one file. Never raises for bad content. With `keep=False` the cards are
    only counted and their words collected (a large import reads the file again, a chunk at a time:
    `card_chunks`), so memory does not grow with the file."""
    path = Path(path)
    result = ReadResult(file=str(path))
    try:
        for line, card in _good_cards(path, taxonomy, result, progress):
            result.good += 1
            if keep:
                result.cards.append((line, card))
            else:
                result.keywords.update(card.keywords)
                for axis in AXES:
                    result.axis_values.setdefault(axis, set()).add(getattr(card, axis))
    except FormatError as exc:  # the whole file is unreadable: nothing of it is imported
        return ReadResult(file=str(path), issues=[Issue(str(path), 0, str(exc))])
    return result


def card_chunks(path: str | Path, taxonomy: Taxonomy, size: int) -> Iterator[list[KbCard]]:
    """The good cards of a file `read_cards` accepted, `size` at a time, read as it goes."""
    path = Path(path)
    chunk: list[KbCard] = []
    for _, card in _good_cards(path, taxonomy, ReadResult(file=str(path)), None):
        chunk.append(card)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _good_cards(path: Path, taxonomy: Taxonomy, result: ReadResult,
                progress: Callable[[int], None] | None) -> Iterator[tuple[int, KbCard]]:
    """(line, card) of every valid, first-seen row; the bad rows go to `result.issues` (FormatError: unreadable)."""
    seen: dict[str, int] = {}
    for line, raw in read_rows(path):
        result.rows += 1
        try:
            if "__error__" in raw:
                raise CardError(raw["__error__"])
            card = parse_card(_with_id(raw), taxonomy.resolve)
        except CardError as exc:
            result.issues.append(Issue(str(path), line, str(exc)))
        else:
            if card.id in seen:
                message = f"编号 {card.id} 重复：第 {seen[card.id]} 行和第 {line} 行"
                result.issues.append(Issue(str(path), line, message))
            else:
                seen[card.id] = line
                _note_new_values(result, taxonomy, card)
                yield line, card.with_(source=path.name)
        if progress:
            progress(1)


def _note_new_values(result: ReadResult, taxonomy: Taxonomy, card: KbCard) -> None:
    for axis in AXES:
        value = getattr(card, axis)
        if not taxonomy.is_new(axis, value) or value in result.new_values.get(axis, []) or value in result.joined:
            continue
        known = taxonomy.joins(axis, value)
        if known:
            result.joined[value] = known
        else:
            result.new_values.setdefault(axis, []).append(value)


def derived_id(title: str) -> str:
    """A stable id for a card given without one (the issue's Chinese CSV has no 编号 column): re-importing
    the same title updates the card instead of adding a copy."""
    return "T" + hashlib.sha1(" ".join(title.split()).encode("utf-8")).hexdigest()[:12]


def _with_id(raw: dict[str, Any]) -> dict[str, Any]:
    """The id derived from the title when none is given; a row with neither gets one from its other words, so
    what it is refused for is the missing title (the id is never the admin's to supply)."""
    if str(raw.get("id") or "").strip():
        return raw
    title = str(raw.get("title") or "").strip()
    return {**raw, "id": derived_id(title or str(raw.get("talk_track") or ""))}


def read_rows(path: Path) -> Iterator[Row]:
    suffix, zipped = _check_file(path, SUFFIXES, ".csv .xlsx .md .json .jsonl")
    if suffix == ".xlsx" or (zipped and suffix == ".csv"):  # an XLSX renamed to .csv is read as what it is
        _refuse_costly_xlsx(path)
        return _xlsx_rows(path)
    if suffix == ".csv":
        return _table_rows(_csv_records(_text_lines(path)))
    text = _read_text(path)
    if suffix in {".md", ".markdown"}:
        return _markdown_rows(text)
    if suffix == ".json":
        return _json_rows(text)
    return _jsonl_rows(text)


def read_table(path: Path, header_map: HeaderMap) -> Iterator[Row]:
    """Rows of any CSV or XLSX sheet (not only cards) under the first header `header_map` accepts, with the same
    guards as card files: size, zip bombs, GBK, broken quotes, a renamed XLSX, the exporter's formula guard.
    `header_map` turns a header row into field names (None = column ignored) or raises FormatError."""
    suffix, zipped = _check_file(path, {".csv", ".xlsx"}, ".csv .xlsx")
    if suffix == ".xlsx" or zipped:
        _refuse_costly_xlsx(path)
        return _xlsx_rows(path, header_map)
    return _table_rows(_csv_records(_text_lines(path)), header_map)


def _check_file(path: Path, suffixes: set[str], hint: str) -> tuple[str, bool]:
    """(suffix, looks like a zip) of a file we may read; FormatError (in Chinese) otherwise."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise FormatError(f"不支持的文件类型 {suffix or '（无后缀）'}（请用 {hint}）")
    if not path.is_file():
        raise FormatError("找不到文件")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        shown = math.ceil(size / 2**20 * 10) / 10  # rounded up: a file just over the limit never reads "50 MB"
        raise FormatError(f"文件太大（{shown:.1f} MB，最多 {MAX_FILE_BYTES // 2**20} MB），请拆成几个文件再导入")
    with path.open("rb") as head:
        zipped = head.read(4) == b"PK\x03\x04"
    return suffix, zipped


def _refuse_costly_xlsx(path: Path) -> None:
    """A zip bomb or a sheet claiming millions of cells is refused before openpyxl reads it (xlsx_guard.py)."""
    from knowledge.xlsx_guard import XlsxTooCostly, check_xlsx

    try:
        check_xlsx(path)
    except XlsxTooCostly as exc:
        raise FormatError(str(exc)) from None


def _read_text(path: Path) -> str:
    """UTF-8 (with or without BOM), else GBK/GB18030 (Excel in China); a file mixing both is read line by line."""
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise FormatError("这不是文本文件（可能是 Excel 或其他二进制文件改了后缀）")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    return "\n".join(_line_text(line) for line in data.split(b"\n"))  # GBK, or a mix: line by line


def _text_lines(path: Path) -> Iterator[str]:
    """The lines of a text file as they are read (a 50 MB CSV is never held whole): each line UTF-8 when it is
    (a BOM dropped), else GBK/GB18030 — the same text `_read_text` gives, for a file in either or mixing both.
    A bare CR ends a line too, as in the csv module's own reading."""
    with path.open("rb") as handle:
        if b"\x00" in handle.read(4096):
            raise FormatError("这不是文本文件（可能是 Excel 或其他二进制文件改了后缀）")
        handle.seek(0)
        for line in handle:
            text = _line_text(line)
            yield from (BARE_CR.split(text) if "\r" in text[:-2] else (text,))


BARE_CR = re.compile(r"(?<=\r)(?!\n)(?=.)", re.DOTALL)


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _line_text(line: bytes) -> str:
    return line.decode("utf-8-sig") if _is_utf8(line) else line.decode("gb18030", errors="replace")


def _header_map(header: Sequence[Any]) -> list[str | None]:
    names: list[str | None] = []
    for cell in header:
        name = str(cell).strip() if cell is not None else ""
        key = HEADER_ALIASES.get(name) or (name.lower() if name.lower() in FIELDS else None)
        names.append(key)
    if "title" not in names:
        raise FormatError("表头里没有「标题」（或「问题」）列")
    return names


def _table_rows(records: Iterable[tuple[int, Sequence[Any]]], header_map: HeaderMap | None = None) -> Iterator[Row]:
    """Rows under the header; the header is the first of the first rows `header_map` accepts (for cards: one that
    names a title column; a merged sheet title or a note above it is skipped)."""
    header_map = header_map or _header_map
    names: list[str | None] | None = None
    first_error: FormatError | None = None
    seen = 0
    for line, cells in records:
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            continue
        if names is None:
            seen += 1
            try:
                names = header_map(cells)
            except FormatError as exc:
                first_error = first_error or exc
                if seen >= HEADER_SEARCH_ROWS:
                    raise first_error from None
            continue
        yield line, {k: _unguard(v) for k, v in zip(names, cells, strict=False) if k}
    if names is None:
        raise first_error or FormatError("文件是空的（没有表头）")


def _unguard(value: Any) -> Any:
    """Undo the exporter's formula guard ("'=…" → "=…")."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def _guard(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(lines)
    line = 1
    try:
        for cells in reader:
            yield line, cells  # line where the record starts (quoted fields may span lines)
            line = reader.line_num + 1
    except csv.Error:
        raise FormatError(f"第 {reader.line_num} 行 CSV 格式损坏（引号不成对等）") from None


def _xlsx_rows(path: Path, header_map: HeaderMap | None = None) -> Iterator[Row]:
    from openpyxl import load_workbook

    handle = path.open("rb")  # a file object: openpyxl would refuse a renamed file by its suffix
    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a bad file
        handle.close()
        raise FormatError("不是可读取的 XLSX 表格（文件损坏或不是 Excel 文件）") from None
    try:
        sheet = book.worksheets[0]
        records = ((i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), 1))
        yield from _table_rows(records, header_map)
    finally:
        book.close()
        handle.close()


def _jsonl_rows(text: str) -> Iterator[Row]:
    for line, raw_line in enumerate(text.splitlines(), 1):
        if not raw_line.strip():
            continue
        try:
            obj = json.loads(raw_line)
        except json.JSONDecodeError:
            yield line, {"__error__": "不是有效的 JSON"}
            continue
        yield line, obj if isinstance(obj, dict) else {"__error__": "应为一个 JSON 对象（一张卡片）"}


def _json_rows(text: str) -> Iterator[Row]:
    """A JSON array of objects (or {"cards": [...]}); line numbers come from decoder offsets."""
    decoder = json.JSONDecoder()
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"第 {exc.lineno} 行不是有效的 JSON") from None
    if isinstance(whole, dict) and isinstance(whole.get("cards"), list):
        start = text.index("[", text.index('"cards"'))
    elif isinstance(whole, list):
        start = text.index("[")
    else:
        raise FormatError('应为卡片的 JSON 数组，或 {"cards": [...]}')
    pos = start + 1
    while True:
        pos = _skip(text, pos)
        if text[pos] == "]":
            return
        obj, end = decoder.raw_decode(text, pos)
        line = text.count("\n", 0, pos) + 1
        yield line, obj if isinstance(obj, dict) else {"__error__": "应为一个 JSON 对象（一张卡片）"}
        pos = _skip(text, end)
        if text[pos] == ",":
            pos += 1


def _skip(text: str, pos: int) -> int:
    while text[pos] in " \t\r\n":
        pos += 1
    return pos


FRONT_KEY = re.compile(r"^([A-Za-z_\u4e00-\u9fff]+)\s*[:：]\s*(.*)$")
SECTION = re.compile(r"^#{1,3}\s*(.+?)\s*$")
MD_ESCAPED = re.compile(r"^\\(\s*---\s*$|#|\\)")  # '\---', '\## 话术', '\\…' in a body: one backslash added


def _markdown_rows(text: str) -> Iterator[Row]:
    """Cards as `---` front matter blocks, each followed by `## 话术` / `## 报价模板` / `## 成功案例`."""
    lines = text.splitlines()
    starts: list[int] = []
    i = 0
    while i < len(lines):
        if _opens_front(lines, i):
            starts.append(i)
            i += 1
            while i < len(lines) and lines[i].strip() != "---":  # skip to the closing '---'
                i += 1
        i += 1
    if not starts:
        raise FormatError("没有找到卡片（每张卡片以一行 --- 开头，接着是「id: …」）")
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        yield start + 1, _markdown_card(lines[start + 1:end])


def _opens_front(lines: list[str], i: int) -> bool:
    """'---' opens a card only before a closed block of 'key: value' lines naming an id or a title
    (a talk track may hold '---' followed by '注意：…')."""
    if lines[i].strip() != "---":
        return False
    keys: set[str] = set()
    for line in lines[i + 1:]:
        if line.strip() == "---":
            return bool(keys & {"id", "title"})
        match = FRONT_KEY.match(line.strip())
        if match:
            keys.add(HEADER_ALIASES.get(match.group(1), match.group(1).lower()))
        elif line.strip():
            return False
    return False


def _markdown_card(block: list[str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    i = 0
    while i < len(block) and block[i].strip() != "---":
        match = FRONT_KEY.match(block[i].strip())
        if match:
            key = HEADER_ALIASES.get(match.group(1), match.group(1).lower())
            raw[key] = _front_value(match.group(2))
        elif block[i].strip():
            return {"__error__": f"「{block[i].strip()[:30]}」不是「字段: 值」的格式"}
        i += 1
    if i >= len(block):
        return {"__error__": "卡片开头的字段区没有用 --- 结束"}
    section: str | None = None
    body: dict[str, list[str]] = {}
    for ln in block[i + 1:]:
        match = SECTION.match(ln)
        if match and match.group(1) in MD_SECTIONS:
            section = MD_SECTIONS[match.group(1)]
            continue
        if section:
            body.setdefault(section, []).append(ln[1:] if MD_ESCAPED.match(ln) else ln)
    for key, text_lines in body.items():
        raw[key] = "\n".join(text_lines).strip()
    return raw


def _front_value(value: str) -> Any:
    value = value.strip()
    if value[:1] in '["':  # the writer's JSON form first: exact for quotes, commas and brackets
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, str) or (isinstance(decoded, list) and all(isinstance(v, str) for v in decoded)):
            return decoded
    if value.startswith("[") and value.endswith("]"):
        return [v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip()]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


# ---------------------------------------------------------------- writers


def write_cards(path: str | Path, cards: Sequence[KbCard]) -> int:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise FormatError(f"不支持的文件类型 {suffix or '（无后缀）'}（请用 .csv .xlsx .md .json .jsonl）")
    rows = [c.to_dict() for c in cards]
    if suffix == ".xlsx":
        _write_xlsx(path, rows)
    elif suffix == ".csv":
        path.write_text(_csv_text(rows), encoding="utf-8-sig")
    elif suffix in {".md", ".markdown"}:
        path.write_text("\n".join(_markdown_card_text(r) for r in rows), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def _keywords_cell(keywords: list[str]) -> str:
    """Comma-joined for people; a JSON array when a keyword holds a separator (ISO/IEC 27001, a,b)."""
    joined = ",".join(keywords)
    if joined.startswith("[") or any(KEYWORD_SPLIT.search(k) for k in keywords):
        return json.dumps(keywords, ensure_ascii=False)
    return joined


def _flat(row: dict[str, Any]) -> list[Any]:
    return [_keywords_cell(row[k]) if k == "keywords" else row[k] for k in FIELDS]


def _csv_text(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    writer.writerows([_guard(v) for v in _flat(r)] for r in rows)
    return out.getvalue()


def _write_xlsx(path: Path, rows: list[dict[str, Any]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "cards"
    cn = {v: k for k, v in CN_HEADERS.items()}
    sheet.append([cn.get(k, k) for k in FIELDS])
    for row in rows:
        sheet.append([str(v) if isinstance(v, date | datetime) else v for v in _flat(row)])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # text starting with "=" is the card's text, not a formula
                cell.data_type = "s"
    book.save(path)


def _markdown_card_text(row: dict[str, Any]) -> str:
    front = [f"{k}: {_md_scalar(row[k])}" for k in ("id", "title", "role", "industry", "objection", "updated_at",
                                                       "version", "active")]
    front.append("keywords: " + json.dumps(row["keywords"], ensure_ascii=False))
    parts = ["---", *front, "---", ""]
    for label, key in MD_SECTIONS.items():
        parts += [f"## {label}", *(_md_body_line(ln) for ln in str(row[key]).split("\n")), ""]
    return "\n".join(parts)


def _md_body_line(line: str) -> str:
    """Body lines that would read as a card or section boundary get a leading backslash (undone on read)."""
    return "\\" + line if MD_ESCAPED.match("\\" + line) else line


def _md_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text != text.strip() or "\n" in text or text[:1] in "'\"[":
        return json.dumps(text, ensure_ascii=False)  # read back exactly by _front_value
    return text
