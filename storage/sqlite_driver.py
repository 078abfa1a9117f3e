"""aiosqlite, one trip to the connection's thread per statement (SQLAlchemy's adapter makes four).

aiosqlite runs each sqlite3 call on a thread of its own. SQLAlchemy's aiosqlite adapter asks that thread four
times per statement — open a cursor, execute, fetch the rows, close the cursor — and each trip costs a queue
put, a thread wake-up and a wake-up of the event loop: ~200 µs of CPU for a statement SQLite itself runs in a
few µs, most of a reply's cost under a burst. `OneTripCursor` does the four steps as one function on that
thread and keeps what the caller reads afterwards (rows, description, rowcount, lastrowid). A connection marked
`inline` (`Database.reader(inline=True)`: a small read of the hot path) runs its SELECTs on the calling thread:
no trip at all (the connections are opened with `check_same_thread=False`; the connection's mutex still keeps
one statement at a time).

`dbapi()` is handed to `create_async_engine(..., module=...)` (storage/db.py); the dialect, URLs, pooling and
transactions are SQLAlchemy's own `sqlite+aiosqlite`. Server-side (streaming) cursors keep aiosqlite's own.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, int, int | None, list[Any] | None, bool]  # description, rowcount, lastrowid, rows, in a tx


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """On the connection's thread: the whole statement, cursor closed before returning."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, cursor.rowcount, cursor.lastrowid, rows, conn.in_transaction
    finally:
        cursor.close()


def _end(conn: sqlite3.Connection, how: str) -> bool:
    getattr(conn, how)()
    return conn.in_transaction


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor with no aiosqlite cursor behind it: each execute is one function on the thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no trip to create a cursor
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1  # sqlite3's default; the rows are all here already

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        return None

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: str, parameters: Any, *, many: bool) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            outcome: Outcome
            if cast(OneTripConnection, self._adapt_connection).inline and operation.startswith("SELECT"):
                outcome = _run(connection._conn, operation, parameters, many)  # `Database.reader(inline=True)`
            else:
                outcome = await connection._execute(_run, connection._conn, operation, parameters, many)
        self._description, self._rowcount, self._lastrowid, rows, in_tx = outcome
        cast(OneTripConnection, self._adapt_connection).in_tx = in_tx
        self._rows = collections.deque(rows or ())

    async def _async_soft_close(self) -> None:
        return  # nothing is open on the thread

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Knows whether its sqlite3 connection is inside a transaction (each trip reports it), so the rollback
    the pool issues when a connection comes back after its transaction ended costs no trip."""

    __slots__ = ("in_tx", "inline")
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.in_tx = True  # not known until the first trip: assume one is open
        self.inline = False  # a SELECT runs on the calling thread (storage/db.py sets it at each begin)

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            self.in_tx = True  # aiosqlite's own cursor reports nothing back
        return super().cursor(server_side)

    def rollback(self) -> None:
        if self.in_tx and self._connection._connection:
            self._end("rollback")

    def commit(self) -> None:
        if self.in_tx and self._connection._connection:
            self._end("commit")

    def _end(self, how: str) -> None:
        try:
            self.in_tx = await_(self._connection._execute(_end, self._connection._conn, how))
        except Exception as error:
            self.in_tx = True
            self._handle_exception(error)


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def dbapi() -> OneTripDbapi:
    return OneTripDbapi(aiosqlite, sqlite3)
