"""No holiday data for this or next year (chinesecalendar ends with 2026): a loud log and one message a day to the
admins, until the package is upgraded or 放假 overrides patch the year; the check runs at start-up and daily."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from app.periodic import check_calendar_years
from app.scheduler import start_scheduler
from bot.clock import CN_TZ, ManualClock
from bot.services import Services
from reminders.calendar import set_override, statutory_covers, uncovered_years
from tests.conftest import Transcript
from tests.test_chinese_only import foreign_words


def test_years_covered_by_the_package_or_by_overrides() -> None:
    assert statutory_covers(2026) and not statutory_covers(2099)
    assert uncovered_years(date(2026, 6, 1), {}) == ([] if statutory_covers(2027) else [2027])
    assert uncovered_years(date(2099, 6, 1), {}) == [2099, 2100]
    assert uncovered_years(date(2099, 6, 1), {date(2099, 10, 1): False, date(2100, 1, 3): True}) == [2100]


async def test_admins_are_told_once_a_day(services: Services, clock: ManualClock, transcript: Transcript,
                                          caplog: pytest.LogCaptureFixture) -> None:
    if statutory_covers(2027):
        pytest.skip("the installed chinesecalendar already covers 2027")
    clock.set(datetime(2026, 12, 1, 10, tzinfo=CN_TZ))
    with caplog.at_level(logging.WARNING, logger="app.periodic"):
        assert await check_calendar_years(services) == 1
    assert any("2027" in r.getMessage() and "chinesecalendar" in r.getMessage() for r in caplog.records)
    await services.outbox.drain()
    told = [m for m in transcript.to("admin01") if m["kind"] != "info"]
    assert len(told) == 1 and "2027" in told[0]["text"] and "升级节假日数据" in told[0]["text"]
    assert foreign_words(told[0]["text"]) == [], told[0]["text"]  # an admin in chat cannot run pip
    assert "放假" in told[0]["text"]

    await check_calendar_years(services)  # a restart the same day: logged again, not sent again
    await services.outbox.drain()
    assert len([m for m in transcript.to("admin01") if m["kind"] != "info"]) == 1
    clock.set(datetime(2026, 12, 2, 10, tzinfo=CN_TZ))
    await check_calendar_years(services)
    await services.outbox.drain()
    assert len([m for m in transcript.to("admin01") if m["kind"] != "info"]) == 2

    async with services.db.session() as session:  # the admins patched 2027 by hand
        await set_override(session, date(2027, 1, 1), False, "元旦")
    clock.set(datetime(2026, 12, 3, 10, tzinfo=CN_TZ))
    assert await check_calendar_years(services) == 0


async def test_the_scheduler_checks_at_start_up(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    if statutory_covers(2027):
        pytest.skip("the installed chinesecalendar already covers 2027")
    with caplog.at_level(logging.WARNING, logger="app.periodic"):
        scheduler = start_scheduler(services)
        try:
            await scheduler.join()  # the start-up run, then every morning at work start
            assert any("chinesecalendar" in r.getMessage() for r in caplog.records)
            job = scheduler.get_job("calendar-check")
            assert job is not None and job.next_run_time is not None and job.next_run_time.hour == 9
        finally:
            await scheduler.stop()
