"""The background task pool: order per key, bounded size, bursts bound the work running at once, drain on shutdown."""

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


async def loop_turns(n: int = 50) -> None:
    """Let every ready task run as far as it can (a count of event-loop turns, not a span of wall-clock time)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_burst_on_a_late_loop_bounds_how_many_jobs_run_at_once() -> None:
    # a burst that outlasts a stalled machine, on a loop always later than its budget
    pool = TaskPool(burst_rate=2, burst_running=3, burst_window_s=10, lag_budget_s=-1.0)
    running, most = 0, 0
    gate = asyncio.Event()

    async def work() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await gate.wait()
        running -= 1

    for i in range(40):  # 40 submissions at once: above 2/s over 10 s
        pool.submit(f"u{i}", work)
    await loop_turns()
    assert running == 3  # work goes on during the burst, a few jobs at a time
    gate.set()
    await pool.drain()
    assert most == 3
    calm = TaskPool(burst_rate=10_000, burst_running=3)  # no burst: every job may run
    gate.clear()
    for i in range(10):
        calm.submit(f"u{i}", work)
    await loop_turns()
    assert running == 10
    gate.set()
    await calm.drain()


async def test_failing_job_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    pool = TaskPool(burst_rate=10_000)

    async def boom() -> None:
        raise RuntimeError("x")

    pool.submit("a", boom)
    await pool.drain()
    assert any("background job failed" in r.message for r in caplog.records)


async def test_a_burst_on_a_prompt_loop_runs_more_jobs_at_once() -> None:
    """A fixed 8 jobs at once bounded a burst to 8 / (one job's wall time) replies a second however idle the
    loop was (jobs waiting on the database or the API): while the loop keeps its turns short the pool lets more
    run, up to max_running."""
    pool = TaskPool(max_running=40, burst_rate=2, burst_running=3, burst_window_s=10, lag_budget_s=10.0)
    running = 0
    gate, all_in = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        nonlocal running
        running += 1
        if running == 40:
            all_in.set()
        await gate.wait()
        running -= 1

    for i in range(40):
        pool.submit(f"u{i}", work)
    await loop_turns()
    assert running == 3  # a burst starts cautious
    async with asyncio.timeout(30):
        await all_in.wait()  # the limit grows at each lag probe until every job runs
    gate.set()
    await pool.drain()


def test_the_burst_limit_halves_when_the_loop_is_late_and_grows_when_it_is_not() -> None:
    pool = TaskPool(max_running=50, burst_running=8, lag_budget_s=0.005)
    assert pool.burst_limit == 8
    pool._burst_slots.resize(pool.next_limit(0.001))
    pool._burst_slots.resize(pool.next_limit(0.001))
    assert pool.burst_limit == 24
    assert pool.next_limit(0.050) == 12
    pool._burst_slots.resize(8)
    assert pool.next_limit(0.050) == 8  # never below the floor
    pool._burst_slots.resize(48)
    assert pool.next_limit(0.0) == 50  # nor above max_running


async def test_a_gate_grown_while_tasks_wait_lets_them_in() -> None:
    from bot.tasks import Gate

    gate, inside, release = Gate(1), 0, asyncio.Event()

    async def enter() -> None:
        nonlocal inside
        async with gate:
            inside += 1
            await release.wait()

    tasks = [asyncio.create_task(enter()) for _ in range(5)]
    await loop_turns()
    assert inside == 1
    gate.resize(4)
    await loop_turns()
    assert inside == 4
    tasks[4].cancel()  # a waiter cancelled gives no slot away
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert gate.busy == 0
