"""Knowledge tables: card upsert (one transaction per file), loading, query log, feedback, gaps."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Select, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.schema import KbCard
from storage.models import KeyValue, KnowledgeCard, KnowledgeCardStaging, KnowledgeFeedback, QueryLog
from storage.sql import insert_ignore, rowcount, table_of
from storage.staging import Staged

CHUNK = 500
CARD_COLUMNS = ("title", "role", "industry", "objection", "talk_track", "quote_template", "success_case",
                "updated_at", "active")
VOTES = {"up", "down", "next"}
DICT_MARK = "#dict:"  # first stored token: the dictionary fingerprint (a jieba token never holds "#" or ":")
GENERATION_KEY = "kb:generation"  # kv row: changes with every card write, so every process sees it cheaply
LEARNING_KEY = "kb:learning"  # kv row: changes with every vote and pin (every process reloads what it learned)


@dataclass
class UpsertStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    written: list[KbCard] = field(default_factory=list, repr=False)  # inserted and updated cards, as stored

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _stored_tokens(card: KbCard, tokens: list[str]) -> list[str]:
    """Tokens as stored: the dictionary fingerprint first (`DICT_MARK` + fingerprint), then the tokens."""
    return [DICT_MARK + card.tokens_dict, *tokens] if tokens else []


def _split_tokens(stored: list[str] | None) -> tuple[str, tuple[str, ...]]:
    items = list(stored or ())
    if items and str(items[0]).startswith(DICT_MARK):
        return str(items[0])[len(DICT_MARK):], tuple(items[1:])
    return "", tuple(items)  # tokens from before fingerprints: recomputed at load


def row_to_card(row: Any) -> KbCard:
    """A `KnowledgeCard` instance or a plain result row of its table."""
    tokens_dict, tokens = _split_tokens(getattr(row, "tokens", None))
    return KbCard(
        id=row.id, title=row.title, role=row.role or "", industry=row.industry or "",
        objection=row.objection or "", talk_track=row.talk_track or "", quote_template=row.quote_template or "",
        success_case=row.success_case or "", keywords=tuple(row.keywords or ()), updated_at=row.updated_at,
        version=row.version, active=row.active, source=row.source or "", tokens=tokens, tokens_dict=tokens_dict,
    )


async def upsert_cards(
    session: AsyncSession,
    cards: Sequence[KbCard],
    now: datetime,
    tokens_of: Callable[[KbCard], list[str]],
    progress: Callable[[int], None] | None = None,
) -> UpsertStats:
    """Insert new cards, update changed ones (version + 1, modified_at = now), skip identical ones.

    `tokens_of` computes the persisted jieba tokens (blocking; callers pass pre-computed ones when
    they tokenised in an executor). Runs inside the caller's transaction.
    """
    stats = UpsertStats()
    table = _table()
    content = [c for c in table.c if c.name != "tokens"]  # compared without decoding the stored tokens
    for lo in range(0, len(cards), CHUNK):
        chunk = cards[lo:lo + CHUNK]
        rows = await session.execute(select(*content).where(table.c.id.in_([c.id for c in chunk])))
        existing = {r.id: r for r in rows}
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for card in chunk:
            row = existing.get(card.id)
            if row is None:
                fresh.append(_new_values(card, now, tokens_of(card)))
                stats.written.append(row_to_card(SimpleNamespace(**fresh[-1])))
                stats.inserted += 1
            elif row_to_card(row).content_equal(card):
                stats.unchanged += 1
            else:
                values = _new_values(card, now, tokens_of(card))
                values.update(version=row.version + 1, source=values["source"] or row.source)
                changed.append(values)
                stats.written.append(row_to_card(SimpleNamespace(**values)))
                stats.updated += 1
        if fresh:  # one executemany per chunk: building 20,000 ORM objects took seconds
            await session.execute(insert(table), fresh)
        if changed:
            await session.execute(_UPDATE, [{f"b_{k}": v for k, v in values.items()} for values in changed])
        if progress:
            progress(len(chunk))
    if stats.inserted or stats.updated:
        await bump_generation(session, now)
    return stats


async def live_rows(db: Any, ids: Sequence[str]) -> dict[str, Row[Any]]:
    """The live cards of `ids` (content columns, not the tokens), read in one query outside any write
    transaction: what `stage_rows` compares an import's cards with."""
    table = _table()
    content = [c for c in table.c if c.name != "tokens"]
    async with db.reader() as conn:
        return {r.id: r for r in await conn.execute(select(*content).where(table.c.id.in_(list(ids))))}


