"""Import orchestration: read + validate a file, tokenise in an executor, stage, publish.

The rule for a large import (issues 13 and 20): the good rows land all together or not at all, and no
transaction holds SQLite's writer for long. The cards are staged `TRANSACTION_CARDS` at a time into
`knowledge_cards_staging` under a fresh batch id, each chunk its own short transaction (the writer is free
between chunks; `landed` hears of each); staged rows are invisible to search, the console and scans. When every
chunk is in, the batch is published a bounded number of rows per transaction (`storage/staging.py`: set-based
INSERT … SELECT upserts into `knowledge_cards`; the last one bumps the card generation, so every index takes the
whole batch at once). On a failure before the publish the batch's staging rows are deleted and nothing is
imported; a publish that began is finished (rolled forward) by `drop_stale_batches`, which also deletes by age
(`STALE_BATCH_AFTER`) a batch a dead process left unpublished: when the next import starts, and by the server at
start-up and hourly.
A file is read twice (checked whole, then staged a chunk at a time), so a 50 MB file never sits in memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import to_cn
from bot.engines import Engines
from knowledge import store
from knowledge.index import Tokenizer, cut_cards, dictionary_words, dictionary_words_of, still_cut_so
from knowledge.io import Issue, card_chunks, read_cards
from knowledge.schema import KbCard
from knowledge.search import KnowledgeBase, NextIndex
from knowledge.taxonomy import AXIS_LABELS
from storage.staging import drop, drop_stale

Progress = Callable[[int], None]
Landed = Callable[[int], Awaitable[None]]  # this many more cards are staged (committed to staging)
TRANSACTION_CARDS = 2000  # cards read and tokenised at a time (in an executor)
# cards per staging write transaction: the rows' parameters (token lists as JSON) are prepared on the event loop
# and the transaction holds SQLite's writer, so both stay short; 2,000 at a time stalled the loop ~0.5 s a chunk
# under load and other users' replies waited behind it (audit 20 re-run, 6b)
STAGE_CARDS = 100  # (250 still showed 50–100 ms of JSON encoding on the loop at load 13)
STALE_BATCH_AFTER = timedelta(hours=6)  # a batch staged this long ago belongs to a dead import
CUT_APART = 5000  # a file with more good cards than this is cut in a child process (Cutter)
CUTTER_NICE = 10  # that process's niceness above the server's
CUT_BATCH = 250  # cards per trip to it: their pickles are made and read in one C call each, holding the GIL

log = logging.getLogger(__name__)


@dataclass
class FileReport:
    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[Issue] = field(default_factory=list)
    new_values: dict[str, list[str]] = field(default_factory=dict)  # axis → values the vocabulary did not know
    joined: dict[str, str] = field(default_factory=dict)  # admin's word → the known value it joined
    undated: int = 0  # new cards without 更新日期 that took the import's date
    import_day: date | None = None

    @property
    def ok(self) -> bool:
        return not self.issues

    def summary(self) -> str:
        text = (f"{self.file}: {self.rows} 行，新增 {self.inserted}，更新 {self.updated}，未变 {self.unchanged}，"
                f"跳过 {len(self.issues)}")
        if self.new_values:
            text += "\n" + self.new_values_text()
        if self.undated:
            text += "\n" + undated_text(self.undated, self.import_day)
        if self.joined:
            text += "\n归入已有分类：" + "、".join(f"{word} → {value}" for word, value in self.joined.items())
        return text

    def new_values_text(self) -> str:
        """「新分类：角色 使用部门，行业 SaaS、新能源（已加入，可在分类设置里补充同义词）」"""
        parts = [f"{AXIS_LABELS[axis]} {'、'.join(values)}" for axis, values in self.new_values.items() if values]
        return f"新分类：{'，'.join(parts)}（已加入，可在分类设置里补充同义词）"


def undated_text(count: int, day: date | None) -> str:
    return f"{count} 张卡片没有更新日期，按导入日期 {day} 记，不算过期"


def dated(card: KbCard, stored: KbCard | None, day: date) -> KbCard:
    """A card without 更新日期 keeps the stored card's date, or takes the import's day: an undated card is
    never stale the day it arrives (audit 16c), and re-importing the same file changes nothing."""
    if card.updated_at is not None:
        return card
    return card.with_(updated_at=stored.updated_at if stored is not None and stored.updated_at else day)


async def tokenise(kb: KnowledgeBase, cards: Sequence[KbCard], progress: Progress | None = None,
                   indexed: dict[str, KbCard] | None = None, cutter: Cutter | None = None) -> list[KbCard]:
    """Cards with their jieba tokens filled in (blocking work in an executor, the cutting in `cutter`'s process
    when given). A card whose content the index already holds keeps its tokens (a re-import cuts only what
    changed). The words the index build will add for these cards (keywords, new axis values) are added before
    the cut — by the caller for a file read a chunk at a time (`add_words`) — so the build finds tokens made
    with its own dictionary."""

    def sort() -> tuple[list[KbCard | None], list[KbCard], str]:
        tok = kb.tokenizer
        if indexed is None:
            tok.add_words(dictionary_words(kb.taxonomy, cards))
        stamp = tok.fingerprint
        held = indexed if indexed is not None else {c.id: c for c in kb.cards()}
        out: list[KbCard | None] = []
        todo: list[KbCard] = []
        for card in cards:
            old = held.get(card.id)
            if old is not None and old.tokens and old.content_equal(card) and (
                    old.tokens_dict == stamp or still_cut_so(tok, old)):
                out.append(card.with_(tokens=old.tokens, tokens_dict=stamp))
            else:
                out.append(None)
                todo.append(card)
        if progress and len(todo) < len(cards):
            progress(len(cards) - len(todo))
        return out, todo, stamp

    loop = asyncio.get_running_loop()
    out, todo, stamp = await loop.run_in_executor(None, sort)
    tokens = await cutter.cut(todo) if todo and cutter is not None and cutter.stamp == stamp else None
    if tokens is None:  # a small import, the dictionary changed since the cutter started, or it died: cut here
        tokens = await loop.run_in_executor(None, cut_cards, kb.tokenizer, todo, progress)
    elif progress:
        progress(len(todo))

    def stamped() -> list[KbCard]:  # 2,000 dataclass copies: 50 ms of the loop under load, so not on it
        cut = iter(zip(todo, tokens, strict=True))
        return [done or _stamped(*next(cut), stamp) for done in out]

    return await loop.run_in_executor(None, stamped)


class Cutter:
    """The cutting of a large import in a child process with a copy of the tokenizer (`Tokenizer(words)` cuts
    the same; the child's fingerprint is checked). Cutting 100,000 cards is most of an import's CPU: in a thread
    of the serving process it held the GIL, and every ACK waited for its turn (issue 20, 6b). Only a file of more
    than CUT_APART good cards pays for the child's start (a second or two: jieba's dictionary)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.stamp = tokenizer.fingerprint
        self._broken = False
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_cutting, initargs=(sorted(tokenizer.words),))
        # started now, by the thread making the Cutter: it loads while the import does its first steps (the
        # pool would start it at the first cut, on the event loop: tens of ms of the loop at a process start)
        self._pool.submit(int)

    async def cut(self, cards: list[KbCard]) -> list[list[str]] | None:
        """The cards' tokens; None when the child cannot cut them (it died, or it could not start)."""
        if self._broken:
            return None
        loop, tokens = asyncio.get_running_loop(), []
        # all batches queued at once: the child cuts one while the next one's pickle is on its way
        batches = await asyncio.gather(*(loop.run_in_executor(self._pool, _cut, cards[lo:lo + CUT_BATCH])
                                         for lo in range(0, len(cards), CUT_BATCH)), return_exceptions=True)
        for batch in batches:
            if isinstance(batch, BrokenProcessPool):
                log.warning("import: the cutting process ended abruptly; cutting in this process instead")
                self._broken = True
                return None
            if isinstance(batch, BaseException):
                raise batch
            stamp, cut = batch
            if stamp != self.stamp:
                raise RuntimeError(f"the cutting process has dictionary {stamp}, not {self.stamp}")
            tokens += cut
        return tokens

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_CHILD_TOKENIZER: list[Tokenizer] = []  # in the cutting process (which builds no services): its tokenizer


