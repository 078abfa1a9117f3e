"""The ramp-up journey end to end, through the web console (HTTP, the real console routes) and WeCom
(encrypted callbacks → our app → the fake WeCom API on 127.0.0.1): the admin defines the path and imports a new
rep, who is locked out of 签约回款 and the pool, works the path in WeCom, the manager confirms the shadowing in the
console, and both rights unlock."""

from __future__ import annotations

from pathlib import Path

from aiohttp import FormData
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Settings
from storage.models import Lead, RampProgress
from tests.console_support import csrf, login, start_client
from tests.fakes.journey_harness import ChannelHarness, Shown, start_journey
from tests.leads_helpers import cn, seed_lead
from tests.ramp_helpers import ramp_cards, seed_cards

PATH = "测验 异议=竞品 题数=1\n跟岗 陪同主管拜访一次客户\n"
NEW_REPS = "工号,姓名,角色,主管,区域\nrep06,周新,rep,manager01,华东\n"


async def _question(h: ChannelHarness) -> dict[str, object]:
    async with h.services.db.session() as s:
        rows = (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep06"))).all()
    return next(r.state["q"] for r in rows if r.state.get("q"))


def _last_card(h: ChannelHarness, user: str, title: str) -> Shown:
    return [c for c in h.cards_to(user) if title in c.title][-1]


async def test_new_rep_path_unlock_through_the_console_and_wecom(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    async for h in start_journey("wecom", settings, clock, tmp_path):
        services = h.services
        await seed_cards(services)
        client = await start_client(services)
        try:
            await login(client, services, "admin01")
            token = await csrf(client, "/admin/ramp")
            saved = await client.post("/admin/ramp/path", data={"_csrf": token, "text": PATH, "name": "第一周",
                                                                 "action": "save"})
            page = await saved.text()
            assert "已保存通关路径（2 关）" in page and "测验 · 竞品异议（答对 1 题）" in page

            form = FormData()
            form.add_field("file", NEW_REPS.encode(), filename="members.csv", content_type="text/csv")
            imported = await client.post(f"/admin/members/import?_csrf={token}", data=form)
            assert "新人已加入学习路径：周新" in await imported.text()

            lead = await seed_lead(services, "rep06", stage="demo", assigned_at=cn(20, 10), customer_name="丙")
            pool = await seed_lead(services, None, assigned_at=cn(20, 10), customer_name="池")
            await h.text("rep06", f"阶段 {lead} 签约回款")
            refused = h.said_to("rep06")[-1]
            assert "还在新人通关中（已完成 0/2）" in refused and "测验 · 竞品异议" in refused

            await h.text("rep06", "通关")
            quiz = _last_card(h, "rep06", "新人通关 · 第 1/2 关")
            assert len(quiz.buttons) == 4 and "情境：" in quiz.text
            q = await _question(h)
            right = next(k for k in quiz.buttons if k.endswith(f":{q['answer']}"))
            assert await h.click("rep06", quiz, right) == f"已作答：第 {q['answer']} 条"
            whole = next(c.talk_track for c in ramp_cards() if c.id == q["card"])
            assert any(whole in said for said in h.said_to("rep06"))  # in full once answered

            shadow = _last_card(h, "rep06", "新人通关 · 第 2/2 关")
            assert await h.click("rep06", shadow, next(iter(shadow.buttons))) == "已请主管确认"
            assert any("跟岗确认 · 周新" in c.title for c in h.cards_to("manager01"))

            await login(client, services, "manager01")
            mine = await (await client.get("/admin/ramp")).text()
            assert "周新" in mine and "1/2" in mine and "确认跟岗" in mine
            async with services.db.session() as s:
                task = (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep06",
                                                                   RampProgress.status == "waiting"))).one()
            token = await csrf(client, "/admin/ramp")
            done = await client.post("/admin/ramp/confirm", data={"_csrf": token, "task": str(task.task_id),
                                                                   "user": "rep06"})
            flash = await done.text()
            assert "已确认 周新 完成「陪同主管拜访一次客户」" in flash and "周新 完成了新人通关（2 关）" in flash
            await h.settle()
            assert any("恭喜通关" in t for t in h.said_to("rep06"))

            await h.text("rep06", f"阶段 {lead} 签约回款")
            assert "新人通关" not in h.said_to("rep06")[-1]
            await h.text("manager01", f"改派 {pool} 周新")
            async with services.db.session() as s:
                assert (await s.get(Lead, pool)).owner_id == "rep06"  # type: ignore[union-attr]
        finally:
            await client.close()
