"""Which side a speaker is on: the rep's own company as the chat shows it, colleagues handing a customer over,
and the rep's colleagues posting in a customer project group.

The org's own company name is not configured anywhere; the rep's own words tell it (「我是<公司>的小周」), and so
does a colleague's label (「<公司>-技术支持<姓名>」) or self-introduction in a group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ocr.engine import RIGHT, TextRegion, join_lines
from ocr.people import (
    COMPANY_SUFFIX,
    INDUSTRY_TAIL,
    TITLE_SPLIT,
    clean_company,
    company_in,
    looks_like_company,
    person_in,
)

# How one says who one works for: 「我是<公司>的…」, 「我们<公司>…」, 「我这边是<公司>」, 「我司」
SPEAKS_FOR = re.compile(r"我是|我们是|我这边是|这边是|我叫|本人|我们公司")
# A colleague's job on the vendor's side, as a group label or introduction shows it
VENDOR_ROLE = re.compile(r"技术支持|售前|售后|客服|客户经理|销售经理|销售代表|实施顾问|实施工程师|商务经理|解决方案")
# A colleague passing a customer on: 「那个单子你接一下」, 「这个客户交给你跟」, 「转给你对接」 — to one person;
# work given to 你们 (the vendor: 「这块交给你们」) is a customer buying
HANDOVER = re.compile(
    r"(?:单子|客户|线索|商机|这单)[^。！？!?]{0,10}(?:你|您)(?!们)(?:来)?(?:接|跟进?|对接|负责|处理)"
    r"|(?:交给|转给|转交给|移交给|分给|分配给)(?:你|您)(?!们)(?:了|跟|对接|负责|处理|来)?|(?:你|您)(?:来)?接(?:一下|手)|交接一下"
)
# A sender label above a group bubble: 「<公司>-<职务><姓名>」
LABEL = re.compile(r"^(?P<co>[\u4e00-\u9fffA-Za-z]{2,16})\s*[-—－–_|·]\s*(?P<rest>[\u4e00-\u9fffA-Za-z]{2,12})$")


def own_companies(regions: tuple[TextRegion, ...]) -> set[str]:
    """The companies the rep says they are from, in the rep's own (right-side) bubbles."""
    out: set[str] = set()
    for r in regions:
        if r.kind != RIGHT:
            continue
        flat = join_lines([ln for ln in r.text.split("\n") if ln.strip()])
        if SPEAKS_FOR.search(flat):
            co = person_in(flat).company or company_in(flat) or _from(flat)
            if co:
                out.add(co)
    return out


FROM = re.compile(r"(?:我是|我们是|我这边是|这边是)(?P<co>[\u4e00-\u9fffA-Za-z]{2,16}?)的")


def _from(flat: str) -> str | None:
    """「我是启明仪器的小周」: a short company name before 的 when it reads as a company."""
    m = FROM.search(flat)
    return m.group("co") if m and looks_like_company(m.group("co")) and clean_company(m.group("co")) else None


def is_ours(company: str | None, ours: set[str], *, misread: bool = False) -> bool:
    """`company` names one of `ours`, in full or in part (「云启」 for 云启软件有限公司); with `misread`, also as OCR
    misreads a group label's small grey text (half of four or more characters right) — never for a title bar,
    where a customer's company may differ from ours by a character or two."""
    if not company or len(company) < 2:
        return False
    return any(company in o or _names(company, o) or (misread and _alike(company, o)) for o in ours)


def _names(company: str, own: str) -> bool:
    """`company` is our name `own`, that name with a legal form after it (「云启软件有限公司」), or a name of four
    or more characters after a place (「深圳云启软件」) — never a short name run into another word (「云启物流」)."""
    at = company.find(own)
    if at < 0:
        return False
    rest = company[at + len(own) :]
    if rest and not re.fullmatch(COMPANY_SUFFIX, rest):
        return False
    return at == 0 or len(own) >= 4


# A title bar's parts: split where a remark separates company, department and person (「李娜-云启软件-销售」)
TITLE_PARTS = re.compile(rf"{TITLE_SPLIT.pattern}|[（()）【】\[\]]+")
# A whole part that is an industry word (「云启 物流」): the part before it is the start of another company's name
INDUSTRY = re.compile(rf"{INDUSTRY_TAIL.pattern.removesuffix('$')}+{COMPANY_SUFFIX}?")


def title_names_ours(title: str | None, own: Iterable[str]) -> bool:
    """A title bar naming one of our configured names `own` as a whole part (「李娜-云启软件-销售」, 「王磊（云启）」,
    「韩立@云启软件有限公司」), not followed by an industry word: 「云启物流-王总」 is a customer."""
    parts = [p for p in TITLE_PARTS.split(title or "") if p]
    return any(any(len(o) >= 2 and _names(part, o) for o in own)
               and not (i + 1 < len(parts) and INDUSTRY.fullmatch(parts[i + 1]))
               for i, part in enumerate(parts))


def _alike(a: str, b: str) -> bool:
    return len(a) == len(b) >= 4 and sum(x == y for x, y in zip(a, b, strict=True)) * 2 >= len(a)


def speaks_for_us(text: str, ours: set[str]) -> bool:
    """A bubble whose speaker is on the rep's side: its label or self-introduction names our company, or a vendor
    role (技术支持, 实施顾问) with our company."""
    first = text.split("\n", 1)[0].strip()
    label = LABEL.match(first)
    if label and (is_ours(label.group("co"), ours, misread=True) or VENDOR_ROLE.search(label.group("rest"))):
        return True
    flat = join_lines([ln for ln in text.split("\n") if ln.strip()])
    said = SPEAKS_FOR.search(flat)
    if not said:
        return False
    # 「我是绿岸能效的技术顾问…」, 「我是绿岸售前…」: our name right after, with or without a legal form
    after = flat[said.end() : said.end() + 12]
    return is_ours(person_in(flat).company or company_in(flat), ours) or any(
        len(o) >= 2 and after.startswith(o) for o in ours)


def hands_over(text: str) -> bool:
    """A colleague handing a customer to the rep (「那个单子你接一下，对接人…」)."""
    return bool(HANDOVER.search(join_lines([ln for ln in text.split("\n") if ln.strip()])))
