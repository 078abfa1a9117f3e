"""The three card axes (role, industry, objection) with synonyms: an open vocabulary, not a gate.

The shipped `taxonomy.toml` is a starting vocabulary. Any value an admin writes on a card is accepted:
a known name or synonym maps to its value, 通用 / 全部 / 不限 / empty mean "fits any", and any other
word becomes a new value of its own (`Taxonomy.extended`), with its own text as its first synonym.
Values may name a `family` (价格, 预算 and 付款方式 are all about money): a card in the same family as the
query's value fits partly. Admin edits (synonyms, renames, merges) are layered on top (`with_edits`).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.schema import AXES, CardError

DEFAULT_PATH = Path(__file__).with_name("taxonomy.toml")
AXIS_LABELS = {"role": "角色", "industry": "行业", "objection": "异议"}
ANY_VALUES = frozenset({"", "通用", "全部", "不限", "所有", "任意", "任何", "均可", "都行", "全行业", "各行业",
                        "所有行业", "所有角色", "通用场景", "any", "all", "general", "-", "—", "/", "无"})
# what an objection label says is wrong (太高, 不够, 偏慢) when it closes the label after its subject
PREDICATE = re.compile(r"^(?:太|很|不|过|偏|较|更|超|好|真)")
MIN_INNER_SYNONYM = 2  # a new value "医疗器械" joins the family of the synonym it contains (医疗), if ≥ 2 chars
# A new role named by a thing or a place (设备, 车间, 生产) is everyday text in a query: 「设备老坏」 names no one.
# It is found as a person or a department only (设备科, 车间主任, 生产那边); a word naming people is found as is.
PEOPLE = re.compile(r"(?:科|部|处|室|组|办|中心|长|员|工|师|人|方|手|主任|经理|主管|总监|总|老大|领导|层|委|会|班|族"
                    r"|户)$")
# A rank or a unit: who the person is comes from the department named before it (人事负责人, 客房部经理)
DEPARTMENT_ENDINGS = ("部门", "团队", "中心", "那边", "部", "科", "处", "室", "组", "办", "口")
RANK_WORDS = frozenset({"负责人", "经理", "主管", "总监", "主任", "科长", "部长", "处长", "组长", "专员", "助理",
                        "领导", "老大", "总", "头", "长", *DEPARTMENT_ENDINGS})
# What kind of organisation, not which trade: 民营医院 is 医疗 as 医院 is (茶叶园区 is not 物业 as 园区 is)
QUALIFIERS = frozenset({"大型", "中型", "小型", "大中型", "中小", "中小型", "小微", "民营", "私营", "私立", "公立",
                        "国有", "国营", "外资", "合资", "本地", "地方", "区域", "全国", "省级", "市级", "县级", "区级",
                        "头部", "龙头", "知名", "高端", "中高端", "综合", "传统", "新兴", "老旧", "新建", "大", "小",
                        "中", "新", "老", "副", "常务", "执行", "首席", "高级", "资深", "各类", "各级", "城市", "县域",
                        "乡镇"})
GENERIC_ENDINGS = {"industry": ("行业", "企业", "公司", "客户", "单位", "领域", "机构", "板块", "集团", "类", "业"),
                   "role": ("们", "的人", "那边")}
PEOPLE_SUFFIXES = ("科", "部", "处", "室", "组", "科长", "部长", "处长", "组长", "经理", "主管", "主任", "负责人",
                   "总监", "工程师", "那边", "的人", "口", "老大", "领导", "团队", "部门")

PART_FREQ = 5000  # jieba frequency from which a part of a new value is an everyday word (城市, 工程), not a trade
DEPARTMENT = re.compile(r"(?:部门|部|科|处|室|组|中心|办)$")
FIRMS = ("厂", "工厂", "企业", "公司", "行业", "集团", "厂家", "厂商", "客户")  # a trade's firms: 纺织厂, 造纸企业
HEADS = ("经理", "总监", "主管", "负责人", "部长", "科长", "处长", "主任", "总", "那边", "的人", "团队")


class TaxonomyError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cue:
    """One word the matcher looks for, and what it means."""

    text: str
    axis: str  # "role" | "industry" | "objection" | "expansion" | "keyword"
    value: str  # canonical axis value, or for expansions the abbreviation itself
    words: tuple[str, ...] = ()  # expansion words


@dataclass(frozen=True)
class Taxonomy:
    values: dict[str, tuple[str, ...]]  # axis → canonical values (file order, then new values)
    synonyms: dict[str, dict[str, str]]  # axis → lower-case word → canonical value
    expansions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case term → words
    families: dict[str, dict[str, str]] = field(default_factory=dict)  # axis → value → family name
    added: dict[str, tuple[str, ...]] = field(default_factory=dict)  # axis → values not in the vocabulary
    # axis → new value → the known values it names inside but could not join, being two at once (餐饮连锁 holds
    # 餐饮 and 连锁 = 零售; 工业软件 holds 工业 and 软件): a card with it fits a query naming any of them partly
    related: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # axis → words that name a value when a card uses them but are no cue in a query (a role named 设备: see PEOPLE)
    quiet: dict[str, frozenset[str]] = field(default_factory=dict)

    def canonical(self, axis: str, value: str) -> str | None:
        return self.synonyms.get(axis, {}).get(value.strip().lower())

    def resolve(self, axis: str, value: str) -> str:
        """The value a card stores: canonical when known, "" for 通用 and its kin, else the admin's own word."""
        text = " ".join(str(value).split())
        if text.lower() in ANY_VALUES:
            return ""
        if text in self.added.get(axis, ()):  # a word some card brought (冷链仓储, which joins 物流): stored as
            return text  # written, as its first import stored it, so re-importing the same file changes nothing
        return self.canonical(axis, text) or text

    def canonical_or_error(self, axis: str, value: str) -> str:
        """Strict form (kept for callers that want a closed list)."""
        found = self.canonical(axis, value)
        if found is None:
            known = "/".join(self.values.get(axis, ()))
            raise CardError(f"{axis} ({AXIS_LABELS.get(axis, axis)}) {value!r} is unknown (known: {known})")
        return found

    def is_new(self, axis: str, value: str) -> bool:
        return bool(value) and self.canonical(axis, value) is None

    def joins(self, axis: str, value: str) -> str | None:
        """The known value a new word joins because it contains one of its words (合同条款 → 合同), if any."""
        return _inner_value(self, axis, value) if self.is_new(axis, value) else None

    def related_to(self, axis: str, value: str) -> tuple[str, ...]:
        return self.related.get(axis, {}).get(value, ())

    def family(self, axis: str, value: str) -> str:
        return self.families.get(axis, {}).get(value, "")

    def is_axis_word(self, word: str) -> bool:
        key = word.strip().lower()
        return any(key in self.synonyms[axis] for axis in AXES)

    def cues(self) -> list[Cue]:
        out: list[Cue] = []
        for axis in AXES:
            quiet = self.quiet.get(axis, frozenset())
            people = {f"{word}{suffix}": self.synonyms[axis][word] for word in quiet for suffix in PEOPLE_SUFFIXES}
            for word, value in self.synonyms[axis].items():
                if word not in quiet and word not in people:  # 设备科 is the admin's 设备 role, not 采购
                    out.append(Cue(word, axis, value))
            out += [Cue(word, axis, value) for word, value in people.items()]
        for term, words in self.expansions.items():
            out.append(Cue(term, "expansion", term, words))
        return out

    def dictionary_words(self) -> set[str]:
        words = {w for axis in AXES for w in self.synonyms[axis]}
        words |= {w for ws in self.expansions.values() for w in ws} | set(self.expansions)
        return words

    def extended(self, axis_values: Mapping[str, Iterable[str]]) -> Taxonomy:
        """This taxonomy plus the values cards use that it does not know (each its own first synonym)."""
        values = {a: list(v) for a, v in self.values.items()}
        synonyms = {a: dict(s) for a, s in self.synonyms.items()}
        families = {a: dict(self.families.get(a, {})) for a in AXES}
        added = {a: list(self.added.get(a, ())) for a in AXES}
        related = {a: dict(self.related.get(a, {})) for a in AXES}
        quiet = {a: set(self.quiet.get(a, ())) for a in AXES}
        for axis in AXES:
            for value in sorted({v for v in axis_values.get(axis, ()) if v and v.lower() not in ANY_VALUES}):
                if value in values[axis] or value.lower() in synonyms[axis]:
                    continue
                added[axis].append(value)
                inner = _inner_value(self, axis, value)
                if inner:  # 合同条款 is 合同 in the admin's words: one value
                    synonyms[axis][value.lower()] = inner
                    continue
                values[axis].append(value)
                synonyms[axis][value.lower()] = value
                if axis == "role" and not PEOPLE.search(value) and not value.isascii():
                    quiet[axis].add(value.lower())  # 设备: found as 设备科, 设备经理 … (the admin's own role wins)
                    continue
                inside = _related_values(self, axis, value)
                if inside:
                    related[axis][value] = inside
        return Taxonomy({a: tuple(v) for a, v in values.items()}, synonyms, self.expansions, families,
                        {a: tuple(v) for a, v in added.items()}, related, {a: frozenset(q) for a, q in quiet.items()})

    def with_parts(self, freq: Callable[[str], int], common: Callable[[str, str], bool]) -> Taxonomy:
        """An admin's new value is also found by its parts: an industry made of two trades (造纸包装) by the
        firms of either (造纸厂, 包装企业), a department (工程部) by the people heading it (工程经理, 工程总监).
        A part that names another value already (连锁 in 连锁餐饮), an everyday word (`freq`: 城市, 工程) or one
        `common` to the cards of other values (电梯, 维保 of 电梯维保 at an elevator vendor) is left to the
        vocabulary."""
        synonyms = {a: dict(s) for a, s in self.synonyms.items()}
        for value in self.added.get("industry", ()):
            target = self.canonical("industry", value) or value
            for part in _two_words(value.lower(), freq):
                if freq(part) < PART_FREQ and not common(part, value):
                    for suffix in FIRMS:  # 印染厂, not 印染 alone: 维保 of 电梯维保 is also what a card is about
                        synonyms["industry"].setdefault(part + suffix, target)
        for value in self.added.get("role", ()):
            stem = DEPARTMENT.sub("", value.lower())
            if stem != value.lower() and len(stem) >= 2:
                target = self.canonical("role", value) or value
                for suffix in HEADS:
                    synonyms["role"].setdefault(stem + suffix, target)
        return Taxonomy(self.values, synonyms, self.expansions, self.families, self.added, self.related, self.quiet)

    def with_voiced(self, axis: str, voiced: Mapping[str, Iterable[str]]) -> Taxonomy:
        """New values of `axis` related to the known values their cards voice (an admin's 起租门槛 whose cards
        speak of 结算 and 付款 is about 付款方式 too): a query naming those values finds such a card in part."""
        related = {a: dict(r) for a, r in self.related.items()}
        slot = related.setdefault(axis, {})
        for value, known in voiced.items():
            if not known or value not in self.added.get(axis, ()) or self.canonical(axis, value) != value:
                continue
            slot[value] = tuple(dict.fromkeys((*slot.get(value, ()), *known)))
        return Taxonomy(self.values, self.synonyms, self.expansions, self.families, self.added, related, self.quiet)

    def with_edits(self, edits: Mapping[str, object]) -> Taxonomy:
        """Apply admin edits ({"synonyms": {axis: {word: value}}}) stored in the database."""
        raw = edits.get("synonyms") if isinstance(edits, Mapping) else None
        if not isinstance(raw, Mapping):
            return self
        extra = {a: {str(v) for v in (raw.get(a) or {}).values()} for a in AXES if isinstance(raw.get(a), Mapping)}
        out = self.extended(extra)
        for axis in AXES:
            for word, value in (raw.get(axis) or {}).items():
                out.synonyms[axis][str(word).strip().lower()] = str(value)
        return out


