"""The intake's room for callbacks (bot/intake.py `has_room`): callbacks whose claim is still being written count.

A burst admits callbacks faster than their claims are written (the claims go in batches). Counting only the
pool's jobs, every callback of a batch found room; once claimed, those beyond `max_pending` found the pool full
and waited `replay_grace_s` for the replay sweep (1,200–1,800 of a 1,000/s burst). Each must instead be told 503
before its claim, so WeCom sends it again."""

from __future__ import annotations

import asyncio

from bot.intake import Intake
from bot.messages import Inbound
from bot.services import Services
from bot.tasks import TaskPool


async def test_claims_in_flight_count_toward_the_backlog(services: Services) -> None:
    intake = Intake(services, tasks=TaskPool(max_running=1, max_pending=2))
    release = asyncio.Event()

    async def inbounds() -> list[Inbound]:
        await release.wait()  # the jobs stay in the pool while the callbacks arrive
        return []

    async def callback(i: int) -> int:
        """What a channel does (bot/channels/wecom/callback.py `_accept`): room, then claim, then ACK."""
        if not intake.has_room():
            return 503
        await intake.admit("wecom", f"room-{i}", f"rep{i}", None, inbounds)
        return 200

    try:
        statuses = await asyncio.gather(*(callback(i) for i in range(5)))  # their claims share one batch
        assert intake.claims.batches == 1
        assert sorted(statuses) == [200, 200, 503, 503, 503]
        assert intake.metrics["wecom_accepted"] == 2
        assert intake.metrics["wecom_deferred_after_claim"] == 0  # none claimed and then left for the sweep
        assert intake.tasks.pending == 2 and intake.claiming == 0
    finally:
        release.set()
        await intake.close()
