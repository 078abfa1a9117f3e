"""storage/sqlite_driver.py: every statement is one trip to the connection's thread, except the SELECTs of a
`Database.reader(inline=True)`, which run on the caller's (the event loop's) thread; the pool's next user of the
same connection trips again; writes never run inline."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from storage.db import Database
from tests.conftest import sqlite_url


async def test_inline_reads_run_on_the_loop_thread_and_nothing_else_does(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))

    @event.listens_for(db.engine.sync_engine, "connect")
    def _thread_function(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function("thread_id", 0, threading.get_ident)

    loop_thread = threading.get_ident()
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (thread INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (thread_id())"))
        async with db.reader(inline=True) as conn:
            inline = (await conn.execute(text("SELECT thread_id()"))).scalar_one()
            written = (await conn.execute(text("SELECT thread FROM t"))).scalar_one()
        async with db.reader() as conn:  # very likely the same pooled connection: no longer inline
            tripped = (await conn.execute(text("SELECT thread_id()"))).scalar_one()
        async with db.reader(inline=True, snapshot=True) as conn:  # one snapshot over statements: on the thread
            snapshot = (await conn.execute(text("SELECT thread_id()"))).scalar_one()
        async with db.session() as session:
            await session.execute(text("INSERT INTO t VALUES (thread_id())"))
            threads = (await session.execute(text("SELECT thread FROM t"))).scalars().all()
    finally:
        await db.dispose()
    assert inline == loop_thread
    assert loop_thread not in (written, tripped, snapshot, *threads)
