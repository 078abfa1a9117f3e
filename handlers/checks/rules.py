"""Cross-check rules: small pure functions over plain values, each returning Findings (rule, level, Chinese reason).

🔴 red: the value or move is very likely wrong and blocks trust in the figures until answered and cleared.
🟡 yellow: worth a look. Unknown is never taken as a positive: a missing value is reported as missing, never as
"fine", and a rule that cannot judge (no data) stays silent rather than passing a value as checked.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.config import ChecksSettings
from bot.usertext import user_text
from storage.leads import (
    STAGE_CN,
    STAGE_CODES,
    company_core,
    is_closed,
    plain_number,
    same_company,
    stage_index,
    stage_label,
)

RED, YELLOW = "red", "yellow"
ICON = {RED: "🔴", YELLOW: "🟡"}

# What each proof kind is called in a reply.
PROOF_CN = {"contact": "联系方式", "need": "客户需求", "chat": "沟通截图", "demo": "演示记录或文件",
            "contract": "合同页", "payment": "回款凭证", "receipt": "票据"}
# Words a rep may use to answer a flag of each rule (「预算 确认 客户集团总预算」), first = how it is shown.
TOPICS: dict[str, tuple[str, ...]] = {
    "budget_outlier": ("预算",),
    "stage_jump": ("阶段", "跳阶段", "推进"),
    "won_without_proof": ("赢单", "成交"),
    "shared_contact": ("撞单", "电话", "公司", "手机"),
    "repeated_summary": ("跟进", "跟进记录", "记录"),
    "stage_lag": ("签约", "回款", "阶段"),
    "key_fields_unknown": ("关键信息", "决策链", "下一步", "异议"),
    "evidence_reused": ("证据", "重复证据"),
    "contract_mismatch": ("合同", "合同抬头"),
    "contract_unread": ("合同", "甲方"),
}


ANSWER_VERBS = ("确认", "属实", "说明", "解释")
_TOPIC_WORDS = sorted({w for words in TOPICS.values() for w in words}, key=len, reverse=True)
# A rep's one-line answer to a flag: 「预算 确认 客户集团总预算」, 「预算确认 12 集团总预算」.
FLAG_ANSWER = re.compile(rf"^(?P<topic>{'|'.join(_TOPIC_WORDS)})\s*(?:{'|'.join(ANSWER_VERBS)})\s*[:：,，]?\s*"
                         r"(?:#?(?P<lead>\d{1,7})(?:号)?\s+)?(?P<answer>\S.*)$")


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str  # red | yellow
    reason: str  # Chinese, one line
    subject: str = ""  # what it is about when a rule can fire more than once per lead (another lead's id …)

    @property
    def line(self) -> str:
        return f"{ICON[self.level]} {self.reason}"


def yuan(value: int | float) -> str:
    return f"{plain_number(value / 10000)} 万元" if value >= 10000 else f"{plain_number(value)} 元"


# -- budget ----------------------------------------------------------------------------------------------------
def budget_outlier(budget: int | None, industry: str | None, history: Sequence[int],
                   cfg: ChecksSettings) -> Finding | None:
    """🔴 a budget far outside the team's history for the industry (`history`: the other known budgets of the
    team's leads in it); without enough history, outside the configured default range."""
    if budget is None:
        return None
    where = f"「{industry}」行业" if industry else "同类线索"
    known = [b for b in history if b and b > 0]
    if len(known) >= cfg.budget_min_history:
        median = statistics.median(known)
        if budget > median * cfg.budget_factor:
            return Finding("budget_outlier", RED, f"预算 {yuan(budget)} 远高于团队{where}的常见预算"
                           f"（中位数 {yuan(median)}，超过 {cfg.budget_factor:g} 倍），请核实")
        if budget * cfg.budget_factor < median:
            return Finding("budget_outlier", RED, f"预算 {yuan(budget)} 远低于团队{where}的常见预算"
                           f"（中位数 {yuan(median)}），请核实单位是否写错")
        return None
    if budget > cfg.budget_default_max_cny:
        return Finding("budget_outlier", RED, f"预算 {yuan(budget)} 超出常见范围（{where}历史不足，"
                       f"默认上限 {yuan(cfg.budget_default_max_cny)}），请核实")
    if budget < cfg.budget_default_min_cny:
        return Finding("budget_outlier", RED, f"预算 {yuan(budget)} 低于常见范围"
                       f"（默认下限 {yuan(cfg.budget_default_min_cny)}），请核实单位是否写错")
    return None


