"""No verified callback is lost while PostgreSQL is away (issue 20, item 6).

Reproduced first: the ACK needed a database write, so callbacks arriving during an outage longer than WeCom's
retries were lost (11 of 60 in a 20 s outage). Here the test database refuses connections (ALLOW_CONNECTIONS false,
its sessions terminated) while callbacks arrive: each is answered 200, kept in the local spool, and handled exactly
once when the database is back.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from storage.migrate import upgrade
from tests.conftest import PG_URL
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness
from tests.outage import run_outage

OUTAGE_S = 2.0  # the suite's outage; bench/db_outage.py runs the same for 60 s


@pytest.fixture
async def h(settings: Settings, clock: ManualClock, pg_db_url: str) -> AsyncIterator[WecomHarness]:
    await upgrade(pg_db_url)
    s = replace(settings, database=DatabaseSettings(url=pg_db_url))
    async for harness in start_wecom_harness(s, clock):
        yield harness


async def test_callbacks_during_a_database_outage_are_acked_kept_and_handled_once(
        h: WecomHarness, pg_db_url: str) -> None:
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    result = await run_outage(h, admin, pg_db_url.rsplit("/", 1)[1], seconds=OUTAGE_S, at_least=8)
    assert result.sent >= 8 and result.not_acked == 0  # every callback and every retry answered 200
    assert result.spooled == result.sent  # each kept once on disk, its retries not again
    assert (result.lost, result.duplicated) == (0, 0)
    assert result.answered == result.sent == result.handled_once


async def test_a_database_outage_logs_each_cause_once_and_its_recovery(
        h: WecomHarness, pg_db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The 60 s outage wrote ~870 tracebacks (every claim batch, spooled callback, outbox round, replay sweep and
    message): now each recurring piece of work logs the cause once and a line when the database is back."""
    caplog.set_level(logging.INFO)
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    result = await run_outage(h, admin, pg_db_url.rsplit("/", 1)[1], seconds=OUTAGE_S, at_least=8)
    assert result.lost == 0
    tracebacks = Counter((r.name, r.getMessage()) for r in caplog.records if r.exc_info)
    assert tracebacks and max(tracebacks.values()) == 1, tracebacks.most_common(3)
    assert len(tracebacks) <= 8, list(tracebacks)  # one per piece of work (claims, spool, outbox, sweep, …)
    assert any("recovered after" in r.getMessage() for r in caplog.records)
