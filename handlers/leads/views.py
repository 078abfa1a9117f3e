"""How leads look in chat: list lines with response colours, the detail card with its timeline, draft cards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import (
    ApproveEvidence,
    AwaitEvidence,
    Big,
    ConfirmDraft,
    DropDraft,
    EditDraft,
    FollowUpHint,
    LostHint,
    MarkWon,
    NextStage,
    ReassignPicker,
    RejectEvidence,
    UndoFrozen,
    UndoHandover,
    ViewLead,
)
from bot.clock import fmt_cn, to_cn
from bot.messages import Button, Card, Field
from bot.phrases import TO_FILL, UNNAMED_CUSTOMER, activity_label
from bot.usertext import plain, user_text
from reminders.policies import FOLLOW_UP, promised_at
from storage.leads import LEAD_FIELDS, SOURCE_CN, STATUS_CN, UNKNOWN, is_closed, is_filled, stage_label
from storage.models import Activity, Evidence, Lead, Reminder

GREEN_H, RED_H = 12.0, 24.0
COLOUR_ICON = {"green": "🟢", "yellow": "🟡", "red": "🔴"}
RULE_CN = {"first_contact": "首次联系", "follow_up": "约定回访", "cadence": "定期跟进", "stage_stall": "推进阶段",
           "dormancy": "唤醒休眠客户"}
TIMELINE_MAX = 8


def colour(hours: float) -> str:
    """Response-time colour: < 12 h green, 12–24 h yellow, > 24 h red."""
    if hours < GREEN_H:
        return "green"
    return "yellow" if hours <= RED_H else "red"


def waiting_hours(lead: Lead, now: datetime) -> float:
    """Hours since the lead last heard from its current owner: the later of the last activity and the
    assignment (a lead reassigned an hour ago is an hour old for its new owner), else creation."""
    since = max((t for t in (lead.last_activity_at, lead.assigned_at) if t is not None), default=lead.created_at)
    return max((now - since).total_seconds() / 3600, 0.0)


async def next_actions(session: AsyncSession, lead_ids: Sequence[int]) -> dict[int, tuple[str, datetime]]:
    """The earliest pending timer per lead: (what, when)."""
    if not lead_ids:
        return {}
    rows = await session.execute(
        select(Reminder.lead_id, Reminder.rule, Reminder.due_at, Reminder.payload)
        .where(Reminder.lead_id.in_(list(lead_ids)), Reminder.status == "pending").order_by(Reminder.due_at))
    out: dict[int, tuple[str, datetime]] = {}
    for lead_id, rule, due, payload in rows.all():
        if lead_id is not None and lead_id not in out:
            out[lead_id] = (RULE_CN.get(rule, rule), promised_at(payload, due))
    return out


async def agreed_callbacks(session: AsyncSession, leads: Sequence[Lead]) -> dict[int, datetime]:
    """Each lead's agreed follow-up time: its pending 约定回访 reminder's time (`promised_at`, what the reminder
    will say), else the time recorded on the lead; leads with neither are left out."""
    ids = [lead.id for lead in leads]
    rows = (await session.execute(select(Reminder.lead_id, Reminder.due_at, Reminder.payload).where(
        Reminder.lead_id.in_(ids), Reminder.rule == FOLLOW_UP, Reminder.status == "pending")
        .order_by(Reminder.due_at))).all() if ids else []
    out = {lead.id: lead.next_follow_up_at for lead in leads if lead.next_follow_up_at is not None}
    for lead_id, due, payload in reversed(rows):  # the soonest last: it wins
        if lead_id is not None:
            out[lead_id] = promised_at(payload, due)
    return out


def next_action_text(lead: Lead, timers: Mapping[int, tuple[str, datetime]], first_contact_h: float) -> str:
    if is_closed(lead.status):
        return "—"
    if lead.status == "frozen":
        return "等待主管处理"
    if lead.id in timers:
        what, when = timers[lead.id]
        return f"{what} {fmt_cn(when)}"
    if lead.first_contact_at is None and lead.assigned_at is not None:
        return f"首次联系 {fmt_cn(lead.assigned_at + timedelta(hours=first_contact_h))}"
    if lead.next_follow_up_at is not None:
        return f"约定回访 {fmt_cn(lead.next_follow_up_at)}"
    return "—"


LOCKED_NEXT = "🔒 锁定（续约预警，提交续签证明后继续）"


def list_line(lead: Lead, now: datetime, next_text: str, owner: str | None = None, *, held: bool = False) -> str:
    """`held`: a renewal lock holds the lead — its clock is paused, so 🔒 instead of a waiting colour."""
    icon = "🔒" if held else COLOUR_ICON[colour(waiting_hours(lead, now))]
    next_text = LOCKED_NEXT if held else next_text
    who = user_text(lead.customer_name or UNNAMED_CUSTOMER)
    company = f" · {user_text(lead.company)}" if lead.company else ""
    status = "" if lead.status == "active" else f" [{STATUS_CN.get(lead.status, lead.status)}]"
    by = f" · {user_text(owner)}" if owner else ""
    return f"{icon} #{lead.id} {who}{company} · {stage_label(lead.stage)}{status}{by} · 下一步: {next_text}"


def lead_list_card(title: str, lines: Sequence[str], leads: Sequence[Lead], empty: str) -> Card:
    if not leads:
        return Card(title=title, description=empty)
    buttons = tuple(Button(ViewLead(lead.id).pack(), f"查看 #{lead.id}") for lead in leads[:5])
    return Card(title=f"{title}（{len(leads)}）", description="\n".join(lines), buttons=buttons,
                note="🟢 <12h 🟡 12–24h 🔴 >24h 未跟进")


def field_rows(lead: Lead, names: Mapping[str, str]) -> list[Field]:
    rows = []
    for name, label in LEAD_FIELDS.items():
        value = display_value(lead, name)
        src = provenance(lead, name, names)
        shown = user_text(value)
        rows.append(Field(label, f"{shown}（{user_text(src)}）" if src and value != UNKNOWN else shown))
    return rows


def timeline_lines(activities: Sequence[Activity], names: Mapping[str, str], keep: int = TIMELINE_MAX) -> list[str]:
    """One natural line per event — when, who, what — and an event said twice in a row shown once (not an evidence
    item: each is one); the last `keep` (chat's card and the web console's lead page say the same lines)."""
    lines: list[str] = []
    for act in activities:
        line = f"{fmt_cn(act.created_at)} {timeline_event(act, names)}"
        insights = (act.detail or {}).get("insights_text")
        if insights:
            line += f"（{user_text(insights)}）"
        if not lines or lines[-1] != line or act.kind == "evidence":  # two pictures sent are two items
            lines.append(line)
    return lines[-keep:]


def timeline_event(act: Activity, names: Mapping[str, str]) -> str:
    """「张伟 约定 11月25日 15:00 回访」, 「王经理 接手」, 「王经理 改派给 李娜：客户在她片区」: the summary
    a handler wrote as a whole sentence (it starts with who did it) is kept as it is; otherwise who, the label
    and what was said, the label never twice."""
    who = names.get(act.actor_id or "", "系统" if act.actor_id is None else "同事")  # a name, never an id
    label, detail, summary = activity_label(act.kind), act.detail or {}, (act.summary or "").strip()
    if act.kind in ("plan", "ask_reminder") and detail.get("due"):
        task = summary.removeprefix("提醒：").removeprefix(label).strip("：") or "回访"
        verb = "约定 " if act.kind == "plan" else "设置提醒："
        return f"{user_text(who)} {verb}{day_time(datetime.fromisoformat(detail['due']))} {user_text(task)}"
    if summary.startswith(f"{who} "):
        return user_text(summary)
    owner = names.get(str(detail.get("owner")))
    if act.kind == "reassign" and owner and detail.get("owner") != act.actor_id:
        label = f"改派给 {user_text(owner)}"
    summary = summary.removeprefix(f"{label}：")
    said = f"：{user_text(summary)}" if summary and summary != label else ""
    return f"{user_text(who)} {label}{said}"


def day_time(when: datetime) -> str:
    """「12月8日 15:00」 (China time)."""
    local = to_cn(when)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def owner_name(lead: Lead, names: Mapping[str, str]) -> str:
    """Who owns the lead, as a name (「线索池」 when no one does)."""
    return user_text(names.get(lead.owner_id, "同事")) if lead.owner_id else "线索池"


def lead_fields(lead: Lead, names: Mapping[str, str], next_text: str) -> list[Field]:
    """A lead's fields as chat's card and the web console's lead page show them."""
    fields = field_rows(lead, names)
    fields += [
        Field("阶段", stage_label(lead.stage)),
        Field("状态", STATUS_CN.get(lead.status, lead.status)),
        Field("负责人", owner_name(lead, names)),
        Field("下一步", next_text),
    ]
    if lead.assign_reason:
        fields.append(Field("分配原因", user_text(lead.assign_reason)))
    insights = (lead.extra or {}).get("insights") or {}
    summary = insight_summary(insights)
    if summary:
        fields.append(Field("洞察", user_text(summary)))
    fields += [Field(label, user_text(lead.extra[key])) for key, label in KEY_FACT_LABELS.items()
               if (lead.extra or {}).get(key)]
    return fields


