"""Small dialect-portable SQL helpers."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Date, Result, Table, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.functions import FunctionElement


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


class days_before(FunctionElement[Any]):
    """`days_before(date_column, n)`: the date n days earlier, in SQL, on SQLite (date(x, '-n days')) and on
    PostgreSQL (x - n); n is a whole number fixed when the statement is built."""

    type = Date()
    name = "days_before"
    inherit_cache = True

    def __init__(self, column: Any, days: int) -> None:
        super().__init__(column, literal_column(str(int(days))))


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({column}, '-{days} days')"


@compiles(days_before, "postgresql")
def _days_before_pg(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} - {days})"
