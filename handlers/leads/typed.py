"""Fields a rep types in a new lead that screenshots never carry: 区域 / 行业 / 产品线, labelled (glued to the value
or spaced: 「区域华北」, 「行业：医药」, 「产品线 CRM」), an industry said as
「零售行业」, a big region said alone (华南); and an industry not said at all, named by the company or the text in
the knowledge taxonomy's industry words (「康宁医疗」, 「某某制药有限公司」 → 医疗, 医药)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.services import Shared
from knowledge.taxonomy import TaxonomyError, load_taxonomy

if TYPE_CHECKING:
    from bot.services import Services

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


_CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")  # Chinese industry words only: 「his」 or 「pos」 hide inside others


def industry_words(taxonomy_path: str) -> tuple[tuple[str, str], ...]:
    """(word, industry) of the taxonomy's Chinese industry names and synonyms, longest first."""
    try:
        words = load_taxonomy(taxonomy_path or None).synonyms["industry"]
    except TaxonomyError:
        return ()
    return tuple(sorted(((w, v) for w, v in words.items() if _CJK_WORD.fullmatch(w)), key=lambda wv: -len(wv[0])))


INDUSTRY_WORDS = Shared("lead_industry_words", lambda s: industry_words(s.settings.knowledge.taxonomy_path))


def industry_named(words: Sequence[tuple[str, str]], *texts: str | None) -> str | None:
    """The industry the first text that names one names (the company before the rest of the message): the
    longest industry word in it, when the words of that length all mean one industry; None when none does."""
    for text in texts:
        if not text:
            continue
        found = [(w, v) for w, v in words if w in text]
        if found:
            longest = [v for w, v in found if len(w) == len(found[0][0])]
            return longest[0] if len(set(longest)) == 1 else None
    return None


def place_industry(services: Services, fields: dict[str, Any], text: str) -> None:
    """A company that is an industry word alone (「新线索 王总 医疗 …」) is the industry, not a company; an industry
    not typed is the one the company name, else the text, names."""
    words = services.shared(INDUSTRY_WORDS)
    company = fields.get("company")
    bare = next((v for w, v in words if w == company), None) if company else None
    if bare is not None:
        fields["company"] = None
        fields["industry"] = fields.get("industry") or bare
    elif not fields.get("industry") and (industry := industry_named(words, company, text)):
        fields["industry"] = industry
