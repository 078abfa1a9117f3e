"""The hash-chained record: appends link up, `audit verify` finds a hand-edited row, a deleted or re-ordered entry,
a replaced evidence file, a lead whose stage was edited behind the record, and a rewritten history (anchor)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.clock import CN_TZ
from storage import facts
from storage.activity import add_activity
from storage.chain import GENESIS, append, head, link_hash, parse_anchor, sha256_text, verify
from storage.db import Database
from storage.leads import new_lead, set_field
from storage.migrate import upgrade
from storage.models import ChainEntry, Evidence, Lead, LeadFlag
from tests.conftest import run_cli

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)


@pytest.fixture
async def db(db_url: str) -> Any:
    await upgrade(db_url)
    database = Database(db_url)
    yield database
    await database.dispose()


async def _lead(db: Database, stage: str = "new") -> int:
    async with db.session() as s:
        lead = new_lead({"customer_name": "钱多多", "company": "青松物流"}, source="manual", by="rep01", now=NOW,
                        status="active")
        lead.stage = stage  # no owner: this test database has no users
        s.add(lead)
        await s.flush()
        return lead.id


async def _evidence(db: Database, lead_id: int, tmp_path: Path, data: bytes) -> tuple[int, Path]:
    digest = hashlib.sha256(data).hexdigest()
    path = tmp_path / f"{digest}.png"
    path.write_bytes(data)
    async with db.session() as s:
        ev = Evidence(lead_id=lead_id, kind="image", sha256=digest, path=str(path), added_by="rep01", created_at=NOW)
        s.add(ev)
        await s.flush()
        await append(s, "evidence", lead_id=lead_id, actor_id="rep01", now=NOW, evidence_id=ev.id, sha256=digest)
        return ev.id, path


async def _stage(db: Database, lead_id: int, before: str, after: str) -> None:
    async with db.session() as s:
        await s.execute(text("UPDATE leads SET stage = :a WHERE id = :i"), {"a": after, "i": lead_id})
        await append(s, "stage", lead_id=lead_id, actor_id="rep01", now=NOW, before=before, after=after)


async def _sql(db: Database, sql: str, **params: Any) -> None:
    async with db.session() as s:
        await s.execute(text(sql), params)


async def _history(db: Database, tmp_path: Path) -> int:
    lead_id = await _lead(db)
    await _stage(db, lead_id, "new", "qualify")
    await _evidence(db, lead_id, tmp_path, b"contract page bytes")
    await _stage(db, lead_id, "qualify", "discover")
    return lead_id


async def test_entries_link_up_and_verify_ok(db: Database, tmp_path: Path) -> None:
    await _history(db, tmp_path)
    async with db.session() as s:
        rows = list((await s.execute(text("SELECT seq, prev_hash, content_hash, entry_hash, body FROM audit_chain "
                                          "ORDER BY seq"))).all())
        last = await head(s)
    assert [r[0] for r in rows] == [1, 2, 3, 4]  # the lead's fields, then its history
    assert rows[0][1] == GENESIS
    for before, row in itertools.pairwise(rows):
        assert row[1] == before[3]
    for row in rows:
        assert row[2] == sha256_text(row[4]) and row[3] == link_hash(row[1], row[2])
    assert last == (4, rows[-1][3])
    report = await verify(db)
    assert report.ok and report.entries == 4


async def test_empty_record_verifies(db: Database) -> None:
    report = await verify(db)
    assert report.ok and report.entries == 0 and report.head is None


async def test_hand_edited_body_is_found(db: Database, tmp_path: Path) -> None:
    await _history(db, tmp_path)
    await _sql(db, "UPDATE audit_chain SET body = REPLACE(body, 'discover', 'close') WHERE seq = 4")
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 4 and "内容被改动" in report.broken.problem


async def test_rehashed_edit_is_found_at_the_next_link(db: Database, tmp_path: Path) -> None:
    """Whoever edits a body and recomputes its hashes still breaks the link to the entry after it."""
    await _history(db, tmp_path)
    async with db.session() as s:
        body, prev = (await s.execute(text("SELECT body, prev_hash FROM audit_chain WHERE seq = 2"))).one()
        new_body = body.replace("qualify", "demo")
        content = sha256_text(new_body)
        await s.execute(text("UPDATE audit_chain SET body = :b, content_hash = :c, entry_hash = :e WHERE seq = 2"),
                        {"b": new_body, "c": content, "e": link_hash(prev, content)})
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 3 and "衔接不上" in report.broken.problem


async def test_deleted_entry_is_found(db: Database, tmp_path: Path) -> None:
    await _history(db, tmp_path)
    await _sql(db, "DELETE FROM audit_chain WHERE seq = 2")
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 2 and "缺失" in report.broken.problem


async def test_lead_stage_edited_behind_the_record_is_found(db: Database, tmp_path: Path) -> None:
    lead_id = await _history(db, tmp_path)
    await _sql(db, "UPDATE leads SET stage = 'close' WHERE id = :i", i=lead_id)
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 4
    assert report.broken.problem == f"线索 #{lead_id} 的阶段是「签约回款」，记录为「需求诊断」"


async def test_won_without_a_recorded_decision_is_found(db: Database, tmp_path: Path) -> None:
    lead_id = await _history(db, tmp_path)
    await _sql(db, "UPDATE leads SET status = 'won' WHERE id = :i", i=lead_id)
    report = await verify(db)
    # the lead's recorded state (status 跟进中) is the earliest entry the edit contradicts
    assert report.broken is not None and report.broken.seq == 1
    assert report.broken.problem == f"线索 #{lead_id} 的状态被改动：记录为「跟进中」，现为「赢单」"


async def test_replaced_evidence_file_is_found(db: Database, tmp_path: Path) -> None:
    lead_id = await _lead(db)
    _, path = await _evidence(db, lead_id, tmp_path, b"the real contract")
    assert (await verify(db)).ok
    path.write_bytes(b"a forged contract")
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 2 and "证据文件被替换" in report.broken.problem
    assert (await verify(db, files=False)).ok  # the rows themselves are intact
    path.unlink()
    assert "证据文件不见了" in str((await verify(db)).broken)


async def test_evidence_row_edited_is_found(db: Database, tmp_path: Path) -> None:
    lead_id = await _lead(db)
    ev_id, _ = await _evidence(db, lead_id, tmp_path, b"payment record")
    await _sql(db, "UPDATE evidence SET sha256 = :h WHERE id = :i", h="ab" * 32, i=ev_id)
    report = await verify(db, files=False)
    assert report.broken is not None and f"线索 #{lead_id} 的一份证据被改动" in report.broken.problem
    await _sql(db, "DELETE FROM evidence WHERE id = :i", i=ev_id)
    assert "证据已被删除" in str((await verify(db, files=False)).broken)


async def test_anchor_catches_a_rewritten_history(db: Database, tmp_path: Path) -> None:
    """Rewrite every entry consistently: the chain checks out, the anchor the admins hold does not."""
    await _history(db, tmp_path)
    async with db.session() as s:
        seq, digest = await head(s)  # type: ignore[misc]
    anchor = (seq, digest[:16])
    assert (await verify(db, anchors=[anchor])).ok
    async with db.session() as s:
        rows = list((await s.execute(text("SELECT seq, body FROM audit_chain ORDER BY seq"))).all())
        await s.execute(text("DELETE FROM audit_chain"))
        prev = GENESIS
        for number, body in rows:
            entry = _rebuilt(number, body.replace('"actor":"rep01"', '"actor":"rep02"'), prev)
            s.add(entry)
            prev = entry.entry_hash
    assert (await verify(db)).ok  # self-consistent forgery
    report = await verify(db, anchors=[anchor])
    assert report.broken is not None and report.broken.seq == seq and "锚点" in report.broken.problem
    await _sql(db, "DELETE FROM audit_chain WHERE seq = 4")  # drop the last entry and undo what it recorded
    await _sql(db, "UPDATE leads SET stage = 'qualify'")
    assert "记录被截断" in str((await verify(db, anchors=[anchor])).broken)


def _rebuilt(seq: int, body: str, prev: str) -> ChainEntry:
    import json

    doc = json.loads(body)
    content = sha256_text(body)
    return ChainEntry(seq=seq, kind=doc["kind"], lead_id=doc["lead"], body=body, content_hash=content,
                      prev_hash=prev, entry_hash=link_hash(prev, content), created_at=NOW)


async def test_concurrent_appends_stay_one_chain(db: Database) -> None:
    lead_id = await _lead(db)

    async def one(i: int) -> None:
        async with db.session() as s:
            await append(s, "confirm", lead_id=lead_id, actor_id="manager01", now=NOW, n=i)

    await asyncio.gather(*(one(i) for i in range(8)))
    report = await verify(db)
    assert report.ok and report.entries == 9  # the lead's fields and the 8 appends


def test_parse_anchor() -> None:
    assert parse_anchor("12:3F2A 9B1C 0D4E 7A21") == (12, "3f2a9b1c0d4e7a21")
    for bad in ("12", "x:3f2a9b1c0d4e7a21", "12:3f2a", "12:zz2a9b1c0d4e7a21"):
        with pytest.raises(ValueError):
            parse_anchor(bad)


async def test_cli_verify_exit_codes(db: Database, db_url: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    await _history(db, tmp_path)
    assert await asyncio.to_thread(run_cli, db_url, "audit", "verify") == 0
    assert "✅ 记录完好：共 4 条" in capsys.readouterr().out
    assert await asyncio.to_thread(run_cli, db_url, "audit", "head") == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("4:")
    assert await asyncio.to_thread(run_cli, db_url, "audit", "verify", "--anchor", printed) == 0
    capsys.readouterr()
    await _sql(db, "UPDATE audit_chain SET body = REPLACE(body, 'rep01', 'rep03') WHERE seq = 2")
    assert await asyncio.to_thread(run_cli, db_url, "audit", "verify") == 1
    out = capsys.readouterr().out
    assert "❌ 记录被改动：第 2 条" in out and not re.search(r"[A-Za-z]{3,}", out)  # Chinese, no stage codes
    assert await asyncio.to_thread(run_cli, db_url, "audit", "verify", "--anchor", "nonsense") == 2


async def test_walk_across_pages_finds_the_break_on_a_later_page(db: Database, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk streams the chain in pages (a server-side cursor on PostgreSQL): the link from one page to the next
    is checked like any other, and a break on a later page is reported at its own entry."""
    import storage.chain

    monkeypatch.setattr(storage.chain, "PAGE", 2)
    lead_id = await _history(db, tmp_path)
    await _stage(db, lead_id, "discover", "demo")
    await _stage(db, lead_id, "demo", "negotiate")
    report = await verify(db)
    assert report.ok and report.entries == 6 and report.head is not None and report.head[0] == 6
    await _sql(db, "UPDATE audit_chain SET body = REPLACE(body, 'negotiate', 'close') WHERE seq = 6")
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 6 and report.entries == 5
    await _sql(db, "DELETE FROM audit_chain WHERE seq = 3")  # a missing entry at a page boundary
    report = await verify(db)
    assert report.broken is not None and report.broken.seq == 3 and "缺失" in report.broken.problem