def stage_rows(batch: str, cards: Sequence[KbCard], existing: Mapping[str, Row[Any]], now: datetime
               ) -> tuple[list[dict[str, Any]], UpsertStats]:
    """`upsert_cards` for the staging table: the rows to stage under `batch` — new cards and changed ones
    (compared with `existing`, the live rows), identical ones skipped — and the counts. Nothing live changes
    until `STAGED_CARDS.publish`."""
    stats = UpsertStats()
    staged: list[dict[str, Any]] = []
    for card in cards:
        row = existing.get(card.id)
        if row is not None and row_to_card(row).content_equal(card):
            stats.unchanged += 1
            continue
        values = _new_values(card, now, list(card.tokens))
        if row is None:
            stats.inserted += 1
        else:  # as the publish will store it (version + 1, the old source kept when the card has none)
            values.update(version=row.version + 1, source=values["source"] or row.source)
            stats.updated += 1
        stats.written.append(row_to_card(SimpleNamespace(**values)))
        staged.append({**values, "batch_id": batch, "staged_at": now})
    return staged, stats


async def stage(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(table_of(KnowledgeCardStaging)), rows)


async def _publish_chunk(session: AsyncSession, chunk: ColumnElement[bool]) -> None:
    """The staged cards matching `chunk` upserted into `knowledge_cards` (one INSERT … SELECT … ON CONFLICT: a
    changed card's version is the live one + 1, its old source kept when the new one has none)."""
    table, staging = _table(), table_of(KnowledgeCardStaging)
    names = [c.name for c in table.c]
    factory = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = factory(table).from_select(names, select(*(staging.c[n] for n in names)).where(chunk))
    kept = {"id", "version", "source"}
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.id], set_={
        **{n: stmt.excluded[n] for n in names if n not in kept},
        "version": table.c.version + 1, "source": func.coalesce(stmt.excluded.source, table.c.source)})
    await session.execute(stmt)


# a staged card import made live a chunk a transaction; the last one bumps the generation (storage/staging.py)
STAGED_CARDS = Staged("cards", table_of(KnowledgeCardStaging), "id", _publish_chunk,
                      lambda session, now: bump_generation(session, now))


async def publish_cards(db: Any, batch: str, expected: int, now: datetime) -> tuple[str, str] | None:
    """`STAGED_CARDS.publish`, and the card generations its last transaction replaced and wrote (None when
    nothing was staged): an importer whose index held the replaced one knows that its cards plus the batch are
    now exactly the live cards, so it can take an index of them built meanwhile instead of reading them back."""
    seen: list[str] = []

    async def last(session: AsyncSession, now: datetime) -> None:
        seen.append(await _generation(session))
        seen.append(await bump_generation(session, now))

    await dataclasses.replace(STAGED_CARDS, last=last).publish(db, batch, expected, now)
    return (seen[0], seen[1]) if seen else None


def _table() -> Table:
    return table_of(KnowledgeCard)


_UPDATE = (update(table_of(KnowledgeCard))
           .where(table_of(KnowledgeCard).c.id == bindparam("b_id"))
           .values({name: bindparam(f"b_{name}") for name in (*CARD_COLUMNS, "keywords", "version", "tokens", "source",
                                                              "modified_at")}))


def _new_values(card: KbCard, now: datetime, tokens: list[str]) -> dict[str, Any]:
    return {"id": card.id, "keywords": list(card.keywords), "version": max(card.version, 1),
            "tokens": _stored_tokens(card, tokens), "source": card.source[:255] or None, "modified_at": now,
            **{name: _db_value(card, name) for name in CARD_COLUMNS}}


def _new_row(card: KbCard, now: datetime, tokens: list[str]) -> KnowledgeCard:
    return KnowledgeCard(**_new_values(card, now, tokens))


def _update_row(row: KnowledgeCard, card: KbCard, now: datetime, tokens: list[str]) -> None:
    for name in CARD_COLUMNS:
        setattr(row, name, _db_value(card, name))
    row.keywords = list(card.keywords)
    row.tokens = _stored_tokens(card, tokens)
    row.version = row.version + 1
    row.source = card.source[:255] or row.source
    row.modified_at = now


