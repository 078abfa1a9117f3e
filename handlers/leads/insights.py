"""Visit-summary mining: pain points, competitor mentions and decision-chain roles from a 跟进 summary.

Tokenised with a private jieba tokenizer that knows the knowledge taxonomy words (role and objection
axes of `knowledge/taxonomy.toml`) plus a small lexicon of competitor names and operational pain
points. Building the tokenizer is blocking: call `mine` in an executor (`mine_async` does).

A cue counts only as a whole token (人工智能 is not 人工). Pain points and competitors the rep negated are
skipped: a negation just before the cue, maybe across a light verb (不用钉钉, 没有用过钉钉, 没有竞品), or a
"no problem" right after it (价格没有异议, 价格不是问题). Roles are kept either way (院长不拍板 still names 院长).

A pain is a concern, not the progress of the deal. A cue naming a step of the deal (DEAL_STEPS: contract, payment,
quote, invoice, delivery, go-live, approval) that its clause reports as done or under way — a completion or
progress word before it (已回款, 刚付款, 等回款, 安排上线), a verb with its aspect particle before it (签了合同,
发完报价), or done after it (合同已签, 合同签好了, 回款到账了) — is no pain point, unless the same clause voices a
concern (太贵了, 担心条款, 嫌慢). Bad events stay pains however they are told (流失了三个客户).
"""

from __future__ import annotations

import asyncio
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import jieba

from bot.engines import Engines
from bot.segmenter import private_tokenizer
from bot.services import Services, Shared
from knowledge.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

COMPETITORS: dict[str, str] = {
    "salesforce": "Salesforce", "销售易": "销售易", "纷享销客": "纷享销客", "纷享": "纷享销客", "用友": "用友",
    "金蝶": "金蝶", "sap": "SAP", "oracle": "Oracle", "甲骨文": "Oracle", "简道云": "简道云", "明道云": "明道云",
    "hubspot": "HubSpot", "浪潮": "浪潮", "东软": "东软", "卫宁": "卫宁健康", "微软": "微软", "dynamics": "微软",
    "钉钉": "钉钉", "飞书": "飞书", "红圈": "红圈", "励销": "励销云", "智齿": "智齿",
}
# Operational pain points reps write down, beyond the objection axis.
PAIN_WORDS: dict[str, str] = {
    "效率低": "效率", "效率太低": "效率", "太慢": "效率", "手工": "手工录入", "人工": "手工录入", "excel": "手工录入",
    "重复录入": "手工录入", "数据孤岛": "数据打通", "对不上": "数据打通", "打通": "数据打通", "不打通": "数据打通",
    "看不到": "管理可视化", "报表": "管理可视化", "流失": "客户流失", "丢单": "客户流失", "跟进不及时": "跟进不及时",
    "漏跟": "跟进不及时", "审批慢": "审批流程", "审批": "审批流程", "对账": "对账", "库存": "库存管理",
}
# Cues of an objection in a customer's question that, in a rep's own summary, say what the rep did: 「演示完了」
# is a step of the sale, not the customer's concern about a trial.
REP_ACTIVITIES = frozenset({"演示", "demo"})
# What says an action is done, and what says a clause voices a concern (then nothing in it is mere progress).
DEAL_STEPS = frozenset({"合同", "付款方式", "价格", "发票", "交付", "实施", "部署", "审批流程", "决策周期"})
DONE_ADVERBS = frozenset({"已", "已经", "刚", "刚刚", "早已", "均已", "都已", "已于", "业已"})
UNDER_WAY = frozenset({"等", "等待", "等着", "安排", "约", "约了", "计划", "准备", "正在", "在走"})
ASPECT = frozenset({"了", "完", "好", "过", "完了", "好了", "掉了"})
CONCERN_MARKS = (  # also inside a word: 太贵, 对不上
    "太", "很", "非常", "有点", "有些", "比较", "偏", "嫌", "怕", "担心", "觉得", "认为", "顾虑", "问题",
    "不满", "抱怨", "投诉", "卡", "麻烦", "难", "贵", "慢", "低", "差", "不上", "不了")
