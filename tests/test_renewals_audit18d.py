"""Audit 18d: renewal findings reproduced in our own fixtures, through chat and the CLI, on SQLite and PostgreSQL
(the `services` fixture below overrides conftest's SQLite-only one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.services import Services
from storage.migrate import upgrade
from storage.models import Reminder, RenewalWarning
from tests.conftest import Transcript, run_cli
from tests.renewals_helpers import seed_customers, write_files

NOW = "2026-11-23T10:00+08:00"


@pytest.fixture
async def services(db_url: str, settings: Settings, clock: ManualClock, transcript: Transcript
                   ) -> AsyncIterator[Services]:
    await upgrade(db_url)
    svc = await build_services(replace(settings, database=DatabaseSettings(url=db_url)), clock,
                               {"console": ConsoleChannel(transcript.write, json_mode=True)})
    yield svc
    await svc.db.dispose()


async def _warnings(services: Services) -> dict[int, RenewalWarning]:
    async with services.db.session() as s:
        return {w.lead_id: w for w in (await s.execute(select(RenewalWarning))).scalars()}


async def test_a_payments_file_after_the_contracts_file_withdraws_the_warning_of_an_account_that_paid(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    """#9: chat delivers one file at a time. The contracts file alone warns 赵六 (no payment on file yet); the
    payments file then shows 赵六 paid 22 days ago: the warning is withdrawn, the lock lifted, the ladder stopped,
    owner and manager told in one line. 李明's old payment changes nothing: still warned and locked."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    chat.user = "admin01"
    await chat.handle_line(f"/file {contracts}")
    assert "续约预警：新发出 2 条" in transcript.last("admin01")["text"]
    warned = await _warnings(services)
    assert sorted(warned) == sorted([ids["li"], ids["zhao"]]) and warned[ids["zhao"]].locked

    await chat.handle_line(f"/file {payments}")
    assert "撤回 1 条" in transcript.last("admin01")["text"]
    warned = await _warnings(services)
    zhao, li = warned[ids["zhao"]], warned[ids["li"]]
    assert (zhao.status, zhao.locked) == ("withdrawn", False)
    assert (li.status, li.locked) == ("open", True)
    for who in ("rep01", "manager01"):
        told = transcript.last(who)["text"]
        assert "赵六" in told and "2026-11-01 回款" in told and "续约预警已撤回" in told and "锁定已解除" in told
    async with services.db.session() as s:
        timers = list((await s.execute(select(Reminder).where(Reminder.rule == "renewal",
                                                              Reminder.status == "pending"))).scalars())
    assert [t.lead_id for t in timers] == [ids["li"]]

    chat.user = "rep01"
    await chat.handle_line(f"跟进 {ids['zhao']} 电话沟通了续约")
    assert "🔒" not in transcript.last("rep01")["text"]
    await chat.handle_line("续约")
    listed = "\n".join(m["text"] for m in transcript.to("rep01")[-2:])
    assert "已回款，预警撤回" in listed


async def test_two_cli_imports_withdraw_too(services: Services, tmp_path: Path, capsys: object) -> None:
    """#9 on the CLI: two separate `contracts import` commands end like one with both files."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    url = services.settings.database.url
    await asyncio.to_thread(run_cli, url, "contracts", "import", str(contracts), "--now", NOW)
    await asyncio.to_thread(run_cli, url, "contracts", "import", str(payments), "--now", NOW)
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "续约预警：撤回 1 条" in out
    warned = await _warnings(services)
    assert [lead for lead, w in warned.items() if w.locked] == [ids["li"]]


async def test_after_asking_the_manager_the_ladder_stops(services: Services, chat: ChatSession,
                                                         transcript: Transcript, tmp_path: Path) -> None:
    """#14: once the rep asked the manager to step in, the ladder no longer reminds the rep, CCs the manager or
    sends a second 🆘; the lock stays until the proof or the manager."""
    ids = await seed_customers(services)
    contracts, payments = write_files(tmp_path)
    await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(payments),
                            str(contracts), "--now", NOW)
    await chat.handle_line(f"/now {NOW}")
    await chat.handle_line(f"申请主管介入 {ids['li']}")
    assert "介入" in transcript.last("rep01")["text"]
    assert sum(m["title"] == "🆘 续约预警需要你介入" for m in transcript.to("manager01")) == 1
    for _ in range(4):
        await chat.handle_line("/advance 2d")
    assert not any(m["title"].startswith("⚠️ 续约预警未处理") for m in transcript.to("rep01"))
    assert not any(m["title"].startswith("📋 抄送：续约预警") for m in transcript.to("manager01"))
    assert sum(m["title"] == "🆘 续约预警需要你介入" for m in transcript.to("manager01")) == 1
    assert (await _warnings(services))[ids["li"]].locked