def _two_words(value: str, freq: Callable[[str], int]) -> tuple[str, ...]:
    """The two words of two characters or more a Chinese value is made of (造纸包装 → 造纸, 包装), the most
    common pair when several splits are words; () when it is not two words."""
    if not all("\u4e00" <= c <= "\u9fff" for c in value):
        return ()
    splits = [(value[:i], value[i:]) for i in range(2, len(value) - 1) if freq(value[:i]) and freq(value[i:])]
    return max(splits, key=lambda pair: min(map(freq, pair)), default=())


def _inner_value(taxonomy: Taxonomy, axis: str, value: str) -> str | None:
    """The known value a new value is a kind of, on strong evidence only (see `_head_value`); an objection label
    is a clause (安装要停工, 水电费太高), so it joins the value whose longest synonym it holds."""
    if axis != "objection":
        return _head_value(taxonomy, axis, value.lower())
    text = value.lower()
    longest = max((len(w) for w in taxonomy.synonyms[axis] if len(w) >= MIN_INNER_SYNONYM and w in text), default=0)
    found = {w: v for w, v in taxonomy.synonyms[axis].items() if len(w) == longest and w in text} if longest else {}
    if len(set(found.values())) > 1:  # 电费太高: the subject (电费), then what is wrong
        found = {w: v for w, v in found.items() if not (text.endswith(w) and PREDICATE.match(w))} or found
    return next(iter(found.values())) if len(set(found.values())) == 1 else None


