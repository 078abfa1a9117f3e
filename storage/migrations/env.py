"""Alembic environment: async engine, URL handed over by storage.migrate."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.locks import advisory_xact_lock
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        # N instances (or `salesbot db upgrade` run twice) at once on PostgreSQL: one migrates, the others wait
        # here and then find the schema at head (Alembic reads the version after this lock).
        advisory_xact_lock(connection, "migrations")
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


def run_offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


url = config.attributes.get("salesbot_url") or config.get_main_option("sqlalchemy.url")
if context.is_offline_mode():
    run_offline(url)
else:
    asyncio.run(_run_async(url))
