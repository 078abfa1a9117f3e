"""A lead changes hands along one path (storage.leads.set_owner): whether a manager types 改派, or answers a freeze
card with 接手 / 改派 / 延期, an open 续约预警 on the lead goes with it to the new owner (audit of issue 12: the
freeze card's buttons set the owner by hand and left the warning, its lock and its reminders with the old rep)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from storage.models import Contract, RenewalWarning
from tests.conftest import Transcript
from tests.test_reminders_ladder import button, freeze_lead


async def _warn(services: Services, lead_id: int) -> int:
    """An open, unlocked 续约预警 of rep01 on the lead (unlocked: it holds back none of the ladder's timers)."""
    now = services.clock.now()
    async with services.db.session() as s:
        contract = Contract(lead_id=lead_id, customer="示例客户", amount_cny=80000, start_on=date(2026, 1, 5),
                            end_on=date(2027, 1, 5), owner_id="rep01", created_at=now, updated_at=now)
        s.add(contract)
        await s.flush()
        warning = RenewalWarning(contract_id=contract.id, lead_id=lead_id, owner_id="rep01", health=70,
                                 health_source="computed", status="open", locked=False, created_at=now)
        s.add(warning)
        await s.flush()
        return warning.id


async def _owner_of_warning(services: Services, warning_id: int) -> str | None:
    async with services.db.session() as s:
        return (await s.execute(select(RenewalWarning.owner_id).where(RenewalWarning.id == warning_id))).scalar_one()


@pytest.mark.parametrize(("answer", "owner"), [("接手", "manager01"), ("改派", "rep02")])
async def test_an_open_renewal_warning_follows_a_frozen_lead_to_its_new_owner(
        chat: ChatSession, services: Services, transcript: Transcript, answer: str, owner: str) -> None:
    lead_id = await freeze_lead(chat, services)
    warning_id = await _warn(services, lead_id)
    card = transcript.last("manager01")
    assert card["title"] == "🧊 线索已冻结，请处理"
    chat.user = "manager01"
    await chat.handle_line(f"/click {button(card, answer)}")
    if answer == "改派":
        picker = transcript.last("manager01")
        await chat.handle_line(f"/click {next(b['key'] for b in picker['buttons'] if 'rep02' in b['key'])}")
    assert await _owner_of_warning(services, warning_id) == owner


async def test_a_typed_reassign_moves_the_open_warning_too(chat: ChatSession, services: Services,
                                                          transcript: Transcript) -> None:
    lead_id = await freeze_lead(chat, services)
    warning_id = await _warn(services, lead_id)
    chat.user = "manager01"
    await chat.handle_line(f"改派 {lead_id} rep02")
    assert await _owner_of_warning(services, warning_id) == "rep02"
