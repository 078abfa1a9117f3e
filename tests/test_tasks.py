"""The background task pool: order per key, bounded size, bursts defer work, drain on shutdown."""

from __future__ import annotations

import asyncio

from bot.tasks import TaskPool


async def test_jobs_of_one_key_run_in_order_and_keys_interleave() -> None:
    pool = TaskPool(max_running=4, burst_rate=10_000)
    seen: list[str] = []
    b_ran = asyncio.Event()  # a1 finishes only after b1 ran: no clock decides the order

    async def a1() -> None:
        await b_ran.wait()
        seen.append("a1")

    async def a2() -> None:
        seen.append("a2")

    async def b1() -> None:
        seen.append("b1")
        b_ran.set()

    pool.submit("a", a1)
    pool.submit("a", a2)
    pool.submit("b", b1)
    await pool.drain()
    assert seen.index("a1") < seen.index("a2")
    assert seen[0] == "b1"  # b did not wait for a


async def test_join_waits_for_jobs_and_the_jobs_they_submit() -> None:
    pool = TaskPool(burst_rate=10_000)
    seen: list[str] = []

    async def follow_up() -> None:
        seen.append("follow-up")

    async def first() -> None:
        seen.append("first")
        pool.submit("u", follow_up)

    pool.submit("u", first)
    await pool.join()
    assert seen == ["first", "follow-up"] and pool.pending == 0
    assert pool.submit("u", follow_up)  # join does not close the pool
    await pool.drain()


async def test_full_and_closed_pool_refuses() -> None:
    pool = TaskPool(max_pending=1, burst_rate=10_000)
    gate = asyncio.Event()
    assert pool.submit("a", gate.wait) is True
    assert pool.has_room() is False and pool.submit("b", gate.wait) is False
    gate.set()
    await pool.drain()
    assert pool.submit("c", gate.wait) is False  # closed after drain


async def test_a_burst_defers_work_until_it_passes() -> None:
    pool = TaskPool(burst_rate=50, max_defer_s=5)
    started: list[float] = []
    loop = asyncio.get_running_loop()

    async def work() -> None:
        started.append(loop.time())

    t0 = loop.time()
    for i in range(40):  # 40 submissions at once: far above 50/s over 0.2 s
        pool.submit(f"u{i}", work)
    await asyncio.sleep(0.1)
    assert started == []  # nothing ran during the burst
    await asyncio.sleep(0.3)
    assert len(started) == 40 and min(started) - t0 >= 0.15  # ran once it passed
    await pool.drain()


async def test_failing_job_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    pool = TaskPool(burst_rate=10_000)

    async def boom() -> None:
        raise RuntimeError("x")

    pool.submit("a", boom)
    await pool.drain()
    assert any("background job failed" in r.message for r in caplog.records)
