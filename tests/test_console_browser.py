"""The web console in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

One browser for the module and one server (services on a manual clock, console chat channel) running in its own
thread and event loop; each test opens its own browser context (its own cookies). Skipped when Chromium or
Playwright is missing (scripts/setup installs both).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from app.chat import ChatSession
from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import ManualClock
from bot.config import DatabaseSettings, KnowledgeSettings, Settings
from bot.login_links import issue_link
from bot.services import Services
from tests.conftest import MONDAY_10AM, Transcript, sqlite_url
from tests.console_support import console_app, seed_cards

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists(),
                                reason="Chromium not installed at /usr/bin/chromium (scripts/setup installs it)")
T = TypeVar("T")


@dataclass
class Site:
    """The server thread's loop, services and chat, and the base URL the browser opens."""

    loop: asyncio.AbstractEventLoop
    services: Services
    chat: ChatSession
    transcript: Transcript
    url: str

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def say(self, user: str, text: str) -> dict[str, Any]:
        """`user` sends `text` in chat; returns the last message the bot sent them."""
        self.run(self.chat.handle_line(f"/as {user}"))
        self.run(self.chat.handle_line(text))
        return self.transcript.last(user)

    def link(self, user: str) -> str:
        async def make() -> str | None:
            async with self.services.db.session() as session:
                return await issue_link(session, user, self.services.clock.now(), self.url)

        url = self.run(make())
        assert url is not None
        return url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    tmp = tmp_path_factory.mktemp("console")
    transcript = Transcript()

    async def start() -> tuple[Site, web.AppRunner]:
        base = Settings()
        clock = ManualClock(MONDAY_10AM)
        console = ConsoleChannel(transcript.write, json_mode=True)
        sock = socket.socket()  # the port first: the console's public URL is part of the (frozen) settings
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        settings = replace(base, database=DatabaseSettings(url=sqlite_url(tmp)),
                           knowledge=replace(KnowledgeSettings(), seed_demo=False),
                           reminders=replace(base.reminders, digest_time=""),
                           server=replace(base.server, warm_up=False, public_url=url, port=port))
        services = await build_services(settings, clock, {"console": console})
        runner = web.AppRunner(console_app(services), access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await seed_cards(services)
        chat = ChatSession(services, console, clock, "rep01", transcript.write)  # type: ignore[arg-type]
        return Site(loop, services, chat, transcript, url), runner

    site, runner = asyncio.run_coroutine_threadsafe(start(), loop).result(120)
    yield site
    site.run(runner.cleanup())
    site.run(site.services.db.dispose())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def signed_in(page: Any, site: Site, user: str) -> Any:
    page.goto(site.link(user))
    page.wait_for_url("**/admin/*")
    return page


def test_chat_word_link_opens_a_session(site: Site, page: Any) -> None:
    reply = site.say("manager01", "后台")
    link = reply["text"][reply["text"].index("http"):].split()[0]
    assert link.startswith(site.url + "/admin/login?t=")
    page.goto(link)  # the page submits its one-time token itself
    page.wait_for_url("**/admin/team")
    assert "团队看板" in page.inner_text("h1")
    assert "manager01" not in page.inner_text(".who") and "主管" in page.inner_text(".who")
    page.goto(link)  # the same link again: used up
    assert "已经用过" in page.inner_text("main")
    page.goto(site.url + "/admin/leads")  # the session still works
    assert "线索" in page.inner_text("h1")


def test_a_rep_is_refused_politely(site: Site, page: Any) -> None:
    reply = site.say("rep02", "后台")
    assert "http" not in reply["text"]
    from bot.login_links import issue_token

    async def rep_token() -> str:
        async with site.services.db.session() as session:
            return await issue_token(session, "rep02", site.services.clock.now())

    page.goto(f"{site.url}/admin/login?t={site.run(rep_token())}")
    page.wait_for_selector("h1:has-text('没有权限')")
    assert "主管和管理员" in page.inner_text("main")
    page.goto(site.url + "/admin/kb")
    assert "请先登录" in page.inner_text("h1")


def test_csrf_token_tampered_is_rejected(site: Site, page: Any) -> None:
    signed_in(page, site, "admin01")
    page.goto(site.url + "/admin/kb/W3")
    page.fill("textarea[name=talk_track]", "不应该被保存的话术")
    page.eval_on_selector("#card-form input[name=_csrf]", "el => el.value = 'forged-token'")
    page.click("#card-form button[type=submit]")
    page.wait_for_selector("h1:has-text('请求已过期')")
    page.goto(site.url + "/admin/kb/W3")
    assert "不应该被保存的话术" not in page.content()


def test_xlsx_import_through_the_upload_with_preview(site: Site, page: Any, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["标题", "行业", "异议", "话术", "关键词"])
    sheet.append(["医院问能否先试用一个科室", "医疗", "信任", "可以先在一个科室试用一个月，效果数据由科室主任确认。",
                  "试用"])
    sheet.append(["没有话术的一行", "医疗", "信任", "", ""])
    path = tmp_path / "科室话术.xlsx"
    book.save(path)
    signed_in(page, site, "admin01")
    page.goto(site.url + "/admin/kb/import")
    page.set_input_files("input[name=file]", str(path))
    page.click("text=上传并预览")
    page.wait_for_selector("#import-preview")
    assert page.inner_text("#n-add") == "1" and page.inner_text("#n-skip") == "1"
    assert "第 3 行：话术为空" in page.inner_text("#import-preview")
    page.click("text=确认导入 1 张卡片")
    page.wait_for_selector(".flash")
    assert "新增 1" in page.inner_text(".flash") and "跳过 1" in page.inner_text(".flash")
    assert "医院问能否先试用一个科室" in page.inner_text("table")


def test_edit_a_card_and_the_next_chat_question_gets_it(site: Site, page: Any) -> None:
    signed_in(page, site, "admin01")
    page.goto(site.url + "/admin/kb/W2")
    new_text = "换线放在周末停线窗口，旧系统并行三周，随时一键切回，产线零停工。"
    page.fill("textarea[name=talk_track]", new_text)
    page.wait_for_function("t => document.querySelector('#preview').innerText.includes(t)", arg="随时一键切回")
    page.click("#card-form button[type=submit]")
    page.wait_for_selector("text=已保存")
    reply = site.say("rep03", "制造业客户担心上线停线影响生产怎么办")
    assert new_text in reply["text"]


def test_pin_a_card_from_the_gaps_queue(site: Site, page: Any) -> None:
    question = "校长一直拖着不回消息"  # no card holds it: a gap the admin answers with the school card
    assert "没找到合适的话术" in site.say("rep01", question)["text"]
    signed_in(page, site, "admin01")
    page.goto(site.url + "/admin/gaps")
    gap = page.locator("section.gap", has_text=question)
    gap.locator("select[name=card]").select_option("W1")
    gap.locator("text=指定卡片").click()
    page.wait_for_selector(".flash")
    assert "再问就会用它回答" in page.inner_text(".flash")
    assert site.say("rep01", question)["title"] == "学校说经费要等下学期"


def test_reassign_from_the_lead_page_reaches_the_new_owner(site: Site, page: Any) -> None:
    from tests.test_reminders_support import make_lead

    lead_id = site.run(make_lead(site.services, "rep01", customer_name="邓经理", company="青禾农业"))
    signed_in(page, site, "manager01")
    page.goto(f"{site.url}/admin/leads/{lead_id}")
    page.select_option("#reassign-rep", "rep03")
    page.click("#do-reassign")
    page.wait_for_selector("#outcome")
    assert "已改派给" in page.inner_text("#outcome")
    latest = page.inner_text(".timeline li >> nth=0")  # chat's wording, said once: 「王经理 改派给 …」
    assert "王经理 改派给 " in latest and "：" not in latest, latest
    site.run(site.chat.settle())  # the outbox delivers to chat
    told = site.transcript.last("rep03")
    assert told["title"] == "📌 改派给你的线索" and f"#{lead_id}" in told["text"]
    assert "查看" in [b["text"] for b in told["buttons"]]


def test_a_dead_letter_is_retried(site: Site, page: Any) -> None:
    from sqlalchemy import select

    from bot.messages import Outbound, Text
    from bot.outbox import enqueue
    from storage.models import OutboxMessage

    async def dead() -> None:
        now = site.services.clock.now()
        async with site.services.db.session() as session:
            await enqueue(session, [Outbound("rep05", Text("周报已生成，请查收"), channel="console",
                                             dedup_key="browser:dead")], now, "console")
            row = (await session.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key == "browser:dead"))).one()
            row.status, row.attempts, row.last_error = "dead", 24, "HTTP 503 from the channel"

    site.run(dead())
    signed_in(page, site, "admin01")
    page.goto(site.url + "/admin/outbox")
    row = page.locator("#dead-form tr", has_text="周报已生成")
    row.locator("input[type=checkbox]").check()
    page.click("text=重新发送所选")
    page.wait_for_selector(".flash")
    assert "已重新发送 1 条" in page.inner_text(".flash")
    site.run(site.services.outbox.drain())
    assert site.transcript.last("rep05")["text"].startswith("周报已生成")