def _db_value(card: KbCard, name: str) -> Any:
    value = getattr(card, name)
    return (value or None) if name in {"role", "industry", "objection"} else value


async def all_cards(session: AsyncSession, *, active_only: bool = False) -> list[KbCard]:
    """Plain rows, not ORM objects: a 20,000-card load spent most of its time building instances."""
    table = _table()
    stmt = select(table)
    if active_only:
        stmt = stmt.where(table.c.active.is_(True))
    return [row_to_card(r) async for r in paged(session, stmt, table.c.id)]


async def paged(session: AsyncSession, stmt: Select[Any], key: Column[Any], page: int = CHUNK
                ) -> AsyncIterator[Row[Any]]:
    """The rows of `stmt` in `key` order, read `page` at a time (keyset pages, one query each): decoding
    100,000 cards in one result held the event loop for 5 s; between pages everyone else's turn comes
    (issue 20 re-run, 6b)."""
    last: Any = None
    while True:
        rows = (await session.execute(
            (stmt if last is None else stmt.where(key > last)).order_by(key).limit(page))).all()
        for row in rows:
            yield row
        if len(rows) < page:
            return
        last = getattr(rows[-1], key.key)
        await asyncio.sleep(0)


async def count_cards(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(KnowledgeCard)) or 0)


async def bump_generation(session: AsyncSession, now: datetime, key: str = GENERATION_KEY) -> str:
    """A fresh random generation, written in the transaction that changed cards (any writer, any process);
    `LEARNING_KEY` for votes and pins. Returns it."""
    value = {"id": uuid.uuid4().hex}
    done = await session.execute(update(KeyValue).where(KeyValue.key == key).values(value=value, updated_at=now))
    if not rowcount(done):
        await session.execute(insert_ignore(session, KeyValue).values(key=key, value=value, updated_at=now))
    return value["id"]


async def _generation(session: AsyncSession) -> str:
    value = await session.scalar(select(KeyValue.value).where(KeyValue.key == GENERATION_KEY))
    return str((value or {}).get("id", ""))


async def signature(db: Any) -> str:
    """The card generation: one primary-key read per message instead of a scan of the cards table."""
    async with db.session() as session:
        return await _generation(session)


async def signatures(db: Any) -> tuple[str, str]:
    """(card generation, learning generation) in one read: what a message checks before searching. Through
    the read-only connection: on SQLite a session's BEGIN IMMEDIATE would queue this key read for the write
    lock behind every writing message and import."""
    stmt = select(KeyValue.key, KeyValue.value).where(KeyValue.key.in_([GENERATION_KEY, LEARNING_KEY]))
    async with db.reader() as conn:
        rows = {key: value for key, value in (await conn.execute(stmt)).all()}
    return _id(rows.get(GENERATION_KEY)), _id(rows.get(LEARNING_KEY))


def _id(value: Any) -> str:
    return str((value or {}).get("id", ""))


async def load_active_cards(db: Any, known: Mapping[tuple[str, int], KbCard] | None = None
                            ) -> tuple[str, list[KbCard]]:
    """Generation and active cards read in one transaction (so they describe the same state).

    `known`: cards this process already holds, by (id, version) — every content change bumps the version —
    so only ids and versions are read for them (reading and decoding 20,000 full rows took about a second).
    The cards come in Python's order of their ids whatever the database's collation: an importer's index built
    from the cards in memory (`KnowledgeBase.build_next`) holds them in the same order as a load."""
    async with db.session() as session:
        generation = await _generation(session)
        if not known:
            return generation, _by_id(await all_cards(session, active_only=True))
        table = _table()
        current = [(r.id, r.version) async for r in paged(
            session, select(table.c.id, table.c.version).where(table.c.active.is_(True)), table.c.id, 10 * CHUNK)]
        missing = []
        for lo in range(0, len(current), 10 * CHUNK):
            missing += [card_id for card_id, version in current[lo:lo + 10 * CHUNK] if (card_id, version) not in known]
            await asyncio.sleep(0)
        if len(missing) > len(current) // 2:
            return generation, _by_id(await all_cards(session, active_only=True))
        fetched: dict[str, KbCard] = {}
        for lo in range(0, len(missing), CHUNK):
            rows = await session.execute(select(table).where(table.c.id.in_(missing[lo:lo + CHUNK])))
            fetched.update((c.id, c) for c in map(row_to_card, rows))
    cards: list[KbCard] = []
    for lo in range(0, len(current), 10 * CHUNK):  # 100,000 at once held the loop for 0.3 s under load
        cards += [known.get((i, v)) or fetched[i] for i, v in current[lo:lo + 10 * CHUNK]
                  if (i, v) in known or i in fetched]
        await asyncio.sleep(0)
    return generation, _by_id(cards)