# A pain point is filled from an explicit cue only. A cue word that is a concern by itself (太贵, 效率低, 对不上,
# 数据孤岛, 流失) counts as it stands; a mere topic (报表, 库存, 打通, 报价, 合同, 付款) counts only when its clause
# voices it — a concern mark (太, 担心, 问题 …) or the customer asking, requiring or negotiating (VOICED) — so
# 「电话打通了」, 「把报表发给客户」 or 「去仓库看了库存」 fill no 痛点; 手工 (a manual process) is the pain itself.
SELF_CONCERN = ("不", "没", "无", "流失", "丢", "孤岛", "漏", "重复", "紧", "高", "涨", "缺", "手工")
VOICED = frozenset({"问", "问了", "问到", "要求", "提出", "提了", "关心", "关注", "希望", "想要", "要", "需要", "谈",
                    "在谈", "还在谈", "能不能", "能否", "可不可以", "是否", "吗", "接受", "纠结", "犹豫", "反对",
                    "拒绝", "审", "卡", "?", "？"})
CLAUSE_END = re.compile(r"^[,.;:!?，。；：！？、\n]+$")
UNNAMED_COMPETITOR = "竞品(未具名)"  # a competitor mentioned without its name (对手, 友商 …)
NEGATIONS = frozenset({"不", "没", "没有", "无", "不用", "已经不", "不再", "未", "别", "不会"})
# Verbs that may sit between a negation and its object: 没有用过钉钉, 不考虑飞书.
LIGHT_VERBS = frozenset({"用", "用过", "过", "再", "在用", "使用", "考虑", "选", "选择", "提", "提到", "需要",
                         "要", "打算", "准备", "想", "换", "买"})
NO_PROBLEM = frozenset({"没问题", "无异议", "不是问题", "无所谓"})
CONCERNS = frozenset({"异议", "问题", "意见", "顾虑", "疑问", "担心"})
# Fallback decision-chain words if the taxonomy file cannot be read.
FALLBACK_ROLES: dict[str, str] = {
    "采购": "采购", "设备科": "采购", "财务": "财务", "cfo": "财务", "信息科": "技术", "it": "技术", "cto": "技术",
    "院长": "决策层", "老板": "决策层", "总经理": "决策层", "拍板": "决策层", "校长": "决策层",
}


@dataclass(frozen=True)
class Insights:
    pain_points: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    tokens: tuple[str, ...] = field(default=(), compare=False)

    @property
    def empty(self) -> bool:
        return not (self.pain_points or self.competitors or self.roles)

    def to_json(self) -> dict[str, Any]:
        return {"pain_points": list(self.pain_points), "competitors": list(self.competitors),
                "roles": list(self.roles)}

    def describe(self) -> str:
        parts = []
        if self.pain_points:
            parts.append("痛点 " + "、".join(self.pain_points))
        if self.competitors:
            parts.append("竞品 " + "、".join(self.competitors))
        if self.roles:
            parts.append("决策链 " + "、".join(self.roles))
        return " · ".join(parts)


_CLOCK = re.compile(r"(?<![a-z])\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)(?![a-z])")


_NO_DECIDER = re.compile("[不没谁]")