def _head_value(taxonomy: Taxonomy, axis: str, text: str) -> str | None:
    """A role or industry joins a known value when it is that value in other words, not when a word of it merely
    occurs inside: Chinese names put the head last (冷链 物流, 人事 负责人), so the head and its modifier are read.
    - a rank or a department (负责人, 经理, 部): the department before it decides (人事负责人 → 人事; 质量负责人
      is a new value);
    - the head is the value's own name (生鲜电商 → 电商), or a person word of it (种植工人 → 使用部门): it joins
      unless the modifier names another value (医药物流 holds 医药 and 物流);
    - the head is only a synonym (园区 of 物业, 商超 of 零售): it joins when the modifier is that value too (冷链仓储)
      or a general qualifier (民营医院), never on a modifier of its own (茶叶园区 is no property management);
    - no known head: a value named by the known value first and a general ending (医药流通, 物流企业)."""
    words = taxonomy.synonyms[axis]
    bare = _without_ending(text, GENERIC_ENDINGS.get(axis, ()))
    if bare != text and bare in words:
        return words[bare]
    for cut in range(1, len(text)):
        modifier, head = text[:cut], text[cut:]
        if axis == "role" and head in RANK_WORDS:
            return _department(taxonomy, modifier)
        value = words.get(head)
        if value is None:
            continue
        own = _department(taxonomy, modifier) if axis == "role" else words.get(modifier)
        named = head == value.lower() or (axis == "role" and PEOPLE.search(head) is not None)
        if own == value or modifier in QUALIFIERS or (named and not _inner_values(taxonomy, axis, modifier)):
            return value
        return None
    for cut in range(len(text) - 1, 1, -1):
        value = words.get(text[:cut])
        if value is not None and text[:cut] == value.lower() and not _inner_values(taxonomy, axis, text[cut:]):
            return value
    return None