def _start_cutting(words: list[str]) -> None:
    os.nice(CUTTER_NICE)  # background work: on a busy machine the serving process gets the cores first
    _CHILD_TOKENIZER.append(Tokenizer(words, Engines()))  # the child's own jieba and OpenCC dictionaries


def _cut(cards: list[KbCard]) -> tuple[str, list[list[str]]]:
    tok = _CHILD_TOKENIZER[0]
    return tok.fingerprint, cut_cards(tok, cards)


def _stamped(card: KbCard, tokens: list[str], stamp: str) -> KbCard:
    return card.with_(tokens=tuple(tokens), tokens_dict=stamp)


async def import_cards_into(
    db: Any, kb: KnowledgeBase, cards: Sequence[KbCard], now: datetime, progress: Progress | None = None,
    landed: Landed | None = None,
) -> store.UpsertStats:
    """Tokenise, stage `cards` one transaction per TRANSACTION_CARDS, publish them, refresh `kb`."""
    chunks = (list(cards[lo:lo + TRANSACTION_CARDS]) for lo in range(0, len(cards), TRANSACTION_CARDS))
    return await import_chunks(db, kb, chunks, dictionary_words(kb.taxonomy, cards), now, progress, landed,
                               apart=len(cards) > CUT_APART)


async def import_file(
    db: Any, kb: KnowledgeBase, path: str | Path, now: datetime,
    progress: Progress | None = None, total: Callable[[int], None] | None = None, landed: Landed | None = None,
    refresh: bool = True,
) -> FileReport:
    """One file → staged a transaction per TRANSACTION_CARDS cards (`landed` hears of each), published after.
    Bad rows are reported with their line and skipped. The file is read twice — once to check every row and
    collect the words, then a chunk at a time while staging — so memory stays flat however large it is. With
    `refresh=False` (a command-line import, which exits next) `kb` is not rebuilt: the other processes see the
    new generation and rebuild their own."""
    loop = asyncio.get_running_loop()
    taxonomy = kb.index_taxonomy()
    checked = await loop.run_in_executor(None, lambda: read_cards(Path(path), taxonomy, keep=False))
    report = FileReport(file=str(path), rows=checked.rows, issues=list(checked.issues),
                        new_values={a: list(v) for a, v in checked.new_values.items()}, joined=dict(checked.joined))
    if total:
        total(checked.good)
    if checked.good:
        words = dictionary_words_of(kb.taxonomy, checked.axis_values, checked.keywords)
        report.import_day = day = to_cn(now).date()
        held = {c.id: c for c in kb.cards()}

        def dated_chunks() -> Iterator[list[KbCard]]:
            for chunk in card_chunks(Path(path), taxonomy, TRANSACTION_CARDS):
                report.undated += sum(1 for c in chunk if c.updated_at is None and c.id not in held)
                yield [dated(c, held.get(c.id), day) for c in chunk]

        chunks = dated_chunks()
        stats = await import_chunks(db, kb, chunks, words, now, progress, landed, refresh,
                                    apart=checked.good > CUT_APART)
        report.inserted, report.updated, report.unchanged = stats.inserted, stats.updated, stats.unchanged
    return report


