"""The products a company sells, for finding a customer's needs in chat text.

A catalog file (`[ocr] catalog`) has one product per line, optionally followed by its synonyms:

    # comments and blank lines are ignored
    叉车
    扫码枪: 条码枪, 扫描枪
    会议平板 | 智慧屏 | 交互大屏

Without a configured file the shipped `ocr/needs.toml` is the default catalog. Matching is case-insensitive,
Latin terms only match as whole words ("BI" is not in "mobile"), a word listed in `not_needs` is never read as
the need it contains ("测试用例" is not 试用), and a long Chinese product name still matches with one character
misread by OCR ("智能叫号系统" read as "智能叫亏系统").
"""

from __future__ import annotations

import functools
import math
import os
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import jieba

DEFAULT_PATH = Path(__file__).with_name("needs.toml")
# Generic tails a customer often leaves off: "考勤系统" is asked for as "考勤", "ERP系统" as "ERP".
GENERIC_TAIL = re.compile(r"(?:系统|平台|软件)$")
# A stem followed by a rank or a department names a job, not a product: 「财务经理」 is no 财务软件.
JOB_AFTER = re.compile(r"(?:部|科|处|组|室|总监|经理|主管|主任|专员|负责人|人员|总|岗|工程师|会计)")
# ... and a stem things are handed to is a department: 「报销单交给财务」 is no 财务软件.
HANDED_TO = re.compile(r"(?:交给|发给|报给|递给|找|问)$")
# What a product's name ends in: a knowledge-base keyword is read as a product only when it names a thing sold
# (「会员系统」, 「手持终端」, 「智能储物柜」), never a concern or a scene (「隐性成本」, 「分期」, 「数据迁移」).
PRODUCT_TAIL = re.compile(r"(?:系统|平台|软件|终端|设备|一体机|服务器|机器人|传感器|模块|套件|芯片|耗材|"
                          r"机|仪|柜|屏|车|器|桌|椅|箱|架|灯|锁)$")
# What may follow a key that is only the front of a product's name (「监控」 of 视频监控摄像机) for it to name that
# product: the end of the words (punctuation, a particle, a verb, a measure) or a generic tail, not another noun
FREE_AFTER = re.compile(r"$|[^\u4e00-\u9fff]|[的了要也和与及跟还都想需是在有吗呢吧啊呀这那个台套只路点方等怎多几]"
                        r"|系统|平台|软件|设备|方面|这块|项目|改造|升级|方案|报价|价格")
SYNONYM_SPLIT = re.compile(r"\s*[,，、|｜/;；\t]\s*")
NAME_SPLIT = re.compile(r"\s*(?:[:：=|｜\t])\s*")


