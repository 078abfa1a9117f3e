"""The tamper-evident record (存证): a hash chain of evidence items, stage changes, won/lost decisions and manager
confirmations, appended in the same transaction as the change it records.

Entry n: body = canonical JSON {seq, kind, lead, actor, at, data}; content_hash = SHA-256(body);
prev_hash = entry n-1's entry_hash (GENESIS for the first); entry_hash = SHA-256(prev_hash + content_hash).
Evidence files enter by their SHA-256 (data.sha256). `verify` walks the chain and reports the first broken link:
a changed body or hash, a missing or re-ordered entry, and — against the live rows — an evidence row or file whose
SHA-256 no longer matches, a lead whose stage or won/lost status differs from its last recorded change, and an
anchor (the head hash sent to the admins each day) that the chain no longer contains.

What it proves and what it does not: docs/audit.md.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import ChainEntry, Evidence, KeyValue, Lead

GENESIS = "0" * 64
PG_LOCK = 0x5A1E5B07  # pg_advisory_xact_lock key: one appender at a time (SQLite: BEGIN IMMEDIATE does it)
PAGE = 20_000
ANCHOR_PREFIX = "audit_anchor:"
MIN_ANCHOR_HEX = 16


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def sha256_text(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, content_hash: str) -> str:
    return sha256_text(prev_hash + content_hash)


def make_entry(seq: int, prev_hash: str, kind: str, lead_id: int | None, actor_id: str | None, now: datetime,
               data: dict[str, Any]) -> ChainEntry:
    """A ChainEntry linked to `prev_hash` (pure: no database)."""
    body = canonical({"seq": seq, "kind": kind, "lead": lead_id, "actor": actor_id,
                      "at": now.astimezone(UTC).isoformat(), "data": data})
    content = sha256_text(body)
    return ChainEntry(seq=seq, kind=kind, lead_id=lead_id, body=body, content_hash=content, prev_hash=prev_hash,
                      entry_hash=link_hash(prev_hash, content), created_at=now)


async def head(session: AsyncSession) -> tuple[int, str] | None:
    """(seq, entry_hash) of the last entry, None for an empty record."""
    row = (await session.execute(select(ChainEntry.seq, ChainEntry.entry_hash)
                                 .order_by(ChainEntry.seq.desc()).limit(1))).first()
    return (int(row[0]), str(row[1])) if row else None


async def append(session: AsyncSession, kind: str, *, lead_id: int | None, actor_id: str | None, now: datetime,
                 **data: Any) -> ChainEntry:
    """Append one entry in the caller's transaction (appenders are serialised until it commits)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK})
    last = await head(session)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry = make_entry(seq, prev, kind, lead_id, actor_id, now, data)
    session.add(entry)
    await session.flush()
    return entry


# -- verification -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Break:
    seq: int
    problem: str  # English, for the operator


@dataclass
class _Expected:
    """What the live rows must still say, learnt while walking the chain (last entry wins)."""

    evidence: dict[int, tuple[int, dict[str, Any], int | None]] = field(default_factory=dict)  # id → seq, data, lead
    confirms: dict[int, tuple[int, str, str | None]] = field(default_factory=dict)  # evidence id → seq, verdict, by
    stage: dict[int, tuple[int, str]] = field(default_factory=dict)  # lead → seq, stage
    status: dict[int, tuple[int, str]] = field(default_factory=dict)  # lead → seq, won | lost


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head: tuple[int, str] | None
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


STATE_KINDS = frozenset({"stage", "won", "lost"})  # the last one per lead is checked against the lead row
ROW_KINDS = frozenset({"evidence", "confirm"})  # each checked against its evidence row


@functools.lru_cache(maxsize=64)
def _kind_json(kind: str) -> str:
    return json.dumps(kind, ensure_ascii=False)


def body_tail(kind: str, lead_id: int | None, seq: int) -> str:
    """How a canonical body ends (keys sorted: …data, kind, lead, seq): columns checked without parsing JSON."""
    lead = "null" if lead_id is None else lead_id
    return f',"kind":{_kind_json(kind)},"lead":{lead},"seq":{seq}}}'


