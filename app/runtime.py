"""Process set-up shared by `serve`, `chat` and the CLI: schema, seed data, services."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.delivery import ChannelSender, Senders
from bot.engines import Engines
from bot.org import seed_org
from bot.outbox import OutboxSender
from bot.router import Router
from bot.services import Services
from storage.db import Database
from storage.locks import exclusive
from storage.migrate import ensure_schema

log = logging.getLogger(__name__)


async def open_database(settings: Settings) -> Database:
    """Migrated (SQLite) or checked (PostgreSQL) database."""
    await ensure_schema(settings.database.url)
    return Database(settings.database.url, echo=settings.database.echo)


async def build_services(
    settings: Settings, clock: Clock, channels: Mapping[str, ChannelSender], *, seed: bool = True,
    router: Router[Any] | None = None, engines: Engines | None = None,
) -> Services:
    """The one Services of a process, frozen. `channels`: every sender of the process (the configured channels':
    app/channels.build_with_channels; the chat runner's console; a test's fakes); `router`: the product's routes
    unless given (tests give a probe);
    `engines`: a holder already loading some (the server's, with jieba's dictionary) or a new one."""
    from handlers import build_imports, build_router
    from reminders.directory import next_reachable

    db = await open_database(settings)
    senders = Senders({name: _bound(sender, db, clock) for name, sender in channels.items()})
    outbox = OutboxSender(db, clock, senders, default_channel=settings.default_channel,
                          lease_s=settings.reminders.lease_s)
    services = Services(settings=settings, db=db, clock=clock, router=router or build_router(), outbox=outbox,
                        channels=senders, quiet_hours=partial(next_reachable, cfg=settings.reminders),
                        engines=engines or Engines(), imports=build_imports())
    if seed:
        # N instances starting together on an empty database: one seeds, the others wait and find it done.
        async with exclusive(db, "first-start"):
            await seed_org(db, settings.org.users, settings.org.demo, clock.now())
            await seed_knowledge(services)
    return services


def _bound(sender: ChannelSender, db: Database, clock: Clock) -> ChannelSender:
    """`sender`, bound to the process's database and clock when it reads what was sent before (DingTalk: its cards;
    WeCom: media ids, limits shared on PostgreSQL)."""
    bind = getattr(sender, "bind", None)
    if callable(bind):
        bind(db, clock)
    return sender


async def warm_up(services: Services) -> None:
    """Load what a first message would otherwise wait for, beside the running server: the reader's model, the
    knowledge index (a restart with cards already stored builds it on the first question), the jieba dictionaries of
    screenshot needs and visit summaries, and (with `[asr]` on) the transcription client. A failure only means the
    first user waits. Off: `[server] warm_up`."""
    if not services.settings.server.warm_up:
        return
    from bot.asr import load_client_module
    from handlers.intent_model import READER
    from handlers.knowledge import knowledge_base
    from handlers.leads.insights import insight_miner
    from ocr.extract import need_matcher

    loop, start = asyncio.get_running_loop(), time.monotonic()
    try:
        await services.shared(READER).get()  # trains in an executor
        await knowledge_base(services).refresh_if_stale(services.db)
        await loop.run_in_executor(None, need_matcher)
        await loop.run_in_executor(None, insight_miner(services).warm)
        if services.settings.asr.enabled:  # the first voice note must not wait for the client package's import
            await load_client_module(services.engines)
    except Exception:
        log.warning("warm-up failed; the first question or screenshot loads what it needs", exc_info=True)
        return
    log.info("warmed up in %.1f s: knowledge index and dictionaries loaded", time.monotonic() - start)


async def seed_knowledge(services: Services) -> None:
    """Load the shipped demo cards into an empty knowledge base (embedded default)."""
    if not services.settings.knowledge.seed_demo:
        return
    from handlers.knowledge import knowledge_base
    from knowledge.demo import seed_demo

    await seed_demo(services.db, services.clock.now(), knowledge_base(services))