class InsightMiner:
    """Looks for taxonomy role/objection cues, competitor names and pain words in a summary."""

    def __init__(self, taxonomy: Taxonomy | None, engines: Engines) -> None:
        self.roles = dict(taxonomy.synonyms["role"]) if taxonomy else dict(FALLBACK_ROLES)
        objections = dict(taxonomy.synonyms["objection"]) if taxonomy else {}
        self.competitor_words = {w for w, v in objections.items() if v == "竞品"}
        self.pains = {w: v for w, v in objections.items() if v != "竞品" and w not in REP_ACTIVITIES} | PAIN_WORDS
        self._engines = engines  # jieba's dictionary: the services'
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def _jieba(self) -> jieba.Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                tok = private_tokenizer(self._engines)
                for word in (*self.roles, *self.pains, *self.competitor_words, *COMPETITORS):
                    if len(word) > 1:
                        tok.add_word(word, freq=2000)
                self._tokenizer = tok
            return self._tokenizer

    def warm(self) -> None:
        """Blocking: build the dictionary now instead of on the first summary."""
        self._jieba()

    def mine(self, text: str) -> Insights:
        """Blocking (jieba); run in an executor."""
        norm = _CLOCK.sub(" ", unicodedata.normalize("NFKC", text).lower())  # 「3pm」 is a time, not a role (pm)
        tokens = [t.strip() for t in self._jieba().lcut(norm, HMM=False) if t.strip()]
        kept = [t if not _negated(tokens, i) else "" for i, t in enumerate(tokens)]
        steps = {w: v for w, v in self.pains.items() if v in DEAL_STEPS}
        pains = _hits([t if not (t in steps and _reported_done(tokens, i)) and _voiced(tokens, i) else ""
                       for i, t in enumerate(kept)], self.pains)
        roles = _hits([w for t in tokens for w in (t, *self._roles_inside(t))], self.roles)
        competitors = [c for c in _hits(kept, COMPETITORS) if not _their_system(norm, c)]
        competitors += [c for c in named_rivals(unicodedata.normalize("NFKC", text))
                        if c.lower() not in {x.lower() for x in competitors}]
        if not competitors and _hits(kept, {w: "竞品" for w in self.competitor_words}):
            competitors = [UNNAMED_COMPETITOR]
        return Insights(tuple(pains), tuple(competitors), tuple(roles), tuple(tokens))

    def _roles_inside(self, token: str) -> list[str]:
        """Role words a pain phrase names as the decider: 「老板拍板」 says who decides (老板) as well as that a
        decision is pending; one that denies or asks (不能拍板, 谁拍板) names no one."""
        if token not in self.pains or token in self.roles or _NO_DECIDER.search(token):
            return []
        return [w for w in self.roles if len(w) > 1 and w in token]

    async def mine_async(self, text: str) -> Insights:
        return await asyncio.get_running_loop().run_in_executor(None, self.mine, text)


# A rival the list does not know, named by what reps say of rivals: 「竞品是X」, 「对手有X、Y」, 「在对比X」,
# 「在看X的产品」, 「和X比」, 「X也在报价」, 「X报价更低」, 「X更便宜」. A name is 2–8 Chinese characters or a Latin
# word; what a rep says around it (提到, 听说, 老板说 …) is cut off, and pronouns and generic words are not names.
_NAME = r"(?:(?<=[说是和跟同在被让与比较了])|(?<![\u4e00-\u9fff]))([A-Za-z][A-Za-z0-9]{1,15}|[\u4e00-\u9fff]{2,4}?)"
_AFTER = r"(?=[^\u4e00-\u9fff]|$|的|了|也|在|比)"
RIVAL_CUES = (
    re.compile(rf"(?:对比|比较|pk|PK)(?:了|一下)?\s*{_NAME}{_AFTER}"),
    re.compile(rf"(?:和|跟|同|与){_NAME}(?:的方案|的产品|的报价|家)?\s*(?:在?比|对比|比较|pk|相比)"),
)
CLAUSE = r"[^,.;:!?，。；：！？\n]"
# The names come after: 「竞品是X」, 「竞争对手有X、Y」, 「在看X的产品」.
NAMES_AFTER = (
    re.compile(rf"(?:竞品|竞争对手|对手|友商)(?:主要|还|也)?(?:是|有|为|包括|[:：])\s*({CLAUSE}{{2,40}})"),
    re.compile(r"竞品\s*(?![是有为包主还也])([A-Za-z][A-Za-z0-9]{1,15}|[\u4e00-\u9fff]{2,8})(?=[,.;!?，。；！？\n]|$)"),
    re.compile(r"(?:在看|在比|看了|比了|在考虑|考虑)\s*([A-Za-z][A-Za-z0-9]{1,15}|[\u4e00-\u9fff]{2,8}?)"
               r"(?:家)?的(?:产品|方案|报价|系统|设备|软件|平台)"),
)
# The name comes before: 「X也在报价」, 「X报价更低」, 「X更便宜」.
NAME_BEFORE = re.compile(rf"({CLAUSE}{{2,30}}?)(?:那边|那家|家)?\s*(?:(?:也在|也来|也)(?:报价|报了价|投标|做方案|推)"
                         r"|(?:在|来)(?:报价|投标)(?=了|呢|中|[,.;!?，。；！？\s]|$))"
                         rf"|({CLAUSE}{{2,30}}?)(?:那边|那家|家)?(?:的)?(?:报价|价格|方案)?(?:更低|更便宜|便宜|比我们)")