def test_renewal_journey_warning_lock_and_lift_in_the_console(site: Site, page: Any, tmp_path: Path) -> None:
    """Contract import → warning card → the rep is locked → the manager lifts the lock on the 续约 page → the rep
    works the customer's leads again."""
    from handlers.renewals.importer import import_files
    from tests.renewals_helpers import seed_customers, write_files

    ids = site.run(seed_customers(site.services))
    paths = write_files(tmp_path)
    site.run(import_files(site.services.db, site.services.settings, list(paths), site.services.clock.now()))
    site.run(site.chat.settle())
    assert site.transcript.last("rep01")["title"] == "⚠️ 续约预警"
    assert "🔒" in site.say("rep01", f"跟进 {ids['other']} 约了下周演示")["text"]

    signed_in(page, site, "manager01")
    page.goto(site.url + "/admin/renewals")
    row = page.locator("#warnings tr", has_text="李明")
    assert "🔒" in row.inner_text() and "2026-12-31" in row.inner_text() and "40" in row.inner_text()
    assert page.locator("#ending tr", has_text="孙七").count() == 1  # ending soon, healthy: listed, no warning
    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="解除锁定").click()
    page.wait_for_selector(".flash")
    assert "已解除" in page.inner_text(".flash")
    assert "主管已解除锁定" in page.locator("#warnings tr", has_text="李明").inner_text()
    site.run(site.chat.settle())
    assert "🔓" in site.transcript.last("rep01")["text"]
    assert "🔒" not in site.say("rep01", f"跟进 {ids['other']} 约了下周演示")["text"]
    page.goto(f"{site.url}/admin/leads/{ids['li']}")  # the account's timeline says it in Chinese
    timeline = page.inner_text("main")
    assert "续约预警：合同 2026-12-31 到期" in timeline and "解除续约锁定" in timeline and "renewal" not in timeline


