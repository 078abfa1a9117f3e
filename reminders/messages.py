"""What the reminders say. Channel-neutral bodies; short, friendly Simplified Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot import phrases as P
from bot.actions import (
    AssignPicker,
    ExtendFrozen,
    PauseReminder,
    RenewalContacted,
    RenewalHelp,
    RenewalLift,
    RenewalProof,
    SnoozeReminder,
    TakeOver,
    ViewLead,
)
from bot.clock import fmt_cn
from bot.messages import Body, Button, Card, Field, Markdown, Text
from bot.phrases import UNNAMED_CUSTOMER
from bot.usertext import user_text
from reminders.policies import FIRST_CONTACT, RULE_CN, SNOOZE_DEFAULT_HOURS
from storage.models import Contract, Lead, RenewalWarning

# WeCom app markdown ≤ 2048 bytes: a digest keeps whole lines up to this many bytes, then "…还有 N 条" (one message,
# never split by the channel mid-list)
DIGEST_MAX_BYTES = 1800

FROZEN_TEXT = "🧊 线索 {label} 已冻结（{reason}），正在等待主管处理，暂时不能跟进。主管接手、改派或延期后即可继续。"


@dataclass(frozen=True)
class Note:
    """One reminder message: the full body, and a one-line form for the merged morning digest."""

    body: Body
    line: str


def work_span(hours: float, day_hours: float) -> str:
    """延期 counts working time: "2 个工作日" when it is whole working days, else "20 个工作小时"."""
    days = hours / day_hours if day_hours > 0 else 0
    if days >= 1 and abs(days - round(days)) < 1e-9:
        return f"{round(days)} 个工作日"
    return f"{hours:g} 个工作小时"


def lead_name(lead: Lead) -> str:
    """「邹海 · 松涛仓储」: the customer (or the one wording for a missing name) and the company when known; both
    user-written (escaped by each channel, bot/usertext.py)."""
    who = user_text(lead.customer_name or UNNAMED_CUSTOMER)
    return f"{who} · {user_text(lead.company)}" if lead.company else who


def lead_label(lead: Lead) -> str:
    """「#12 邹海 · 松涛仓储」, for messages."""
    return f"#{lead.id} {lead_name(lead)}"


def handed_to_you(lead: Lead, by: str, reason: str = "") -> Card:
    """What the new owner of a lead a manager hands them (改派, frozen or not) is told."""
    why = f"：{user_text(reason)}" if reason else ""
    return Card(title=P.HANDED_TO_YOU_TITLE,
                description=P.HANDED_TO_YOU.format(by=user_text(by), label=lead_label(lead), why=why),
                buttons=(Button(ViewLead(lead.id).pack(), "查看", "primary"),))


def _todo(rule: str, lead: Lead) -> str:
    if rule == FIRST_CONTACT:
        return f"首次联系客户，并发送「跟进 {lead.id} 沟通摘要」记录"
    return f"推进线索阶段，或发送「跟进 {lead.id} 进展」说明情况"


def _rep_buttons(fired_id: int | None) -> tuple[Button, ...]:
    if fired_id is None:
        return ()
    hours = f"{SNOOZE_DEFAULT_HOURS:g}"
    return (
        Button(SnoozeReminder(fired_id, float(SNOOZE_DEFAULT_HOURS)).pack(), f"稍后提醒({hours}小时)"),
        Button(PauseReminder(fired_id).pack(), "客户说下周再联系"),
    )


def sla_warning(rule: str, lead: Lead, deadline: datetime, fired_id: int | None) -> Note:
    text = f"线索 {lead_label(lead)} 需在 {fmt_cn(deadline)} 前{_todo(rule, lead)}。"
    card = Card(title=f"⏰ {RULE_CN[rule]}即将到期", description=text, buttons=_rep_buttons(fired_id),
                card_id=f"rem{fired_id}" if fired_id else "")
    return Note(card, f"⏰ {RULE_CN[rule]}即将到期：{lead_label(lead)}，截止 {fmt_cn(deadline)}")


def sla_breach(rule: str, lead: Lead, level: int, miss: int, next_due: datetime, fired_id: int | None,
               next_freezes: bool) -> Note:
    """`miss`: the how-many-th breach of this rule for the current owner (the lead's own total may be higher)."""
    title = f"⚠️ {RULE_CN[rule]}已超时（第{miss}次）"
    then = "冻结线索并转入线索池" if next_freezes else "抄送主管"
    card = Card(
        title=title,
        description=f"线索 {lead_label(lead)} 还没有完成：{_todo(rule, lead)}。",
        fields=(Field("下次升级", f"{fmt_cn(next_due)} 仍未处理将{then}"),),
        note="已抄送主管" if level >= 2 else "",
        buttons=_rep_buttons(fired_id),
        card_id=f"rem{fired_id}" if fired_id else "",
    )
    return Note(card, f"{title}：{lead_label(lead)}")


