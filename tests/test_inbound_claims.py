"""Group-committed inbound dedup claims."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.dedup import InboundClaimer, claims_url
from tests.conftest import MONDAY_10AM


def test_claims_url() -> None:
    assert claims_url("sqlite+aiosqlite:////data/salesbot.db") == "sqlite+aiosqlite:////data/salesbot.inbound.db"
    assert claims_url("sqlite+aiosqlite:///:memory:") == "sqlite+aiosqlite:///:memory:"
    pg = "postgresql+asyncpg://u@h:5432/salesbot"
    assert claims_url(pg) == pg


async def test_concurrent_claims_once_each(tmp_path: Path) -> None:
    claimer = InboundClaimer(f"sqlite+aiosqlite:///{tmp_path}/s.db", max_batch=7)
    keys = [f"m{i % 40}" for i in range(200)]  # every key five times, all at once
    results = await asyncio.gather(*(claimer.claim("wecom", k, MONDAY_10AM) for k in keys))
    assert sum(results) == 40
    assert {k for k, won in zip(keys, results, strict=True) if won} == {f"m{i}" for i in range(40)}
    assert claimer.batches > 1
    assert await claimer.claim("wecom", "m1", MONDAY_10AM) is False  # durable across batches
    await claimer.close()
    again = InboundClaimer(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    assert await again.claim("wecom", "m2", MONDAY_10AM) is False  # and across restarts
    assert await again.claim("wecom", "new", MONDAY_10AM) is True
    await again.close()
    assert (tmp_path / "s.inbound.db").exists()


async def test_claims_on_postgresql(pg_db_url: str) -> None:
    from storage.migrate import upgrade

    await upgrade(pg_db_url)
    claimer = InboundClaimer(pg_db_url)
    results = await asyncio.gather(*(claimer.claim("wecom", f"k{i % 3}", MONDAY_10AM) for i in range(9)))
    assert sum(results) == 3
    await claimer.close()
