"""The hot path's small reads on a SQLite file, straight through `sqlite3` on the event loop's thread.

Every text message reads the conversation's state with one small indexed SELECT (handlers/chat/front.py). Through
SQLAlchemy that one statement cost a pool checkout, execution options, a greenlet switch, an execution context,
parameter and row processing and the pool's return — about a sixth of a burst's CPU, for a read SQLite itself
answers in microseconds. Here the statement is compiled by SQLAlchemy once (its SQL, the order of its
parameters, each parameter's and column's type conversion) and then run on a plain `sqlite3` connection of its
own: the same SQL, the same conversions, none of the machinery.

As `Database.reader(inline=True)` did: no BEGIN (the statement reads its own snapshot of the WAL, which holds
every commit made before it), no trip to a driver thread (a WAL read never waits for the write lock), so only for
small indexed reads; never for a write or a report.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import CompoundSelect

Statement = Select[Any] | CompoundSelect
Convert = Callable[[Any], Any] | None


class _Compiled:
    """One statement as SQLite runs it: SQL, parameter names in order with their conversions, row type."""

    def __init__(self, statement: Statement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        names = list(compiled.positiontup or ())
        binds = [compiled.binds[name] for name in names]
        # each value in SQL order: the caller's by name, else the statement's own (a LIMIT, a literal compared)
        self.slots: list[tuple[str, bool, Any, Convert]] = [
            (name, bind.required, bind.effective_value, bind.type.dialect_impl(dialect).bind_processor(dialect))
            for name, bind in zip(names, binds, strict=True)
        ]
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("an expanding IN or literal-execute parameter: not for an inline read")
        columns = list(statement.selected_columns)
        self.columns: list[Convert] = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.row: Any = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]

    def parameters(self, given: Mapping[str, Any]) -> list[Any]:
        """Positional values, each converted as SQLAlchemy converts it (None too: its conversions handle it)."""
        values = []
        for name, required, own, convert in self.slots:
            if name in given:
                value = given[name]
            elif required:
                raise KeyError(f"a value is required for the parameter {name!r}")
            else:
                value = own
            values.append(value if convert is None else convert(value))
        return values

    def rows(self, raw: list[tuple[Any, ...]]) -> list[Any]:
        converts = self.columns
        return [self.row._make([v if f is None else f(v) for f, v in zip(converts, r, strict=True)]) for r in raw]


class InlineReader:
    """A `sqlite3` connection of the event loop's thread and the statements compiled for it."""

    def __init__(self, path: Path, dialect: Dialect, timeout_s: float) -> None:
        self.path, self.dialect, self.timeout_s = path, dialect, timeout_s
        self._conn: sqlite3.Connection | None = None
        self._compiled: dict[int, tuple[Statement, _Compiled]] = {}

    def rows(self, statement: Statement, params: Mapping[str, Any]) -> Sequence[Any]:
        """The rows of `statement` (built once by its caller: compiled once here), as named tuples."""
        entry = self._compiled.get(id(statement))
        if entry is None or entry[0] is not statement:
            entry = self._compiled[id(statement)] = (statement, _Compiled(statement, self.dialect))
        compiled = entry[1]
        return compiled.rows(self._connection().execute(compiled.sql, compiled.parameters(params)).fetchall())

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # autocommit (no implicit BEGIN): each SELECT reads the latest committed snapshot
            self._conn = sqlite3.connect(
                self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
            )  # closed from `dispose`, maybe on another thread
            self._conn.execute("PRAGMA query_only=ON")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