def test_a_competitor_reps_keep_meeting_becomes_a_card_from_the_gaps_queue(site: Site, page: Any) -> None:
    """知识萃取: three reps write down the same competitor no card answers; the admin starts a card from the
    field-feedback section of the gaps page, and the next rep who asks about it gets that card."""
    from tests.test_reminders_support import make_lead

    for rep, note in (("rep01", "对方在用励销云，觉得够用"), ("rep02", "客户拿励销云的报价压价"),
                      ("rep03", "采购说励销云续费便宜")):
        lead_id = site.run(make_lead(site.services, rep, customer_name=f"{rep}客户", company="远山建材"))
        assert "已记录" in site.say(rep, f"跟进 {lead_id} {note}")["text"]
    assert "没找到合适的话术" in site.say("rep01", "励销云")["text"]
    signed_in(page, site, "admin01")
    page.goto(site.url + "/admin/gaps")
    gap = page.locator("section.field-gap", has_text="竞品「励销云」")
    assert "3 位销售 · 3 条跟进" in gap.inner_text() and "客户拿励销云的报价压价" in gap.inner_text()
    gap.locator("text=据此新建卡片").click()
    page.wait_for_url("**/admin/kb/new?**")
    assert page.input_value("input[name=keywords]") == "励销云"
    assert page.eval_on_selector("select[name=objection]", "el => el.value") == "竞品"
    page.fill("textarea[name=talk_track]",
              "励销云重在电销外呼，我们把拜访、报价、回款放在一条线上，主管每天能看到进度。")
    page.click("#card-form button[type=submit]")
    page.wait_for_selector("text=已保存")
    reply = site.say("rep02", "客户说励销云更便宜")
    assert "拜访、报价、回款放在一条线上" in reply["text"]
    page.goto(site.url + "/admin/gaps")
    assert "竞品「励销云」" not in page.inner_text("main")