def _by_id(cards: list[KbCard]) -> list[KbCard]:
    """In code point order of the ids (SQLite's own order; PostgreSQL's depends on the database's collation)."""
    cards.sort(key=lambda c: c.id)
    return cards


async def load_learning(db: Any) -> tuple[dict[str, str], list[tuple[str, str, str, int]], dict[str, Any], str]:
    """Pins, vote tallies, the admins' taxonomy edits and the learning generation they belong to."""
    async with db.session() as session:
        generation = await session.scalar(select(KeyValue.value).where(KeyValue.key == LEARNING_KEY))
        return (await pins(session), await vote_tallies(session), await taxonomy_edits(session),
                str((generation or {}).get("id", "")))


DICTIONARY_KEY = "kb:dict:"  # + fingerprint → the words of the dictionary that stamped stored tokens
DICTIONARIES_KEPT = 8


async def save_dictionary(db: Any, fingerprint: str, words: frozenset[str], now: datetime) -> None:
    """Persist the added words behind `fingerprint` (once), so a restarted process or another instance with
    another dictionary can check stored tokens instead of cutting every card again; the oldest go."""
    key = DICTIONARY_KEY + fingerprint
    async with db.session() as session:
        if await session.scalar(select(KeyValue.key).where(KeyValue.key == key)) is not None:
            return
        await session.execute(insert_ignore(session, KeyValue).values(
            key=key, value={"words": sorted(words)}, updated_at=now))
        old = (await session.scalars(select(KeyValue.key).where(KeyValue.key.like(DICTIONARY_KEY + "%"))
                                     .order_by(KeyValue.updated_at.desc(), KeyValue.key)
                                     .offset(DICTIONARIES_KEPT))).all()
        if old:
            await session.execute(delete(KeyValue).where(KeyValue.key.in_(old)))


async def load_dictionaries(db: Any, fingerprints: Sequence[str]) -> dict[str, list[str]]:
    """fingerprint → added words, for those stored."""
    if not fingerprints:
        return {}
    async with db.session() as session:
        rows = await session.execute(select(KeyValue.key, KeyValue.value)
                                     .where(KeyValue.key.in_([DICTIONARY_KEY + f for f in fingerprints])))
        return {key[len(DICTIONARY_KEY):]: list((value or {}).get("words", [])) for key, value in rows}


async def save_tokens(db: Any, cards: Sequence[KbCard]) -> None:
    """Store tokens a load re-computed (new dictionary), so the next start does not tokenise them again.

    Derived data only: version, modified_at and the generation stay, so no process rebuilds because of
    it (no rebuild loop). A card changed since it was read (other version) is skipped: its writer stored
    fresh tokens. Processes saving at once write the same values, in id order (no deadlock). One short
    transaction per chunk: all 20,000 cards in one held the SQLite write lock ~2 s (inbound ACKs wait on it);
    a partial save is harmless, the rest is re-done at the next start.
    """
    table = _table()
    stmt = (update(table).where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values(tokens=bindparam("b_tokens")))
    rows = [{"b_id": c.id, "b_version": c.version, "b_tokens": _stored_tokens(c, list(c.tokens))}
            for c in sorted(cards, key=lambda c: c.id)]
    for lo in range(0, len(rows), CHUNK):
        async with db.session() as session:
            await session.execute(stmt, rows[lo:lo + CHUNK])  # executemany


