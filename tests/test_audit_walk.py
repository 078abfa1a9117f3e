"""`audit verify` reads the chain and the live activities and flags straight from the driver (bytes, one pass per
table, states written as text without json.dumps): it must find exactly what the application-level reading would.

- the state text of a live row is, byte for byte, the canonical JSON of the state the recorder writes, on awkward
  values (quotes, backslashes, control characters, emoji, cuts at 30 characters, times in any zone or as SQLite text);
- a hash column edited on its own, an activity's time edited by hand, a recorded row deleted among rows that were
  never recorded are found on both backends; rows never recorded are passed over (docs/audit.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text

from bot.clock import CN_TZ
from storage import facts
from storage.activity import add_activity
from storage.chain import verify
from storage.db import Database
from storage.leads import new_lead
from storage.migrate import upgrade
from storage.models import LeadFlag

NOW = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=CN_TZ)
SAID = '拜访钱总，他说"下周报价"'
TEXTS = [None, "", "拜访钱总", '他说"下周签"\\并且\t附上\n报价\x01\x1f', "🔴" * 40, "报" * 29 + "价😀尾", "a" * 31,
         "\u2028行分隔\u2029段分隔\x7f", "'单引号' & <标签>"]
TIMES: list[Any] = [None, NOW, NOW.astimezone(UTC), datetime(2026, 1, 1, tzinfo=UTC),
                    datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
                    "2026-11-23 02:00:00.000000", "2026-11-23 02:00:00.123456", "2026-11-23 02:00:00",
                    "2026-11-23T02:00:00+08:00"]


def _as_storage_reads(at: Any) -> datetime | None:
    """What storage.models.UTCDateTime gives for a value the driver returned."""
    if at is None:
        return None
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@pytest.mark.parametrize("at", TIMES)
@pytest.mark.parametrize("summary", TEXTS)
def test_activity_state_text_is_the_recorded_canonical_state(summary: str | None, at: Any) -> None:
    for actor, kind in (("rep01", "contact"), (None, 'ki"nd'), ("张三", "stage")):
        row = SimpleNamespace(lead_id=12, actor_id=actor, kind=kind, summary=summary,
                              created_at=_as_storage_reads(at))
        assert facts.activity_state_text(12, actor, kind, summary, at) == facts.canonical(facts.activity_state(row))


@pytest.mark.parametrize("reason", TEXTS)
def test_flag_state_text_is_the_recorded_canonical_state(reason: str | None) -> None:
    for answer, by, cleared in ((None, None, None), ("客户集团总预算", "rep01", "manager01"), (reason, reason, reason)):
        cols = {"rule": "budget_outlier", "subject": reason or "", "level": "red", "status": "answered",
                "owner_id": "rep01", "cleared_by": cleared, "reason": reason, "answer": answer, "answered_by": by}
        assert facts.flag_state_text(**cols) == facts.canonical(facts.flag_state(SimpleNamespace(**cols)))


# -- against a database, both backends ------------------------------------------------------------------------------
@pytest.fixture
async def db(db_url: str) -> Any:
    await upgrade(db_url)
    database = Database(db_url)
    yield database
    await database.dispose()


async def _sql(db: Database, sql: str, **params: Any) -> None:
    async with db.session() as s:
        await s.execute(text(sql), params)


async def _recorded(db: Database) -> tuple[int, int]:
    """A lead with two recorded activities (times with microseconds) and a recorded flag; (lead id, first activity)."""
    async with db.session() as s:
        lead = new_lead({"customer_name": "钱多多", "company": "青松物流"}, source="manual", by="rep01", now=NOW,
                        status="active")
        s.add(lead)
        await s.flush()
        first = add_activity(s, lead.id, "rep01", "contact", NOW, SAID)
        add_activity(s, lead.id, "rep01", "contact", NOW + timedelta(minutes=5), "电话确认演示时间")
        s.add(LeadFlag(lead_id=lead.id, rule="repeated_summary", subject="", level="yellow", reason="跟进记录重复",
                       status="open", owner_id="rep01", created_at=NOW, updated_at=NOW))
        await s.flush()
        return lead.id, first.id


@pytest.mark.parametrize("column", ["prev_hash", "content_hash", "entry_hash"])
async def test_a_hash_column_edited_on_its_own_is_found_at_its_entry(db: Database, column: str) -> None:
    await _recorded(db)
    assert (await verify(db)).ok
    await _sql(db, f"UPDATE audit_chain SET {column} = :h WHERE seq = 2", h="ab" * 32)
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 2, report.broken
    await _sql(db, f"UPDATE audit_chain SET {column} = :h WHERE seq = 2", h="ab cd")
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 2 and "校验值被改动" in report.broken.problem


async def test_an_activity_time_edited_by_hand_is_found(db: Database) -> None:
    lead_id, first = await _recorded(db)
    assert (await verify(db)).ok
    pg = db.engine.dialect.name == "postgresql"
    later = "created_at + interval '1 day'" if pg else "'2026-11-24 02:00:00.123456'"
    await _sql(db, f"UPDATE activities SET created_at = {later} WHERE id = :i", i=first)
    report = await verify(db)
    assert report.broken is not None
    assert report.broken.problem == f"线索 #{lead_id} 在 11月23日 10:00 的跟进记录「{SAID}」被改动"


async def test_rows_never_recorded_are_passed_over_and_a_deleted_recorded_one_is_found(db: Database) -> None:
    lead_id, first = await _recorded(db)
    at = NOW if db.engine.dialect.name == "postgresql" else "2026-11-23 02:00:00.123456"
    for key in (first - 1, first + 1000, first + 1001):  # by hand around the recorded ones: no entries (what verify
        # does not prove, docs/audit.md)
        await _sql(db, "INSERT INTO activities (id, lead_id, actor_id, kind, summary, detail, created_at) "
                       "VALUES (:id, :l, 'rep02', 'contact', '手工插入', '{}', :at)", id=key, l=lead_id, at=at)
    assert (await verify(db)).ok
    await _sql(db, "DELETE FROM activities WHERE id = :i", i=first)
    report = await verify(db)
    assert report.broken is not None
    assert report.broken.problem == f"线索 #{lead_id} 在 11月23日 10:00 的跟进记录「{SAID}」已被删除"