# -- stages and evidence ---------------------------------------------------------------------------------------
def missing_proofs(stage: str, proofs: Iterable[str], cfg: ChecksSettings) -> list[str]:
    have = set(proofs)
    return [p for p in cfg.gate(stage) if p not in have]


def proof_names(kinds: Iterable[str]) -> str:
    return "、".join(PROOF_CN.get(k, k) for k in kinds)


def stage_jump(before: str, after: str, proofs: Iterable[str], cfg: ChecksSettings) -> Finding | None:
    """🔴 a move of two or more stages forward while a skipped stage lacks the proof it requires."""
    i, j = stage_index(before), stage_index(after)
    if j - i < 2:
        return None
    have = set(proofs)
    gaps = [f"{STAGE_CN[s]}（{proof_names(m)}）" for s in STAGE_CODES[i + 1:j]
            if (m := missing_proofs(s, have, cfg))]
    if not gaps:
        return None
    return Finding("stage_jump", RED, f"从 {stage_label(before)} 直接跳到 {stage_label(after)}，"
                   f"跳过的阶段缺少证据：{'；'.join(gaps)}", subject=f"{before}>{after}")


def won_without_proof(status: str, proofs: Iterable[str]) -> Finding | None:
    """🔴 赢单 without both a contract and a payment record."""
    if status != "won":
        return None
    have = set(proofs)
    missing = [p for p in ("contract", "payment") if p not in have]
    if not missing:
        return None
    return Finding("won_without_proof", RED, f"已赢单但缺少{proof_names(missing)}，请补充")


# -- other leads -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OtherLead:
    lead_id: int
    owner_id: str | None
    owner_name: str
    phone: str | None
    company: str | None


def shared_contact(owner_id: str | None, phone: str | None, company: str | None,
                   others: Iterable[OtherLead]) -> list[Finding]:
    """🟡 the phone or company is also on another active lead of a different owner."""
    out = []
    for o in others:
        if o.owner_id is None or o.owner_id == owner_id:
            continue
        what = "电话" if phone and o.phone == phone else "公司" if same_company(company, o.company) else None
        if what:
            who = user_text(o.owner_name)
            out.append(Finding("shared_contact", YELLOW, f"{what}与 {who} 的线索 #{o.lead_id} 相同，可能撞单",
                               subject=str(o.lead_id)))
    return out


# -- follow-up summaries ---------------------------------------------------------------------------------------
_PUNCT = re.compile(r"[\s，。、！？,.!?；;：:~～\-—]+")


def _norm(text: str) -> str:
    return _PUNCT.sub("", text).lower()


def repeated_summary(summaries: Sequence[str], cfg: ChecksSettings) -> Finding | None:
    """🟡 two follow-up summaries word for word the same (short ones like 未接通 may repeat)."""
    seen: dict[str, int] = {}
    for n, text in enumerate(summaries, 1):
        key = _norm(text)
        if len(key) < cfg.repeat_min_chars:
            continue
        if key in seen:
            return Finding("repeated_summary", YELLOW, f"第 {n} 条跟进记录与第 {seen[key]} 条一字不差，"
                           f"请写明这次沟通的新进展")
        seen[key] = n
    return None