# -- the facts a manager relies on: lead fields with provenance, activities, flags ---------------------------------
async def _facts(db: Database) -> int:
    async with db.session() as s:
        lead = new_lead({"customer_name": "钱多多", "company": "青松物流", "budget_cny": "50万"}, source="manual",
                        by="rep01", now=NOW, status="active")
        s.add(lead)
        await s.flush()
        add_activity(s, lead.id, "rep01", "contact", NOW, "拜访钱总，演示了报表功能，下周报价")
        s.add(LeadFlag(lead_id=lead.id, rule="budget_outlier", subject="", level="red",
                       reason="预算远高于团队同行业水平", status="open", owner_id="rep01", created_at=NOW,
                       updated_at=NOW))
        return lead.id


async def test_hand_edited_budget_is_named(db: Database) -> None:
    lead_id = await _facts(db)
    assert (await verify(db)).ok
    await _sql(db, "UPDATE leads SET budget_cny = 5000000 WHERE id = :i", i=lead_id)
    report = await verify(db)
    assert report.broken is not None
    assert report.broken.problem == f"线索 #{lead_id} 的预算被改动：记录为「50 万元」，现为「500 万元」"


async def test_hand_edited_provenance_is_found(db: Database) -> None:
    lead_id = await _facts(db)
    await _sql(db, "UPDATE leads SET field_sources = '{}' WHERE id = :i", i=lead_id)
    problem = str((await verify(db)).broken)
    assert f"线索 #{lead_id} 的字段来源" in problem and "预算" in problem


