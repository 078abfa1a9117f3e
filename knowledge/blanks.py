"""A card's template blanks (「报价 {金额} 元，{天数} 天交付」): filled from the lead when the card is shown for one,
otherwise a short hint in their place (「（金额待定）」) — a rep never sees a raw `{…}` to forward to a customer."""

from __future__ import annotations

import re
from collections.abc import Mapping

# {金额}, {{金额}}, ｛金额｝ and 【金额】-free forms people type in spreadsheets; a blank names itself in ≤ 12 chars
BLANK = re.compile(r"\{\{\s*([^{}\s]{1,12})\s*\}\}|\{\s*([^{}\s]{1,12})\s*\}|｛\s*([^｛｝\s]{1,12})\s*｝")

# the words a template writes for a lead's field → that field
FIELD_OF = {
    "客户": "customer_name", "客户名": "customer_name", "客户姓名": "customer_name", "姓名": "customer_name",
    "联系人": "customer_name", "称呼": "customer_name",
    "公司": "company", "客户公司": "company", "单位": "company", "机构": "company",
    "职务": "title", "职位": "title", "行业": "industry", "区域": "region", "地区": "region",
    "产品": "product_line", "产品线": "product_line",
    "金额": "budget_cny", "预算": "budget_cny",
}
HINT = {"customer_name": "（客户称呼）", "company": "（客户公司）"}


def lead_values(lead: object | None) -> dict[str, str]:
    """The fields of a lead (any object with the Lead's attributes) a blank may take, as text."""
    if lead is None:
        return {}
    out: dict[str, str] = {}
    for field in set(FIELD_OF.values()):
        value = getattr(lead, field, None)
        if isinstance(value, int) and not isinstance(value, bool):
            out[field] = f"{value:,}"
        elif isinstance(value, str) and value.strip():
            out[field] = value.strip()
    return out


def fill_blanks(text: str, values: Mapping[str, str] | None = None) -> str:
    """`text` with each blank replaced by the lead's value (`lead_values`) or a hint such as 「（金额待定）」."""
    if "{" not in text and "｛" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        name = next(g for g in m.groups() if g)
        field = FIELD_OF.get(name)
        if field and values and values.get(field):
            return values[field]
        return HINT.get(field or "", f"（{name}待定）")

    return BLANK.sub(one, text)
