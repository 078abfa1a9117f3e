"""The facts a manager relies on, as the tamper-evident record keeps them (storage/chain.py, storage/recorder.py):
a lead's fields with their provenance (who set each, from where), each activity (follow-ups, edits, decisions) and
each cross-check flag with its answer and clearance.

A fact's *state* is a plain JSON value computed the same way when it is recorded and when `audit verify` reads the
live row, so a hand edit shows as a difference; `None` records a deletion made through the application. The
`*_changes` functions say, in Chinese, what differs between the recorded state and the live row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from storage.leads import LEAD_FIELDS, STAGE_CN, STATUS_CN

# stage and status too: a lead's state is recorded at every change of them, whatever the path (a stage change, a
# win, a freeze, a hand-over), so a stage or status set by hand in the database differs from the last recorded one
LEAD_KEYS = (*LEAD_FIELDS, "owner_id", "stage", "status", "close_reason")
KEY_FIELDS = {"decision_chain": "决策链", "next_step": "下一步", "objection": "客户异议"}  # kept in lead.extra
LABELS = {**LEAD_FIELDS, "owner_id": "负责人", "stage": "阶段", "status": "状态", "close_reason": "赢单/输单原因",
          **KEY_FIELDS}
_CODES_CN = {"stage": STAGE_CN, "status": STATUS_CN}
FLAG_STATUS_CN = {"open": "待处理", "answered": "已说明", "cleared": "已清除", "resolved": "已解决"}
FLAG_LEVEL_ICON = {"red": "🔴", "yellow": "🟡"}
ACTIVITY_CN = {"contact": "跟进记录", "edit": "修改记录", "stage": "阶段记录", "won": "赢单记录", "lost": "输单记录",
               "evidence": "证据记录", "assign": "分配记录", "created": "创建记录"}
PROOF_CN = {"contract": "合同页", "payment": "回款凭证", "receipt": "购物小票/票据", "chat": "聊天截图",
            "demo": "方案/演示材料", "other": "其他图片或文件"}  # what an evidence item was taken to prove
ITEM_CN = {"image": "图片", "file": "文件", "note": "文字说明", "screenshot": "截图", "rejected": "已驳回的说明"}
EXCERPT = 30
_CN_TIME = timezone(timedelta(hours=8))


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _plain(value: Any) -> Any:
    """The value as JSON gives it back (what a recorded body parses to)."""
    return json.loads(canonical(value))


def fingerprint(*parts: Any) -> str:
    """SHA-256 of several values (None as empty), for text kept out of the record itself."""
    return hashlib.sha256("\x1f".join(["" if p is None else str(p) for p in parts]).encode("utf-8")).hexdigest()


def lead_state(lead: Any) -> dict[str, Any]:
    """Fields, the three key fields and each field's provenance (a Lead or a row with the same attributes)."""
    extra = lead.extra or {}
    state = {name: getattr(lead, name) for name in LEAD_KEYS}
    state.update({name: extra.get(name) for name in KEY_FIELDS})
    state["field_sources"] = lead.field_sources or {}
    return _plain(state)


def evidence_data(ev: Any) -> dict[str, Any]:
    """What an `evidence` entry says of an evidence row: the file by its SHA-256, the item's type, what it was taken
    to prove and who confirmed it (a manager's own note is confirmed as it is written), the note's start."""
    return {"evidence_id": ev.id, "sha256": ev.sha256, "item": ev.kind, "proof": ev.proof,
            "confirmed_by": ev.confirmed_by, "note": (ev.note or "")[:200] or None}


def activity_state(activity: Any) -> dict[str, Any]:
    """The activity by a digest of who wrote what kind of entry with which words, plus what a report names."""
    at = activity.created_at
    return {"kind": activity.kind, "at": at.astimezone(UTC).isoformat() if at is not None else None,
            "digest": fingerprint(activity.lead_id, activity.actor_id, activity.kind, activity.summary),
            "text": (activity.summary or "")[:EXCERPT]}


def flag_state(flag: Any) -> dict[str, Any]:
    return {"rule": flag.rule, "subject": flag.subject, "level": flag.level, "status": flag.status,
            "owner_id": flag.owner_id, "cleared_by": flag.cleared_by, "reason": (flag.reason or "")[:EXCERPT],
            "digest": fingerprint(flag.reason, flag.answer, flag.answered_by)}


# -- the same states as canonical JSON text, written directly from the columns: `audit verify` builds one per
# recorded activity and flag, and json.dumps of a dict costs several times more.
# canonical(activity_state(row)) == activity_state_text(*columns of row), always (likewise for flags;
# tests/test_audit_chain.py compares them on awkward values).
ACTIVITY_COLUMNS = ("lead_id", "actor_id", "kind", "summary", "created_at")
FLAG_COLUMNS = ("rule", "subject", "level", "status", "owner_id", "cleared_by", "reason", "answer", "answered_by")
_json_str = json.encoder.encode_basestring  # what json.dumps(…, ensure_ascii=False) writes for a str
_sha256 = hashlib.sha256  # the digests below are fingerprint(…) spelt out (a call and a list less per row)


def _j(value: Any) -> str:
    return _json_str(value) if type(value) is str else "null" if value is None else canonical(value)