def sla_cc(rule: str, lead: Lead, owner_name: str, miss: int) -> Note:
    text = f"{user_text(owner_name)} 的线索 {lead_label(lead)} {RULE_CN[rule]}已第{miss}次超时。"
    card = Card(title=f"📋 抄送：{RULE_CN[rule]}超时", description=text, note="再次超时将自动冻结并请你处理")
    return Note(card, f"📋 抄送：{text}")


def freeze_card(rule: str, lead: Lead, owner_name: str, reminder_id: int, now: datetime) -> Note:
    card = Card(
        title="🧊 线索已冻结，请处理",
        description=f"{user_text(owner_name)} 的线索 {lead_label(lead)} {RULE_CN[rule]}多次超时，已冻结并转入线索池。",
        fields=(Field("原负责人", user_text(owner_name)), Field("超时次数", str(lead.timeout_count)),
                Field("冻结时间", fmt_cn(now))),
        buttons=(Button(TakeOver(lead.id, reminder_id).pack(), "接手", "primary"),
                 Button(AssignPicker(lead.id, reminder_id).pack(), "改派"),
                 Button(ExtendFrozen(lead.id, reminder_id).pack(), "延期")),
        card_id=f"esc{reminder_id}",
    )
    return Note(card, f"🧊 待处理：{user_text(owner_name)} 的线索 {lead_label(lead)} 已冻结")


def freeze_rep(rule: str, lead: Lead, manager_name: str) -> Note:
    text = (f"🧊 线索 {lead_label(lead)} 因{RULE_CN[rule]}多次超时已冻结并转入线索池，"
            f"等待 {user_text(manager_name)} 处理。")
    return Note(Text(text), text)


def cadence(lead: Lead, day: int) -> Note:
    budget = f"{lead.budget_cny:,}" if lead.budget_cny is not None else "未知"
    card = Card(title="💎 高价值线索跟进节点",
                description=f"{lead_label(lead)}（预算 {budget} 元）今天是第 {day} 天跟进节点，建议主动联系客户。")
    return Note(card, f"💎 第 {day} 天跟进节点：{lead_label(lead)}")


def dormancy(lead: Lead, days: int) -> Note:
    card = Card(title="💤 沉睡线索唤醒",
                description=f"{lead_label(lead)} 已 {days} 天没有跟进记录，试着联系一下唤醒客户？")
    return Note(card, f"💤 {days} 天未跟进：{lead_label(lead)}")


def asked(at: datetime, task: str) -> Note:
    """A reminder a person asked for themselves, tied to no lead (「明天提醒我交周报」)."""
    text = f"⏰ 提醒：{user_text(task)}（{fmt_cn(at)}）" if task else f"⏰ 你让我 {fmt_cn(at)} 提醒你，时间到了。"
    return Note(Text(text), text)


def follow_up(lead: Lead, at: datetime, note: str) -> Note:
    extra = f"（{user_text(note)}）" if note else ""
    card = Card(title="📞 约定回访提醒", description=f"{fmt_cn(at)} 约了回访 {lead_label(lead)}{extra}。")
    return Note(card, f"📞 {fmt_cn(at)} 回访 {lead_label(lead)}{extra}")


def digest(lines: list[str]) -> Markdown:
    shown: list[str] = []
    size = 0
    for line in lines:
        size += len(f"- {line}\n".encode())
        if size > DIGEST_MAX_BYTES:
            break
        shown.append(line)
    text = "\n".join(f"- {line}" for line in shown)
    if len(lines) > len(shown):
        text += f"\n- …还有 {len(lines) - len(shown)} 条，发送「我的线索」查看"
    return Markdown(title=f"🔔 {len(lines)} 条跟进提醒", text=f"**🔔 {len(lines)} 条跟进提醒**\n{text}")


def frozen_text(lead: Lead) -> str:
    reason = (lead.extra or {}).get("frozen", {}).get("reason", "多次超时未跟进")
    return FROZEN_TEXT.format(label=lead_label(lead), reason=user_text(reason))