async def import_chunks(db: Any, kb: KnowledgeBase, chunks: Iterator[list[KbCard]], words: Iterable[str],
                        now: datetime, progress: Progress | None, landed: Landed | None,
                        refresh: bool = True, apart: bool = False) -> store.UpsertStats:
    """Each chunk tokenised and staged (a transaction each), then all published a bounded chunk a transaction;
    on a failure before the publish the batch is deleted from staging (nothing imported) and the error raised.
    Only the counts are kept across chunks (the written cards too when `kb` is rebuilt after: it then need not
    read them back).
    `apart`: cut the cards in a child process (Cutter)."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: kb.tokenizer.add_words(words))
    cutter = await loop.run_in_executor(None, Cutter, kb.tokenizer) if apart else None  # starts meanwhile
    indexed = {c.id: c for c in kb.cards()}
    batch = uuid.uuid4().hex
    try:
        await drop_stale_batches(db, now)
    except BaseException:
        if cutter is not None:
            cutter.close()
        raise

    async def cut_next() -> list[KbCard] | None:
        chunk = await loop.run_in_executor(None, next, chunks, None)
        return None if chunk is None else await tokenise(kb, chunk, progress, indexed, cutter)

    upcoming: asyncio.Future[Any] = asyncio.ensure_future(cut_next())
    written: list[KbCard] = []
    try:
        total = store.UpsertStats()
        while (ready := await upcoming) is not None:
            upcoming = asyncio.ensure_future(cut_next())  # the next chunk is read and cut while this one is staged
            if not total.inserted + total.updated + total.unchanged:
                await kb.save_dictionary(db, ready[0].tokens_dict)  # other processes can check these tokens
            stats = await stage(db, batch, ready, now, progress)
            if refresh:
                kb.remember(stats.written)
                written += stats.written
            stats.written = []
            total = _added(total, stats)
            if landed is not None:
                await landed(len(ready))
        # the next index is built from the cards in memory while they are published (one core builds, the
        # database writes): nothing is read back and built again after the publish
        upcoming = asyncio.ensure_future(kb.build_next(written) if written else asyncio.sleep(0))
        generations = await store.publish_cards(db, batch, total.inserted + total.updated, now)
    except BaseException:
        upcoming.cancel()
        upcoming.add_done_callback(lambda task: task.cancelled() or task.exception())  # its failure is not news
        await drop(db, store.STAGED_CARDS.table, batch)
        raise
    finally:
        if cutter is not None:
            cutter.close()
    if refresh:
        await _adopt(db, kb, upcoming, generations)
        await kb.refresh_if_stale(db)  # the importer waits: its caller searches the new cards next
    return total


async def _adopt(db: Any, kb: KnowledgeBase, building: asyncio.Future[Any], generations: tuple[str, str] | None
                 ) -> None:
    """The index built during the publish taken when it is the live cards' (else `refresh_if_stale` loads)."""
    try:
        built = await building
    except Exception:
        log.warning("import: the index built during the publish failed; loading the cards instead", exc_info=True)
        return
    if isinstance(built, NextIndex) and generations is not None:
        await kb.adopt(db, built, generations)


