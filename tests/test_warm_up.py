"""`serve` loads the knowledge index and the jieba dictionaries right after start, so the first question or
screenshot after a restart does not wait ~1 s for each of them."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestServer

import ocr.catalog
from app.runtime import build_services
from app.server import SERVICES, WARM_UP, create_app
from bot.clock import ManualClock
from bot.config import Settings
from handlers.knowledge import knowledge_base
from handlers.leads.insights import insight_miner


async def test_a_restarted_server_loads_index_and_dictionaries_before_the_first_message(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = replace(settings, knowledge=replace(settings.knowledge, seed_demo=True))
    first = await build_services(settings, clock, {})  # an earlier run stored the demo cards
    await first.db.dispose()
    monkeypatch.setattr(ocr.catalog, "_cache", {})  # a fresh process has not loaded the product catalog
    app = await create_app(replace(settings, server=replace(settings.server, warm_up=True)), clock, channels={})
    services = app[SERVICES]
    assert knowledge_base(services).size == 0  # cards already stored: start-up seeded nothing, built nothing
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await app[WARM_UP]
        kb = knowledge_base(services)
        assert kb.size == 48 and kb.builds == 1
        assert kb.search("三甲医院设备科嫌贵怎么回").answered
        assert ocr.catalog._cache
        assert insight_miner(services)._tokenizer is not None
    finally:
        await server.close()


async def test_the_all_teams_board_is_ready_before_the_first_admin_opens_it(
    settings: Settings, clock: ManualClock,
) -> None:
    """The console's 团队看板 reads every lead (seconds at 10,000): with warm-up on, `serve` computes the
    all-teams board on the console's worker thread right after start; the first visit then shows it."""
    from app.console.leads import REPORTS
    from tests.test_reminders_support import make_lead

    first = await build_services(settings, clock, {})
    await make_lead(first, "rep01", customer_name="预热客户")
    await first.db.dispose()
    app = await create_app(replace(settings, server=replace(settings.server, warm_up=True)), clock, channels={})
    services = app[SERVICES]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        boards = services.shared(REPORTS)
        board = await boards.building[None]
        assert boards.ready[None] is board and board.png.startswith(b"\x89PNG")
        assert board.report.team.open_leads == 1
    finally:
        await server.close()


async def test_each_managers_team_board_is_ready_before_their_first_visit(
    settings: Settings, clock: ManualClock,
) -> None:
    """After a restart the first manager to open 团队看板 waited for their team's report (1.2 s at 10,000 leads):
    the console in its own process (`salesbot console`, serve's child with `[server] console_port`) computes
    every manager's board after the all-teams one; serve's own process draws only the all-teams board."""
    from app.console.core import SERVICES as CONSOLE_SERVICES
    from app.console.leads import REPORTS
    from app.console_process import create_console_app
    from tests.test_reminders_support import make_lead

    first = await build_services(settings, clock, {})
    await make_lead(first, "rep01", customer_name="预热客户")
    await make_lead(first, "rep04", customer_name="预热客户二")
    await first.db.dispose()
    warm = replace(settings, server=replace(settings.server, warm_up=True))
    app = await create_console_app(warm)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        services = app[CONSOLE_SERVICES]
        boards = services.shared(REPORTS)
        await boards.building[None]
        while boards.warming is not None and not boards.warming.done():
            await asyncio.wait([boards.warming])
        assert boards.ready["manager01"].report.team.open_leads == 1
        assert boards.ready["manager02"].report.team.open_leads == 1
    finally:
        await server.close()


async def test_the_first_voice_note_after_a_restart_does_not_wait_for_the_transcription_client(
    settings: Settings, clock: ManualClock,
) -> None:
    """Audit 18c: the first voice note after a start took 4.35 s — it imported the transcription client (about
    700 pydantic models) on the event loop. With `[asr]` on, start-up loads it beside the running server."""
    from bot.asr import OPENAI

    settings = replace(settings, asr=replace(settings.asr, enabled=True, base_url="http://127.0.0.1:9/v1"),
                       server=replace(settings.server, warm_up=True))
    app = await create_app(settings, clock, channels={})
    engines = app[SERVICES].engines  # a fresh process: the services own the client module, built on first use
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await app[WARM_UP]
        assert engines.is_built(OPENAI) and hasattr(engines.get(OPENAI), "AsyncOpenAI")
    finally:
        await server.close()
