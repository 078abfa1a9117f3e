"""The tamper-evident record (存证): a hash chain of evidence items, stage changes, won/lost decisions, manager
confirmations and the facts a manager relies on (lead fields with provenance, activities, flags: storage/facts.py,
written by storage/recorder.py), appended in the same transaction as the change it records.

Entry n: body = canonical JSON {seq, kind, lead, actor, at, data}; content_hash = SHA-256(body);
prev_hash = entry n-1's entry_hash (GENESIS for the first); entry_hash = SHA-256(prev_hash + content_hash).
Evidence files enter by their SHA-256 (data.sha256). `verify` walks the chain and reports the first broken link:
a changed body or hash, a missing or re-ordered entry, and — against the live rows — an evidence row or file whose
SHA-256 no longer matches or whose type, proof or manager's confirmation differs from the record (or that has no
entry though numbered after a recorded one: added by hand), a lead whose stage or status differs from its last
recorded change or state (a stage set by hand is found even on a lead whose stage never changed through the
application), a lead field, activity or flag that differs from (or is missing against) its last recorded state, and
an anchor (the head hash sent to the admins each day) that the chain no longer contains. Problems are reported in
Chinese.

What it proves and what it does not: docs/audit.md.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import hashlib
import json
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, bindparam, exists, insert, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage import facts
from storage.facts import canonical
from storage.leads import STAGE_CN, STATUS_CN
from storage.models import Activity, ChainEntry, Evidence, KeyValue, Lead, LeadFlag, User


class Database(Protocol):
    """What verification needs of storage.db.Database (named here so the chain, which the session recorder
    writes through, does not import the module that builds those sessions)."""

    def reader(self, *, snapshot: bool = False) -> AbstractAsyncContextManager[AsyncConnection]: ...

GENESIS = "0" * 64
PG_LOCK = 0x5A1E5B07  # pg_advisory_xact_lock key: one appender at a time (SQLite: BEGIN IMMEDIATE does it)
PAGE = 50_000  # rows per fetch of the walk
ANCHOR_PREFIX = "audit_anchor:"
MIN_ANCHOR_HEX = 16


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


QUEUED = "chain_queued"  # session.info key: the entries a recording session writes at commit
GUARDED_MAX = 64  # entries written by the one guarded statement; a longer batch looks the head up first
Item = tuple[str, int | None, str | None, datetime, dict[str, Any]]  # kind, lead id, actor, time, data


async def append(session: AsyncSession, kind: str, *, lead_id: int | None, actor_id: str | None, now: datetime,
                 **data: Any) -> None:
    """Add one entry to the caller's transaction. A session of storage.db.Database (storage/recorder.py) writes
    it at commit, together with the facts the transaction changed, in one statement; any other session writes
    it now (appenders are serialised until the transaction ends)."""
    item: Item = (kind, lead_id, actor_id, now, data)
    sync = session.sync_session
    if getattr(sync, "records_at_commit", False):
        sync.info.setdefault(QUEUED, []).append(item)
        return
    await session.run_sync(lambda s: append_rows(s.connection(), [item]))


_ENTRY_COLS = ("seq", "kind", "lead_id", "body", "content_hash", "prev_hash", "entry_hash", "created_at")
# the head each engine last committed (storage/recorder.py keeps it): the next append links to it without a lookup,
# guarded by the statement itself; another process's appends only make the guard fail once
_HEADS: weakref.WeakKeyDictionary[Engine, tuple[int, str]] = weakref.WeakKeyDictionary()


def remember_head(engine: Engine, last: tuple[int, str]) -> None:
    """The head a transaction of this engine committed (a stale one only costs the next append a lookup)."""
    _HEADS[engine] = last


def _rows(items: Sequence[Item], seq: int, prev: str) -> list[dict[str, Any]]:
    rows = []
    for kind, lead_id, actor_id, now, data in items:
        entry = make_entry(seq, prev, kind, lead_id, actor_id, now, data)
        rows.append({c: getattr(entry, c) for c in _ENTRY_COLS})
        seq, prev = seq + 1, entry.entry_hash
    return rows


def _guarded_insert(rows: list[dict[str, Any]], after: tuple[int, str]) -> Any:
    """INSERT … SELECT the rows only while `after` is still the last entry (one statement, no lookup before)."""
    cols = [ChainEntry.__table__.c[c] for c in _ENTRY_COLS]
    values = union_all(*(select(*(bindparam(None, row[c.name], type_=c.type).label(c.name) for c in cols))
                         for row in rows)).subquery()
    seq, prev = after
    is_head = ~exists().where(ChainEntry.seq > seq)
    if seq:
        is_head = and_(is_head, exists().where(ChainEntry.seq == seq, ChainEntry.entry_hash == prev))
    return insert(ChainEntry).from_select(list(_ENTRY_COLS), select(*values.c).where(is_head))


def append_rows(conn: Connection, items: Sequence[Item]) -> tuple[int, str] | None:
    """Append entries on a sync connection in its transaction; returns the new head (None: nothing appended).
    With a known head of this engine: one guarded statement (PostgreSQL: after the lock); else a lookup first."""
    if not items:
        return None
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK})
    known = _HEADS.get(conn.engine)
    if known is not None and len(items) <= GUARDED_MAX:
        rows = _rows(items, known[0] + 1, known[1])
        if conn.execute(_guarded_insert(rows, known)).rowcount == len(rows):
            return rows[-1]["seq"], rows[-1]["entry_hash"]
    row = conn.execute(select(ChainEntry.seq, ChainEntry.entry_hash).order_by(ChainEntry.seq.desc()).limit(1)).first()
    rows = _rows(items, int(row[0]) + 1 if row else 1, str(row[1]) if row else GENESIS)
    conn.execute(insert(ChainEntry), rows)
    return rows[-1]["seq"], rows[-1]["entry_hash"]


# -- verification -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Break:
    seq: int
    problem: str  # Chinese: what a manager or admin reads


@dataclass
class _Expected:
    """What the live rows must still say, learnt while walking the chain (last entry wins)."""

    evidence: dict[int, tuple[int, dict[str, Any], int | None]] = field(default_factory=dict)  # id → seq, data, lead
    # evidence id → field (item, proof, confirmed_by) → the seq that set it last, the value the row must hold
    ev_fields: dict[int, dict[str, tuple[int, Any]]] = field(default_factory=dict)
    confirms: dict[int, tuple[int, str, str | None, int | None]] = field(default_factory=dict)  # → seq, verdict,
    # by, lead
    stage: dict[int, tuple[int, str]] = field(default_factory=dict)  # lead → seq, stage
    status: dict[int, tuple[int, str]] = field(default_factory=dict)  # lead → seq, won | lost
    leads: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # lead → seq, body of its last "lead" entry
    # activity | flag → id → seq, lead, SHA-256 of the recorded state's canonical JSON (None: deleted through the
    # application)
    rows: dict[str, dict[int, tuple[int, int | None, bytes | None]]] = field(
        default_factory=lambda: {"activity": {}, "flag": {}})


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
FACT_KINDS = frozenset({"activity", "flag"})  # each checked against its row (a "lead" entry: against the lead)


@functools.lru_cache(maxsize=64)
def _kind_json(kind: str) -> str:
    return json.dumps(kind, ensure_ascii=False)


@functools.lru_cache(maxsize=64)
def _kind_tail(kind: str) -> bytes:
    return f',"kind":{_kind_json(kind)},"lead":'.encode()


def body_tail(kind: str, lead_id: int | None, seq: int) -> bytes:
    """How a canonical body ends (keys sorted: …data, kind, lead, seq), in UTF-8: columns checked without parsing."""
    return b'%bnull,"seq":%d}' % (_kind_tail(kind), seq) if lead_id is None else \
        b'%b%d,"seq":%d}' % (_kind_tail(kind), lead_id, seq)


def check_link(row: Sequence[Any], prev_seq: int, prev_hash: str) -> str | None:
    """One entry (body as UTF-8 bytes, as the walk reads it) against its predecessor: the problem, or None."""
    seq, kind, lead_id, body, content_hash, prev_col, entry_hash = row
    if seq != prev_seq + 1:
        return f"第 {prev_seq + 1} 条记录缺失（接下来是第 {seq} 条）"
    if prev_col != prev_hash:
        return f"与第 {prev_seq} 条记录衔接不上（那一条被改写过，或这一条被替换）"
    if _sha256(body).hexdigest() != content_hash:
        return "内容被改动（与记录时的校验值不符）"
    if _sha256((prev_col + content_hash).encode()).hexdigest() != entry_hash:
        return "校验值被改动（与前一条和本条内容算出的不符）"
    if not body.endswith(body_tail(kind, lead_id, seq)):
        return "编号、类型或所属线索与记录内容不符"
    return None


_sha256 = hashlib.sha256


_CORRUPT = "内容已损坏，无法读取"


def _parse(body: str | bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _learn_row(exp: _Expected, seq: int, body: bytes) -> str | None:
    doc = _parse(body)
    if doc is None:
        return _CORRUPT
    data = doc.get("data") or {}
    if not isinstance(data.get("evidence_id"), int):
        return None
    ev_id = data["evidence_id"]
    if doc["kind"] == "evidence":
        exp.evidence[ev_id] = (seq, data, doc.get("lead"))
        # an entry written before confirmed_by was recorded does not name it
        exp.ev_fields[ev_id] = {k: (seq, data[k]) for k in EVIDENCE_FIELDS if k in data}
    else:
        verdict = str(data.get("verdict"))
        exp.confirms[ev_id] = (seq, verdict, doc.get("actor"), doc.get("lead"))
        fields = exp.ev_fields.setdefault(ev_id, {})
        if verdict == "ok":
            fields["confirmed_by"] = (seq, doc.get("actor"))
        elif verdict == "no":
            fields["item"] = (seq, "rejected")
    return None


EVIDENCE_FIELDS = {"item": "类型", "proof": "用途（认作的证明）", "confirmed_by": "主管确认"}  # entry key → label
_EV_COLUMN = {"item": "kind", "proof": "proof", "confirmed_by": "confirmed_by"}


def _field_shown(key: str, value: Any) -> str:
    if key == "confirmed_by":
        return "已确认" if value else "未确认"
    return (facts.ITEM_CN if key == "item" else facts.PROOF_CN).get(str(value), "未标明") if value else "未标明"


_FACT_ID, _FACT_STATE = b'"data":{"id":', b',"state":'  # an activity or flag entry's data: {"id":N,"state":S}


def _learn_states(exp: _Expected, last: dict[int, tuple[int, str, bytes]],
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


# the body as the UTF-8 bytes its content hash is over (no decoding by the driver, no encoding before hashing); the
# three hashes as one text "prev content entry" (the driver makes one string instead of three: ~0.6 µs a row less)
_WALK_SQL = {dialect: f"SELECT seq, kind, lead_id, {body}, prev_hash || ' ' || content_hash || ' ' || entry_hash "
             "FROM audit_chain ORDER BY seq" for dialect, body in (("sqlite", "CAST(body AS BLOB)"),
                                                                    ("postgresql", "convert_to(body, 'UTF8')"))}


class _Walker:
    """The chain check proper, fed one page of raw rows at a time (pure CPU, no database: runs in an executor).

    Per row: two SHA-256 (the body's over the bytes the driver read), a compare against the previous row's hash and
    an `endswith` on the body; an activity or flag entry keeps the SHA-256 of its recorded state's bytes; only
    evidence/confirm rows that name an evidence item are parsed (their data is checked against the live rows), and
    per lead only the last stage/won entry is kept and parsed once at the end."""

    def __init__(self) -> None:
        self.exp = _Expected()
        self.prev_seq, self.prev_hash, self.count = 0, GENESIS, 0
        self.last: dict[int, tuple[int, str, bytes]] = {}  # lead → its last stage/won entry
        self.decided: dict[int, tuple[int, str]] = {}
        self.broken: Break | None = None

    def feed(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Check a page; False once a link is broken (self.broken says where)."""
        sha = _sha256
        tails = _KIND_TAILS
        last, decided, leads, facts_of = self.last, self.decided, self.exp.leads, self.exp.rows
        prev_seq, prev_hash, count = self.prev_seq, self.prev_hash, self.count
        for seq, kind, lead_id, body, hashes in rows:
            try:
                prev_col, content_hash, entry_hash = hashes.split(" ")
            except ValueError:  # a hash column holds a space
                return self._stop(count, prev_seq, prev_hash, "校验值被改动（格式不对）")
            tail = tails.get(kind) or _kind_tail(kind)
            tail = b'%bnull,"seq":%d}' % (tail, seq) if lead_id is None else b'%b%d,"seq":%d}' % (tail, lead_id, seq)
            if (seq != prev_seq + 1 or prev_col != prev_hash
                    or sha(body).hexdigest() != content_hash
                    or sha((prev_hash + content_hash).encode()).hexdigest() != entry_hash
                    or not body.endswith(tail)):
                row = (seq, kind, lead_id, body, content_hash, prev_col, entry_hash)
                return self._stop(count, prev_seq, prev_hash, check_link(row, prev_seq, prev_hash))
            if kind in FACT_KINDS:  # {…"data":{"id":N,"state":S},"kind":…}: N and S by position (_learn_fact)
                start = body.find(_FACT_ID) + len(_FACT_ID)
                mid = body.find(_FACT_STATE, start)
                if start < len(_FACT_ID) or mid < 0 or not body[start:mid].isdigit():
                    return self._stop(count, prev_seq, prev_hash, _CORRUPT)
                state = body[mid + len(_FACT_STATE):-len(tail) - 1]
                facts_of[kind][int(body[start:mid])] = (seq, lead_id, None if state == b"null" else sha(state).digest())
            elif kind in STATE_KINDS:
                if lead_id is not None:
                    if kind != "lost":
                        last[lead_id] = (seq, kind, body)
                    if kind != "stage":
                        decided[lead_id] = (seq, kind)
            elif kind == "lead":
                if lead_id is not None:
                    leads[lead_id] = (seq, body)
            elif kind in ROW_KINDS and b'"evidence_id":' in body:  # JSON escapes a quote inside any text
                problem = _learn_row(self.exp, seq, body)
                if problem is not None:
                    return self._stop(count, prev_seq, prev_hash, problem)
            prev_seq, prev_hash, count = seq, entry_hash, count + 1
        self.prev_seq, self.prev_hash, self.count = prev_seq, prev_hash, count
        return True

    def _stop(self, count: int, prev_seq: int, prev_hash: str, problem: str | None) -> bool:
        self.prev_seq, self.prev_hash, self.count = prev_seq, prev_hash, count
        self.broken = Break(prev_seq + 1, problem or "校验不通过")
        return False

    @property
    def head(self) -> tuple[int, str] | None:
        return (self.prev_seq, self.prev_hash) if self.count else None

    def finish(self) -> _Expected:
        _learn_states(self.exp, self.last, self.decided)
        return self.exp


_KIND_TAILS: dict[str, bytes] = {k: _kind_tail(k) for k in ("evidence", "stage", "won", "lost", "confirm", "lead",
                                                            "activity", "flag")}


async def _stream(conn: AsyncConnection, sql: str) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
    """The rows of a query, PAGE at a time, straight from the driver (no Row objects, no type processing): a
    server-side cursor on PostgreSQL, one stepped statement on SQLite. `conn` holds the read transaction."""
    await conn.execute(text("SELECT 1"))  # opens the caller's transaction (and its snapshot) on both drivers
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql":
        cursor = await driver.cursor(sql)
        while rows := await cursor.fetch(PAGE):
            yield rows
        return
    sqlite_cursor = await driver.execute(sql)
    try:
        while rows := await sqlite_cursor.fetchmany(PAGE):
            yield rows
    finally:
        await sqlite_cursor.close()


def _pages(conn: AsyncConnection) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
    """The whole chain in seq order."""
    return _stream(conn, _WALK_SQL[conn.dialect.name])


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


_EV_COLS = (Evidence.id, Evidence.lead_id, Evidence.kind, Evidence.sha256, Evidence.path, Evidence.proof,
            Evidence.confirmed_by)


async def _evidence_breaks(conn: AsyncConnection, exp: _Expected, files: bool) -> list[Break]:
    found: list[Break] = []
    loop = asyncio.get_running_loop()
    for batch in _chunks(sorted(set(exp.evidence) | set(exp.confirms))):
        rows = {r.id: r for r in (await conn.execute(select(*_EV_COLS).where(Evidence.id.in_(batch)))).all()}
        # re-hashing the files reads the disk: in an executor thread
        found.extend(await loop.run_in_executor(None, _evidence_batch_breaks, batch, rows, exp, files))
    return found + await _unrecorded_evidence(conn, exp)


async def _unrecorded_evidence(conn: AsyncConnection, exp: _Expected) -> list[Break]:
    """An evidence row numbered after the first recorded one but without an entry of its own was written outside
    the application (every evidence row a session adds is recorded): a contract slipped in by hand. Reported at
    the entry of the recorded row just before it."""
    if not exp.evidence:
        return []
    known = sorted(exp.evidence)
    rows = (await conn.execute(select(Evidence.id, Evidence.lead_id).where(Evidence.id > known[0])
                               .order_by(Evidence.id))).all()
    out = []
    for ev_id, lead_id in rows:
        if ev_id not in exp.evidence:
            before = known[bisect.bisect_left(known, ev_id) - 1]
            out.append(Break(exp.evidence[before][0], f"线索 #{lead_id} 有一份证据没有记录（不是通过系统添加的）"))
            break
    return out


def _evidence_batch_breaks(batch: list[int], rows: dict[int, Any], exp: _Expected, files: bool) -> list[Break]:
    return [b for ev_id in batch for b in _evidence_row_breaks(ev_id, rows.get(ev_id), exp, files)]


def _evidence_row_breaks(ev_id: int, ev: Any, exp: _Expected, files: bool) -> list[Break]:
    out: list[Break] = []
    deleted = False
    if ev_id in exp.evidence:
        seq, data, lead = exp.evidence[ev_id]
        deleted = bool(data.get("deleted"))
        if deleted:
            if ev is not None:
                out.append(Break(seq, f"线索 #{lead} 的一份证据已删除，但现在又出现了"))
        elif ev is None:
            return [Break(seq, f"线索 #{lead} 的一份证据已被删除")]
        elif ev.lead_id != lead or (data.get("sha256") or None) != (ev.sha256 or None):
            out.append(Break(seq, f"线索 #{lead} 的一份证据被改动（所属线索或文件校验值与记录不符）"))
        elif changed := _field_break(ev_id, ev, exp, lead):
            out.append(changed)
        elif files and ev.sha256 and ev.path:
            actual = file_sha256(Path(ev.path))
            if actual is None:
                out.append(Break(seq, f"线索 #{lead} 的{_nth_evidence(exp, ev_id, lead)}文件不见了"))
            elif actual != ev.sha256:
                nth = _nth_evidence(exp, ev_id, lead)
                out.append(Break(seq, f"线索 #{lead} 的{nth}文件被替换，与记录的校验值不符"))
    if ev_id in exp.confirms:
        seq, verdict, by, ev_lead = exp.confirms[ev_id]
        if ev is None:
            if not deleted:
                out.append(Break(seq, f"线索 #{ev_lead} 经主管确认的证据已被删除"))
        elif (ev_id not in exp.evidence
              and ((verdict == "ok" and ev.confirmed_by != by) or (verdict == "no" and ev.kind != "rejected"))):
            out.append(Break(seq, f"线索 #{ev_lead} 的证据不再显示主管当时的确认结果"))
    return out


def _field_break(ev_id: int, ev: Any, exp: _Expected, lead: int | None) -> Break | None:
    """The first of the evidence row's type, proof and confirmation that differs from what the record last said."""
    for key, (seq, value) in sorted(exp.ev_fields.get(ev_id, {}).items(), key=lambda kv: kv[1][0]):
        live = getattr(ev, _EV_COLUMN[key])
        if (value or None) != (live or None):
            return Break(seq, f"线索 #{lead} 的{_nth_evidence(exp, ev_id, lead)}的{EVIDENCE_FIELDS[key]}被改动："
                              f"记录为「{_field_shown(key, value)}」，现为「{_field_shown(key, live)}」")
    return None


def _nth_evidence(exp: _Expected, ev_id: int, lead: int | None) -> str:
    """「第 2 份证据」: the evidence item by its place among the lead's recorded ones (no file path or hash for the
    user to decode); counted only when a break is found."""
    return f"第 {sum(1 for i, (_, _, of) in exp.evidence.items() if of == lead and i <= ev_id)} 份证据"


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
        return [Break(first, f"线索 #{lead_id} 已被删除")]
    out: list[Break] = []
    if stage is not None and row[0] != stage[1]:
        out.append(Break(stage[0], f"线索 #{lead_id} 的阶段是「{STAGE_CN.get(row[0], '未知')}」，"
                                   f"记录为「{STAGE_CN.get(stage[1], '未知')}」"))
    if status is not None and row[1] != status[1]:
        out.append(Break(status[0], f"线索 #{lead_id} 的状态是「{_status(row[1])}」，记录为「{_status(status[1])}」"))
    elif status is None and row[1] in ("won", "lost") and stage is not None:
        out.append(Break(stage[0], f"线索 #{lead_id} 标为「{_status(row[1])}」，但没有赢单或输单的记录"))
    return out


def _status(code: str) -> str:
    return STATUS_CN.get(code, "未知")


# -- the facts (storage/facts.py): lead fields with provenance, activities, flags ----------------------------------
_LEAD_FACT_COLS = (Lead.id, *(getattr(Lead, name) for name in facts.LEAD_KEYS), Lead.field_sources, Lead.extra)
_ROW_FACTS: dict[str, tuple[Any, tuple[str, ...], Any, Any]] = {  # kind → model, the columns its state is made
    # of, the state's canonical JSON (written directly), the state
    "activity": (Activity, facts.ACTIVITY_COLUMNS, facts.activity_state_text, facts.activity_state),
    "flag": (LeadFlag, facts.FLAG_COLUMNS, facts.flag_state_text, facts.flag_state),
}
_CHANGES = {"activity": facts.activity_changes, "flag": facts.flag_changes}
FACT_BATCH = 2000


async def _lead_fact_breaks(conn: AsyncConnection, exp: _Expected) -> list[Break]:
    found: list[Break] = []
    names: dict[str, str] | None = None
    for batch in _chunks(sorted(exp.leads), FACT_BATCH):
        live = {r.id: facts.lead_state(r) for r in (await conn.execute(
            select(*_LEAD_FACT_COLS).where(Lead.id.in_(batch)))).all()}
        for lead_id in batch:
            seq, body = exp.leads[lead_id]
            recorded = ((_parse(body) or {}).get("data") or {}).get("state")
            if recorded is None:
                problem = f"线索 #{lead_id} 已删除，但现在又出现了" if lead_id in live else None
            else:
                state = _newer_states(exp, lead_id, seq, recorded)
                problem = facts.lead_changes(lead_id, state, live.get(lead_id), names)
                if problem and names is None:  # say who, not the account id
                    names = {u.id: u.name for u in (await conn.execute(select(User.id, User.name))).all()}
                    problem = facts.lead_changes(lead_id, state, live.get(lead_id), names)
            if problem:
                found.append(Break(seq, problem))
    return found


def _newer_states(exp: _Expected, lead_id: int, seq: int, recorded: dict[str, Any]) -> dict[str, Any]:
    """The recorded lead state without the stage or status that a later stage change or decision entry speaks for
    (the bench's record, and one written before lead states held them, has such entries alone)."""
    later = [key for key, by in (("stage", exp.stage), ("status", exp.status)) if by.get(lead_id, (0,))[0] > seq]
    return {k: v for k, v in recorded.items() if k not in later} if later else recorded


async def _row_fact_breaks(conn: AsyncConnection, exp: _Expected) -> list[Break]:
    """Each recorded activity and flag against its live row, in one pass over each table in id order: the SHA-256
    of the live row's state (its canonical JSON written directly from the columns) against the recorded one's. A
    recorded row the pass did not meet was deleted; a row never recorded is not the record's (docs/audit.md). The
    recorded body is read again only for a row that differs (to say what changed)."""
    differ: list[tuple[str, int, int | None, dict[str, Any] | None]] = []  # kind, seq, lead, live state
    sha = _sha256
    for kind, (model, names, text_of, state_of) in _ROW_FACTS.items():
        todo = dict(exp.rows[kind])  # id → seq, lead, recorded state's SHA-256; met rows leave
        if not todo:
            continue
        sql = f"SELECT id, {', '.join(names)} FROM {model.__tablename__} ORDER BY id"
        async for page in _stream(conn, sql):
            for row in page:
                recorded = todo.pop(row[0], None)
                if recorded is None:
                    continue
                values = tuple(row[1:])
                if recorded[2] is None or sha(text_of(*values).encode()).digest() != recorded[2]:
                    differ.append((kind, recorded[0], recorded[1], state_of(_as_read(names, values))))
        differ.extend((kind, seq, lead_id, None) for seq, lead_id, state in todo.values() if state is not None)
    return [Break(seq, await _fact_problem(conn, kind, seq, lead_id, live)) for kind, seq, lead_id, live in differ]


def _as_read(names: Sequence[str], row: tuple[Any, ...]) -> Any:
    """A driver row as the application reads it (aware UTC datetimes), to say what differs."""
    values = dict(zip(names, row, strict=True))
    if values.get("created_at") is not None:
        values["created_at"] = datetime.fromisoformat(f"{facts.utc_iso(values['created_at'])}")
    return SimpleNamespace(**values)


async def _fact_problem(conn: AsyncConnection, kind: str, seq: int, lead_id: int | None,
                        live: dict[str, Any] | None) -> str:
    body = (await conn.execute(select(ChainEntry.body).where(ChainEntry.seq == seq))).scalar() or ""
    recorded = ((_parse(body) or {}).get("data") or {}).get("state")
    if recorded is None:
        what = "动态记录" if kind == "activity" else "标记"
        return f"线索 #{lead_id} 的一条{what}已删除，但现在又出现了"
    return _CHANGES[kind](lead_id, recorded, live) or "记录与现状不符"


async def stored_anchors(conn: AsyncConnection) -> list[tuple[int, str]]:
    rows = (await conn.execute(select(KeyValue.value).where(KeyValue.key.startswith(ANCHOR_PREFIX)))).scalars()
    return [(int(v["seq"]), str(v["hash"])) for v in rows if isinstance(v, dict) and "seq" in v and "hash" in v]


def parse_anchor(value: str) -> tuple[int, str]:
    """'1234:3f2a9b1c0d4e7a21…' (seq and at least 16 hex digits of its hash; spaces ignored)."""
    seq, _, digest = value.replace(" ", "").partition(":")
    digest = digest.lower()
    if not seq.isdigit() or len(digest) < MIN_ANCHOR_HEX or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"应为「编号:校验值」（校验值至少 {MIN_ANCHOR_HEX} 位十六进制），收到「{value}」")
    return int(seq), digest


async def _anchor_breaks(conn: AsyncConnection, anchors: Iterable[tuple[int, str]],
                         last: tuple[int, str] | None) -> list[Break]:
    out: list[Break] = []
    for seq, digest in sorted(set(anchors)):
        if last is None or seq > last[0]:
            out.append(Break(seq, f"锚点指向的第 {seq} 条记录已不存在（记录被截断）"))
            continue
        entry_hash = (await conn.execute(select(ChainEntry.entry_hash).where(ChainEntry.seq == seq))).scalar()
        if entry_hash is None or not entry_hash.startswith(digest.lower()):
            out.append(Break(seq, f"第 {seq} 条记录与锚点 {digest[:16]}… 不符（历史被改写）"))
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
                  *await _lead_fact_breaks(conn, exp), *await _row_fact_breaks(conn, exp),
                  *await _anchor_breaks(conn, [*anchors, *await stored_anchors(conn)], walker.head)]
    return VerifyReport(walker.count, walker.head, min(breaks, key=lambda b: b.seq) if breaks else None)
