"""Chinese for users: import reports and console pages carry no English, server commands or raw user ids.

`foreign_words` is the general check: every ASCII word of a reply or page text that is not a file type, unit or
product name people know."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import FormData
from sqlalchemy import select, update

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from handlers.renewals.importer import ImportReport
from storage.models import Contract, Lead, RenewalWarning, User
from tests.conftest import Transcript
from tests.console_support import csrf, login, seed_cards, start_client
from tests.fakes.journey_harness import start_journey
from tests.renewals_helpers import seed_customers, write_files

KNOWN = re.compile(r"\b(CSV|XLSX|JSONL?|Markdown|MB|KB|OCR|HIS|CRM|ERP)\b|[\w\-]+\.(?i:csv|xlsx|md|json|jsonl|pdf)\b")


def foreign_words(text: str) -> list[str]:
    """ASCII words (2+ letters) left once known file types, units, product names and file names are removed."""
    return re.findall(r"[A-Za-z_][A-Za-z0-9_\-]+", KNOWN.sub(" ", text))


def page_text(html: str) -> str:
    """What a person reads on a page: the body without tags, scripts, styles and attribute values."""
    body = html.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"&[a-z]+;|&#\d+;", " ", re.sub(r"<[^>]*>", " ", body))


def test_the_check_finds_what_it_should() -> None:
    assert foreign_words("可用 salesbot kb import 查看全部") == ["salesbot", "kb", "import"]
    assert foreign_words("负责人：rep01，状态 active") == ["rep01", "active"]
    assert foreign_words("📚 导入完成：新话术.csv 共 3 行（CSV / XLSX，不超过 10 MB）") == []


async def test_a_long_kb_import_report_in_chat_is_chinese(chat: ChatSession, transcript: Transcript,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "话术.csv"
    path.write_text("标题,行业,异议,话术\n" + "".join(f"空话术第{i}行,零售,价格,\n" for i in range(15)),
                    encoding="utf-8")
    await chat.handle_line("/as admin01")
    await chat.handle_line(f"/file {path}")
    report = transcript.last("admin01")["text"]
    assert "另有" in report and foreign_words(report) == [], report


def test_a_long_contracts_import_report_is_chinese() -> None:
    report = ImportReport(file="合同台账.csv", kind="contracts", rows=20,
                          issues=[(line, "金额不是数字") for line in range(2, 22)])
    lines = report.lines()
    assert "另有 10 行未显示" in lines[-1] and foreign_words("\n".join(lines)) == [], lines


async def test_renewals_page_names_owners_never_shows_their_ids(settings: Settings, clock: ManualClock,
                                                                tmp_path: Path) -> None:
    """An owner the org does not know is 「未知成员」, one who left is named with 「（已离职）」."""
    async for h in start_journey("console", settings, clock, tmp_path):
        services = h.services
        await seed_customers(services)
        contracts, _ = write_files(tmp_path)
        client = await start_client(services)
        try:
            await login(client, services, "admin01")
            token = await csrf(client, "/admin/renewals")
            form = FormData()
            form.add_field("file", contracts.read_bytes(), filename=contracts.name)
            await client.post(f"/admin/renewals/import?_csrf={token}", data=form)
            async with services.db.session() as s:
                await s.execute(update(RenewalWarning).values(owner_id="ghost77"))
                await s.execute(update(Contract).where(Contract.customer == "孙七").values(owner_id="rep02"))
                # nobody active owns 孙七 (contract and lead): the leaver is shown, marked (audit 18d #17)
                sun = (await s.execute(select(Lead).where(Lead.customer_name == "孙七"))).scalar_one()
                sun.owner_id = "rep02"
                await s.execute(update(User).where(User.id == "rep02").values(active=False))
            page = page_text(await (await client.get("/admin/renewals")).text())
        finally:
            await client.close()
        assert "ghost77" not in page and "未知成员" in page and "（已离职）" in page
        assert foreign_words(page) == [], foreign_words(page)


async def test_card_history_names_who_changed_it(services: Services) -> None:
    """The 修改记录 of a card on the console says who by name, not by user id."""
    await seed_cards(services)
    client = await start_client(services)
    try:
        await login(client, services, "admin01")
        token = await csrf(client, "/admin/kb/W2")
        await client.post("/admin/kb/W2", data={
            "_csrf": token, "version": "1", "title": "工厂担心上线影响生产", "industry": "制造", "objection": "交付",
            "talk_track": "周末切换，旧系统并行两周。", "keywords": "停线", "updated_at": "2026-11-01"})
        page = await (await client.get("/admin/kb/W2")).text()
    finally:
        await client.close()
    history = page_text(page.split("修改记录", 1)[1].split("</section>", 1)[0])
    assert "admin01" not in history and "赵管理 · 修改" in history and foreign_words(history) == [], history


async def test_lead_page_evidence_says_who_added_it_and_what_it_is(services: Services) -> None:
    """证据与截图 on a lead's page: the rep's name (not 未知成员 or an id) and a Chinese kind, also for a rejected
    note."""
    from datetime import datetime

    from bot.clock import CN_TZ
    from storage.models import Evidence
    from tests.leads_helpers import seed_lead

    lead_id = await seed_lead(services, "rep01", customer_name="钱八", company="远山仪器")
    now = datetime(2026, 11, 23, 10, tzinfo=CN_TZ)
    async with services.db.session() as s:
        s.add(Evidence(lead_id=lead_id, kind="note", note="客户口头同意了报价", added_by="rep01", created_at=now))
        s.add(Evidence(lead_id=lead_id, kind="rejected", note="说已签约", added_by="rep01", created_at=now))
    client = await start_client(services)
    try:
        await login(client, services, "admin01")
        page = await (await client.get(f"/admin/leads/{lead_id}")).text()
    finally:
        await client.close()
    section = page_text(page.split("证据与截图", 1)[1].split("</section>", 1)[0])
    assert section.count("张伟") == 2 and "未知成员" not in section and "主管未认可" in section, section
    assert foreign_words(section) == [], section
