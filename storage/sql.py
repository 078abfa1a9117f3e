"""Small dialect-portable SQL helpers."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def insert_ignore(session: AsyncSession, model: type | Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING for the session's dialect (SQLite or PostgreSQL)."""
    factory = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return factory(model).on_conflict_do_nothing()
