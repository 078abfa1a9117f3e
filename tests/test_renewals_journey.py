"""The renewal journey through the web console (HTTP, the real console routes) and WeCom (encrypted callbacks →
our app → the fake WeCom API on 127.0.0.1): the admin imports the contracts and payments on the console's 续约
page → the 续约预警 card reaches the owner in WeCom → the owner's other actions on the customer are locked → the
owner files the renewed contract as renewal proof → unlocked, and the console shows it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from storage.models import Contract
from tests.console_support import csrf, login, start_client
from tests.fakes.journey_harness import WecomJourney, start_journey
from tests.renewals_helpers import seed_customers, write_files


async def _upload(client: TestClient, token: str, path: Path, name: str | None = None) -> str:
    form = FormData()
    form.add_field("file", path.read_bytes(), filename=name or path.name, content_type="application/octet-stream")
    resp = await client.post(f"/admin/renewals/import?_csrf={token}", data=form)
    return await resp.text()


async def test_contract_import_on_the_console_warning_lock_proof_unlock_in_wecom(
    settings: Settings, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async for h in start_journey("wecom", settings, clock, tmp_path):
        services = h.services
        ids = await seed_customers(services)
        contracts, payments = write_files(tmp_path)
        client = await start_client(services)
        try:
            await login(client, services, "admin01")
            token = await csrf(client, "/admin/renewals")
            with caplog.at_level(logging.WARNING, logger="handlers.renewals.importer"):
                paid = await _upload(client, token, payments)
                page = await _upload(client, token, contracts)
            assert "第 4 行：回款金额不能是负数（-500）" in paid  # each bad row: a Chinese line and a log line
            logged = [r.getMessage() for r in caplog.records]
            for name, line in (("payments.xlsx", 4), ("合同台账.csv", 5), ("合同台账.csv", 6)):
                assert any(f"{name} line {line}:" in m for m in logged), (name, line, logged)
            assert "合同台账.csv（合同）：5 行，新增 3" in page and "续约预警：新发出 1 条" in page
            assert "第 5 行：结束日期 2026-01-01 早于开始日期 2026-12-01" in page  # nothing half-written

            await h.settle()
            card = next(c for c in h.cards_to("rep01") if c.title == "⚠️ 续约预警")
            assert "李明" in card.text and "提交续签证明" in card.buttons.values()
            await h.text("rep01", f"跟进 {ids['other']} 电话沟通了报价")
            assert "🔒" in h.said_to("rep01")[-1]

            proof = next(k for k, label in card.buttons.items() if label == "提交续签证明")
            await h.click("rep01", card, proof)
            assert isinstance(h, WecomJourney)
            sent = await h.h.file("rep01", b"%PDF-1.4 renewal contract", "续签合同.pdf")  # a file: no OCR wait
            assert sent.status == 200
            await h.settle()
            assert any("续约预警已处理" in t for t in h.said_to("rep01")[-3:])
            await h.text("rep01", f"跟进 {ids['other']} 电话沟通了报价")
            assert "🔒" not in h.said_to("rep01")[-1]

            await login(client, services, "manager01")
            listed = await (await client.get("/admin/renewals")).text()
            assert "已提交续签证明" in listed and "contracts-import" not in listed  # importing is for admins
        finally:
            await client.close()


async def test_a_bad_upload_is_refused_with_a_reason_and_a_log_line(
    settings: Settings, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async for h in start_journey("console", settings, clock, tmp_path):
        services = h.services
        await seed_customers(services)
        notes = tmp_path / "notes.txt"
        notes.write_text("客户,金额\n", encoding="utf-8")
        garbage = tmp_path / "台账.xlsx"
        garbage.write_bytes(b"not a workbook")
        client = await start_client(services)
        try:
            await login(client, services, "admin01")
            token = await csrf(client, "/admin/renewals")
            with caplog.at_level(logging.WARNING):
                assert "请选择 CSV 或 XLSX 文件" in await _upload(client, token, notes)
                assert "没有导入任何数据" in await _upload(client, token, garbage)
            assert any("contracts import refused" in r.getMessage() for r in caplog.records)
            assert any("unreadable" in r.getMessage() for r in caplog.records)
            await login(client, services, "manager01")  # a manager sees the page, but importing is for admins
            resp = await client.post(f"/admin/renewals/import?_csrf={await csrf(client, '/admin/renewals')}",
                                     data=FormData({"file": "x"}))
            assert resp.status == 403
        finally:
            await client.close()
        async with services.db.session() as s:
            assert (await s.scalar(select(func.count()).select_from(Contract))) == 0
