"""A ramp-up path as admins write it: one task a line, in Chinese, the same text in the console, the CLI
(`salesbot ramp path set FILE`) and `salesbot ramp path show`:

    阅读 异议=价格 张数=3            read the 价格 cards (at most 3)
    测验 异议=价格 行业=医疗 题数=2   answer 2 questions drawn from those cards right
    测验 异议=交付 方式=自述          write the answer, then compare with the card
    跟岗 陪同主管拜访一次客户          shadowing, confirmed by the manager

Filters: 角色 / 行业 / 异议 (axis values or their synonyms). The default path is made from the knowledge
base itself: the objections most cards cover, each read then quizzed, one written quiz, the shadowing tasks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from knowledge.schema import KbCard

KINDS = {"阅读": "read", "测验": "quiz", "跟岗": "shadow"}
KIND_CN = {v: k for k, v in KINDS.items()}
AXIS_KEYS = {"角色": "role", "行业": "industry", "异议": "objection"}
MODES = {"选择": "choice", "自述": "write"}
MAX_TASKS = 50
MAX_COUNT = 20
DEFAULT_LENGTH = 12
DEFAULT_TOPICS = 4  # read + quiz pairs in the default path


class PathError(ValueError):
    """A line that cannot be read; the message is Chinese and names the line."""


@dataclass(frozen=True)
class TaskSpec:
    kind: str  # read | quiz | shadow
    role: str = ""
    industry: str = ""
    objection: str = ""
    count: int = 0  # quiz: right answers needed; read: cards shown (0 → the [ramp] default)
    mode: str = "choice"  # quiz: choice | write
    what: str = ""  # shadow: what to do

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", 0) and k != "kind"} | (
            {"mode": self.mode} if self.kind == "quiz" else {})

    @classmethod
    def from_json(cls, kind: str, spec: Mapping[str, Any]) -> TaskSpec:
        return cls(kind=kind, role=str(spec.get("role", "")), industry=str(spec.get("industry", "")),
                   objection=str(spec.get("objection", "")), count=int(spec.get("count", 0) or 0),
                   mode=str(spec.get("mode", "choice")), what=str(spec.get("what", "")))

    def filters(self) -> dict[str, str]:
        return {a: v for a, v in (("role", self.role), ("industry", self.industry), ("objection", self.objection))
                if v}

    def line(self) -> str:
        """The task as an admin writes it (round-trips through `parse_path`)."""
        if self.kind == "shadow":
            return f"跟岗 {self.what}"
        cn = {v: k for k, v in AXIS_KEYS.items()}
        parts = [KIND_CN[self.kind], *(f"{cn[a]}={v}" for a, v in self.filters().items())]
        if self.count:
            parts.append(f"{'题数' if self.kind == 'quiz' else '张数'}={self.count}")
        if self.kind == "quiz" and self.mode == "write":
            parts.append("方式=自述")
        return " ".join(parts)

    def title(self, default_count: int = 0) -> str:
        """What the rep sees: 「测验 · 医疗 · 价格异议（答对 2 题）」."""
        if self.kind == "shadow":
            return f"跟岗 · {self.what}"
        topic = " · ".join([*(v for v in (self.industry, self.role) if v),
                            objection_name(self.objection) if self.objection else "综合"])
        if self.kind == "read":
            return f"阅读 · {topic}话术"
        need = self.count or default_count
        head = "自述测验" if self.mode == "write" else "测验"
        return f"{head} · {topic}" + (f"（答对 {need} 题）" if need else "")


def objection_name(value: str) -> str:
    """「价格」 → 「价格异议」; a value already named so (「交付异议」, as an import may add it) is left as it is."""
    return value if value.endswith("异议") else f"{value}异议"


def parse_path(text: str, resolve: Any = None) -> list[TaskSpec]:
    """Tasks from the admin's text (blank lines and lines starting with # skipped). `resolve(axis, word)`
    maps a synonym to its axis value (the knowledge taxonomy); raises PathError naming the first bad line."""
    tasks: list[TaskSpec] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = " ".join(raw.replace("＝", "=").replace("：", " ").split())
        if not line or line.startswith("#"):
            continue
        tasks.append(_parse_line(n, line, resolve))
    if not tasks:
        raise PathError("路径里没有任务：每行写一个，如「阅读 异议=价格」「测验 异议=价格 题数=2」"
                        "「跟岗 陪同拜访一次客户」")
    if len(tasks) > MAX_TASKS:
        raise PathError(f"任务太多（{len(tasks)} 个），一条路径最多 {MAX_TASKS} 个")
    return tasks


def _parse_line(n: int, line: str, resolve: Any) -> TaskSpec:
    word, _, rest = line.partition(" ")
    kind = KINDS.get(word)
    if kind is None:
        raise PathError(f"第 {n} 行：开头应是「阅读」「测验」或「跟岗」，看到的是「{word[:10]}」")
    if kind == "shadow":
        if not rest.strip():
            raise PathError(f"第 {n} 行：跟岗任务要写明做什么，如「跟岗 陪同主管拜访一次客户」")
        return TaskSpec("shadow", what=rest.strip()[:100])
    values: dict[str, Any] = {}
    for part in rest.split():
        key, eq, value = part.partition("=")
        if not eq or not value:
            raise PathError(f"第 {n} 行：「{part[:20]}」应写成 名称=值，如 异议=价格")
        if key in AXIS_KEYS:
            axis = AXIS_KEYS[key]
            values[axis] = resolve(axis, value) if resolve else value
        elif key in ("题数", "张数") and (key == "题数") == (kind == "quiz"):
            if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
                raise PathError(f"第 {n} 行：{key}应是 1 到 {MAX_COUNT} 之间的整数")
            values["count"] = int(value)
        elif key == "方式" and kind == "quiz":
            if value not in MODES:
                raise PathError(f"第 {n} 行：方式只能是「选择」或「自述」")
            values["mode"] = MODES[value]
        else:
            raise PathError(f"第 {n} 行：{KIND_CN[kind]}任务不认识「{key[:10]}」（可用：角色、行业、异议、"
                            f"{'题数、方式' if kind == 'quiz' else '张数'}）")
    return TaskSpec(kind, **values)


def path_text(tasks: Iterable[TaskSpec]) -> str:
    return "\n".join(t.line() for t in tasks)


def default_path(cards: Sequence[KbCard], shadow_tasks: Sequence[str], length: int = DEFAULT_LENGTH) -> list[TaskSpec]:
    """The default path from what the knowledge base covers: for the objections most cards answer (then the
    industries, when there are few objections), read the set and pass a quiz on it; one written quiz over all;
    then the shadowing tasks. Exactly `length` tasks when the cards allow it."""
    usable = [c for c in cards if c.active and c.talk_track]
    shadows = [TaskSpec("shadow", what=w) for w in shadow_tasks if w.strip()]
    room = max(0, length - len(shadows) - 1)
    topics = [("objection", v) for v, _ in _common(c.objection for c in usable)]
    topics += [("industry", v) for v, _ in _common(c.industry for c in usable)]
    tasks: list[TaskSpec] = []
    for axis, value in topics[:min(DEFAULT_TOPICS, room // 2)]:
        tasks += [_topic("read", axis, value), _topic("quiz", axis, value)]
    while len(tasks) < room and topics:  # a short knowledge base: quiz the biggest topics again
        axis, value = topics[(len(tasks) - 2 * DEFAULT_TOPICS) % len(topics)]
        tasks.append(_topic("quiz", axis, value))
    if usable:
        tasks.append(TaskSpec("quiz", mode="write"))
    return tasks + shadows


def _topic(kind: str, axis: str, value: str) -> TaskSpec:
    return TaskSpec(kind, objection=value) if axis == "objection" else TaskSpec(kind, industry=value)


def _common(values: Iterable[str]) -> list[tuple[str, int]]:
    counts = Counter(v for v in values if v)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
