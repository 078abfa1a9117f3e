"""Offboarding: the leaver stays out (no reactivation at the next start, no access), and everything open of theirs
— open leads, frozen pool leads taken from them, drafts — is handed over and listed."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.chat import ChatSession
from bot.config import OrgUser
from bot.org import DEMO_ORG, seed_org
from bot.services import Services
from storage.models import Lead, User
from tests.conftest import Transcript, run_cli
from tests.leads_helpers import cn, get_lead, seed_lead


async def _seed(services: Services) -> dict[str, int]:
    ids = {
        "open": await seed_lead(services, "rep03", assigned_at=cn(20, 10), customer_name="开", phone="13700000001"),
        "won": await seed_lead(services, "rep03", status="won", stage="close", assigned_at=cn(12, 10),
                               customer_name="赢"),
        "frozen": await seed_lead(services, None, status="frozen", assigned_at=cn(20, 10), customer_name="冻",
                                  extra={"frozen": {"prev_owner": "rep03", "rule": "first_contact"}}),
        "draft": await seed_lead(services, None, status="draft", customer_name="稿"),
    }
    async with services.db.session() as s:
        draft = await s.get(Lead, ids["draft"])
        assert draft is not None
        draft.created_by = "rep03"
    return ids


async def test_offboard_hands_over_everything_open(services: Services, capsys: object) -> None:
    ids = await _seed(services)
    rc = await asyncio.to_thread(run_cli, services.settings.database.url, "org", "offboard", "rep03", "--to",
                                 "rep01", "--now", "2026-11-23T10:00+08:00")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert rc == 0
    assert "刘洋 的 3 条线索已转给 张伟" in out
    assert f"#{ids['open']} 开" in out and f"#{ids['frozen']} 冻" in out and f"#{ids['draft']} 稿" in out
    frozen, draft, won = [await get_lead(services, ids[k]) for k in ("frozen", "draft", "won")]
    assert (frozen.owner_id, frozen.status) == ("rep01", "active") and "frozen" not in frozen.extra
    assert (draft.created_by, draft.status) == ("rep01", "draft")
    assert won.owner_id == "rep03"  # history stays with who won it (counted for the team, hidden from the leaver)


async def test_a_leaving_managers_team_reports_to_the_successor(services: Services) -> None:
    """Offboarding manager01 to manager02 must not orphan rep01–rep03 (nobody would see their leads)."""
    lead = await seed_lead(services, "rep01", assigned_at=cn(20, 10), customer_name="甲")
    rc = await asyncio.to_thread(run_cli, services.settings.database.url, "org", "offboard", "manager01", "--to",
                                 "manager02", "--now", "2026-11-23T10:00+08:00")
    assert rc == 0
    async with services.db.session() as s:
        managers = dict((await s.execute(select(User.id, User.manager_id).where(
            User.id.in_(["rep01", "rep02", "rep03", "rep04"])))).all())
    assert managers == {"rep01": "manager02", "rep02": "manager02", "rep03": "manager02", "rep04": "manager02"}
    assert (await get_lead(services, lead)).owner_id == "rep01"  # the rep keeps the lead


async def test_offboarded_user_is_not_reactivated_and_gets_nothing(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    ids = await _seed(services)
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "org", "offboard", "rep03", "--to",
                                   "rep01") == 0
    config_users = [OrgUser(u.id, u.name, u.role, u.manager, u.region) for u in DEMO_ORG]
    await seed_org(services.db, config_users, False, cn(23, 10))  # the next start, [[org.users]] unchanged
    async with services.db.session() as s:
        assert (await s.get(User, "rep03")).active is False  # type: ignore[union-attr]
        assert (await s.get(User, "rep01")).active is True  # type: ignore[union-attr]
    await chat.handle_line("/as rep03")
    for line in (f"线索 {ids['won']}", "我的线索", "新线索 王五 某工厂 13700000009"):
        await chat.handle_line(line)
        assert "联系管理员" in transcript.last("rep03")["text"]
    text = "\n".join(transcript.texts("rep03"))
    assert "赢" not in text and "13700000001" not in text
    async with services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Lead))).scalar_one() == 4