async def test_hand_edited_activity_text_is_found(db: Database) -> None:
    lead_id = await _facts(db)
    await _sql(db, "UPDATE activities SET summary = '客户已签合同' WHERE lead_id = :i", i=lead_id)
    report = await verify(db)
    assert report.broken is not None
    assert report.broken.problem == (f"线索 #{lead_id} 在 11月23日 10:00 的跟进记录"
                                     f"「拜访钱总，演示了报表功能，下周报价」被改动（现为「客户已签合同」）")
    await _sql(db, "DELETE FROM activities WHERE lead_id = :i", i=lead_id)
    assert "跟进记录「拜访钱总，演示了报表功能，下周报价」已被删除" in str((await verify(db)).broken)


async def test_deleted_or_cleared_by_hand_flag_is_found(db: Database) -> None:
    lead_id = await _facts(db)
    await _sql(db, "UPDATE lead_flags SET status = 'cleared' WHERE lead_id = :i", i=lead_id)
    assert (f"线索 #{lead_id} 的🔴标记「预算远高于团队同行业水平」的状态被改动：记录为「待处理」，现为「已清除」"
            in str((await verify(db)).broken))
    await _sql(db, "DELETE FROM lead_flags WHERE lead_id = :i", i=lead_id)
    report = await verify(db)
    assert report.broken is not None
    assert report.broken.problem == f"线索 #{lead_id} 的🔴标记「预算远高于团队同行业水平」已被删除"