def test_new_admin_journey_from_the_chat_link(site: Site, page: Any, tmp_path: Path) -> None:
    """Issue 16's target: from the link in chat a new admin imports a GBK CSV, fixes the row the preview
    reports, tests a question and sees it answered, by clicking what the pages show (no URL typed in)."""
    header = "标题,行业,异议,话术,关键词\n"
    good = "物业公司嫌保洁机器人太贵,物业,价格,按十二个月分期，每台每月比一名保洁员的工资低三成。,保洁机器人\n"
    bad = "物业担心机器人夜里没人看管,物业,信任,,夜间巡检\n"  # no 话术: the preview reports this line
    fixed = "物业担心机器人夜里没人看管,物业,信任,夜间自动回充并推送巡检照片到物业群，异常时电话通知值班。,夜间巡检\n"
    first, second = tmp_path / "物业话术.csv", tmp_path / "物业话术-改.csv"
    first.write_bytes((header + good + bad).encode("gbk"))
    second.write_bytes((header + good + fixed).encode("gbk"))

    reply = site.say("admin01", "后台")
    page.goto(reply["text"][reply["text"].index("http"):].split()[0])
    page.wait_for_url("**/admin/kb")
    page.click("a.button:has-text('导入')")
    page.set_input_files("input[name=file]", str(first))
    page.click("text=上传并预览")
    page.wait_for_selector("#import-preview")
    assert page.inner_text("#n-add") == "1" and page.inner_text("#n-skip") == "1"
    assert "第 3 行：话术为空" in page.inner_text("#import-preview")
    page.click("text=确认导入 1 张卡片")
    page.wait_for_selector(".flash")
    assert "跳过 1" in page.inner_text(".flash")

    page.click("a.button:has-text('导入')")  # the row fixed in the file, the file uploaded again
    page.set_input_files("input[name=file]", str(second))
    page.click("text=上传并预览")
    page.wait_for_selector("#import-preview")
    assert page.inner_text("#n-add") == "1" and page.inner_text("#n-same") == "1"
    assert page.inner_text("#n-skip") == "0"
    page.click("text=确认导入 1 张卡片")
    page.wait_for_selector(".flash")
    assert "新增 1" in page.inner_text(".flash")

    page.click("nav >> text=命中测试")
    page.fill("input[name=q]", "物业说晚上机器人没人看着不放心")
    page.click("button:has-text('测试')")
    page.wait_for_selector("#verdict")
    assert "会回答" in page.inner_text("#verdict") and "物业担心机器人夜里没人看管" in page.inner_text("#verdict")
    assert "推送巡检照片" in site.say("rep02", "物业说晚上机器人没人看着不放心")["text"]


def test_team_board_fits_a_phone(site: Site, browser: Any) -> None:
    """At 390 px the 日报图表 image and the tables stay inside the viewport (audit 16c: the page was 922 px)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        signed_in(phone, site, "manager01")
        phone.goto(site.url + "/admin/team")
        phone.wait_for_function("document.querySelector('img[src=\"/admin/team/chart.png\"]').naturalWidth > 0")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.evaluate("document.querySelector('img').getBoundingClientRect().right") <= 390
    finally:
        context.close()