def check_link(row: Sequence[Any], prev_seq: int, prev_hash: str) -> str | None:
    """One entry against its predecessor: the problem, or None."""
    seq, kind, lead_id, body, content_hash, prev_col, entry_hash = row
    if seq != prev_seq + 1:
        return f"entry {prev_seq + 1} is missing (next found: {seq})"
    if prev_col != prev_hash:
        return f"previous-hash does not match entry {prev_seq} (that entry was rewritten, or this one replaced)"
    if _sha256(body.encode()).hexdigest() != content_hash:
        return "content changed: its SHA-256 no longer matches the stored content hash"
    if _sha256((prev_col + content_hash).encode()).hexdigest() != entry_hash:
        return "entry hash does not match previous-hash + content hash"
    if not body.endswith(body_tail(kind, lead_id, seq)):
        return "seq/kind/lead columns differ from the hashed content"
    return None


_sha256 = hashlib.sha256


def _parse(body: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _learn_row(exp: _Expected, seq: int, body: str) -> str | None:
    doc = _parse(body)
    if doc is None:
        return "content is not valid JSON"
    data = doc.get("data") or {}
    if not isinstance(data.get("evidence_id"), int):
        return None
    if doc["kind"] == "evidence":
        exp.evidence[data["evidence_id"]] = (seq, data, doc.get("lead"))
    else:
        exp.confirms[data["evidence_id"]] = (seq, str(data.get("verdict")), doc.get("actor"))
    return None


def _learn_states(exp: _Expected, last: dict[int, tuple[int, str, str]],
                  decided: dict[int, tuple[int, str]]) -> None:
    """Per lead, the stage its last recorded stage change (or win) left it at, and its recorded decision."""
    for lead, (seq, kind, body) in last.items():
        if kind == "won":
            exp.stage[lead] = (seq, "close")
        elif kind == "stage":
            after = ((_parse(body) or {}).get("data") or {}).get("after")
            if after:
                exp.stage[lead] = (seq, str(after))
    exp.status.update(decided)


_COLS = (ChainEntry.seq, ChainEntry.kind, ChainEntry.lead_id, ChainEntry.body, ChainEntry.content_hash,
         ChainEntry.prev_hash, ChainEntry.entry_hash)


async def _walk(db: Database) -> tuple[int, tuple[int, str] | None, Break | None, _Expected]:
    exp, prev_seq, prev_hash, count = _Expected(), 0, GENESIS, 0
    last: dict[int, tuple[int, str, str]] = {}  # lead → its last stage/won entry (parsed once, at the end)
    decided: dict[int, tuple[int, str]] = {}
    while True:
        async with db.engine.connect() as conn:  # one short read per page: no long lock on a live database
            rows = (await conn.execute(select(*_COLS).where(ChainEntry.seq > prev_seq)
                                       .order_by(ChainEntry.seq).limit(PAGE))).all()
        if not rows:
            break
        for row in rows:
            problem = check_link(row, prev_seq, prev_hash)
            kind = row[1]
            if problem is None and kind in ROW_KINDS:
                problem = _learn_row(exp, row[0], row[3])
            if problem is not None:
                return count, (prev_seq, prev_hash) if count else None, Break(prev_seq + 1, problem), exp
            if kind in STATE_KINDS and row[2] is not None:
                if kind != "lost":
                    last[row[2]] = (row[0], kind, row[3])
                if kind != "stage":
                    decided[row[2]] = (row[0], kind)
            prev_seq, prev_hash, count = row[0], row[6], count + 1
    _learn_states(exp, last, decided)
    return count, (prev_seq, prev_hash) if count else None, None, exp


def file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def _chunks(ids: Iterable[int], n: int = 500) -> Iterable[list[int]]:
    batch: list[int] = []
    for i in ids:
        batch.append(i)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


async def _evidence_breaks(db: Database, exp: _Expected, files: bool) -> list[Break]:
    found: list[Break] = []
    ids = sorted(set(exp.evidence) | set(exp.confirms))
    for batch in _chunks(ids):
        async with db.session() as session:
            rows = {ev.id: ev for ev in (await session.execute(select(Evidence).where(Evidence.id.in_(batch))))
                    .scalars()}
        for ev_id in batch:
            found.extend(_evidence_row_breaks(ev_id, rows.get(ev_id), exp, files))
    return found


def _evidence_row_breaks(ev_id: int, ev: Evidence | None, exp: _Expected, files: bool) -> list[Break]:
    out: list[Break] = []
    if ev_id in exp.evidence:
        seq, data, lead = exp.evidence[ev_id]
        if ev is None:
            return [Break(seq, f"evidence row {ev_id} was deleted")]
        if ev.lead_id != lead or (data.get("sha256") or None) != (ev.sha256 or None):
            out.append(Break(seq, f"evidence row {ev_id} was changed (lead or SHA-256 differs from the record)"))
        elif files and ev.sha256 and ev.path:
            actual = file_sha256(Path(ev.path))
            if actual is None:
                out.append(Break(seq, f"evidence file of row {ev_id} is missing: {ev.path}"))
            elif actual != ev.sha256:
                out.append(Break(seq, f"evidence file of row {ev_id} was replaced: {ev.path} has another SHA-256"))
    if ev_id in exp.confirms:
        seq, verdict, by = exp.confirms[ev_id]
        if ev is None:
            out.append(Break(seq, f"confirmed evidence row {ev_id} was deleted"))
        elif (verdict == "ok" and ev.confirmed_by != by) or (verdict == "no" and ev.kind != "rejected"):
            out.append(Break(seq, f"evidence row {ev_id} no longer shows the manager's recorded decision"))
    return out


async def _lead_breaks(db: Database, exp: _Expected) -> list[Break]:
    found: list[Break] = []
    for batch in _chunks(sorted(set(exp.stage) | set(exp.status))):
        async with db.session() as session:
            rows = {r[0]: (r[1], r[2]) for r in (await session.execute(
                select(Lead.id, Lead.stage, Lead.status).where(Lead.id.in_(batch)))).all()}
        for lead_id in batch:
            found.extend(_lead_row_breaks(lead_id, rows.get(lead_id), exp))
    return found


def _lead_row_breaks(lead_id: int, row: tuple[str, str] | None, exp: _Expected) -> list[Break]:
    stage, status = exp.stage.get(lead_id), exp.status.get(lead_id)
    first = min(x[0] for x in (stage, status) if x is not None)
    if row is None:
        return [Break(first, f"lead {lead_id} was deleted")]
    out: list[Break] = []
    if stage is not None and row[0] != stage[1]:
        out.append(Break(stage[0], f"lead {lead_id} is at stage {row[0]!r}, the record says {stage[1]!r}"))
    if status is not None and row[1] != status[1]:
        out.append(Break(status[0], f"lead {lead_id} has status {row[1]!r}, the record says {status[1]!r}"))
    elif status is None and row[1] in ("won", "lost") and stage is not None:
        out.append(Break(stage[0], f"lead {lead_id} has status {row[1]!r} with no recorded decision"))
    return out


async def stored_anchors(db: Database) -> list[tuple[int, str]]:
    async with db.session() as session:
        rows = (await session.execute(select(KeyValue).where(KeyValue.key.startswith(ANCHOR_PREFIX)))).scalars()
        return [(int(r.value["seq"]), str(r.value["hash"])) for r in rows if "seq" in r.value and "hash" in r.value]


def parse_anchor(value: str) -> tuple[int, str]:
    """'1234:3f2a9b1c0d4e7a21…' (seq and at least 16 hex digits of its hash; spaces ignored)."""
    seq, _, digest = value.replace(" ", "").partition(":")
    digest = digest.lower()
    if not seq.isdigit() or len(digest) < MIN_ANCHOR_HEX or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"anchor must look like SEQ:HEX (at least {MIN_ANCHOR_HEX} hex digits), got {value!r}")
    return int(seq), digest