def detail_card(lead: Lead, names: Mapping[str, str], activities: Sequence[Activity], next_text: str,
                *, manager_view: bool) -> Card:
    fields = lead_fields(lead, names, next_text)
    timeline = timeline_lines(activities, names)
    description = "时间线:\n" + "\n".join(timeline) if timeline else "还没有跟进记录"
    buttons: list[Button] = []
    if lead.status in ("active", "dormant") or (lead.status == "frozen" and manager_view):
        buttons += [Button(FollowUpHint(lead.id).pack(), "跟进"),
                    Button(NextStage(lead.id).pack(), "推进阶段", "primary"), Button(MarkWon(lead.id).pack(), "赢单"),
                    Button(LostHint(lead.id).pack(), "输单"),
                    Button(AwaitEvidence(lead.id).pack(), "证据")]
    if manager_view and lead.status in ("active", "frozen", "dormant"):
        buttons.append(Button(ReassignPicker(lead.id).pack(), "改派"))  # 6 buttons: WeCom's button_interaction limit
    note = f"来源：{SOURCE_CN.get(lead.source, lead.source)}"
    if lead.confidence is not None and lead.source == "ocr":  # a confidence only means something for a screenshot
        note += f" · 识别置信度 {lead.confidence:.0%}"
    return Card(title=f"线索 #{lead.id} {user_text(lead.customer_name or UNNAMED_CUSTOMER)}", description=description,
                fields=tuple(fields), buttons=tuple(buttons), note=note, card_id=f"lead-{lead.id}")


