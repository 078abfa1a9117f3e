"""What a rep's words say about a lead: a stage named in a command (「阶段 12 需求诊断」), and what a free-text visit
note (a voice note, 跟进) says — nothing at all, a company, another customer. Pure rules of the lead domain; how a
value is stored and the lead reads and writes are storage/leads.py."""

from __future__ import annotations

import re

from storage.leads import STAGE_CODES, STAGES, company_core, same_company
from storage.models import Lead

_STAGE_ALIASES = {"获取": "new", "初筛": "qualify", "资质": "qualify", "需求": "discover", "诊断": "discover",
                  "方案": "demo", "演示": "demo", "签约": "close", "回款": "close"}


_ID = re.compile(r"^#?(\d{1,9})号?(?:[\s,，:：、]+|$)")


def parse_id(arg: str) -> tuple[int | None, str]:
    """'12 已电话沟通' / '#12' / '12号 好' / '12，好' / '12：好' → (12, rest); no leading number → (None, arg).
    The reading of a lead number after every lead command word (跟进, 阶段, 证据, 决策链 …)."""
    m = _ID.match(arg.strip())
    if not m:
        return None, arg.strip()
    return int(m.group(1)), arg.strip()[m.end():].strip()


def parse_stage(text: str) -> str | None:
    """'3', '三', '第3阶段', '需求诊断', 'discover', '诊断' → 'discover'; anything else → None. A stage word in a
    sentence that says it has not happened (还不需要演示, 预计下月签约) is not a stage."""
    t = text.strip().lower()
    t = re.sub(r"^第?\s*([1-9一二三四五])\s*(?:阶段|步)?$", r"\1", t)
    t = str("一二三四五".index(t) + 1) if len(t) == 1 and t in "一二三四五" else t
    if t.isdigit() and 1 <= int(t) <= len(STAGES):
        return STAGE_CODES[int(t) - 1]
    for code, name in STAGES:
        if t in (code, name):
            return code
    if _NOT_YET.search(t):
        return None
    hits = {code for alias, code in _STAGE_ALIASES.items() if alias in t}
    return hits.pop() if len(hits) == 1 else None


_NOT_YET = re.compile(r"不|没|未|预计|准备|打算|计划|希望|争取|快要|即将|下(?:个)?[周月]|明年")


MIN_COMPANY_WORD = 3  # a company named in free text by fewer characters is too likely an ordinary word


def company_named(text: str, company: str | None) -> bool:
    """Free text (a spoken visit note) names this company: its full name, or the name without legal and trade
    suffixes (「青禾物流」 for 青禾物流科技有限公司) when that is at least MIN_COMPANY_WORD characters."""
    if not company or not company.strip():
        return False
    full = company.strip()
    core = company_core(full)
    return full in text or (len(core) >= MIN_COMPANY_WORD and core in text)


# -- what a free-text visit note says (handlers/chat/voice.py, 跟进) ---------------------------------------------------
_FILLER = re.compile(r"[\s\W_]|嗯|啊|呃|额|哦|噢|唔|哈|呀|吧|呢|嘛|那个|这个|就是|然后|对对|好的|好|喂|哎|诶|是的|对")
_ORG = re.compile(
    r"[\u4e00-\u9fffA-Za-z]{2,14}?(?:有限公司|公司|集团|科技|医院|学校|大学|学院|银行|软件|制造|物流|电子|教育|食品|"
    r"医疗|建材|机械|零售|金融|贸易|商贸|药业|实业|网络|信息|智能|能源|汽车|地产|置业|传媒|咨询|酒店|工厂|厂)")
_LEAD_IN = re.compile(r"^.*?(?:拜访了|拜访|去了|见了|见|联系了|联系|约了|和|跟|给|到|在|是)")
_PERSON = re.compile(
    r"([\u4e00-\u9fff])(?:总经理|经理|总监|总|主任|老师|院长|科长|处长|部长|校长|厂长|老板|女士|先生|工)")


def empty_note(text: str) -> bool:
    """A note with no content: only filler (「嗯」「那个……」), punctuation or nothing."""
    return len(_FILLER.sub("", text)) < 2


def named_company(text: str) -> str | None:
    """A company the note names (「拜访了星河数码科技的孙经理」 → 星河数码科技), the lead-in verbs dropped."""
    for found in _ORG.finditer(text):
        name = _LEAD_IN.sub("", found.group(0)) if _LEAD_IN.match(found.group(0)) else found.group(0)
        name = re.sub(r"^(?:今天|昨天|上午|下午|刚才|刚刚|我|我们)+", "", name)
        if len(name) >= MIN_COMPANY_WORD:
            return name
    return None


def names_someone_else(text: str, lead: Lead) -> str | None:
    """The company or person a note names that is not `lead`'s (the note is about another customer), else None."""
    if (lead.customer_name and lead.customer_name in text) or company_named(text, lead.company):
        return None
    company = named_company(text)
    if company is not None and not (lead.company and (same_company(company, lead.company) or company in lead.company)):
        return company
    person = _PERSON.search(text)
    if company is None and person and lead.customer_name and not lead.customer_name.startswith(person.group(1)):
        return person.group(0)
    return None