async def test_changes_made_through_the_application_verify_ok(db: Database) -> None:
    """The same changes made through the application are recorded: no break."""
    lead_id = await _facts(db)
    async with db.session() as s:
        lead = await s.get(Lead, lead_id)
        assert lead is not None
        set_field(lead, "budget_cny", "500万", "manual", "rep01", NOW)
        lead.extra = {**lead.extra, "decision_chain": "钱总拍板"}
        flag = (await s.execute(select(LeadFlag).where(LeadFlag.lead_id == lead_id))).scalar_one()
        flag.status, flag.answer = "answered", "客户集团总预算"
    async with db.session() as s:
        for row in (await s.execute(select(LeadFlag).where(LeadFlag.lead_id == lead_id))).scalars():
            await s.delete(row)
    report = await verify(db)
    assert report.ok, report.broken
    await _sql(db, "UPDATE leads SET extra = '{}' WHERE id = :i", i=lead_id)
    assert "决策链被改动：记录为「钱总拍板」，现为「空」" in str((await verify(db)).broken)


def test_a_flag_reason_is_not_cut_mid_word() -> None:
    """「…（「医疗」行业历史不足，默」已被删除」: the recorded excerpt is shown up to its last clause break."""
    reason = "预算 5000 万元 超出常见范围（「医疗」行业历史不足，默认上限 2000 万元），请核实"
    recorded = facts.flag_state(SimpleNamespace(rule="budget_outlier", subject="", level="red", status="open",
                                                owner_id="rep01", cleared_by=None, reason=reason, answer=None,
                                                answered_by=None))
    assert facts.flag_changes(1, recorded, None) == (
        "线索 #1 的🔴标记「预算 5000 万元 超出常见范围（「医疗」行业历史不足…」已被删除")