async def _anchor_breaks(db: Database, anchors: Iterable[tuple[int, str]], last: tuple[int, str] | None) -> list[Break]:
    out: list[Break] = []
    for seq, digest in sorted(set(anchors)):
        if last is None or seq > last[0]:
            out.append(Break(seq, f"entry {seq} named by an anchor is gone (record truncated)"))
            continue
        async with db.session() as session:
            entry_hash = (await session.execute(select(ChainEntry.entry_hash).where(ChainEntry.seq == seq))).scalar()
        if entry_hash is None or not entry_hash.startswith(digest.lower()):
            out.append(Break(seq, f"entry {seq} does not match the anchor hash {digest[:16]}… (history rewritten)"))
    return out


async def verify(db: Database, *, files: bool = True, anchors: Iterable[tuple[int, str]] = ()) -> VerifyReport:
    """Walk the whole chain, then check the live rows and the anchors; the earliest problem is reported."""
    count, last, broken, exp = await _walk(db)
    if broken is not None:
        return VerifyReport(count, last, broken)
    breaks = [*await _evidence_breaks(db, exp, files), *await _lead_breaks(db, exp),
              *await _anchor_breaks(db, [*anchors, *await stored_anchors(db)], last)]
    return VerifyReport(count, last, min(breaks, key=lambda b: b.seq) if breaks else None)