# -- renewal warnings (续约预警) ------------------------------------------------------------------------------
def renewal_reasons(contract: Contract, warning: RenewalWarning, today: date, quiet_days: int) -> str:
    """Why the warning fired, in figures: the end date, the silence on payments, the health."""
    left = (contract.end_on - today).days
    paid = (f"最近一次回款在 {warning.last_paid_on.isoformat()}" if warning.last_paid_on else "没有回款记录")
    how = "导入" if warning.health_source == "imported" else "按跟进、回款和风险标记计算"
    return (f"合同 {contract.end_on.isoformat()} 到期（还剩 {max(left, 0)} 天），近 {quiet_days} 天没有回款"
            f"（{paid}），客户健康分 {warning.health}（{how}）。")


def renewal_fields(contract: Contract, warning: RenewalWarning) -> tuple[Field, ...]:
    return (Field("合同金额", f"{contract.amount_cny:,} 元"),
            Field("合同期", f"{contract.start_on.isoformat()} 至 {contract.end_on.isoformat()}"),
            Field("最近回款", warning.last_paid_on.isoformat() if warning.last_paid_on else "无"),
            Field("健康分", str(warning.health)))


def renewal_card(lead: Lead, contract: Contract, warning: RenewalWarning, today: date, quiet_days: int, *,
                 owner_name: str, for_manager: bool) -> Note:
    """The 续约预警 card: to the owner (已联系 / 提交续签证明 / 申请主管介入) and to the manager, whose last button
    lifts the lock instead."""
    whose = f"{user_text(owner_name)} 的客户" if for_manager else "你的客户"
    lock = ("该负责人对这个客户其他线索的操作已锁定，提交续签证明或你解除锁定后恢复。" if for_manager else
            "在提交续签证明（续签合同或回款凭证）之前，这个客户的其他线索操作已锁定。")
    last = (Button(RenewalLift(warning.id).pack(), "解除锁定", "danger") if for_manager
            else Button(RenewalHelp(warning.id).pack(), "申请主管介入"))
    card = Card(
        title="⚠️ 续约预警",
        description=f"{whose} {lead_label(lead)}：{renewal_reasons(contract, warning, today, quiet_days)}{lock}",
        fields=renewal_fields(contract, warning),
        buttons=(Button(RenewalContacted(warning.id).pack(), "已联系", "primary"),
                 Button(RenewalProof(warning.id).pack(), "提交续签证明"), last),
        card_id=f"ren{warning.id}{'m' if for_manager else ''}",
    )
    return Note(card, f"⚠️ 续约预警：{lead_label(lead)}，合同 {contract.end_on.isoformat()} 到期")


def renewal_overdue(lead: Lead, warning_id: int, miss: int, next_due: datetime | None) -> Note:
    """The ladder's reminder to the owner while the warning has no answer."""
    then = f"{fmt_cn(next_due)} 仍未处理将" + ("抄送主管" if miss < 2 else "升级给主管") if next_due else ""
    card = Card(title=f"⚠️ 续约预警未处理（第{miss}次）",
                description=f"客户 {lead_label(lead)} 的续约预警还没有处理：请联系客户后点「已联系」，"
                            f"或提交续签证明。",
                fields=(Field("下次升级", then),) if then else (),
                buttons=(Button(RenewalContacted(warning_id).pack(), "已联系", "primary"),
                         Button(RenewalProof(warning_id).pack(), "提交续签证明")),
                card_id=f"ren{warning_id}r{miss}")
    return Note(card, f"⚠️ 续约预警未处理（第{miss}次）：{lead_label(lead)}")


def renewal_cc(lead: Lead, owner_name: str, miss: int) -> Note:
    text = f"{user_text(owner_name)} 的客户 {lead_label(lead)} 续约预警已第{miss}次未处理。"
    return Note(Card(title="📋 抄送：续约预警未处理", description=text, note="仍未处理将升级请你介入"),
                f"📋 抄送：{text}")


def renewal_escalated(lead: Lead, warning_id: int, owner_name: str, asked: bool) -> Note:
    """To the manager: the owner asked for help (申请主管介入), or the ladder reached its top."""
    why = "申请主管介入" if asked else "多次提醒仍未处理"
    card = Card(title="🆘 续约预警需要你介入",
                description=f"{user_text(owner_name)} 的客户 {lead_label(lead)} 续约预警{why}。"
                            f"可以亲自联系客户、提交续签证明，或解除对负责人的锁定。",
                buttons=(Button(RenewalContacted(warning_id).pack(), "已联系", "primary"),
                         Button(RenewalProof(warning_id).pack(), "提交续签证明"),
                         Button(RenewalLift(warning_id).pack(), "解除锁定", "danger")),
                card_id=f"ren{warning_id}h")
    return Note(card, f"🆘 续约预警需要介入：{lead_label(lead)}")
