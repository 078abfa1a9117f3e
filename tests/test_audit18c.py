"""New-user audit 18c of renewals, ramp-up and handover: what the users said, as tests."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from handlers.ramp import service
from handlers.ramp.path import parse_path
from storage.leads import OPEN_STATUSES
from storage.models import Lead, RampProgress, RenewalWarning
from tests.conftest import Transcript, run_cli
from tests.leads_helpers import cn, seed_lead
from tests.ramp_helpers import seed_cards
from tests.synth import make_sample


async def _enrol(services: Services, text: str) -> None:
    async with services.db.session() as s:
        await service.set_path(s, parse_path(text), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")


def _strict_quiz(settings: Settings) -> Settings:
    return replace(settings, ramp=replace(settings.ramp, wrong_per_round=1, retry_hours=2))


@pytest.mark.parametrize("settings", [_strict_quiz], indirect=True)
async def test_the_quiz_round_limit_and_the_wait_before_a_retry_are_the_admins_to_set(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「我们想一错就重考、两小时后再来，改不了」: `[ramp] wrong_per_round` and `retry_hours`."""
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    for _ in range(8):
        said = transcript.last("rep01")
        if "这一轮没通过" in said["title"] + said["text"]:
            break
        await chat.handle_line("1")
    failed = [t for t in transcript.texts("rep01") if "这一轮没通过" in t]
    assert failed and "答错 1 题" in failed[0] and "今天 12:00 后" in failed[0]  # 10:00 + 2 h
    async with services.db.session() as s:
        row = (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep01"))).first()
    assert row is not None and row.correct == 0
    await chat.handle_line("/advance 2h1m")
    await chat.handle_line("通关")
    assert "后可以重考" not in transcript.last("rep01")["text"]


LOCKED_CUSTOMER = """客户,公司,电话,金额,开始日期,结束日期,负责人,健康分
韩娜伟,宏达科技,19493351666,80000,2023-10-01,2024-10-31,rep01,30
"""


async def _locked_account(services: Services, tmp_path: Path, now: datetime) -> int:
    """rep01's won customer 韩娜伟 · 宏达科技, whose contract ends soon with nothing paid: warned and locked."""
    account = await seed_lead(services, "rep01", status="won", stage="close", assigned_at=now - timedelta(days=300),
                              customer_name="韩娜伟", company="宏达科技", phone="19493351666")
    sheet = tmp_path / "合同.csv"
    sheet.write_text(LOCKED_CUSTOMER, encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "contracts", "import", str(sheet),
                                   "--now", now.isoformat()) == 0
    async with services.db.session() as s:
        assert (await s.scalar(select(RenewalWarning.locked).where(RenewalWarning.lead_id == account))) is True
    return account


@pytest.mark.parametrize("who", ["rep01", "rep02"])
async def test_create_anyway_on_a_screenshot_cannot_sidestep_a_renewal_lock(
        services: Services, chat: ChatSession, transcript: Transcript, clock: ManualClock, tmp_path: Path,
        who: str) -> None:
    """「锁定中的客户，我发截图点『仍然新建』就又有了一条能操作的线索」: the draft stays a draft, one account."""
    sample = make_sample(3, "lead")  # 韩娜伟 · 宏达科技 · 19493351666
    account = await _locked_account(services, tmp_path, sample.now)
    clock.set(sample.now)
    chat.user = who
    shot = tmp_path / "shot.jpg"
    shot.write_bytes(sample.image)
    await chat.handle_line(f"/image {shot}")
    card = transcript.last(who)
    assert "仍然新建" in [b["text"] for b in card["buttons"]], card
    await chat.handle_line("/click 仍然新建")
    said = transcript.last(who)["text"]
    assert "已新建" not in said and f"#{account}" in said and "续约" in said
    async with services.db.session() as s:
        live = list((await s.scalars(select(Lead.id).where(Lead.company.like("%宏达%"),
                                                            Lead.status.in_((*OPEN_STATUSES, "won"))))).all())
    assert live == [account]