LIST_SEP = re.compile(r"[、/和跟及与]|还有|以及")
# What a rep writes before a name: who said it and the verb (老板提到, 王总听说, 客户说).
SPOKEN = re.compile(r"^.*?(?:提到|提起|听说|说|讲|称|表示|反映|透露|觉得|认为|发现|知道|是|和|跟|同|与|被|让)")
NAME_TAIL = re.compile(r"(?:的|也|在|来|了|报价|那边|那家|家|等|等等|都|呢)+$")
NOT_A_NAME = frozenset({
    "我们", "他们", "对方", "客户", "公司", "领导", "老板", "价格", "方案", "产品", "报价", "去年", "之前", "同事",
    "友商", "竞品", "对手", "别家", "同行", "预算", "合同", "系统", "上次", "原来", "现在", "财务", "采购", "技术",
    "医院", "学校", "工厂", "门店", "总部", "集团", "这家", "那家", "别人", "其他", "其它", "几家", "一家", "两家",
    "很多", "不少", "不多", "没有", "好几家", "阶段", "本地的", "国产", "进口",
})
# 「客户预算」 is no name
GENERIC_PART = re.compile("客户|我们|他们|对方|预算|老板|领导|同事|价格|报价|一家|几家|两家|一个")
NUMBERED = re.compile(r"[一二两三四五六七八九十几多好]+[家个]?.*")  # 「对比了三家」: how many, not who
THEIR_SYSTEM = ("对接", "接口", "集成", "打通", "系统里", "导数据", "数据", "上", "里")  # 「在钉钉上聊」: a tool
NAME_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9]{1,15}|[\u4e00-\u9fff]{2,8}|[A-Za-z][A-Za-z0-9]*[\u4e00-\u9fff]{1,6}")


def named_rivals(text: str) -> list[str]:
    """Competitors named in `text` through a rival cue (not from the list), in text order."""
    hits: list[tuple[int, str]] = []
    for cue in RIVAL_CUES:
        hits += [(m.start(1), m.group(1)) for m in cue.finditer(text)]
    for cue in NAMES_AFTER:
        for m in cue.finditer(text):
            offset = m.start(1)
            for part in LIST_SEP.split(m.group(1)):
                hits.append((offset, _name_after(part)))
                offset += len(part) + 1
    for m in NAME_BEFORE.finditer(text):
        group = 1 if m.group(1) is not None else 2
        hits.append((m.start(group), _name_before(m.group(group))))
    found: list[str] = []
    for _at, name in sorted(hits, key=lambda h: h[0]):
        name = name.removeprefix("竞品").strip() if name else name  # 「竞品用友」 and 「竞品 用友」 are 用友
        if (name and NAME_SHAPE.fullmatch(name) and name not in NOT_A_NAME and not GENERIC_PART.search(name)
                and not NUMBERED.fullmatch(name)
                and not _their_system(text, name) and name not in found):
            found.append(name)
    return found


def _name_after(part: str) -> str:
    """「联影，最后…」 → 联影: the name that opens what follows a 竞品是 cue, up to a particle."""
    m = re.match(r"\s*([A-Za-z][A-Za-z0-9]{1,15}|[\u4e00-\u9fff]{2,8}?)(?=的|也|在|来|了|报价|比|那边|\s|$)",
                 part.strip())
    return m.group(1) if m else ""