@dataclass(frozen=True)
class Catalog:
    products: tuple[tuple[str, tuple[str, ...]], ...]  # (name, synonyms)
    not_needs: tuple[str, ...] = ()
    # built once by __post_init__ from the two fields above; not arguments, not part of equality
    _terms: dict[str, str] = field(init=False, repr=False, compare=False)
    _stems: frozenset[str] = field(init=False, repr=False, compare=False)
    _modifiers: frozenset[str] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _fuzzy: _Fuzzy = field(init=False, repr=False, compare=False)
    _mask: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        terms: dict[str, str] = {}
        stems: set[str] = set()
        for name, synonyms in self.products:
            for word in (name, *synonyms):
                terms.setdefault(word.lower(), name)
            stem = GENERIC_TAIL.sub("", name)
            if stem != name and _distinct(stem) and stem.lower() not in terms:
                terms[stem.lower()] = name
                stems.add(stem.lower())
        fuzzy = _fuzzy_patterns(terms)
        modifiers = set()
        for key, (name, head) in match_keys(self.products).items():  # 「门锁」 for 智能门锁系统: exactly, never fuzzily
            if key not in terms:
                terms[key] = name
                stems.add(key)
                if not head:
                    modifiers.add(key)
        object.__setattr__(self, "_terms", terms)
        object.__setattr__(self, "_stems", frozenset(stems))
        object.__setattr__(self, "_modifiers", frozenset(modifiers))
        object.__setattr__(self, "_pattern", _alternation(terms))
        object.__setattr__(self, "_fuzzy", fuzzy)
        masks = [re.escape(w.lower()) for w in sorted(self.not_needs, key=len, reverse=True)]
        object.__setattr__(self, "_mask", re.compile("|".join(masks)) if masks else None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.products)

    def find(self, text: str) -> list[str]:
        """Product names mentioned in `text`, in order of first mention."""
        return list(dict.fromkeys(name for _, name in self.find_at(text)))

    def find_at(self, text: str) -> list[tuple[int, str]]:
        """(where, product name) of each mention in `text`, in order."""
        low = text.lower()
        if self._mask is not None:
            low = self._mask.sub(lambda m: "\0" * len(m.group(0)), low)
        hits: list[tuple[int, str]] = []
        taken = [False] * len(low)
        pattern: re.Pattern[str] | None = self._pattern
        if pattern is not None:
            for m in pattern.finditer(low):
                if m.group(0) in self._stems and (JOB_AFTER.match(low, m.end())
                                                  or HANDED_TO.search(low, max(0, m.start() - 2), m.start())):
                    continue
                if m.group(0) in self._modifiers and not FREE_AFTER.match(low, m.end()):
                    continue  # 「洗眼」 of 洗眼器 in 「洗眼机」: the word goes on into another thing
                hits.append((m.start(), self._terms[m.group(0)]))
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
        hits.extend(self._fuzzy.find(low, taken))
        return sorted(hits)


    def with_products(self, words: frozenset[str]) -> Catalog:
        """This catalog plus `words` (already product-like) it does not know yet: one new product each."""
        return _extended(self, words)

    def near(self, thing: str) -> str | None:
        """The product a thing asked for names with one character misread anywhere, even the first (「取有化部署」):
        only for Chinese terms of four characters or more, where one wrong character cannot make another product."""
        if not re.fullmatch(r"[\u4e00-\u9fff]{4,}", thing):
            return None
        for term, name in self._terms.items():
            if len(term) == len(thing) and sum(a != b for a, b in zip(term, thing, strict=True)) == 1:
                return name
        return None


def product_like(word: str) -> bool:
    """A keyword that names a product: a product tail after a head of two characters at least (「老系统」 and
    「叉车」 are too short to tell), with no space or punctuation in it."""
    m = PRODUCT_TAIL.search(word)
    return m is not None and len(word[: m.start()]) >= 2 and bool(re.fullmatch(r"[\u4e00-\u9fffA-Za-z0-9]+", word))


@functools.lru_cache(maxsize=8)
def _extended(base: Catalog, words: frozenset[str]) -> Catalog:
    known = set(base._terms)
    added = tuple((w, ()) for w in sorted(words) if w.lower() not in known)
    return Catalog(base.products + added, base.not_needs) if added else base


def _distinct(stem: str) -> bool:
    """A stem worth matching alone: two Chinese characters or three Latin letters at least."""
    return len(re.findall(r"[\u4e00-\u9fff]", stem)) >= 2 or bool(re.fullmatch(r"[A-Za-z0-9]{3,}", stem))


def _term_regex(term: str) -> str:
    body = re.escape(term)
    if re.match(r"[a-z0-9]", term):
        body = r"(?<![a-z0-9])" + body
    if re.search(r"[a-z0-9]$", term):
        body += r"(?![a-z0-9])"
    return body