KEY_FACT_LABELS = {"decision_chain": "决策链", "next_step": "下一步计划", "objection": "客户异议"}


def insight_summary(insights: Mapping[str, list[str]]) -> str:
    parts = []
    for key, label in (("pain_points", "痛点"), ("competitors", "竞品"), ("roles", "决策链")):
        if insights.get(key):
            parts.append(f"{label} " + "、".join(insights[key]))
    return " · ".join(parts)


def draft_card(lead: Lead, names: Mapping[str, str], duplicates: Sequence[Lead], viewer_id: str) -> Card:
    """Only what is known, plus one line of what is still to fill in."""
    fields = [f for f in field_rows(lead, names) if not plain(f.value).startswith(UNKNOWN)]
    follow_up = (lead.extra or {}).get("follow_up")
    if follow_up:
        fields.append(Field("约定回访", follow_up.replace("T", " ")[:16]))
    missing = [label for name, label in LEAD_FIELDS.items() if display_value(lead, name) == UNKNOWN]
    notes = [TO_FILL.format(fields="、".join(missing))] if missing else []
    for dup in duplicates[:3]:
        if dup.owner_id == viewer_id:
            notes.append(f"⚠️ 你已有同一客户的线索 #{dup.id}")
        else:
            notes.append(f"⚠️ 同一客户已有同事在跟进（线索 #{dup.id}）")
    return Card(title=f"线索草稿 #{lead.id}", description="请核对后确认：", fields=tuple(fields),
                buttons=draft_buttons(lead.id), note="；".join(notes), card_id=f"draft-{lead.id}")


