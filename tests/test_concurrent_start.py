"""Two `salesbot serve` processes started at the same moment on an empty database: every first-start step
(migrations, demo org, demo knowledge cards) happens once, and both come up and stay up. (Two race as a third
would; each more process is a Python start and a start-up on 2 cores.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from knowledge.demo import demo_cards
from storage.db import Database
from storage.models import KnowledgeCard, User
from tests.fakes.wecom_api import FakeWecom
from tests.servers import Server, run_cli, wecom_env


async def _counts(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        async with db.session() as session:
            users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
            cards = (await session.execute(select(func.count()).select_from(KnowledgeCard))).scalar_one()
        return users, cards
    finally:
        await db.dispose()


async def test_two_instances_start_together_on_an_empty_database(tmp_path: Path, empty_db_url: str) -> None:
    db_url = empty_db_url
    async with FakeWecom(corp_id="wwstartcorp001") as fake:
        env = wecom_env(db_url, fake.corp_id, fake.secret, fake.base_url,
                        SALESBOT_KNOWLEDGE_SEED_DEMO="true", SALESBOT_SERVER_WARM_UP="false")
        if not db_url.startswith("sqlite"):  # PostgreSQL is migrated by the operator: two at once here too
            results = await asyncio.gather(*(run_cli(env, "db", "upgrade") for _ in range(2)))
            assert [code for code, _err in results] == [0, 0], results
        servers = [Server(tmp_path, env, f"serve{i}") for i in range(2)]
        try:
            await asyncio.gather(*(s.spawn() for s in servers))
            await asyncio.gather(*(s.healthy() for s in servers))
            users, cards = await _counts(db_url)
            assert users == 8  # the demo org, once
            assert cards == len(demo_cards())  # the demo knowledge base, once
            for server in servers:
                assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
        finally:
            codes = await asyncio.gather(*(s.stop() for s in servers))
        assert codes == [0, 0], [s.log_text()[-2000:] for s in servers]