async def log_query(
    session: AsyncSession, *, user_id: str | None, query: str, ranked: Sequence[str], scores: Sequence[float],
    answered: bool, shown_card: str | None, now: datetime,
) -> int:
    row = QueryLog(user_id=user_id, query=query[:2000], ranked=list(ranked), scores=list(scores),
                   answered=answered, shown_card=shown_card, created_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def get_query(session: AsyncSession, query_id: int) -> QueryLog | None:
    return await session.get(QueryLog, query_id)


async def add_feedback(
    session: AsyncSession, *, query_id: int | None, card_id: str, user_id: str | None, vote: str, now: datetime
) -> None:
    if vote not in VOTES:
        raise ValueError(f"vote must be one of {sorted(VOTES)}, got {vote!r}")
    session.add(KnowledgeFeedback(query_id=query_id, card_id=card_id[:32], user_id=user_id, vote=vote,
                                  created_at=now))
    await session.flush()
    await bump_generation(session, now, LEARNING_KEY)  # every process re-reads the votes (not the cards)


@dataclass(frozen=True)
class Gap:
    kind: str  # "unanswered" | "down"
    query: str
    count: int
    last_at: datetime
    card_id: str | None = None


async def gaps(session: AsyncSession, since: datetime | None = None, limit: int = 50) -> list[Gap]:
    """Unanswered queries and down-voted answers, most frequent first."""
    unanswered = select(QueryLog.query, func.count(), func.max(QueryLog.created_at)).where(
        QueryLog.answered.is_(False)
    )
    down = (
        select(QueryLog.query, KnowledgeFeedback.card_id, func.count(), func.max(KnowledgeFeedback.created_at))
        .join(QueryLog, QueryLog.id == KnowledgeFeedback.query_id)
        .where(KnowledgeFeedback.vote == "down")
    )
    if since is not None:
        unanswered = unanswered.where(QueryLog.created_at >= since)
        down = down.where(KnowledgeFeedback.created_at >= since)
    out = [Gap("unanswered", q, int(n), last) for q, n, last in
           await session.execute(unanswered.group_by(QueryLog.query))]
    out += [Gap("down", q, int(n), last, card) for q, card, n, last in
            await session.execute(down.group_by(QueryLog.query, KnowledgeFeedback.card_id))]
    out.sort(key=lambda g: (-g.count, g.kind, g.query))
    return out[:limit]


@dataclass(frozen=True)
class SaveResult:
    saved: KbCard | None  # the card as stored (version bumped), None when refused
    current: KbCard | None = None  # refused: the card someone else saved meanwhile (None: id taken / gone)


async def save_card(session: AsyncSession, card: KbCard, expected_version: int | None, now: datetime) -> SaveResult:
    """One card written by an editor who read `expected_version` (None: a new card). A card changed since
    (another tab, another admin, an import) is not overwritten: the current card comes back instead.
    `card.tokens` must be filled (see `knowledge.importer.tokenise`)."""
    row = await session.scalar(select(KnowledgeCard).where(KnowledgeCard.id == card.id).with_for_update())
    if expected_version is None:
        if row is not None:
            return SaveResult(None, row_to_card(row))
        session.add(_new_row(card.with_(version=1), now, list(card.tokens)))
    else:
        if row is None or row.version != expected_version:
            return SaveResult(None, row_to_card(row) if row is not None else None)
        if row_to_card(row).content_equal(card):
            return SaveResult(row_to_card(row))
        _update_row(row, card, now, list(card.tokens))
    await session.flush()
    await bump_generation(session, now)
    stored = await session.scalar(select(KnowledgeCard).where(KnowledgeCard.id == card.id))
    assert stored is not None
    return SaveResult(row_to_card(stored))


PINS_KEY = "kb:pins"  # kv row: {"pins": {wording: card id}}
LEARN_LIMIT = 2000  # most recent voted wordings kept for learning


async def pins(session: AsyncSession) -> dict[str, str]:
    value = await session.scalar(select(KeyValue.value).where(KeyValue.key == PINS_KEY))
    return dict((value or {}).get("pins", {}))


async def set_pin(session: AsyncSession, wording: str, card_id: str | None, now: datetime) -> None:
    """Pin `card_id` to a query wording (None removes the pin); every process re-reads pins with the cards."""
    current = await pins(session)
    if card_id is None:
        current.pop(wording, None)
    else:
        current[wording] = card_id
    done = await session.execute(update(KeyValue).where(KeyValue.key == PINS_KEY)
                                 .values(value={"pins": current}, updated_at=now))
    if not rowcount(done):
        session.add(KeyValue(key=PINS_KEY, value={"pins": current}, updated_at=now))
        await session.flush()
    await bump_generation(session, now, LEARNING_KEY)  # every process re-reads pins; no card index rebuild


async def card_exists(session: AsyncSession, card_id: str) -> bool:
    return await session.get(KnowledgeCard, card_id) is not None


async def vote_tallies(session: AsyncSession) -> list[tuple[str, str, str, int]]:
    """(query wording, card id, vote, voters) for the most recent voted wordings. Voters, not clicks: one rep
    pressing 没用 five times counts once (a card moves by what several reps found, within a bound)."""
    stmt = (
        select(QueryLog.query, KnowledgeFeedback.card_id, KnowledgeFeedback.vote,
               func.count(func.distinct(func.coalesce(KnowledgeFeedback.user_id, ""))),
               func.max(KnowledgeFeedback.id))
        .join(QueryLog, QueryLog.id == KnowledgeFeedback.query_id)
        .group_by(QueryLog.query, KnowledgeFeedback.card_id, KnowledgeFeedback.vote)
        .order_by(func.max(KnowledgeFeedback.id).desc())
        .limit(LEARN_LIMIT)
    )
    return [(q, card, vote, int(n)) for q, card, vote, n, _ in await session.execute(stmt)]


TAXONOMY_KEY = "kb:taxonomy"  # kv row: admin edits on top of the shipped vocabulary {"synonyms": {axis: {w: v}}}
AXIS_COLUMNS = {"role": KnowledgeCard.role, "industry": KnowledgeCard.industry, "objection": KnowledgeCard.objection}


async def taxonomy_edits(session: AsyncSession) -> dict[str, Any]:
    value = await session.scalar(select(KeyValue.value).where(KeyValue.key == TAXONOMY_KEY))
    return dict(value or {})


async def add_synonym(session: AsyncSession, axis: str, word: str, value: str, now: datetime) -> None:
    """`word` in a query or on a card now means `value` on `axis` (stored in the database, all processes)."""
    edits = await taxonomy_edits(session)
    edits.setdefault("synonyms", {}).setdefault(axis, {})[word.strip().lower()] = value.strip()
    await _save_edits(session, edits, now)


async def merge_value(session: AsyncSession, axis: str, old: str, new: str, now: datetime) -> int:
    """Cards tagged `old` become `new`, and `old` stays a synonym of `new` (rename = merge into a new name).
    Returns how many cards changed."""
    column = AXIS_COLUMNS[axis]
    done = await session.execute(update(KnowledgeCard).where(column == old)  # new version: content changed
                                 .values({column.key: new, "modified_at": now, "version": KnowledgeCard.version + 1}))
    edits = await taxonomy_edits(session)
    synonyms = edits.setdefault("synonyms", {}).setdefault(axis, {})
    for word, value in list(synonyms.items()):
        if value == old:
            synonyms[word] = new
    synonyms[old.strip().lower()] = new
    synonyms.setdefault(new.strip().lower(), new)
    await _save_edits(session, edits, now)
    return rowcount(done)


async def axis_counts(session: AsyncSession, axis: str) -> dict[str, int]:
    column = AXIS_COLUMNS[axis]
    rows = await session.execute(select(column, func.count()).group_by(column))
    return {str(v or ""): int(n) for v, n in rows}


async def _save_edits(session: AsyncSession, edits: dict[str, Any], now: datetime) -> None:
    done = await session.execute(update(KeyValue).where(KeyValue.key == TAXONOMY_KEY)
                                 .values(value=edits, updated_at=now))
    if not rowcount(done):
        session.add(KeyValue(key=TAXONOMY_KEY, value=edits, updated_at=now))
        await session.flush()
    await bump_generation(session, now)


async def active_keywords(db: Any) -> tuple[str, set[str]]:
    """(card generation, the keywords of the active cards), read in one go through the read-only connection."""
    table = _table()
    async with db.reader(snapshot=True) as conn:
        value = (await conn.execute(select(KeyValue.value).where(KeyValue.key == GENERATION_KEY))).scalar()
        rows = (await conn.execute(select(table.c.keywords).where(table.c.active.is_(True)))).scalars()
        words = {str(k) for keywords in rows for k in (keywords or ())}
    return _id(value), words
