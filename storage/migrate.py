"""Alembic migrations, run programmatically (`salesbot db upgrade`, and automatically on SQLite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import MIGRATIONS_DIR, sqlite_path
from storage.locks import file_lock


class MigrationsPending(RuntimeError):
    pass


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["salesbot_url"] = url
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


class DatabaseFolderError(Exception):
    """The SQLite file's folder cannot be created (under /proc, under a regular file, no permission)."""


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseFolderError(f"无法创建数据库所在的文件夹 {folder}（{exc.strerror or exc}）") from exc


async def upgrade(url: str) -> None:
    """Apply pending migrations to head (runs Alembic in a worker thread)."""
    path = sqlite_path(url)
    if path is None:  # PostgreSQL serialises concurrent upgrades with an advisory lock (migrations/env.py)
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        return
    make_folder(Path(path).parent)
    async with file_lock(path.with_name(f"{path.name}.migrations.lock")):  # processes starting together
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")


async def ensure_schema(url: str) -> None:
    """SQLite: migrate automatically. PostgreSQL: refuse to run until `salesbot db upgrade`."""
    if url.startswith("sqlite"):
        await upgrade(url)
        return
    current, head = await current_revision(url), head_revision()
    if current != head:
        raise MigrationsPending(
            f"database schema is at {current or 'nothing'}, code needs {head}: run `salesbot db upgrade` first"
        )
