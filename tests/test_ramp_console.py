"""The 新人通关 console page in headless Chromium: the admin edits the path (a bad line is named and the text
kept), starts a new rep on it, the rep works it in chat, and the manager confirms the shadowing on the page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import RampProgress
from tests.test_console_browser import Site, browser, page, signed_in, site  # noqa: F401 (fixtures)


def _answer(site: Site, user: str) -> int:  # noqa: F811
    async def read() -> int:
        async with site.services.db.session() as s:
            rows = (await s.scalars(select(RampProgress).where(RampProgress.user_id == user))).all()
        return int(next(r.state["q"]["answer"] for r in rows if r.state.get("q")))

    return site.run(read())


def test_admin_edits_the_path_enrols_a_rep_and_the_manager_confirms(site: Site, page: Any) -> None:  # noqa: F811
    signed_in(page, site, "admin01")
    page.goto(site.url + "/admin/ramp")
    assert "尚未定义" in page.inner_text("main")
    assert "测验 异议=价格" in page.input_value("#ramp-text")  # the default path, made from the cards

    page.fill("#ramp-text", "测验 异议=价格 题数=1\n考核 随便写")
    page.click("button[value=save]")
    page.wait_for_selector(".flash.error")
    assert "第 2 行" in page.inner_text(".flash") and "考核 随便写" in page.input_value("#ramp-text")

    # a task no card fits is refused as the CLI refuses it (one use case), not merely warned about
    page.fill("#ramp-text", "测验 行业=能源 异议=价格\n跟岗 旁听一次客户电话")
    page.click("button[value=save]")
    page.wait_for_selector(".flash.error")
    assert "没有保存" in page.inner_text(".flash") and "知识库里没有符合的卡片" in page.inner_text(".flash")
    assert "行业=能源" in page.input_value("#ramp-text")
    assert "尚未定义" in page.inner_text("main")

    page.fill("#ramp-text", "测验 异议=价格 题数=1\n跟岗 旁听一次客户电话")
    page.click("button[value=save]")
    page.wait_for_selector(".flash.ok")
    assert "已保存通关路径（2 关）" in page.inner_text(".flash")
    assert page.inner_text("#ramp-tasks").split("\n") == ["测验 · 价格异议（答对 1 题）", "跟岗 · 旁听一次客户电话"]

    page.select_option("#ramp-user", "rep03")
    page.click("button:has-text('开始通关')")
    page.wait_for_selector("#ramp-progress tr[data-user=rep03]")
    assert "0/2" in page.inner_text("#ramp-progress tr[data-user=rep03]")

    quiz = site.say("rep03", "通关")
    assert quiz["title"].startswith("新人通关 · 第 1/2 关") and "情境：" in quiz["text"]
    site.say("rep03", str(_answer(site, "rep03")))
    site.say("rep03", "/click 请主管确认")
    assert site.transcript.last("manager01")["title"] == "跟岗确认 · 刘洋"

    signed_in(page, site, "manager01")
    page.goto(site.url + "/admin/ramp")
    row = "#ramp-progress tr[data-user=rep03]"
    assert "1/2" in page.inner_text(row) and "旁听一次客户电话" in page.inner_text(row)
    assert "刘洋" in page.inner_text(row) and "rep03" not in page.inner_text("main")  # a name, no id
    page.click(f"{row} button:has-text('确认跟岗')")
    page.wait_for_selector(".flash")
    assert "刘洋 完成了新人通关" in page.inner_text(".flash")
    assert "已通关" in page.inner_text(row)
    site.run(site.chat.handle_line("/advance 1m"))  # the outbox delivers what the confirmation sent to the rep
    assert "恭喜通关" in site.transcript.last("rep03")["text"]
