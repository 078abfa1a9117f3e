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

import asyncio
import functools
import hashlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.db import Database
from storage.models import ChainEntry, Evidence, KeyValue, Lead

GENESIS = "0" * 64
PG_LOCK = 0x5A1E5B07  # pg_advisory_xact_lock key: one appender at a time (SQLite: BEGIN IMMEDIATE does it)
PAGE = 50_000  # rows per fetch of the walk
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


_WALK_SQL = ("SELECT seq, kind, lead_id, body, content_hash, prev_hash, entry_hash FROM audit_chain "
             "ORDER BY seq")


class _Walker:
    """The chain check proper, fed one page of raw rows at a time (pure CPU, no database: runs in an executor).

    Per row: two SHA-256 over strings the driver already made, a compare against the previous row's hash and an
    `endswith` on the body; only evidence/confirm rows that name an evidence item are parsed (their data is checked
    against the live rows), and per lead only the last stage/won entry is kept and parsed once at the end."""

    def __init__(self) -> None:
        self.exp = _Expected()
        self.prev_seq, self.prev_hash, self.count = 0, GENESIS, 0
        self.last: dict[int, tuple[int, str, str]] = {}  # lead → its last stage/won entry
        self.decided: dict[int, tuple[int, str]] = {}
        self.broken: Break | None = None

    def feed(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Check a page; False once a link is broken (self.broken says where)."""
        sha = _sha256
        kinds = _KIND_JSON
        last, decided = self.last, self.decided
        prev_seq, prev_hash, count = self.prev_seq, self.prev_hash, self.count
        for row in rows:
            seq, kind, lead_id, body, content_hash, prev_col, entry_hash = row
            kind_json = kinds.get(kind) or _kind_json(kind)
            if (seq != prev_seq + 1 or prev_col != prev_hash
                    or sha(body.encode()).hexdigest() != content_hash
                    or sha((prev_hash + content_hash).encode()).hexdigest() != entry_hash
                    or not body.endswith(f',"kind":{kind_json},"lead":'
                                         f'{"null" if lead_id is None else lead_id},"seq":{seq}}}')):
                return self._stop(count, prev_seq, prev_hash, check_link(row, prev_seq, prev_hash))
            if kind in STATE_KINDS:
                if lead_id is not None:
                    if kind != "lost":
                        last[lead_id] = (seq, kind, body)
                    if kind != "stage":
                        decided[lead_id] = (seq, kind)
            elif kind in ROW_KINDS and '"evidence_id":' in body:  # JSON escapes a quote inside any text
                problem = _learn_row(self.exp, seq, body)
                if problem is not None:
                    return self._stop(count, prev_seq, prev_hash, problem)
            prev_seq, prev_hash, count = seq, entry_hash, count + 1
        self.prev_seq, self.prev_hash, self.count = prev_seq, prev_hash, count
        return True

    def _stop(self, count: int, prev_seq: int, prev_hash: str, problem: str | None) -> bool:
        self.prev_seq, self.prev_hash, self.count = prev_seq, prev_hash, count
        self.broken = Break(prev_seq + 1, problem or "link check failed")
        return False

    @property
    def head(self) -> tuple[int, str] | None:
        return (self.prev_seq, self.prev_hash) if self.count else None

    def finish(self) -> _Expected:
        _learn_states(self.exp, self.last, self.decided)
        return self.exp


_KIND_JSON: dict[str, str] = {k: json.dumps(k) for k in ("evidence", "stage", "won", "lost", "confirm", "flag_clear")}


async def _pages(conn: AsyncConnection) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
    """The whole chain in seq order, PAGE rows at a time, straight from the driver (no Row objects): a
    server-side cursor on PostgreSQL, one stepped statement on SQLite. `conn` holds the read transaction."""
    await conn.execute(text("SELECT 1"))  # opens the caller's transaction (and its snapshot) on both drivers
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql":
        cursor = await driver.cursor(_WALK_SQL)
        while rows := await cursor.fetch(PAGE):
            yield rows
        return
    sqlite_cursor = await driver.execute(_WALK_SQL)
    try:
        while rows := await sqlite_cursor.fetchmany(PAGE):
            yield rows
    finally:
        await sqlite_cursor.close()


async def _walk(conn: AsyncConnection) -> _Walker:
    """Fetch page n+1 while page n is checked in an executor thread."""
    walker = _Walker()
    loop = asyncio.get_running_loop()
    pages = _pages(conn)
    pending: asyncio.Future[Sequence[Sequence[Any]] | None] = asyncio.ensure_future(anext(pages, None))
    try:
        while (rows := await pending) is not None:
            pending = asyncio.ensure_future(anext(pages, None))
            if not await loop.run_in_executor(None, walker.feed, rows):
                break
    finally:
        if not pending.done():  # let the fetch in flight end before the cursor is closed
            await asyncio.wait([pending])
        if pending.done() and not pending.cancelled():
            pending.exception()  # retrieved: an error of the walk itself is the one raised
        await pages.aclose()
    return walker


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


_EV_COLS = (Evidence.id, Evidence.lead_id, Evidence.kind, Evidence.sha256, Evidence.path, Evidence.confirmed_by)


async def _evidence_breaks(conn: AsyncConnection, exp: _Expected, files: bool) -> list[Break]:
    found: list[Break] = []
    loop = asyncio.get_running_loop()
    for batch in _chunks(sorted(set(exp.evidence) | set(exp.confirms))):
        rows = {r.id: r for r in (await conn.execute(select(*_EV_COLS).where(Evidence.id.in_(batch)))).all()}
        # re-hashing the files reads the disk: in an executor thread
        found.extend(await loop.run_in_executor(None, _evidence_batch_breaks, batch, rows, exp, files))
    return found


def _evidence_batch_breaks(batch: list[int], rows: dict[int, Any], exp: _Expected, files: bool) -> list[Break]:
    return [b for ev_id in batch for b in _evidence_row_breaks(ev_id, rows.get(ev_id), exp, files)]


def _evidence_row_breaks(ev_id: int, ev: Any, exp: _Expected, files: bool) -> list[Break]:
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


async def _lead_breaks(conn: AsyncConnection, exp: _Expected) -> list[Break]:
    found: list[Break] = []
    for batch in _chunks(sorted(set(exp.stage) | set(exp.status))):
        rows = {r[0]: (r[1], r[2]) for r in (await conn.execute(
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


async def stored_anchors(conn: AsyncConnection) -> list[tuple[int, str]]:
    rows = (await conn.execute(select(KeyValue.value).where(KeyValue.key.startswith(ANCHOR_PREFIX)))).scalars()
    return [(int(v["seq"]), str(v["hash"])) for v in rows if isinstance(v, dict) and "seq" in v and "hash" in v]


def parse_anchor(value: str) -> tuple[int, str]:
    """'1234:3f2a9b1c0d4e7a21…' (seq and at least 16 hex digits of its hash; spaces ignored)."""
    seq, _, digest = value.replace(" ", "").partition(":")
    digest = digest.lower()
    if not seq.isdigit() or len(digest) < MIN_ANCHOR_HEX or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"anchor must look like SEQ:HEX (at least {MIN_ANCHOR_HEX} hex digits), got {value!r}")
    return int(seq), digest


async def _anchor_breaks(conn: AsyncConnection, anchors: Iterable[tuple[int, str]],
                         last: tuple[int, str] | None) -> list[Break]:
    out: list[Break] = []
    for seq, digest in sorted(set(anchors)):
        if last is None or seq > last[0]:
            out.append(Break(seq, f"entry {seq} named by an anchor is gone (record truncated)"))
            continue
        entry_hash = (await conn.execute(select(ChainEntry.entry_hash).where(ChainEntry.seq == seq))).scalar()
        if entry_hash is None or not entry_hash.startswith(digest.lower()):
            out.append(Break(seq, f"entry {seq} does not match the anchor hash {digest[:16]}… (history rewritten)"))
    return out


@asynccontextmanager
async def _snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """One read transaction for the whole verification, so the live rows are compared with the record as of the
    same moment (a stage change committed meanwhile is neither half-seen nor reported as a break). SQLite (WAL): a
    deferred BEGIN, writers go on; PostgreSQL: REPEATABLE READ, READ ONLY."""
    async with db.reader(snapshot=True) as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with conn.begin():
            yield conn


async def verify(db: Database, *, files: bool = True, anchors: Iterable[tuple[int, str]] = ()) -> VerifyReport:
    """Walk the whole chain, then check the live rows and the anchors; the earliest problem is reported."""
    async with _snapshot(db) as conn:
        walker = await _walk(conn)
        if walker.broken is not None:
            return VerifyReport(walker.count, walker.head, walker.broken)
        exp = walker.finish()
        breaks = [*await _evidence_breaks(conn, exp, files), *await _lead_breaks(conn, exp),
                  *await _anchor_breaks(conn, [*anchors, *await stored_anchors(conn)], walker.head)]
    return VerifyReport(walker.count, walker.head, min(breaks, key=lambda b: b.seq) if breaks else None)