def _name_before(prefix: str) -> str:
    """「老板提到青岚」 → 青岚: what stands before a 也在报价 cue, without who said it."""
    name = NAME_TAIL.sub("", SPOKEN.sub("", prefix.strip()))
    return name if len(name) <= 8 else ""


def _their_system(text: str, name: str) -> bool:
    """「和他们SAP对接不上」: the customer's own system, not a rival."""
    at = text.lower().find(name.lower())
    return at >= 0 and any(text[at + len(name): at + len(name) + 4].startswith(w) for w in THEIR_SYSTEM)


def _negated(tokens: list[str], i: int) -> bool:
    """Token i follows a negation (light verbs in between allowed) or is followed by a 'no problem'."""
    j = i - 1
    while j >= 0 and tokens[j] in LIGHT_VERBS:
        j -= 1
    if j >= 0 and tokens[j] in NEGATIONS:
        return True
    after = tokens[i + 1:i + 3]
    return bool(after) and (after[0] in NO_PROBLEM or (
        after[0] in NEGATIONS | {"不是"} and len(after) > 1 and after[1] in CONCERNS))


def _voiced(tokens: list[str], i: int) -> bool:
    """Token i is an explicit pain cue: a concern in itself, or a topic its clause voices as one."""
    word = tokens[i]
    if any(mark in word for mark in (*CONCERN_MARKS, *SELF_CONCERN)):
        return True
    return any(t in VOICED or any(mark in t for mark in CONCERN_MARKS) for t in _clause(tokens, i) if t != word)


def _clause(tokens: list[str], i: int) -> list[str]:
    start = i
    while start > 0 and not CLAUSE_END.match(tokens[start - 1]):
        start -= 1
    end = i
    while end < len(tokens) and not CLAUSE_END.match(tokens[end]):
        end += 1
    return tokens[start:end]


def _verb_done(token: str, aspect: str) -> bool:
    """「签」+「了」, 「签完」, 「发好」: a word, then what says it is done."""
    return (aspect in ASPECT and not CLAUSE_END.match(token)) or (len(token) > 1 and token[-1] in "完好")


def _reported_done(tokens: list[str], i: int) -> bool:
    """Token i is the object or the verb of an action the clause reports as done, in a clause with no concern."""
    clause = _clause(tokens, i)
    if any(mark in t for t in clause for mark in CONCERN_MARKS):
        return False
    before, after = tokens[max(0, i - 2):i], tokens[i + 1:i + 2]
    if any(t in DONE_ADVERBS or t in UNDER_WAY for t in before):  # 已回款, 刚签合同, 等回款, 安排上线
        return True
    if len(before) == 2 and _verb_done(before[0], before[1]):  # 签了合同, 发过报价
        return True
    if before and len(before[-1]) > 1 and before[-1][-1] in "完好" and not CLAUSE_END.match(before[-1]):  # 签完合同
        return True
    if after and after[0] in DONE_ADVERBS:  # 合同已签
        return True
    rest = clause[clause.index(tokens[i]) + 1:][:4]
    return any(t in ASPECT for t in rest)  # 回款了, 合同签了, 回款到账了


def _hits(tokens: list[str], lexicon: dict[str, str]) -> list[str]:
    """Canonical values of the tokens that are lexicon words, in text order."""
    words = {w.lower(): v for w, v in lexicon.items()}
    found: list[str] = []
    for token in tokens:
        value = words.get(token)
        if value is not None and value not in found:
            found.append(value)
    return found


def build_miner(taxonomy_path: str, engines: Engines) -> InsightMiner:
    try:
        return InsightMiner(load_taxonomy(taxonomy_path or None), engines)
    except TaxonomyError:
        return InsightMiner(None, engines)


INSIGHTS = Shared("lead_insights", lambda s: build_miner(s.settings.knowledge.taxonomy_path, s.engines))


def insight_miner(services: Services) -> InsightMiner:
    """One visit-summary miner per process (its jieba dictionary loads on first use)."""
    return services.shared(INSIGHTS)
