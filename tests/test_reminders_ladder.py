"""The escalation ladder through `salesbot chat`: warning, L1, L2 (+CC), L3 freeze + manager card,
and the manager's 接手 / 改派 / 延期 including wrong user, double click and stale cards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.chat import ChatSession
from bot.clock import CN_TZ, ManualClock
from bot.services import Services
from reminders.lifecycle import frozen_message, is_frozen, on_lead_closed
from storage.models import AuditLog, Lead
from tests.conftest import Transcript
from tests.test_reminders_support import activity_kinds, click, get_lead, make_lead, timers


def cards(transcript: Transcript, user: str) -> list[dict[str, Any]]:
    return [m for m in transcript.to(user) if m["kind"] == "card"]


def bot_messages(transcript: Transcript, user: str) -> list[dict[str, Any]]:
    return [m for m in transcript.to(user) if m["kind"] != "info"]


def button(message: dict[str, Any], text: str) -> str:
    return next(b["key"] for b in message["buttons"] if b["text"] == text)


async def freeze_lead(chat: ChatSession, services: Services) -> int:
    """Monday 10:00 lead for rep01; 2 h steps: 12:00 L1, 14:00 L2, 16:00 L3 (frozen)."""
    lead_id = await make_lead(services)
    for _ in range(3):
        await chat.handle_line("/advance 2h")
    return lead_id


async def test_warning_then_ladder_to_freeze(chat: ChatSession, services: Services, transcript: Transcript) -> None:
    lead_id = await make_lead(services)
    await chat.handle_line("/advance 1h")
    assert cards(transcript, "rep01") == []
    await chat.handle_line("/advance 40m")  # 11:40, past the warning point (75 % of 2 h)
    warning = cards(transcript, "rep01")[-1]
    assert "即将到期" in warning["title"] and "12:00" in warning["text"]
    assert [b["text"] for b in warning["buttons"]] == ["稍后提醒(1小时)", "客户说下周再联系"]

    await chat.handle_line("/advance 30m")  # 12:10: first miss → rep only
    l1 = cards(transcript, "rep01")[-1]
    assert "已超时（第1次）" in l1["title"]
    assert transcript.to("manager01") == []

    await chat.handle_line("/advance 2h")  # 14:10: second miss → rep + CC manager
    assert "已超时（第2次）" in cards(transcript, "rep01")[-1]["title"]
    cc = transcript.last("manager01")
    assert "抄送" in cc["title"] and "张伟" in cc["text"] and cc["buttons"] == []

    await chat.handle_line("/advance 2h")  # 16:10: third miss → freeze, pool, card to the manager
    card = transcript.last("manager01")
    assert card["title"] == "🧊 线索已冻结，请处理"
    assert [b["text"] for b in card["buttons"]] == ["接手", "改派", "延期"]
    assert button(card, "接手").startswith(f"esc:take:{lead_id}:")
    assert "冻结" in transcript.last("rep01")["text"]
    lead = await get_lead(services, lead_id)
    assert lead.status == "frozen" and lead.owner_id is None and lead.timeout_count == 3
    assert is_frozen(lead) and "等待主管处理" in frozen_message(lead)
    assert await timers(services, lead_id) != []  # stall/dormancy rows stay; SLA rows are cancelled
    assert {t.rule for t in await timers(services, lead_id)} == {"dormancy"}
    kinds = await activity_kinds(services, lead_id)
    assert kinds.count("sla_breach") == 3 and "sla_warning" in kinds and kinds[-1] == "freeze"

    await chat.handle_line("/advance 1d")  # nothing else fires for a frozen lead
    assert transcript.last("manager01") == card


async def test_take_over_wrong_user_double_click(chat: ChatSession, services: Services,
                                                 transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    take = button(transcript.last("manager01"), "接手")

    await click(chat, "manager02", take)
    assert "已不存在或按钮已失效" in transcript.last("manager02")["text"]  # nothing about another team leaks
    await click(chat, "rep01", take)
    assert "已不存在或按钮已失效" in transcript.last("rep01")["text"]
    assert (await get_lead(services, lead_id)).status == "frozen"

    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 接手")
    updates = [m for m in transcript.to("manager01") if m["kind"] == "card_update"]
    assert updates and updates[-1]["text"] == "已由 王经理 接手"
    lead = await get_lead(services, lead_id)
    assert lead.status == "active" and lead.owner_id == "manager01" and lead.frozen_at is None
    assert {t.rule for t in await timers(services, lead_id)} >= {"first_contact", "stage_stall"}
    assert "王经理 接手" in transcript.last("rep01")["text"]

    before = len(transcript)
    await click(chat, "manager01", take)
    assert len(transcript) == before + 1 and "已由 王经理 接手，无需重复操作" in transcript.last("manager01")["text"]
    assert (await get_lead(services, lead_id)).owner_id == "manager01"
    assert "takeover" in await activity_kinds(services, lead_id)


async def test_reassign_by_text_goes_through_the_freeze(chat: ChatSession, services: Services,
                                                       transcript: Transcript) -> None:
    """「改派 N rep02」 on a frozen lead does what the freeze card's 改派 does: the escalation is settled (its buttons
    answer 已处理), the rep the freeze took it from is told, and handing it straight back is refused."""
    lead_id = await freeze_lead(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"改派 {lead_id} rep01")
    assert "延期" in transcript.last("manager01")["text"] and (await get_lead(services, lead_id)).owner_id is None
    await chat.handle_line(f"改派 {lead_id} rep02")
    lead = await get_lead(services, lead_id)
    assert lead.owner_id == "rep02" and lead.status == "active"
    assert "改派" in transcript.last("rep02")["title"]
    assert "改派给 李娜" in transcript.last("rep01")["text"]
    freeze = next(m for m in reversed(cards(transcript, "manager01")) if m["title"] == "🧊 线索已冻结，请处理")
    await click(chat, "manager01", button(freeze, "接手"))  # the freeze card, clicked late
    assert "已由 王经理 改派给 李娜，无需重复操作" in transcript.last("manager01")["text"]
    assert (await get_lead(services, lead_id)).owner_id == "rep02"


async def test_reassign_picks_a_team_rep(chat: ChatSession, services: Services, transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 改派")
    picker = transcript.last("manager01")
    assert picker["title"] == "改派给谁？"
    # the engine's order with its reasons; 张伟, whose misses froze the lead, is not offered (延期 gives it back)
    assert [b["text"] for b in picker["buttons"]] == ["李娜", "刘洋"]
    assert "李娜：" in picker["text"] and "当前负荷 0/" in picker["text"]
    assert (await get_lead(services, lead_id)).status == "frozen"  # nothing changes until a rep is chosen
    await click(chat, "manager01", button(picker, "李娜").replace("rep02", "rep01"))
    assert "延期" in transcript.last("manager01")["text"] and (await get_lead(services, lead_id)).owner_id is None

    forged = button(picker, "李娜").replace("rep02", "rep04")  # not in manager01's team
    await click(chat, "manager01", forged)
    assert "团队" in transcript.last("manager01")["text"]

    await chat.handle_line("/click 李娜")
    lead = await get_lead(services, lead_id)
    assert lead.owner_id == "rep02" and lead.status == "active"
    assert lead.assign_reason.startswith("王经理 改派（冻结后）：") and "当前负荷" in lead.assign_reason
    told = transcript.last("rep02")
    assert "改派" in told["title"] and f"#{lead_id}" in told["text"]
    assert "改派给 李娜" in transcript.last("rep01")["text"]
    fc = [t for t in await timers(services, lead_id) if t.rule == "first_contact"]
    assert len(fc) == 1 and fc[0].level == 0  # a fresh first-contact chain for rep02

    await click(chat, "manager01", button(picker, "刘洋"))  # the picker is now stale
    assert "已由 王经理 改派给 李娜，无需重复操作" in transcript.last("manager01")["text"]
    assert (await get_lead(services, lead_id)).owner_id == "rep02"

    await chat.handle_line("/advance 1h40m")  # rep02 now gets the first-contact warning
    assert "即将到期" in transcript.last("rep02")["title"]
    await chat.handle_line("/advance 16h")  # next morning: rep02's first miss is their first, not the lead's 4th
    assert any("首次联系已超时（第1次）" in m["title"] + m["text"] for m in transcript.to("rep02"))
    assert (await get_lead(services, lead_id)).timeout_count == 4  # the lead's lifetime total stays


async def test_extend_gives_the_lead_back(chat: ChatSession, services: Services, transcript: Transcript,
                                          clock: ManualClock) -> None:
    clock.set(clock.now() + timedelta(days=4))  # Friday 11-27 10:00 → frozen 16:00
    lead_id = await freeze_lead(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 延期")
    assert "已由 王经理 延期 24 个工作小时：主管延期" in transcript.to("manager01")[-2]["text"]
    lead = await get_lead(services, lead_id)
    assert lead.status == "active" and lead.owner_id == "rep01"
    # 24 working hours from Friday 16:00: Friday 2 h, Monday 9 h, Tuesday 9 h, Wednesday 4 h
    told = transcript.last("rep01")["text"]
    assert "延期 24 个工作小时" in told and "12-02 13:00" in told
    fc = [t for t in await timers(services, lead_id) if t.rule == "first_contact"]
    assert len(fc) == 1 and fc[0].level == 0  # a fresh chain: the warning comes first
    assert fc[0].payload["deadline"] == datetime(2026, 12, 2, 13, tzinfo=CN_TZ).astimezone(UTC).isoformat()
    assert "extend" in await activity_kinds(services, lead_id)
    n = len(bot_messages(transcript, "rep01"))
    await chat.handle_line("/now 2026-11-28T16:10+08:00")  # Saturday: no breach, no message
    await chat.handle_line("/now 2026-11-30T17:00+08:00")
    assert len(bot_messages(transcript, "rep01")) == n
    await chat.handle_line("/now 2026-12-01T16:00+08:00")  # 18 of 24 working hours: the warning
    assert "即将到期" in cards(transcript, "rep01")[-1]["title"]
    await chat.handle_line("/now 2026-12-02T13:00+08:00")
    last = bot_messages(transcript, "rep01")[-1]  # merged with the stall warning that fell due at 12:15
    assert "首次联系已超时（第1次）" in last["title"] + last["text"]


async def test_extend_by_text_with_reason_and_admin(chat: ChatSession, services: Services,
                                                    transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    await chat.handle_line("/as rep01")
    await chat.handle_line(f"延期 {lead_id} 48 客户出差")
    assert "只有主管或管理员" in transcript.last("rep01")["text"]
    await chat.handle_line("/as admin01")
    await chat.handle_line(f"延期 {lead_id} 48 客户出差")
    assert "已延期 48 个工作小时" in transcript.last("admin01")["text"]
    assert "客户出差" in transcript.last("rep01")["text"]
    await chat.handle_line(f"延期 {lead_id} 48")  # back with its rep: the open step itself gets 48 h more
    assert "已延期 48 个工作小时" in transcript.last("admin01")["text"]
    await chat.handle_line("延期 abc")
    assert "用法" in transcript.last("admin01")["text"]


async def manager_extends(chat: ChatSession, services: Services, said: str) -> int:
    """A frozen lead, then manager01 types 「延期 <id> <said>」; returns the lead id."""
    lead_id = await freeze_lead(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"延期 {lead_id} {said}")
    return lead_id


@pytest.mark.parametrize(("said", "shown", "deadline"), [
    ("2天 客户出差", "2 个工作日", "11-25 16:00"),  # frozen Monday 16:00 → two working days later, same time
    ("两天 客户出差", "2 个工作日", "11-25 16:00"),
    ("3h 客户出差", "3 个工作小时", "11-24 10:00"),
])
async def test_extend_by_text_in_days_or_hours(chat: ChatSession, services: Services, transcript: Transcript,
                                               said: str, shown: str, deadline: str) -> None:
    await manager_extends(chat, services, said)
    assert f"已延期 {shown}" in transcript.last("manager01")["text"]
    rep = transcript.last("rep01")["text"]
    assert f"延期 {shown}（客户出差）" in rep and deadline in rep


async def test_extend_by_text_with_an_unreadable_duration_asks_again(chat: ChatSession, services: Services,
                                                                     transcript: Transcript) -> None:
    lead_id = await manager_extends(chat, services, "几周 客户出差")
    assert "没看懂时长「几周」" in transcript.last("manager01")["text"]
    assert (await get_lead(services, lead_id)).status == "frozen"  # nothing changed


async def test_stale_card_after_the_lead_closed(chat: ChatSession, services: Services,
                                                transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    take = button(transcript.last("manager01"), "接手")
    async with services.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        lead.status = "lost"
        await on_lead_closed(session, lead, services.clock.now())
    await click(chat, "manager01", take)
    assert "已过期" in transcript.last("manager01")["text"]
    assert (await get_lead(services, lead_id)).status == "lost"
    await click(chat, "manager01", "esc:take:99999:1")
    assert "不存在" in transcript.last("manager01")["text"]
    await click(chat, "manager01", "esc:take:x")
    assert "失效" in transcript.last("manager01")["text"]


async def test_snooze_is_bounded_and_audited(chat: ChatSession, services: Services, transcript: Transcript) -> None:
    lead_id = await make_lead(services)
    await chat.handle_line("/advance 1h40m")  # 11:40 warning
    warning = cards(transcript, "rep01")[-1]
    await click(chat, "rep02", button(warning, "稍后提醒(1小时)"))
    assert "已不存在或按钮已失效" in transcript.last("rep02")["text"]  # as if there were no such card

    await chat.handle_line("/click 稍后提醒(1小时)")
    assert "推迟 1 小时" in transcript.to("rep01")[-1]["text"]
    await chat.handle_line("/advance 50m")  # 12:30: the breach moved to 13:00
    assert not any("已超时" in c["title"] for c in cards(transcript, "rep01"))
    await chat.handle_line("/advance 30m")
    assert "已超时（第1次）" in cards(transcript, "rep01")[-1]["title"]

    l1 = cards(transcript, "rep01")[-1]
    snooze_key = button(l1, "稍后提醒(1小时)")
    await click(chat, "rep01", snooze_key.rsplit(":", 1)[0] + ":23.5")  # 1 + 23.5 > 24 h
    assert "最多只能累计推迟 24 小时" in transcript.last("rep01")["text"]
    await click(chat, "rep01", snooze_key.rsplit(":", 1)[0] + ":23")
    assert "推迟 23 小时" in transcript.last("rep01")["text"]
    await click(chat, "rep01", snooze_key)
    assert "最多只能累计推迟 24 小时" in transcript.last("rep01")["text"]
    from tests.test_reminders_support import count

    assert await count(services, AuditLog, AuditLog.action == "reminder.snooze") == 2
    assert (await activity_kinds(services, lead_id)).count("snooze") == 2


async def test_pause_until_next_week(chat: ChatSession, services: Services, transcript: Transcript,
                                     clock: ManualClock) -> None:
    lead_id = await make_lead(services)
    await chat.handle_line("/advance 1h40m")  # Monday 11:40 warning, 20 min before the 12:00 breach
    await chat.handle_line("/click 客户说下周再联系")
    assert "暂停到 11-30 09:00" in transcript.last("rep01")["text"]
    lead = await get_lead(services, lead_id)
    assert lead.extra["paused"]["reason"] == "客户说下周再联系"
    n = len(bot_messages(transcript, "rep01"))
    await chat.handle_line("/advance 4d")  # Friday: silence
    assert len(bot_messages(transcript, "rep01")) == n
    await chat.handle_line("/now 2026-11-30T09:05+08:00")
    assert "客户说下周再联系" in bot_messages(transcript, "rep01")[-1]["text"]  # the follow-up reminder
    await chat.handle_line("/now 2026-11-30T09:25+08:00")  # 20 working minutes left → breach at 09:20
    assert "已超时（第1次）" in cards(transcript, "rep01")[-1]["title"]
    assert "pause" in await activity_kinds(services, lead_id)


async def test_pause_cannot_be_stacked_or_repeated_without_end(chat: ChatSession, services: Services,
                                                               transcript: Transcript) -> None:
    lead_id = await make_lead(services)
    await chat.handle_line("/advance 1h40m")  # Monday 11:40 warning
    pause_key = button(cards(transcript, "rep01")[-1], "客户说下周再联系")
    await click(chat, "rep01", pause_key)
    before = [(t.rule, t.due_at) for t in await timers(services, lead_id)]
    await click(chat, "rep01", pause_key)  # the same card again, same week
    assert "已暂停到 11-30 09:00" in transcript.last("rep01")["text"]
    assert [(t.rule, t.due_at) for t in await timers(services, lead_id)] == before
    assert (await activity_kinds(services, lead_id)).count("pause") == 1

    await chat.handle_line("/now 2026-11-30T09:05+08:00")  # the pause ended: the follow-up reminder
    await chat.handle_line("/now 2026-11-30T09:25+08:00")  # then the first miss
    l1 = cards(transcript, "rep01")[-1]
    assert "已超时（第1次）" in l1["title"]
    await click(chat, "rep01", button(l1, "客户说下周再联系"))  # a second pause of this chain is allowed
    assert "暂停到 12-07 09:00" in transcript.last("rep01")["text"]
    await chat.handle_line("/now 2026-12-07T09:05+08:00")
    await click(chat, "rep01", button(l1, "客户说下周再联系"))  # the old card once more: the bound holds
    assert "不能再暂停" in transcript.last("rep01")["text"]
    assert (await activity_kinds(services, lead_id)).count("pause") == 2


async def _depart(services: Services, user_id: str, manager_id: str | None = None) -> None:
    from storage.models import User

    async with services.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.active, user.manager_id = False, manager_id


async def test_a_departed_manager_hands_the_freeze_card_up(chat: ChatSession, services: Services,
                                                           transcript: Transcript) -> None:
    await _depart(services, "manager01", manager_id="manager02")  # manager01 left; manager02 is above
    lead_id = await freeze_lead(chat, services)
    assert not any(m["kind"] == "card" for m in transcript.to("manager01"))
    assert any("抄送" in m["title"] for m in transcript.to("manager02"))  # the L2 CC went up too
    card = transcript.last("manager02")
    assert card["title"] == "🧊 线索已冻结，请处理"
    await click(chat, "manager02", button(card, "接手"))
    lead = await get_lead(services, lead_id)
    assert lead.status == "active" and lead.owner_id == "manager02"


async def test_without_an_active_manager_the_admins_get_the_card(chat: ChatSession, services: Services,
                                                                 transcript: Transcript) -> None:
    await _depart(services, "manager01")
    lead_id = await freeze_lead(chat, services)
    card = transcript.last("admin01")
    assert card["title"] == "🧊 线索已冻结，请处理"
    await click(chat, "admin01", button(card, "接手"))
    assert (await get_lead(services, lead_id)).owner_id == "admin01"


async def card_updates(services: Services, user: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from bot.usertext import plain
    from storage.models import OutboxMessage

    async with services.db.session() as session:
        rows = await session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.recipient == user, OutboxMessage.kind == "card_update").order_by(OutboxMessage.id))
        return [(p["card_ref"], plain(p["text"])) for p in rows.scalars()]  # as shown: user-text marks dropped


async def test_reassign_also_closes_the_freeze_card(chat: ChatSession, services: Services,
                                                    transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    freeze = transcript.last("manager01")
    rid = button(freeze, "接手").rsplit(":", 1)[1]
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 改派")
    await chat.handle_line("/click 李娜")
    assert await card_updates(services, "manager01") == [(f"pick{rid}", "已由 王经理 改派给 李娜"),
                                                         (f"esc{rid}", "已由 王经理 改派给 李娜")]
    assert (await get_lead(services, lead_id)).owner_id == "rep02"


async def test_extend_by_text_closes_the_freeze_card_behind_an_abandoned_picker(
        chat: ChatSession, services: Services, transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    rid = button(transcript.last("manager01"), "接手").rsplit(":", 1)[1]
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 改派")  # then changes their mind and types 延期
    await chat.handle_line(f"延期 {lead_id} 8 客户出差")
    assert await card_updates(services, "manager01") == [(f"esc{rid}", "已由 王经理 延期 8 个工作小时：客户出差")]


async def test_a_frozen_lead_closed_by_the_manager_no_longer_reads_frozen(chat: ChatSession, services: Services,
                                                                         transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"输单 {lead_id} 客户取消了项目")
    await chat.handle_line("/click 确认输单")
    assert (await get_lead(services, lead_id)).status == "lost"
    await chat.handle_line("/as rep01")
    await chat.handle_line(f"线索 {lead_id}")
    assert "找不到线索" in transcript.last("rep01")["text"] and "冻结" not in transcript.last("rep01")["text"]


async def test_a_team_head_without_the_manager_role_answers_the_freeze_card(chat: ChatSession, services: Services,
                                                                           transcript: Transcript) -> None:
    """The card goes to the frozen rep's manager whatever their role (supervisors_of) and bot/org.manages lets them
    act on it: why the freeze card's routes declare no roles (handlers/chat/escalation.py)."""
    from storage.models import User

    async with services.db.session() as session:
        head = await session.get(User, "manager01")
        assert head is not None
        head.role = "rep"
    lead_id = await freeze_lead(chat, services)
    card = transcript.last("manager01")
    assert card["title"] == "🧊 线索已冻结，请处理"
    await click(chat, "manager02", button(card, "接手"))  # another team's manager: as if there were no card
    assert "已不存在或按钮已失效" in transcript.last("manager02")["text"]
    await click(chat, "manager01", button(card, "接手"))
    assert (await get_lead(services, lead_id)).owner_id == "manager01"