def utc_iso(at: datetime | str | None) -> str | None:
    """A time as the database driver gives it (SQLite: ISO text, naive = UTC; PostgreSQL: an aware datetime) in the
    ISO form a state records (`at.astimezone(UTC).isoformat()` of what storage.models.UTCDateTime reads)."""
    if at is None:
        return None
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat() + "+00:00"  # an aware time in UTC prints as its naive self and the offset, at half the cost


def activity_state_text(lead_id: Any, actor_id: Any, kind: Any, summary: Any, at: datetime | str | None) -> str:
    at_json = "null" if at is None else f'"{utc_iso(at)}"'
    digest = _sha256(f"{'' if lead_id is None else lead_id}\x1f{'' if actor_id is None else actor_id}\x1f"
                     f"{'' if kind is None else kind}\x1f{'' if summary is None else summary}".encode()).hexdigest()
    return f'{{"at":{at_json},"digest":"{digest}","kind":{_j(kind)},"text":{_j((summary or "")[:EXCERPT])}}}'


def flag_state_text(rule: Any, subject: Any, level: Any, status: Any, owner_id: Any, cleared_by: Any, reason: Any,
                    answer: Any, answered_by: Any) -> str:
    digest = _sha256(f"{'' if reason is None else reason}\x1f{'' if answer is None else answer}\x1f"
                     f"{'' if answered_by is None else answered_by}".encode()).hexdigest()
    return (f'{{"cleared_by":{_j(cleared_by)},"digest":"{digest}","level":{_j(level)},"owner_id":{_j(owner_id)},'
            f'"reason":{_j((reason or "")[:EXCERPT])},"rule":{_j(rule)},"status":{_j(status)},'
            f'"subject":{_j(subject)}}}')


# -- what changed, in Chinese ---------------------------------------------------------------------------------------
def shown(name: str, value: Any, names: Mapping[str, str] | None = None) -> str:
    """A recorded or live value as a manager reads it (`names`: account id → person's name)."""
    if value in (None, "", [], {}):
        return "空"
    if name == "owner_id":
        return (names or {}).get(str(value), "不存在的账号")
    if name in _CODES_CN:
        return _CODES_CN[name].get(str(value), "未知")
    if name == "budget_cny" and isinstance(value, int | float):
        return f"{value / 10000:g} 万元" if value >= 10000 else f"{value:g} 元"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def lead_changes(lead_id: int, recorded: Mapping[str, Any], live: Mapping[str, Any] | None,
                 names: Mapping[str, str] | None = None) -> str | None:
    if live is None:
        return f"线索 #{lead_id} 已被删除"
    for name, label in LABELS.items():
        if name in recorded and recorded[name] != live.get(name):  # an entry written before a key was recorded
            # does not name it
            return (f"线索 #{lead_id} 的{label}被改动：记录为「{shown(name, recorded.get(name), names)}」，"
                    f"现为「{shown(name, live.get(name), names)}」")
    before, after = recorded.get("field_sources") or {}, live.get("field_sources") or {}
    if before != after:
        fields = [LABELS.get(k, "其他字段") for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        return f"线索 #{lead_id} 的字段来源（谁在何时从哪里填写）被改动：{'、'.join(dict.fromkeys(fields))}"
    return None


def _when(at: Any) -> str:
    try:
        return datetime.fromisoformat(str(at)).astimezone(_CN_TIME).strftime("%m月%d日 %H:%M")
    except ValueError:
        return "某时"


def activity_changes(lead_id: int | None, recorded: Mapping[str, Any], live: Mapping[str, Any] | None) -> str | None:
    kind = ACTIVITY_CN.get(recorded.get("kind") or "", "动态记录")
    what = f"线索 #{lead_id} 在 {_when(recorded.get('at'))} 的{kind}「{recorded.get('text') or ''}」"
    if live is None:
        return f"{what}已被删除"
    if live != recorded:
        return f"{what}被改动（现为「{live.get('text') or ''}」）" if live.get("text") != recorded.get("text") \
            else f"{what}被改动"
    return None


_BREAKS = "，。；、（：,;( "


def excerpt(text: str) -> str:
    """A recorded excerpt (cut at EXCERPT characters) ended at its last clause break, with 「…」: never mid-word."""
    if len(text) < EXCERPT:
        return text
    cut = max(text.rfind(c) for c in _BREAKS)
    return f"{text[:cut] if cut > 0 else text}…"


def flag_changes(lead_id: int | None, recorded: Mapping[str, Any], live: Mapping[str, Any] | None) -> str | None:
    what = (f"线索 #{lead_id} 的{FLAG_LEVEL_ICON.get(recorded.get('level') or '', '')}"
            f"标记「{excerpt(recorded.get('reason') or '')}」")
    if live is None:
        return f"{what}已被删除"
    if live.get("status") != recorded.get("status"):
        return (f"{what}的状态被改动：记录为「{FLAG_STATUS_CN.get(recorded.get('status') or '', '未知')}」，"
                f"现为「{FLAG_STATUS_CN.get(live.get('status') or '', '未知')}」")
    if live.get("level") != recorded.get("level"):
        return f"{what}的级别被改动"
    if live != recorded:
        return f"{what}被改动（原因、说明或清除人与记录不符）"
    return None