def _alternation(terms: dict[str, str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile("|".join(_term_regex(t) for t in sorted(terms, key=len, reverse=True)))


@dataclass(frozen=True)
class _Fuzzy:
    """Chinese terms of three characters or more with one character after the first misread by OCR (only the
    middle one of a three-character term), unless the misreading is itself a word: 打印机 is not a misread 打卡机."""

    slots: dict[tuple[str, str], str]  # (text before, text after) the misread character → product
    blocked: dict[tuple[str, str], str]  # characters that make a real dictionary word in that slot
    lengths: tuple[int, ...]

    def find(self, low: str, taken: list[bool]) -> list[tuple[int, str]]:
        hits = []
        for start in range(len(low)):
            for size in self.lengths:
                sub = low[start : start + size]
                if len(sub) < size or any(taken[start : start + size]):
                    continue
                for i in range(1, size - 1 if size == 3 else size):
                    key = (sub[:i], sub[i + 1 :])
                    name = self.slots.get(key)
                    if name and "\u4e00" <= sub[i] <= "\u9fff" and sub[i] not in self.blocked.get(key, ""):
                        hits.append((start, name))
                        break
        return hits


def _fuzzy_patterns(terms: dict[str, str]) -> _Fuzzy:
    slots: dict[tuple[str, str], str] = {}
    owns: dict[tuple[str, str], str] = {}  # the character the slot stands for
    for term, name in terms.items():
        if re.fullmatch(r"[\u4e00-\u9fff]{3,}", term):
            for i in range(1, len(term)) if len(term) >= 4 else (1,):
                slots.setdefault((term[:i], term[i + 1 :]), name)
                owns.setdefault((term[:i], term[i + 1 :]), term[i])
    blocked: dict[tuple[str, str], str] = {}
    if slots:
        text = _dictionary_text()
        for word in _dictionary_words(text, {t[0] for t in terms}):
            for i in range(1, len(word) - 1 if len(word) == 3 else len(word)):
                key = (word[:i], word[i + 1 :])
                if key in slots and word not in terms:
                    blocked[key] = blocked.get(key, "") + word[i]
        # A character that makes a word with its neighbour is a different thing, not a misreading: 智能门锁 is no
        # misread 智能门禁, 电动铲车 no 电动叉车, 会议平台 no 会议平板.
        after, before = _pairs(text, {a[-k:] for a, _ in slots for k in (1, 2)},
                               {b[:k] for _, b in slots if b for k in (1, 2)})
        for (a, b), own in owns.items():
            near = "".join(after.get(a[-k:], "") + (before.get(b[:k], "") if b else "") for k in (1, 2))
            blocked[(a, b)] = blocked.get((a, b), "") + near.replace(own, "")
    lengths = tuple(sorted({len(a) + len(b) + 1 for a, b in slots}, reverse=True))
    return _Fuzzy(slots, blocked, lengths)


def _dictionary_text() -> str:
    """jieba's dictionary: one `word frequency tag` a line."""
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(path, encoding="utf-8") as f:
        return f.read()


def _dictionary_words(text: str, firsts: set[str]) -> list[str]:
    """Words of three characters or more in the dictionary `text` that start with one of `firsts`."""
    starts = "".join(sorted(firsts))
    return re.findall(rf"^[{re.escape(starts)}][^ \n]{{2,}}(?= )", text, re.MULTILINE)


def _pairs(text: str, lefts: set[str], rights: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Two- and three-character dictionary words: per ending of `lefts` (one or two characters), the characters
    that follow it to make a word; per beginning of `rights`, those that precede it."""
    after: dict[str, str] = {}
    before: dict[str, str] = {}
    for m in re.finditer(r"^[\u4e00-\u9fff]{2,3}(?= )", text, re.MULTILINE):  # one at a time: 300k words
        word = m.group(0)
        if word[:-1] in lefts:
            after[word[:-1]] = after.get(word[:-1], "") + word[-1]
        if word[1:] in rights:
            before[word[1:]] = before.get(word[1:], "") + word[0]
    return after, before


# ---------------------------------------------------------------- match keys of a catalog without synonyms

# Words of a product name that say what kind of thing it is only in general: never a key alone, though a key may
# carry one (「智能门锁」, 「门锁系统」)
GENERIC_WORDS = frozenset(
    "系统 平台 软件 设备 智能 智慧 管理 服务 方案 解决方案 产品 一体机 一体 高清 网络 数字 识别 专用 主机 终端 "
    "装置 模块 套件 工程 安装 维护 集成 自动 全自动 综合 控制 套装 系列 新型 多功能 专业 商用 家用 工业 标准 高端 "
    "定制 云".split())
# How a sales team and its customers say the same thing otherwise: each group's words stand for one another
# inside a product name (可视对讲 is asked for as 视频对讲, 视频监控摄像机 as 监控摄像头, a recorder as 存储)
EQUIVALENTS = tuple(frozenset(g.split()) for g in (
    "摄像机 摄像头 监控摄像头 摄像",
    "可视 视频",
    "录像机 硬盘录像机 存储 录像",
    "门锁 智能锁 指纹锁 密码锁 电子锁",
    "门禁 门禁机",
    "访客机 访客登记 访客系统",
    "道闸 挡车器 栏杆机",
    "车辆识别 车牌识别",
    "报警 报警器 告警",
    "考勤机 打卡机 考勤",
    "巡更 巡检",
    "周界 电子围栏 围界",
    "显示屏 大屏 显示器",
    "投影仪 投影机 投影",
    "电脑 计算机",
    "笔记本 笔记本电脑",
    "复印机 复印",
    "打印机 打印",
    "对讲机 对讲",
    "广播 音响",
))
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*")


def match_keys(products: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, tuple[str, bool]]:
    """Keys (lower case) that name a product listed without synonyms by a part of its name: its words and runs of
    words of two characters or more (智能门锁系统 → 门锁, 智能门锁, 门锁系统), also with a word of `EQUIVALENTS`
    standing in for another (视频监控摄像机 → 监控摄像头), kept only when they occur in that product alone (a key
    two products share tells neither). A word alone is a key only when it is not an everyday word (`_everyday`):
    「监控」 and 「门锁」 are, 「会议」 and 「企业」 are not. Each key maps to its product and whether it ends the
    product's name (a head, 门锁) or only starts it (a modifier, 监控 of 视频监控摄像机)."""
    forms = {name: [w.lower() for w in (name, *synonyms)] for name, synonyms in products}
    freq = _frequencies("".join(f for fs in forms.values() for f in fs))
    shapes = {name: _shapes([_segment(f, freq) for f in fs]) for name, fs in forms.items()}
    texts = {name: {"".join(tokens) for tokens in toks} for name, toks in shapes.items()}
    keys: dict[str, set[str]] = {}
    for name, synonyms in products:
        for tokens in shapes[name] if not synonyms else ():  # a listed synonym says how it is asked for
            for key in _spans(tokens, freq):
                keys.setdefault(key, set()).add(name)
    out: dict[str, tuple[str, bool]] = {}
    for key, owners in keys.items():
        holders = {name for name, whole in texts.items() if any(key in t for t in whole)}
        if len(owners) == 1 and holders <= owners:
            name = next(iter(owners))
            out[key] = (name, any(_ends(tokens, key) for tokens in shapes[name]))
    return out


def _ends(tokens: list[str], key: str) -> bool:
    """`key` ends the name cut into `tokens`, generic words after it aside (门锁 of 智能门锁系统)."""
    while tokens and tokens[-1] in GENERIC_WORDS and "".join(tokens) != key:
        if "".join(tokens).endswith(key):
            return True
        tokens = tokens[:-1]
    return "".join(tokens).endswith(key)


def _shapes(cuts: list[list[str]]) -> list[list[str]]:
    """A product's names cut into words, each also with one word put in for an equivalent one."""
    out = [list(c) for c in cuts]
    for tokens in cuts:
        for i, token in enumerate(tokens):
            for group in EQUIVALENTS:
                if token in group:
                    out.extend([*tokens[:i], other, *tokens[i + 1 :]] for other in group if other != token)
    return out


# Words of a chat that name no product alone, however rare the dictionary finds them
CHAT_WORDS = frozenset("微信 电话 手机 企业 公司 对接 办公 前台 上课 文件 项目 客户 联系 时间 价格 报价 方案 资料 问题 "
                       "合作 沟通 需求 预算 采购 老板 领导 员工 学校 医院 工厂 小区 线上 线下 现场 上门 远程 "
                       "在线".split())
EVERYDAY = 1000  # a word the dictionary counts this often is everyday speech (会议, 企业, 车辆), not a product


def _everyday(word: str, freq: dict[str, int]) -> bool:
    return word in CHAT_WORDS or word in GENERIC_WORDS or freq.get(word, 0) >= EVERYDAY


def _spans(tokens: list[str], freq: dict[str, int]) -> set[str]:
    """Runs of two words or more, the first of two characters at least, with a word in them that is not generic;
    single words of two characters or more
    that are not everyday speech, and such a word's first two characters when a word themselves (访客 of 访客机)."""
    out = set()
    for i, token in enumerate(tokens):
        for j in range(i + 2, len(tokens) + 1):
            run = tokens[i:j]
            if len(run[0]) >= 2 and not all(t in GENERIC_WORDS or len(t) < 2 for t in run):
                out.add("".join(run))
        for word in (token, token[:2] if len(token) >= 3 and token[:2] in freq else ""):
            if len(word) >= 2 and not _everyday(word, freq) and not (LATIN_RUN.fullmatch(word) and len(word) < 3):
                out.add(word)
    return out


def _segment(text: str, freq: dict[str, int]) -> list[str]:
    """`text` cut into words as jieba would (the likeliest route through its dictionary `freq`), Latin runs whole,
    and runs of single characters joined (「道闸」 after 车辆识别)."""
    pieces = [p for p in re.split(rf"({LATIN_RUN.pattern})", text) if p]
    tokens: list[str] = []
    for piece in pieces:
        tokens.extend([piece] if LATIN_RUN.fullmatch(piece) else _route(piece, freq))
    out: list[str] = []
    for t in tokens:
        if out and len(t) == 1 and len(out[-1]) == 1 and re.fullmatch(r"[\u4e00-\u9fff]{2}", out[-1] + t):
            out[-1] += t
        else:
            out.append(t)
    return out


def _route(text: str, freq: dict[str, int]) -> list[str]:
    """The split of `text` into words of up to four characters with the highest product of frequencies."""
    total = math.log(sum(freq.values()) or 1)
    best: list[tuple[float, int]] = [(0.0, 0)] * (len(text) + 1)
    for i in range(len(text) - 1, -1, -1):
        best[i] = max((math.log(freq.get(text[i : i + n], 1 if n == 1 else 0) or 1) - total + best[i + n][0], n)
                      for n in range(1, min(4, len(text) - i) + 1) if n == 1 or text[i : i + n] in freq)
    out, i = [], 0
    while i < len(text):
        out.append(text[i : i + best[i][1]])
        i += best[i][1]
    return out


def _frequencies(chars: str) -> dict[str, int]:
    """jieba's dictionary counts of the words of one to four characters made of `chars` only, plus every word of
    `EQUIVALENTS` and `GENERIC_WORDS` (a product's vocabulary the dictionary may lack: 摄像头, 道闸)."""
    freq = {w: 500 for g in EQUIVALENTS for w in g if len(w) <= 4} | {w: 500 for w in GENERIC_WORDS if len(w) <= 4}
    if chars:
        allowed = re.escape("".join(sorted(set(chars))))
        for m in re.finditer(rf"^([{allowed}]{{1,4}}) (\d+)", _dictionary_text(), re.MULTILINE):
            freq[m.group(1)] = max(freq.get(m.group(1), 0), int(m.group(2)))
    return freq


def parse_catalog_text(text: str) -> Catalog:
    """One product per line: `name`, `name: syn, syn`, `name | syn | syn` (full-width ｜ or a tab too) or
    `name, syn, syn`; `#` starts a comment."""
    products: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, *rest = NAME_SPLIT.split(line, maxsplit=1)
        if not rest:  # `name, synonym, synonym`: the first of a list is the product's name
            head, *rest = SYNONYM_SPLIT.split(line, maxsplit=1)
        synonyms = tuple(s for s in SYNONYM_SPLIT.split(rest[0]) if s) if rest else ()
        if head and head.lower() not in seen:
            seen.add(head.lower())
            products.append((head, synonyms))
    return Catalog(tuple(products))


def parse_catalog_toml(text: str) -> Catalog:
    data = tomllib.loads(text)
    products = tuple((item["name"], tuple(item.get("synonyms", ()))) for item in data.get("need", []))
    return Catalog(products, tuple(data.get("not_needs", ())))


class CatalogError(ValueError):
    """The configured catalog file cannot be read."""


_lock = threading.Lock()
_cache: dict[str, tuple[float, Catalog]] = {}


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog at `path` (a text file, or a needs.toml-style TOML file), or the default one; cached until the
    file changes, so an admin's edit is picked up without a restart."""
    file = Path(path) if path else DEFAULT_PATH
    try:
        mtime = file.stat().st_mtime
    except OSError as exc:
        raise CatalogError(f"catalog file not readable: {file}") from exc
    key = str(file.resolve())
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == mtime:
            return hit[1]
        text = file.read_text("utf-8-sig")
        catalog = parse_catalog_toml(text) if file.suffix == ".toml" else parse_catalog_text(text)
        _cache[key] = (mtime, catalog)
        return catalog