def draft_buttons(lead_id: int) -> tuple[Button, ...]:
    """A draft's buttons, the same wherever the card is shown (typed, screenshot, after an edit), so a bare
    「2」 means the same button each time (a screenshot of a customer already known asks 合并 · 仍然新建 · 放弃)."""
    return (Button(ConfirmDraft(lead_id).pack(), "确认", "primary"), Button(EditDraft(lead_id).pack(), "修改"),
            Button(DropDraft(lead_id).pack(), "放弃"))


UNDO_MINUTES = 10  # how long a typed 接手 / 改派 can be taken back with its 撤销 button (or a typed 撤销)
UNDO_NOTE = f"点「撤销」或回复「撤销」可在 {UNDO_MINUTES} 分钟内撤回。"


def undo_button(lead_id: int, new_owner: str, previous: str, now: datetime) -> Button:
    """撤销 under a typed 接手 / 改派 that acted at once: the lead back to `previous` (front.py `undo_handover`)."""
    return Button(UndoHandover(lead_id, Big(int(now.timestamp())), new_owner, previous).pack(), "撤销")


def handover_card(title: str, line: str, lead_id: int, new_owner: str, previous: str | None, now: datetime) -> Card:
    """What a typed 接手 / 改派 did, said in full, with 撤销 when the lead had an owner to go back to."""
    buttons = (undo_button(lead_id, new_owner, previous, now),) if previous and previous != new_owner else ()
    return Card(title=title, description=line, buttons=buttons, note=UNDO_NOTE if buttons else "")


def unfreeze_card(title: str, line: str, lead_id: int, rid: int, now: datetime) -> Card:
    """What a 接手 / 改派 of a frozen lead did, with 撤销 (frozen again: front.py `undo_unfreeze`)."""
    return Card(title=title, description=line, note=UNDO_NOTE,
                buttons=(Button(UndoFrozen(lead_id, rid, Big(int(now.timestamp()))).pack(), "撤销"),))


def evidence_card(lead: Lead, ev: Evidence, rep_name: str, *, renewal_lock: bool = False) -> Card:
    """For the manager: a rep's written evidence, to confirm or reject; `renewal_lock`: the account waits for a
    renewal proof, so confirming also lifts its 续约预警 lock (handlers/renewals/locks.on_proof)."""
    lock = "\n🔒 这个客户有续约预警锁定：确认后作为续签证明，锁定随即解除；驳回则继续锁定。" if renewal_lock else ""
    return Card(title=f"证据待确认 · 线索 #{lead.id}",
                description=f"{user_text(rep_name)}: {user_text((ev.note or '')[:500])}{lock}",
                buttons=(Button(ApproveEvidence(ev.id).pack(), "确认", "primary"),
                         Button(RejectEvidence(ev.id).pack(), "驳回")),
                note="确认后销售才能推进到「签约回款」或赢单")


def display_value(lead: Lead, name: str) -> str:
    value = getattr(lead, name)
    if not is_filled(value):
        return UNKNOWN
    if name == "budget_cny":
        return f"{value / 10000:g} 万元" if value >= 10000 else f"{value} 元"
    if name == "needs":
        return "、".join(value)
    return str(value)


def provenance(lead: Lead, name: str, names: Mapping[str, str]) -> str:
    """'截图·张伟' for a field set from a screenshot by rep01; '' when unknown."""
    src = (lead.field_sources or {}).get(name)
    if not src:
        return ""
    by = names.get(src.get("by") or "", src.get("by") or "")
    return "·".join(p for p in (SOURCE_CN.get(src.get("source", ""), src.get("source", "")), by) if p)
