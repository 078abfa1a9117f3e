"""Web console team pages over HTTP: lead actions through the chat handlers, reach, outbox, calendar, members."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from sqlalchemy import select

from app.chat import ChatSession
from bot.messages import Outbound, Text
from bot.outbox import enqueue
from bot.services import Services
from bot.usertext import plain
from storage.models import AuditLog, CalendarOverride, OutboxMessage, RenewalWarning, User
from tests.conftest import Transcript, run_cli
from tests.console_support import csrf, csrf_of, login, start_client
from tests.leads_helpers import get_lead
from tests.renewals_helpers import seed_customers, write_files
from tests.test_reminders_support import make_lead


@pytest.fixture
async def client(services: Services) -> Any:
    client = await start_client(services)
    yield client
    await client.close()


async def _outbox_to(services: Services, user: str) -> list[OutboxMessage]:
    async with services.db.session() as session:
        return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user)
                                          .order_by(OutboxMessage.id)))


async def test_reassign_from_the_lead_page_tells_the_new_owner(services: Services, client: Any) -> None:
    lead_id = await make_lead(services, "rep01", customer_name="陈经理", company="远航物流")
    await login(client, services, "manager01")
    page = await (await client.get(f"/admin/leads/{lead_id}")).text()
    assert "陈经理" in page and "改派给" in page
    done = await client.post(f"/admin/leads/{lead_id}", data={"_csrf": csrf_of(page), "action": "reassign",
                                                                "rep": "rep02"})
    text = await done.text()
    assert done.status == 200 and "已改派给" in text
    assert (await get_lead(services, lead_id)).owner_id == "rep02"
    told = await _outbox_to(services, "rep02")
    assert [m.payload["title"] for m in told] == ["📌 改派给你的线索"]
    assert f"#{lead_id}" in told[0].payload["description"]
    assert "已由 王经理 改派给 李娜" in plain((await _outbox_to(services, "rep01"))[-1].payload["text"])
    assert await _outbox_to(services, "manager01") == []  # the manager's answer is the page, not a chat message
    async with services.db.session() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "console.lead.reassign"))).one()
    assert audit.actor_id == "manager01" and audit.detail["ok"] is True


async def test_another_teams_lead_by_url_is_refused_and_unchanged(services: Services, client: Any,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    lead_id = await make_lead(services, "rep01")  # manager01's team
    await login(client, services, "manager02")
    page = await client.get(f"/admin/leads/{lead_id}")
    assert page.status == 404 and "不在你的团队范围内" in await page.text()
    token = await csrf(client, "/admin/leads")
    post = await client.post(f"/admin/leads/{lead_id}", data={"_csrf": token, "action": "reassign", "rep": "rep04"})
    assert post.status == 404
    assert (await get_lead(services, lead_id)).owner_id == "rep01"
    assert "outside their reach" in caplog.text
    listing = await (await client.get("/admin/leads?status=all")).text()
    assert f"/admin/leads/{lead_id}\"" not in listing


async def test_take_over_and_extend_a_frozen_lead(services: Services, chat: ChatSession, client: Any,
                                                  transcript: Transcript) -> None:
    lead_id = await make_lead(services, "rep01")
    for _ in range(3):
        await chat.handle_line("/advance 2h")
    assert (await get_lead(services, lead_id)).status == "frozen"
    await login(client, services, "manager01")
    page = await (await client.get(f"/admin/leads/{lead_id}")).text()
    assert "接手" in page and "延期" in page
    extended = await client.post(f"/admin/leads/{lead_id}", data={"_csrf": csrf_of(page), "action": "extend",
                                                                    "hours": "16", "reason": "客户出差"})
    assert extended.status == 200 and "延期" in await extended.text()
    lead = await get_lead(services, lead_id)
    assert lead.status == "active" and lead.owner_id == "rep01"


async def test_take_over_a_frozen_lead(services: Services, chat: ChatSession, client: Any) -> None:
    lead_id = await make_lead(services, "rep01")
    for _ in range(3):
        await chat.handle_line("/advance 2h")
    await login(client, services, "manager01")
    token = await csrf(client, f"/admin/leads/{lead_id}")
    taken = await client.post(f"/admin/leads/{lead_id}", data={"_csrf": token, "action": "take"})
    assert taken.status == 200 and "已由你接手" in await taken.text()
    lead = await get_lead(services, lead_id)
    assert lead.status == "active" and lead.owner_id == "manager01"


async def _dead_letter(services: Services, to: str) -> int:
    now = services.clock.now()
    async with services.db.session() as session:
        await enqueue(session, [Outbound(to, Text("季度回访提醒"), channel="console", dedup_key="t:dead")], now,
                      "console")
        row = (await session.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key == "t:dead"))).one()
        row.status, row.attempts, row.last_error = "dead", 24, "errcode 40014: invalid access_token [needs_admin]"
        return row.id


async def test_dead_letters_can_be_retried_or_discarded(services: Services, client: Any,
                                                        transcript: Transcript) -> None:
    row_id = await _dead_letter(services, "rep03")
    await login(client, services, "admin01")
    page = await (await client.get("/admin/outbox")).text()
    assert "季度回访提醒" in page and "渠道配置有问题，需要管理员处理（平台错误码 40014）" in page
    assert "invalid access_token" not in page  # the raw platform error stays in the log
    done = await client.post("/admin/outbox", data={"_csrf": csrf_of(page), "action": "retry", "id": str(row_id)})
    assert done.status == 200 and "已重新发送 1 条" in await done.text()
    await services.outbox.drain()
    assert "季度回访提醒" in transcript.texts("rep03")[-1]
    again = await client.post("/admin/outbox", data={"_csrf": csrf_of(page), "action": "discard", "id": str(row_id)})
    assert "已丢弃 0 条" in await again.text()  # delivered now: nothing dead to discard


async def test_calendar_day_off_goes_through_the_chat_rule(services: Services, client: Any) -> None:
    await login(client, services, "admin01")
    token = await csrf(client, "/admin/calendar")
    done = await client.post("/admin/calendar", data={"_csrf": token, "day": "2026-12-31", "kind": "off",
                                                      "note": "年会"})
    assert done.status == 200 and "2026-12-31 已设为休息日" in await done.text()
    async with services.db.session() as session:
        row = (await session.scalars(select(CalendarOverride))).one()
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "calendar.override"))).one()
    assert row.is_workday is False and row.note == "年会" and audit.actor_id == "admin01"


async def test_members_import_and_manager_sees_own_team(services: Services, client: Any) -> None:
    await login(client, services, "admin01")
    token = await csrf(client, "/admin/members")
    form = FormData()
    form.add_field("file", io.BytesIO("id,name,role,manager\nrep09,林小雨,rep,manager02\n".encode()),
                   filename="team.csv")
    help_text = await (await client.get("/admin/members")).text()
    assert "表头：工号、姓名、角色" in help_text and "name/" not in help_text
    done = await client.post(f"/admin/members/import?_csrf={token}", data=form)
    assert done.status == 200 and "已导入 1 位成员" in await done.text()
    async with services.db.session() as session:
        assert (await session.get(User, "rep09")).manager_id == "manager02"  # type: ignore[union-attr]
    client.session.cookie_jar.clear()
    await login(client, services, "manager01")
    page = await (await client.get("/admin/members")).text()
    text = re.sub(r"<[^>]+>", " ", page)  # what the manager reads: names, no ids (audit 16c)
    assert "张伟" in text and "林小雨" not in text and "杨静" not in text and "rep01" not in text


async def test_team_board_is_the_managers_own_team(services: Services, client: Any) -> None:
    await make_lead(services, "rep01", customer_name="周主任")
    await make_lead(services, "rep04", customer_name="吴院长")
    services.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    await login(client, services, "manager01")
    page = await (await client.get("/admin/team")).text()
    assert "团队看板" in page and "rep05" not in page
    leads = await (await client.get("/admin/leads")).text()
    assert "周主任" in leads and "吴院长" not in leads
    chart = await client.get("/admin/team/chart.png")
    assert chart.status == 200 and (await chart.read())[:4] == b"\x89PNG"


async def test_offboard_hands_leads_over_with_the_chat_notice(services: Services, client: Any) -> None:
    lead_id = await make_lead(services, "rep02", customer_name="孙主任")
    await login(client, services, "admin01")
    token = await csrf(client, "/admin/members")
    done = await client.post("/admin/members/offboard", data={"_csrf": token, "user": "rep02", "to": "rep03"})
    assert done.status == 200 and "已办理离职交接：1 条线索" in await done.text()
    assert (await get_lead(services, lead_id)).owner_id == "rep03"
    async with services.db.session() as session:
        assert (await session.get(User, "rep02")).active is False  # type: ignore[union-attr]
    notice = (await _outbox_to(services, "rep03"))[-1]
    assert notice.payload["title"] == "📋 线索交接清单" and "孙主任" in notice.payload["text"]
    same = await client.post("/admin/members/offboard", data={"_csrf": token, "user": "rep03", "to": "rep03"})
    assert "没有交接" in await same.text()


async def test_taxonomy_synonym_and_merge(services: Services, client: Any) -> None:
    from tests.console_support import seed_cards

    await seed_cards(services)
    await login(client, services, "admin01")
    token = await csrf(client, "/admin/taxonomy")
    done = await client.post("/admin/taxonomy", data={"_csrf": token, "action": "synonym", "axis": "industry",
                                                       "word": "中小学", "value": "教育"})
    assert done.status == 200 and "已添加同义词：「中小学」→ 教育" in await done.text()
    merged = await client.post("/admin/taxonomy", data={"_csrf": token, "action": "merge", "axis": "objection",
                                                         "word": "预算", "value": "价格"})
    assert "1 张卡片已更新" in await merged.text()
    async with services.db.session() as session:
        from storage.models import KnowledgeCard

        assert (await session.get(KnowledgeCard, "W1")).objection == "价格"  # type: ignore[union-attr]
        audit = list(await session.scalars(select(AuditLog.action).where(AuditLog.action.like("kb.taxonomy.%"))))
    assert audit == ["kb.taxonomy.synonym", "kb.taxonomy.merge"]


async def test_lifting_a_renewal_lock_on_the_console_tells_the_owner_once(services: Services, client: Any,
                                                                         tmp_path: Path) -> None:
    """解除锁定 on 续约 is chat's use case: the same answer on the page, the owner's 🔓 message written with the
    lift, and a second lift changes nothing."""
    ids = await seed_customers(services)
    await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import",
                            *map(str, write_files(tmp_path)), "--now", "2026-11-23T10:00+08:00")
    async with services.db.session() as session:
        warning = (await session.scalars(select(RenewalWarning).where(RenewalWarning.lead_id == ids["li"]))).one()
    assert warning.locked
    await login(client, services, "manager01")
    page = await (await client.post(f"/admin/renewals/{warning.id}",
                                    data={"_csrf": await csrf(client, "/admin/renewals")})).text()
    assert f"已解除客户 李明（线索 #{ids['li']}）的续约预警锁定，负责人可以继续操作。" in page
    told = [row for row in await _outbox_to(services, "rep01") if row.dedup_key == f"renewal:{warning.id}:lifted"]
    assert len(told) == 1 and "🔓" in told[0].payload["text"]
    async with services.db.session() as session:
        lifted = await session.get(RenewalWarning, warning.id)
        assert lifted is not None and (lifted.status, lifted.locked, lifted.resolved_by) == ("lifted", False,
                                                                                            "manager01")
    again = await (await client.post(f"/admin/renewals/{warning.id}",
                                     data={"_csrf": await csrf(client, "/admin/renewals")})).text()
    assert "这条续约预警已经没有锁定了。" in again
    assert len([r for r in await _outbox_to(services, "rep01") if r.dedup_key.endswith(":lifted")]) == 1


async def test_take_over_on_the_console_at_night_reaches_the_rep_at_nine(services: Services, chat: ChatSession,
                                                                        client: Any, transcript: Transcript) -> None:
    """The console's 接手 holds the rep's message for their working hours, as chat's does; the freeze card in the
    manager's chat shows who took it."""
    lead_id = await make_lead(services, "rep01")  # Monday 10:00; frozen at 16:00, card to manager01
    for _ in range(3):
        await chat.handle_line("/advance 2h")
    await chat.handle_line("/now 2026-11-23T22:00+08:00")
    await login(client, services, "manager01")
    token = await csrf(client, f"/admin/leads/{lead_id}")
    taken = await client.post(f"/admin/leads/{lead_id}", data={"_csrf": token, "action": "take"})
    assert "已由你接手" in await taken.text()
    await chat.handle_line("/advance 1m")
    assert not [m for m in transcript.to("rep01") if "接手" in f"{m['title']}{m['text']}"]
    await chat.handle_line("/now 2026-11-24T09:00+08:00")
    told = [m for m in transcript.to("rep01") if "接手" in f"{m['title']}{m['text']}"]
    assert len(told) == 1 and "王经理 接手" in told[0]["text"]


async def test_team_board_keeps_its_once_a_minute_promise(services: Services, client: Any) -> None:
    """A board computed 5 minutes ago is not shown as current (audit 16c: 「每分钟更新」 with old figures)."""
    await login(client, services, "manager01")
    await make_lead(services, "rep01", customer_name="周主任")
    first = await (await client.get("/admin/team")).text()
    assert re.search(r"在跟线索<b>1</b>", first) and "每分钟更新" in first
    await make_lead(services, "rep02", customer_name="郑老师")
    services.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    later = await (await client.get("/admin/team")).text()
    assert re.search(r"在跟线索<b>2</b>", later) and "每分钟更新" in later
