"""What the front door audit (issue 15) still left, each written as the user's complaint first: the web console's
lead page said its own timeline, a customer's news was read as a field edit, a console 改派 said itself twice.
Invented people and companies only."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from bot.usertext import plain
from handlers.intent import State, understand
from knowledge.query import Simplifier
from storage.models import Activity
from tests.conftest import Transcript
from tests.console_support import csrf_of, login, start_client
from tests.leads_helpers import cn, get_lead, seed_lead


@pytest.fixture
async def client(services: Services) -> Any:
    client = await start_client(services)
    yield client
    await client.close()


def _timeline(page: str) -> list[str]:
    """The console's timeline items, oldest first (the page shows the newest on top)."""
    section = page[page.index("<h2>时间线</h2>"):]
    return [html.unescape(li) for li in re.findall(r"<li>(.*?)</li>", section)][::-1]


def _chat_timeline(text: str) -> list[str]:
    lines = plain(text).split("\n")
    return lines[1:lines.index(next(t for t in lines if t.startswith("客户")))]


async def test_the_console_timeline_says_what_chat_says(
        chat: ChatSession, transcript: Transcript, services: Services, client: Any) -> None:
    """The lead page in the console still read 「接手：王经理 接手」 and 「约定回访」 without its time, while the
    chat card read 「王经理 接手」 and 「张伟 约定 11月25日 15:00 回访」."""
    lead = await seed_lead(services, "rep01", customer_name="骆晨", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead} 电话聊了，约了后天下午3点再打")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"接手 {lead}")
    await chat.handle_line("撤销")
    await chat.handle_line(f"线索 {lead}")
    said_in_chat = _chat_timeline(transcript.last("manager01")["text"])
    await login(client, services, "manager01")
    page = await (await client.get(f"/admin/leads/{lead}")).text()
    assert _timeline(page) == said_in_chat, (_timeline(page), said_in_chat)
    assert "接手：" not in page and "张伟 约定 11月25日 15:00 回访" in page
    assert "骆晨 · 松涛仓储" in page  # the lead named as chat names it
    listing = await (await client.get("/admin/leads")).text()
    assert "骆晨 · 松涛仓储" in listing


async def test_a_console_reassign_without_a_reason_is_said_once(
        services: Services, client: Any, transcript: Transcript) -> None:
    """A 改派 from the console showed 「改派给 李娜：主管 王经理 改派」."""
    lead = await seed_lead(services, "rep01", customer_name="骆晨", assigned_at=cn(23, 9))
    await login(client, services, "manager01")
    page = await (await client.get(f"/admin/leads/{lead}")).text()
    done = await (await client.post(f"/admin/leads/{lead}", data={"_csrf": csrf_of(page), "action": "reassign",
                                                                   "rep": "rep02"})).text()
    assert (await get_lead(services, lead)).owner_id == "rep02"
    assert _timeline(done)[-1].endswith("王经理 改派给 李娜"), _timeline(done)
    assert "主管 王经理 改派" not in done and "（）" not in done


async def test_a_typed_reassign_without_a_reason_is_said_once(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「改派 3 李娜」 in chat: the answer and the timeline say who to, with no made-up reason."""
    lead = await seed_lead(services, "rep01", customer_name="骆晨", assigned_at=cn(23, 9))
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"改派 {lead} 李娜")
    answer = plain(transcript.last("manager01")["text"])
    assert "已改派给 李娜。" in answer and "主管" not in answer, answer
    await chat.handle_line(f"线索 {lead}")
    assert _chat_timeline(transcript.last("manager01")["text"])[-1].endswith("王经理 改派给 李娜")


async def test_news_of_a_named_customer_is_a_follow_up_not_a_phone_edit(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「周立 电话打通了，下周见面」 was read as a phone-number edit with the value 「打通了，下周见面」."""
    lead = await seed_lead(services, "rep01", customer_name="周立", phone="13700001234", assigned_at=cn(23, 9))
    await chat.handle_line("周立 电话打通了，下周见面")
    assert (await get_lead(services, lead)).phone == "13700001234"
    async with services.db.session() as s:
        notes = (await s.execute(select(Activity.kind, Activity.summary).where(Activity.lead_id == lead))).all()
    assert any("电话打通了" in (n or "") for _k, n in notes), (notes, transcript.texts("rep01")[-1:])


@pytest.mark.parametrize(("text", "edit"), [
    ("周立 电话打通了", None), ("周立 预算还没定", None), ("周立 邮箱发了资料", None), ("周立 微信加上了", None),
    ("周立 电话 13811112222", ("phone", "13811112222")), ("周立 预算 50万", ("budget_cny", "50万")),
    ("周立的邮箱是 zl@example.com", ("email", "zl@example.com")), ("周立 微信 zl_2024", ("wechat_id", "zl_2024")),
])
def test_an_edit_needs_a_value_that_looks_like_the_field(text: str, edit: tuple[str, str] | None) -> None:
    """A phone edit needs digits, a budget an amount, an email an address, a WeChat id letters or digits;
    otherwise it is news of that customer's lead — or a question when the name fits two leads."""
    state = State(customers=((7, "周立"), (8, "邹海"), (9, "邹海")))
    got = understand(text, "rep", state, t2s=T2S)
    if edit is None:
        assert (got.name, got.slots.get("lead_id")) == ("follow_up", 7), got
    else:
        assert (got.name, got.slots["field"], got.slots["value"]) == ("edit", *edit), got
    two = understand(text.replace("周立", "邹海"), "rep", state, t2s=T2S)
    assert two.name == ("unclear" if edit is None else "edit"), two


T2S = Simplifier()