# 签了 / 回款: said as done, not as a plan or a negation.
SIGNED = re.compile(r"(?:已|已经)?(?:签了|签约了|签完|签好|签署了|签下|已签|盖章了|合同签了|合同已签|合同回来了)")
PAID = re.compile(r"(?:回款了|已回款|款到了|钱到了|已到账|到账了|打款了|已打款|已付款|付款了|汇款了|首付款到)")
NOT_DONE = re.compile(r"(?:没|未|不|还没|尚未|没有|预计|准备|打算|计划|争取|下周|下月|等|能否|是否|会不会|[?？吗])")


def said_done(text: str) -> str | None:
    """'签约' or '回款' when a summary says it happened (还没签 / 预计下周回款 do not count)."""
    for word, pattern in (("签约", SIGNED), ("回款", PAID)):
        for m in pattern.finditer(text):
            clause = re.split(r"[，。；;！!,\n]", text[: m.start()])[-1]
            if not NOT_DONE.search(clause[-6:]) and not NOT_DONE.match(text, m.end()):
                return word
    return None


def stage_lag(stage: str, status: str, summaries: Sequence[str]) -> Finding | None:
    """🟡 the stage stays before 签约回款 while a follow-up summary says it was signed or paid."""
    if is_closed(status) or stage == "close":
        return None
    for text in reversed(summaries):
        word = said_done(text)
        if word:
            return Finding("stage_lag", YELLOW, f"跟进记录提到已{'签约' if word == '签约' else '回款'}"
                           f"（「{user_text(text[:30])}」），阶段仍是 {stage_label(stage)}，请更新阶段或说明")
    return None


# -- key fields ------------------------------------------------------------------------------------------------
KEY_FIELD_CN = {"decision_chain": "决策链", "next_step": "下一步", "objection": "客户异议"}
KEY_FIELD_WORD = {"decision_chain": "决策链", "next_step": "下一步", "objection": "异议"}  # what a rep types


def key_fields_unknown(stage: str, known: Iterable[str]) -> Finding | None:
    """🟡 at 方案演示 or later, decision chain, next step or objection still unknown (`known`: the ones filled)."""
    if stage_index(stage) < stage_index("demo"):
        return None
    have = set(known)
    missing = [cn for key, cn in KEY_FIELD_CN.items() if key not in have]
    if not missing:
        return None
    word = KEY_FIELD_WORD[next(key for key in KEY_FIELD_CN if key not in have)]
    return Finding("key_fields_unknown", YELLOW, f"已到 {stage_label(stage)}，{'、'.join(missing)}仍未知"
                                                 f"（可回复「{word} …」补充）")


# -- evidence --------------------------------------------------------------------------------------------------
def evidence_reused(other_lead_ids: Iterable[int]) -> list[Finding]:
    """🟡 the same evidence file (same SHA-256) was sent for another lead."""
    return [Finding("evidence_reused", YELLOW, f"这份证据文件与线索 #{i} 的证据完全相同，请确认没有发错",
                    subject=str(i)) for i in sorted(set(other_lead_ids))]


# The buyer only from a labelled field (甲方：… / 甲方（买方）：… / 买方：… / 采购方：…), never from a clause
# where 甲方 is the subject (「甲方向乙方采购…」); the name stays on the label's line. OCR and typists separate label
# and name with anything (「甲方;…」, 「甲方 …」, 「甲 方 ：…」, full-width or not); a name after a bare space, or
# right after the label, must end like an organisation (公司, 医院 …) to count.
_ORG_TAILS = ("公司", "集团", "医院", "卫生院", "学校", "大学", "学院", "中学", "小学", "幼儿园", "研究院", "研究所",
              "中心", "银行", "酒店", "事务所", "厂", "局", "委员会", "协会", "政府", "合作社")
