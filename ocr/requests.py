"""What a customer asks for in their own words, when it is not in the catalog: 「想了解一下X」, 「需要X」,
「采购一批X」, 「X的报价」, 「X也有需求」 → X, a short noun phrase."""

from __future__ import annotations

import re

_THING = r"(?P<x>[\u4e00-\u9fffA-Za-z0-9+]{2,12}?)"
_END = r"(?=[，,。.！!？?；;、\s]|$|和|及|以及|还有|另外|方面|这块|这一块|的(?:报价|价格|方案|资料|情况)|麻烦|吗|呢|吧)"
REQUEST = re.compile(
    r"(?:想了解(?:一下|下)?|想咨询(?:一下|下)?|了解(?:一下|下)|需要|想要|想买|要买|想采购|采购(?![部科处员组])(?:一批|一些|一套|几台|点)?|"
    r"求购|在看|在找|计划上|打算上|想上|准备上|考虑上|主要是想?|咨询(?:一下|下)?|问(?:一下|下)|要(?:一批|一套|几台))"
    r"(?:一批|一些|一套|几台|几套|一下|下)?(?:你们的?|贵司的?)?" + _THING + _END
)
OWN_NEED = re.compile(_THING + r"(?:也有|有)(?:需求|需要|采购计划)")
QUOTE = re.compile(r"(?:报个价|报价|询价)[:：]?\s*" + _THING + _END)
# Words that say "something" without naming it, or that are the act of asking, never a product.
VAGUE = re.compile(
    r"^(?:一下|下|你们|贵司|产品|方案|资料|价格|报价|情况|细节|详情|具体|东西|这个|那个|这些|那些|这块|相关|哪些|什么|怎么|"
    r"多少|有没有|是否|合作|服务|业务|项目|公司|时间|联系|沟通|介绍|看看|了解|咨询|问题|一起|见面|聊聊|对接|安排|确认|"
    r"考虑|商量|研究|讨论|评估|比较|对比|参考|案例|样品|试用)"
)
# The customer asking for something at all (a product named or not): only then does a rep's 「我们的X…」 answer it.
ASKS = re.compile(r"想了解|了解一下|想咨询|咨询|需要|想要|想买|想看|采购|报价|询价|多少钱|价格|费用|有需求|"
                  r"在看|在找|选型|方案|推荐一下|有没有|能不能做")
LEAD_VERB = re.compile(r"^(?:采购|购买|买|要|上)?(?:一批|一些|一套|几台|几套|点"
                       r"|(?:\d+|[一二两三四五六七八九十百千几]+)多?(?:张|台|套|个|件|把|批|箱|吨|份|块|辆|部|组|只|条|米))")
BAD_TAIL = re.compile(r"(?:一下|下|的|了|吗|呢|吧|啊|呀|么|嘛|一些|一批)$")


def requested_things(text: str) -> list[str]:
    """Things asked for in `text` (order kept); a vague object ("一下你们的产品") is not a thing."""
    found: list[str] = []
    for rx in (REQUEST, OWN_NEED, QUOTE):
        for m in rx.finditer(text):
            thing = _clean(m.group("x"))
            if thing and thing not in found:
                found.append(thing)
    return found


def _clean(thing: str) -> str | None:
    thing = BAD_TAIL.sub("", thing.strip())
    thing = LEAD_VERB.sub("", thing)  # 「需要采购一批X」 asks for X
    if len(thing) < 2 or VAGUE.match(thing) or re.fullmatch(r"[\d+]+", thing):
        return None
    if re.search(r"我|你|他|她|们|吗|呢|吧|么|什么|怎么|多少|时候|[0-9]+[月号日点]", thing):
        return None
    return thing
