"""Small dialect-portable SQL helpers."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import Insert


def insert_ignore(session: AsyncSession, model: type | Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING for the session's dialect (SQLite or PostgreSQL)."""
    factory = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return factory(model).on_conflict_do_nothing()


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched (its result is a cursor result; the type says only Result)."""
    return cast(CursorResult[Any], result).rowcount


def table_of(model: type[DeclarativeBase]) -> Table:
    """A mapped class's Core table (for statements that skip the ORM's bookkeeping on hot paths)."""
    return cast(Table, model.__table__)