def _department(taxonomy: Taxonomy, text: str) -> str | None:
    """The role a department or team name is, written whole or with a department ending (招聘组, 法务中心)."""
    words = taxonomy.synonyms["role"]
    return words.get(text) or words.get(_without_ending(text, DEPARTMENT_ENDINGS))


def _without_ending(text: str, endings: Iterable[str]) -> str:
    for ending in endings:
        if text.endswith(ending) and len(text) > len(ending):
            return text[: -len(ending)]
    return text


def _inner_values(taxonomy: Taxonomy, axis: str, value: str) -> tuple[str, ...]:
    """Every known value one of whose synonyms occurs inside `value`, in vocabulary order."""
    text = value.lower()
    found = {v for w, v in taxonomy.synonyms[axis].items() if len(w) >= MIN_INNER_SYNONYM and w in text}
    return tuple(v for v in taxonomy.values[axis] if v in found)


def _related_values(taxonomy: Taxonomy, axis: str, value: str) -> tuple[str, ...]:
    """The known values a new value holds two or more of (餐饮连锁: 餐饮 and 零售), read without a role's rank
    (质量负责人 names no 决策层). One value alone is no evidence: the value would have joined it."""
    text = value.lower()
    if axis == "role":
        text = next((text[:-len(w)] for w in sorted(RANK_WORDS, key=len, reverse=True) if text.endswith(w)), text)
    inside = _inner_values(taxonomy, axis, text)
    return inside if len(inside) > 1 else ()


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and check a taxonomy file; `None` or "" → the one shipped with the package.

    Parsed once per file version (path and modification time) and shared: callers on the event loop (products,
    insights, typed leads) then pay a stat, not a read and parse. A Taxonomy is never changed in place
    (`extended` and `with_edits` build new ones)."""
    file = Path(path) if path else DEFAULT_PATH
    try:
        version = file.stat().st_mtime_ns
    except FileNotFoundError:
        raise TaxonomyError(f"taxonomy file {file} not found") from None
    return _parsed(file, version)


@functools.lru_cache(maxsize=8)
def _parsed(file: Path, version: int) -> Taxonomy:
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaxonomyError(f"taxonomy file {file} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{file}: not valid TOML ({exc})") from None
    values: dict[str, tuple[str, ...]] = {}
    synonyms: dict[str, dict[str, str]] = {}
    families: dict[str, dict[str, str]] = {}
    for axis in AXES:
        entries = raw.get(axis)
        if not isinstance(entries, list) or not entries:
            raise TaxonomyError(f"{file}: [[{axis}]] entries are missing")
        values[axis], synonyms[axis], families[axis] = _axis(file, axis, entries)
    expansions: dict[str, tuple[str, ...]] = {}
    for i, entry in enumerate(raw.get("expansion", [])):
        term, words = entry.get("term"), entry.get("words")
        if not isinstance(term, str) or not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise TaxonomyError(f"{file}: [[expansion]] #{i + 1} needs term = \"…\" and words = [\"…\"]")
        expansions[term.strip().lower()] = tuple(w.strip() for w in words if w.strip())
    return Taxonomy(values, synonyms, expansions, families)


def _axis(
    file: Path, axis: str, entries: list[object]
) -> tuple[tuple[str, ...], dict[str, str], dict[str, str]]:
    names: list[str] = []
    words: dict[str, str] = {}
    families: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise TaxonomyError(f"{file}: [[{axis}]] #{i + 1} needs a name")
        name = entry["name"].strip()
        syns = entry.get("synonyms", [])
        if not isinstance(syns, list) or not all(isinstance(s, str) for s in syns):
            raise TaxonomyError(f"{file}: [[{axis}]] {name}: synonyms must be a list of strings")
        names.append(name)
        if isinstance(entry.get("family"), str) and entry["family"].strip():
            families[name] = entry["family"].strip()
        for word in [name, *syns]:
            key = word.strip().lower()
            if key and words.setdefault(key, name) != name:
                raise TaxonomyError(f"{file}: {axis} synonym {word!r} is listed under {words[key]} and {name}")
    return tuple(names), words, families