_SEPS = r":：;；,，.。、|｜丨\-—_~"
_C = rf"[^\s{_SEPS}]"
_SP = r"[^\S\n]"
_TAILED = rf"{_C}(?:{_SP}?{_C}){{1,39}}(?:{'|'.join(_ORG_TAILS)})"  # 「岚山 物流有限公司」: OCR's inner spaces
_LABEL = "|".join(f"{_SP}?".join(word) for word in ("甲方", "买方", "采购方", "需方", "委托方"))
_NOT_NAME = r"(?![向与和及应须需在于的将按对为同委以自如若])"  # 「甲方应于…」, 「甲方向乙方…」: a clause
_NAME = r"[^\s:：,，。;；]{4,40}"
PARTY = re.compile(rf"(?:{_LABEL})(?:{_SP}*[(（][^)）\n]{{0,6}}[)）])?"
                   rf"(?:{_SP}*[{_SEPS}]+{_SP}*{_NOT_NAME}(?P<name>{_TAILED}|{_C}{{4,40}})"
                   rf"|{_SP}*{_NOT_NAME}(?P<bare>{_TAILED}))")
# Any labelled field holding an organisation's name (OCR may lose the label's first character: 「方：…」).
ORG_FIELD = re.compile(rf"(?P<label>[^\s:：]{{0,8}})[^\S\n]*[:：][^\S\n]*(?P<name>{_NAME})")
ORG_TAIL = re.compile(r"(?:公司|集团|医院|卫生院|学校|大学|学院|中学|小学|幼儿园|研究院|研究所|中心|银行|酒店|事务所|"
                      r"工厂|[^工]厂|局|委员会|协会|政府|合作社)$")
SELLER = re.compile(r"乙方|卖方|供方|供应商|出卖人|受托方|收款|开户|户名|账户")


def contract_party(text: str) -> str | None:
    """The buyer named on a contract page in a labelled field (甲方：…), None when not readable."""
    m = PARTY.search(text)
    return re.sub(r"\s+", "", m.group("name") or m.group("bare")) if m else None


def named_on(text: str, company: str | None) -> bool:
    """`company` (or its name without legal suffixes) is written somewhere on the page."""
    if not company:
        return False
    flat, name = re.sub(r"\s+", "", text), re.sub(r"\s+", "", company)
    return name in flat or company_core(name) in flat


def other_parties(text: str, company: str) -> list[str]:
    """Organisations in labelled fields of a contract page that are neither the seller (乙方 …) nor `company`,
    when `company` is named nowhere on the page."""
    if named_on(text, company):
        return []
    fields = [(m.group("label"), m.group("name")) for m in ORG_FIELD.finditer(text) if ORG_TAIL.search(m.group("name"))]
    sellers = {name for label, name in fields if SELLER.search(label)}
    return [name for label, name in fields if not SELLER.search(label) and name not in sellers]


def contract_mismatch(contract_text: str, company: str | None) -> Finding | None:
    """🟡 the contract's buyer (甲方) is another company than the lead's; without a readable 甲方, another
    organisation in a labelled field while the lead's company is named nowhere on the page."""
    if not company:
        return None
    party = contract_party(contract_text)
    if party is None:
        others = other_parties(contract_text, company)
        if not others:
            return None
        return Finding("contract_mismatch", YELLOW, f"合同上写的单位是「{user_text(others[0])}」，没有客户公司"
                       f"「{user_text(company)}」，请确认不是别的客户的合同", subject=others[0][:60])
    if same_company(party, company) or company in party or party in company:
        return None
    return Finding("contract_mismatch", YELLOW, f"合同甲方「{user_text(party)}」与客户公司「{user_text(company)}」"
                   f"不一致，请确认不是别的客户的合同", subject=party[:60])


def contract_unread(contract_text: str, company: str | None) -> Finding | None:
    """🟡 a contract page whose buyer cannot be read and that names neither the lead's company nor another
    organisation: nothing on it says whose contract it is, so it is not taken as checked."""
    if contract_party(contract_text) is not None or named_on(contract_text, company):
        return None
    if company and other_parties(contract_text, company):
        return None  # contract_mismatch says whose it looks like
    digest = hashlib.sha256(contract_text.encode()).hexdigest()[:16]
    return Finding("contract_unread", YELLOW, "合同上没认出甲方，未能核对是不是本客户的合同，请确认", subject=digest)
