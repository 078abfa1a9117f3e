"""Fields a rep types in a new lead that screenshots never carry: 区域 / 行业 / 产品线, labelled (glued to the value
or spaced: 「区域华北」, 「行业：医药」, 「产品线 CRM」), an industry said as
「零售行业」, a big region said alone (华南)."""

from __future__ import annotations

import re

_END = r"(?=$|[\s,，;；。、])"
_START = r"(?:^|(?<=[\s,，;；。、]))"
REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
_LABELLED = (
    ("region", re.compile(rf"{_START}(?:区域|地区|片区|大区)\s*[:：是为]?\s*(?P<v>[\u4e00-\u9fff]{{2,4}}?)"
                          rf"(?:区|地区|片区|大区)?{_END}")),
    ("industry", re.compile(rf"{_START}(?:行业|所属行业)\s*[:：是为]?\s*(?P<v>[\u4e00-\u9fff]{{2,6}}?)"
                            rf"(?:行业)?{_END}")),
    ("industry", re.compile(rf"{_START}(?:做|搞)?(?P<v>[\u4e00-\u9fff]{{2,4}}?)行业{_END}")),
    ("product_line", re.compile(rf"{_START}产品线\s*[:：是为]?\s*(?P<v>[A-Za-z0-9\u4e00-\u9fff]{{2,12}}){_END}")),
    ("region", re.compile(rf"{_START}(?P<v>{'|'.join(REGIONS)})(?:区|地区|片区|大区)?{_END}")),
)


def typed_extras(text: str) -> tuple[dict[str, str], str]:
    """({field: value}, the text without those words) — the rest goes to the screenshot extractor."""
    found: dict[str, str] = {}
    for name, pattern in _LABELLED:
        m = pattern.search(text)
        if m is None or name in found:
            continue
        found[name] = m.group("v")
        text = f"{text[:m.start()]} {text[m.end():]}"
    return found, text