async def stage(db: Any, batch: str, cards: list[KbCard], now: datetime,
                progress: Progress | None) -> store.UpsertStats:
    """`cards` compared with their live rows (one read, no write lock) and the new or changed ones staged under
    `batch`, a short transaction per STAGE_CARDS; no transaction at all for cards that did not change."""
    existing = await store.live_rows(db, [c.id for c in cards])
    total = store.UpsertStats()
    for lo in range(0, len(cards), STAGE_CARDS):
        rows, stats = store.stage_rows(batch, cards[lo:lo + STAGE_CARDS], existing, now)
        if rows:
            async with db.session() as session:
                await store.stage(session, rows)
        if progress:
            progress(len(cards[lo:lo + STAGE_CARDS]))
        total = _added(total, stats)
    return total


async def drop_stale_batches(db: Any, now: datetime) -> int:
    """A publish that began and did not finish is finished; then staging rows of imports that started more than
    STALE_BATCH_AFTER ago (their process died before publishing) deleted: by every import as it starts, and by
    the server at start-up and hourly (app/scheduler.py). Returns the rows deleted."""
    await store.STAGED_CARDS.resume(db, now)
    async with db.session() as session:
        stale = await drop_stale(session, store.STAGED_CARDS.table, now - STALE_BATCH_AFTER)
    if stale:
        log.warning("import: deleted %d staged cards of imports that did not finish", stale)
    return stale


def _added(a: store.UpsertStats, b: store.UpsertStats) -> store.UpsertStats:
    """Counts summed, lists joined, field by field."""
    out = store.UpsertStats()
    for f in dataclasses.fields(out):
        setattr(out, f.name, getattr(a, f.name) + getattr(b, f.name))
    return out
