"""Router resolution and the dispatcher's promises: one handler, clear answers, no half-writes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.chat import ChatSession
from bot.actions import ConfirmOffboard, ViewLead
from bot.context import Context
from bot.messages import Inbound, Text
from bot.org import OrgError, import_users_file
from bot.router import Router, normalize_text
from bot.services import Services
from storage.models import AuditLog, User
from tests.conftest import Transcript


def test_normalize_handles_full_width_and_spaces() -> None:
    assert normalize_text("  跟进　１２　 已电话 ") == "跟进 12 已电话"


def test_a_misspelt_lead_policy_fails_when_the_route_is_registered() -> None:
    """A typo once registered and let every visible lead through (no frozen, closed or renewal refusal)."""
    router: Router[Context] = Router("t")
    with pytest.raises(ValueError, match="opne"):
        router.card_action(ViewLead, lead="opne")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lead_id"):
        router.card_action(ConfirmOffboard, lead="open")  # an action on people, not on a lead
    router.card_action(ViewLead, lead="open")  # the real policies register


async def test_command_words_need_a_boundary(services: Services) -> None:
    router = Router("t")

    @router.command("跟进")
    async def follow(ctx: Context, msg: Inbound) -> None: ...

    @router.text()
    async def ask(ctx: Context, msg: Inbound) -> None: ...

    def inbound(text: str) -> Inbound:
        return Inbound("console", "rep01", "1", "text", services.clock.now(), text=text)

    assert (await router.resolve(None, inbound("跟进 12 好"))).handler is follow  # type: ignore[arg-type,union-attr]
    assert (await router.resolve(None, inbound("跟进12"))).handler is follow  # type: ignore[arg-type,union-attr]
    assert (await router.resolve(None, inbound("跟进策略怎么写"))).handler is ask  # type: ignore[arg-type,union-attr]


async def test_unknown_command_gets_a_hint(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    services.router.fallback = None  # no knowledge fallback: plain unknown text
    await chat.handle_line("啦啦啦")
    assert "帮助" in transcript.last("rep01")["text"]


async def test_handler_exception_becomes_short_reply_and_rolls_back(
    chat: ChatSession, transcript: Transcript, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    @services.router.command("炸")
    async def boom(ctx: Context, msg: Inbound) -> None:
        session = await ctx.db()
        session.add(AuditLog(actor_id="rep01", action="half", target=None, detail={}, created_at=ctx.now()))
        ctx.reply(Text("不该发出"))
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.ERROR):
        await chat.handle_line("炸")
    assert [m["text"] for m in transcript.to("rep01")] == ["出错了，已记录。请稍后再试。"]
    assert any("kaboom" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    async with services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(AuditLog))).scalar_one() == 0


async def test_role_restricted_route_refuses_reps(chat: ChatSession, transcript: Transcript,
                                                  services: Services) -> None:
    @services.router.command("清库", roles={"admin"})
    async def wipe(ctx: Context, msg: Inbound) -> None:
        ctx.reply(Text("done"))

    await chat.handle_line("清库")
    assert "管理员" in transcript.last("rep01")["text"]
    await chat.handle_line("/as admin01")
    await chat.handle_line("清库")
    assert transcript.last("admin01")["text"] == "done"


async def test_unknown_user_auto_registered_as_rep(chat: ChatSession, services: Services) -> None:
    await chat.handle_line("/as newbie")
    await chat.handle_line("帮助")
    async with services.db.session() as s:
        user = await s.get(User, "newbie")
    assert user is not None and user.role == "rep" and user.channel == "console"


async def test_org_import_csv(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("工号,姓名,角色,主管,区域,行业\nboss,钱总,manager,,华北,制造\nr9,孙七,rep,boss,华北,制造;能源\n",
                    encoding="utf-8")
    assert await import_users_file(services.db, path, services.clock.now()) == 2
    async with services.db.session() as s:
        r9 = await s.get(User, "r9")
    assert r9 is not None and r9.manager_id == "boss" and r9.industries == ["制造", "能源"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,role\nx,X,boss\n", encoding="utf-8")
    with pytest.raises(OrgError, match="line 2"):
        await import_users_file(services.db, bad, services.clock.now())
