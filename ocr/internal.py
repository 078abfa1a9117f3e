"""Colleagues talking about a customer: a chat that carries a customer's company, needs, budget and even number, but
between two people of the rep's own side — no lead from this screenshot (the customer's own chat is the lead).

The sign: both sides speak of 「客户」 in the third person (「那个客户想上…」 and 「我明天给客户回电话」). A title
bar with one of our departments before a name (「售后-王磊」, 「项目部李娜」, 「王磊（售后）」) is no sign alone — reps
save customers the same way (「技术部张工」, 「人事-李娜」 for a training product); it counts only beside the rep's
third-person 「客户」 or the other party naming our company, and never when the other party buys (a budget, a catalog
need, a company of their own: `buying`) or speaks as 我们 / 我司. Nothing counts when the other party speaks for an
organisation of their own (「我们想采购…」, 「贵司的方案…」, 「我是…的」). The caller skips referrals: a reseller
speaks of the customer they bring.
"""

from __future__ import annotations

import re

from ocr.engine import LEFT, RIGHT, TextRegion
from ocr.people import strip_title_noise

# A vendor's own functions, as a colleague's remark puts them before the name (never a customer's buying side:
# 采购, 设备科, 信息科 stay customers).
OWN_DEPARTMENT = (r"(?:售后|售前|行政|人事|人力资源|人力|HR|财务部?|项目部|项目组|实施部?|技术部|技术支持"
                  r"|研发部?|市场部|销售[一二三四五六七八九十\d]?部|商务部|运营部|客服部?|法务部?|综合部|总经办"
                  r"|产品部|交付部?)")
WHO = r"[\u4e00-\u9fffA-Za-z]{1,6}"
DEPARTMENT_TITLE = re.compile(rf"^{OWN_DEPARTMENT}\s*[-—－–_·|｜:：/]?\s*(?P<after>{WHO})$"
                              rf"|^(?P<before>{WHO})\s*[-—－–_·|｜/]?\s*[（(【\[]?{OWN_DEPARTMENT}[)）】\]]?$")
ORGANISATION = re.compile(r"公司|集团|科技|医院|银行|学校|大学|中心|研究院|厂$")
# 「客户」 as someone talked about: 「那个客户」, 「客户说」, 「给客户」 — not 「我们客户」 (a reseller's clients),
# 「你们客户」, nor the words 客户端, 客户案例, 客户管理 (a product), 客户经理 (a role)
THIRD_PERSON = re.compile(
    r"(?:那个|这个|该|这家|那家|有个|有一个|一个|给|跟|帮|替|问问?|联系|找|见|拜访|陪)客户"
    r"|(?<!我们)(?<!我的)(?<![我你们司])客户(?:说|那边|这边|要|想|问|提|反馈|的需求|的预算|预算|电话|手机|急|催|定了?|同意"
    r"|答复|回复|之前|对接人|现在|还在|已经|觉得|嫌)"
)
# The other party speaking for their own organisation or purchase, or to us as the vendor
OUTSIDER = re.compile(
    r"我们?(?:公司|单位|这边|医院|学校|工厂|厂里)?(?:想|需要|打算|准备|计划|考虑)(?:了解|采购|购买|买|上|咨询|换|找)"
    r"|我司|贵司|你们(?:公司|家)?的?(?:产品|方案|报价|价格|系统)|我是(?!说|觉得|想|看|问)|我叫|我们是|我们公司"
)

WE = re.compile(r"我们|我司")  # a colleague says 咱们 of our company; 我们 / 我司 is a customer's own side


def is_department(word: str | None) -> bool:
    """「（行政）」, 「售后」: one of our departments, as a title bar's bracketed part may read."""
    return bool(word) and re.fullmatch(OWN_DEPARTMENT, re.sub(r"[（()）【】\[\]\s]", "", word or "")) is not None


def department_title(title: str | None) -> bool:
    """「售后-王磊」: one of our departments before (or in brackets after) a person's name, and no organisation."""
    clean = strip_title_noise(title or "").replace(" ", "")
    m = DEPARTMENT_TITLE.match(clean)
    return m is not None and not ORGANISATION.search(m.group("after") or m.group("before"))


def third_person(regions: tuple[TextRegion, ...]) -> dict[str, int]:
    """How many bubbles on each side speak of a customer in the third person."""
    said = {LEFT: 0, RIGHT: 0}
    for r in regions:
        if r.kind in said and THIRD_PERSON.search(r.text.replace("\n", "")):
            said[r.kind] += 1
    return said


def speaks_as_outsider(regions: tuple[TextRegion, ...]) -> bool:
    return any(r.kind == LEFT and OUTSIDER.search(r.text.replace("\n", "")) for r in regions)


def colleagues_on_a_customer(title: str | None, regions: tuple[TextRegion, ...], *, buying: bool,
                             ours: set[str]) -> bool:
    """A one-to-one chat between colleagues about a customer (see the module docstring)."""
    if speaks_as_outsider(regions):
        return False
    said = third_person(regions)
    if said[LEFT] and said[RIGHT]:
        return True
    if buying or not department_title(title):
        return False
    theirs = "".join(r.text.replace("\n", "") for r in regions if r.kind == LEFT)
    if WE.search(theirs):
        return False
    return bool(said[RIGHT]) or any(o in theirs for o in ours if len(o) >= 2)
