"""The ramp-up use cases chat, CLI and console share: define or replace the path, enrol a rep, record a task's
progress, read a rep's or a team's progress, and the gate that keeps `[ramp] rights` locked until the path is
done (with the Chinese refusal that says what is left).

A rep is on the ramp only once enrolled (by an admin or manager, or at `org import` when `[ramp]
enroll_new_reps`); reps already working are never locked by a new path. Tasks are done in order, except that a
shadowing task waiting for the manager does not block the next ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RampSettings, Settings
from bot.org import in_team
from handlers.ramp.path import TaskSpec, default_path, parse_path
from knowledge import store
from knowledge.schema import KbCard
from knowledge.taxonomy import load_taxonomy
from storage.activity import add_audit
from storage.db import Database
from storage.models import RampEnrollment, RampPath, RampProgress, RampTask, User

log = logging.getLogger(__name__)

RIGHT_CN = {"close": "推进到「签约回款」或赢单", "pool": "接收线索池的线索"}
STATUS_CN = {"todo": "未开始", "open": "进行中", "waiting": "待主管确认", "done": "已完成"}
DEFAULT_NAME = "默认路径"
MAX_LEFT_SHOWN = 3


class RampError(ValueError):
    """A request that cannot be done; the message is Chinese."""


@dataclass(frozen=True)
class TaskView:
    id: int
    position: int
    kind: str
    spec: TaskSpec
    title: str
    status: str  # todo | open | waiting | done
    correct: int = 0
    need: int = 0  # quiz: right answers needed

    def short(self) -> str:
        if self.kind == "quiz" and self.status != "done" and self.correct:
            return f"{self.title}（已答对 {self.correct}/{self.need}）"
        if self.status == "waiting":
            return f"{self.title}（待主管确认）"
        return self.title


@dataclass(frozen=True)
class Progress:
    user_id: str
    name: str
    manager_id: str | None
    path_id: int
    started_at: datetime
    completed_at: datetime | None
    tasks: tuple[TaskView, ...] = field(default_factory=tuple)

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t.status == "done")

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def complete(self) -> bool:
        return self.completed_at is not None

    @property
    def left(self) -> list[TaskView]:
        return [t for t in self.tasks if t.status != "done"]

    @property
    def next(self) -> TaskView | None:
        """The first task the rep can work on now (a task waiting for the manager is skipped)."""
        return next((t for t in self.tasks if t.status in ("todo", "open")), None)

    @property
    def waiting(self) -> list[TaskView]:
        return [t for t in self.tasks if t.status == "waiting"]

    def left_text(self) -> str:
        left = self.left
        shown = "、".join(t.short() for t in left[:MAX_LEFT_SHOWN])
        return shown + (f" 等 {len(left)} 关" if len(left) > MAX_LEFT_SHOWN else "")

    def summary(self) -> str:
        """One line for lists and the digest: 「5/12 · 下一关 测验 · 价格异议 · 待确认 1」."""
        if self.complete:
            return f"{self.total}/{self.total} 已通关"
        parts = [f"{self.done}/{self.total}"]
        if self.next is not None:
            parts.append(f"下一关 {self.next.title}")
        if self.waiting:
            parts.append(f"待主管确认 {len(self.waiting)}")
        return " · ".join(parts)


# -- the path -------------------------------------------------------------------------------------------
async def current_path(session: AsyncSession) -> tuple[RampPath, list[RampTask]] | None:
    path = (await session.execute(select(RampPath).where(RampPath.current.is_(True))
                                  .order_by(RampPath.id.desc()).limit(1))).scalar_one_or_none()
    if path is None:
        return None
    return path, await path_tasks(session, path.id)


async def path_tasks(session: AsyncSession, path_id: int) -> list[RampTask]:
    return list((await session.execute(select(RampTask).where(RampTask.path_id == path_id)
                                       .order_by(RampTask.position))).scalars())


def specs_of(tasks: Sequence[RampTask]) -> list[TaskSpec]:
    return [TaskSpec.from_json(t.kind, t.spec or {}) for t in tasks]


async def default_specs(session: AsyncSession, cfg: RampSettings, cards: Sequence[KbCard] | None = None
                        ) -> list[TaskSpec]:
    """The path made from the active cards (`cards`: the process's index of them, when the caller has it)."""
    if cards is None:
        cards = await store.all_cards(session, active_only=True)
    return default_path(cards, cfg.shadow_tasks)


@dataclass(frozen=True)
class PathChange:
    """What replacing the path did to the reps on it: each rep's progress on a task that is on the new path too
    (same kind and settings) is kept — finished, half-answered or waiting for the manager — and what could not
    be kept is named, one Chinese line each (「张伟：「测验 · 价格异议」已答对 1/2，新路径里没有这一关，进度清零」)."""

    path: RampPath
    tasks: int
    moved: int = 0  # reps moved to the new path
    kept: int = 0  # task progress carried over
    reset: tuple[str, ...] = ()
    completed: tuple[str, ...] = ()  # reps the new path finds already done (their rights unlock)

    def summary_cn(self) -> str:
        parts = [f"已保存通关路径（{self.tasks} 关）"]
        if self.moved:
            parts.append(f"正在通关的 {self.moved} 位同事已换到新路径，新路径里相同任务的进度保留（{self.kept} 项）")
        if self.completed:
            parts.append(f"{'、'.join(self.completed)} 的新路径已全部完成，已通关")
        text = "，".join(parts) + "。"
        if self.reset:
            text += "\n进度清零：" + "；".join(self.reset) + "。"
        return text


async def set_path(session: AsyncSession, specs: Sequence[TaskSpec], now: datetime, by: str | None,
                   name: str = "", cfg: RampSettings | None = None) -> PathChange:
    """The new current path; reps still on the ramp move to it, keeping their progress on the tasks (same kind
    and settings) the new path has too; what they lose is named in the result."""
    if not specs:
        raise RampError("路径里没有任务")
    old = await current_path(session)
    await session.execute(update(RampPath).where(RampPath.current.is_(True)).values(current=False))
    path = RampPath(name=(name or DEFAULT_NAME)[:64], current=True, created_by=by, created_at=now)
    session.add(path)
    await session.flush()
    tasks = [RampTask(path_id=path.id, position=i, kind=s.kind, spec=s.to_json()) for i, s in enumerate(specs, 1)]
    session.add_all(tasks)
    await session.flush()
    change = PathChange(path, len(tasks))
    if old is not None:
        change = await _move_enrollments(session, old[1], tasks, change, now, cfg or RampSettings())
    add_audit(session, by, "ramp.path", str(path.id), now, tasks=len(tasks), moved=change.moved, kept=change.kept,
              reset=len(change.reset))
    log.info("ramp path %s set by %s: %d task(s), %d rep(s) moved, %d progress kept, %d reset", path.id, by,
             len(tasks), change.moved, change.kept, len(change.reset))
    return change


async def _move_enrollments(session: AsyncSession, old: Sequence[RampTask], new: Sequence[RampTask],
                            change: PathChange, now: datetime, cfg: RampSettings) -> PathChange:
    key = {t.id: _task_key(t) for t in old}
    titles = {t.id: TaskSpec.from_json(t.kind, t.spec or {}).title(cfg.questions) for t in old}
    new_by_key = {_task_key(t): t for t in new}
    rows = list((await session.execute(select(RampEnrollment).where(RampEnrollment.completed_at.is_(None)))).scalars())
    names = {uid: name for uid, name in (await session.execute(select(User.id, User.name).where(
        User.id.in_([r.user_id for r in rows])))).all()} if rows else {}
    kept, reset, completed = 0, list[str](), list[str]()
    for row in rows:
        row.path_id = change.path.id
        name = names.get(row.user_id, row.user_id)
        marks = (await session.execute(select(RampProgress).where(
            RampProgress.user_id == row.user_id, RampProgress.task_id.in_([t.id for t in old]),
            RampProgress.status != "replaced").order_by(RampProgress.task_id))).scalars()
        for p in marks:
            same = new_by_key.get(key[p.task_id])
            if same is not None and (p.status != "open" or p.correct or p.asked):
                session.add(RampProgress(user_id=row.user_id, task_id=same.id, status=p.status, correct=p.correct,
                                         asked=p.asked, state={k: v for k, v in (p.state or {}).items() if k != "q"},
                                         confirmed_by=p.confirmed_by, done_at=p.done_at, updated_at=now))
                kept += 1
            elif same is None and (lost := _lost(p, titles[p.task_id], cfg)):
                reset.append(f"{name}：{lost}")
            if p.status != "done":  # a question left open on the old path is answered no more
                p.status, p.state, p.updated_at = "replaced", {}, now
        await session.flush()
        left = await session.execute(select(RampTask.id).where(RampTask.path_id == change.path.id).except_(
            select(RampProgress.task_id).where(RampProgress.user_id == row.user_id, RampProgress.status == "done")))
        if left.first() is None:  # everything on the new path is done already
            row.completed_at = now
            completed.append(name)
            add_audit(session, None, "ramp.complete", row.user_id, now, path=change.path.id)
    await session.flush()
    return PathChange(change.path, change.tasks, len(rows), kept, tuple(reset), tuple(completed))


def _lost(p: RampProgress, title: str, cfg: RampSettings) -> str | None:
    """The progress a task dropped from the path takes with it, in words; None when there was none."""
    if p.status == "done":
        return f"已完成的「{title}」不在新路径里"
    if p.status == "waiting":
        return f"待主管确认的「{title}」不在新路径里，确认不再需要"
    if p.correct:
        return f"「{title}」已答对 {p.correct} 题，新路径里没有这一关"
    return None


def parse(text: str, settings: Settings) -> list[TaskSpec]:
    """The admin's path text (handlers/ramp/path.py), axis words resolved through the knowledge taxonomy
    (设备科 → 采购); raises PathError naming the bad line."""
    taxonomy = load_taxonomy(settings.knowledge.taxonomy_path or None)
    return parse_path(text, taxonomy.resolve)


async def empty_tasks(session: AsyncSession, specs: Sequence[TaskSpec], cfg: RampSettings,
                      cards: Sequence[KbCard] | None = None) -> list[str]:
    """Warnings for reading and quiz tasks no active card fits (`ramp path set` refuses them)."""
    if cards is None:
        cards = await store.all_cards(session, active_only=True)
    out = []
    for i, spec in enumerate(specs, 1):
        if spec.kind == "shadow":
            continue
        wanted = spec.filters()
        if not any(c.talk_track and (spec.kind == "read" or c.objection)
                   and all(getattr(c, a) == v for a, v in wanted.items()) for c in cards):
            out.append(f"第 {i} 个任务「{spec.title(cfg.questions)}」：知识库里没有符合的卡片")
    return out


async def replace_path(session: AsyncSession, specs: Sequence[TaskSpec], now: datetime, by: str | None, name: str,
                       cfg: RampSettings, cards: Sequence[KbCard] | None = None) -> PathChange:
    """The path the CLI and the console save: refused (RampError naming each task) when a reading or quiz task
    matches no active card — a task nobody can do would never count toward the unlock."""
    empty = await empty_tasks(session, specs, cfg, cards)
    if empty:
        raise RampError("通关路径没有保存：" + "；".join(empty)
                        + "。请改成知识库里有卡片的角色、行业或异议，或先补充话术卡片。")
    return await set_path(session, specs, now, by, name, cfg)


def _task_key(task: RampTask) -> str:
    return task.kind + json.dumps(task.spec or {}, sort_keys=True, ensure_ascii=False)


async def ensure_path(session: AsyncSession, cfg: RampSettings, now: datetime, by: str | None) -> RampPath:
    """The current path, made from the knowledge base (the default path) when there is none yet."""
    found = await current_path(session)
    if found is not None:
        return found[0]
    specs = await default_specs(session, cfg)
    if not any(s.kind != "shadow" for s in specs):
        raise RampError("还没有通关路径，知识库里也还没有话术卡片：请先导入话术卡片，或在后台「新人通关」页定义路径")
    return (await set_path(session, specs, now, by, DEFAULT_NAME, cfg)).path


# -- enrolment and progress -------------------------------------------------------------------------------
async def people_named(session: AsyncSession, who: str) -> list[User]:
    """Active people whose id is `who`, else whose name is (several when the name is shared)."""
    who = who.strip().lstrip("@")
    if not who:
        return []
    rows = list((await session.execute(select(User).where((User.id == who) | (User.name == who),
                                                          User.active.is_(True)).order_by(User.id))).scalars())
    return [u for u in rows if u.id == who] or rows


async def one_person(session: AsyncSession, who: str) -> User:
    """The one active person `who` (an id or a name) stands for; RampError when nobody or several."""
    found = await people_named(session, who)
    if not found:
        raise RampError(f"没有找到在职同事「{who}」")
    if len(found) > 1:
        raise RampError(f"「{who}」有 {len(found)} 位同名同事，请改用工号：{'、'.join(u.id for u in found)}")
    return found[0]


async def enroll(session: AsyncSession, user_id: str, cfg: RampSettings, now: datetime, by: str | None,
                 *, restart: bool = False) -> RampEnrollment:
    """Put a rep on the current path (idempotent; `restart` starts a finished or started rep over)."""
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise RampError(f"没有找到在职同事「{user_id}」")
    if user.role != "rep":
        raise RampError(f"{user.name} 不是销售，不需要新人通关")
    path = await ensure_path(session, cfg, now, by)
    row = await session.get(RampEnrollment, user_id)
    if row is not None and not restart:
        return row
    if row is None:
        row = RampEnrollment(user_id=user_id, path_id=path.id, enrolled_by=by, started_at=now)
        session.add(row)
    else:
        row.path_id, row.started_at, row.completed_at, row.enrolled_by = path.id, now, None, by
        for p in (await session.execute(select(RampProgress).where(RampProgress.user_id == user_id))).scalars():
            await session.delete(p)
    await session.flush()
    add_audit(session, by, "ramp.enroll", user_id, now, path=path.id, restart=restart)
    return row


@dataclass(frozen=True)
class NewReps:
    """What an org import did for the reps it added: who started the path, and who could not and why."""

    enrolled: tuple[str, ...] = ()  # names
    missed: tuple[str, ...] = ()  # names
    reason: str = ""

    def text(self) -> str:
        """The admin's line (Chinese), "" when there is nothing to say."""
        parts = [f"新人已加入学习路径：{'、'.join(self.enrolled)}"] if self.enrolled else []
        if self.missed:
            parts.append(f"⚠️ {'、'.join(self.missed)} 没能开始新人通关：{self.reason.rstrip('。')}。"
                         f"准备好后发「开始通关 {self.missed[0]}」（或在「新人通关」页）为他们开启")
        return "；".join(parts)


async def enroll_new(session: AsyncSession, user_ids: Sequence[str], cfg: RampSettings, now: datetime,
                     by: str | None) -> NewReps:
    """Reps just added to the org start the path (`[ramp] enroll_new_reps`); an import never fails for it, and
    the result names whoever could not start (no path and no cards yet), so the admin is told."""
    if not cfg.enroll_new_reps or not user_ids:
        return NewReps()
    names = dict((await session.execute(select(User.id, User.name).where(User.id.in_(list(user_ids))))).all())
    done: list[str] = []
    for n, user_id in enumerate(user_ids):
        try:
            await enroll(session, user_id, cfg, now, by)
        except RampError as exc:
            log.warning("ramp: %s not enrolled at import: %s", user_id, exc)
            missed = tuple(names.get(u) or u for u in user_ids[n:])  # the path is missing for all of them
            return NewReps(tuple(names.get(u) or u for u in done), missed, str(exc))
        done.append(user_id)
    return NewReps(tuple(names.get(u) or u for u in done))


async def progress(session: AsyncSession, user_id: str, cfg: RampSettings) -> Progress | None:
    """The rep's progress, or None when they are not on the ramp."""
    row = await session.get(RampEnrollment, user_id)
    if row is None:
        return None
    return (await _progress_of(session, [row], cfg))[0]


async def team_progress(session: AsyncSession, manager_id: str | None, cfg: RampSettings) -> list[Progress]:
    """Everyone on the ramp (finished too) of a manager's team; None → every team."""
    stmt = select(RampEnrollment).join(User, User.id == RampEnrollment.user_id).where(User.active.is_(True))
    if manager_id:
        stmt = stmt.where(in_team(manager_id))
    rows = list((await session.execute(stmt.order_by(RampEnrollment.user_id))).scalars())
    return await _progress_of(session, rows, cfg)


async def _progress_of(session: AsyncSession, rows: Sequence[RampEnrollment], cfg: RampSettings) -> list[Progress]:
    if not rows:
        return []
    users = {u.id: u for u in (await session.execute(
        select(User).where(User.id.in_([r.user_id for r in rows])))).scalars()}
    tasks: dict[int, list[RampTask]] = {}
    for path_id in {r.path_id for r in rows}:
        tasks[path_id] = await path_tasks(session, path_id)
    marks: dict[tuple[str, int], RampProgress] = {
        (p.user_id, p.task_id): p for p in (await session.execute(select(RampProgress).where(
            RampProgress.user_id.in_([r.user_id for r in rows])))).scalars()}
    out = []
    for r in rows:
        views = []
        for t in tasks[r.path_id]:
            spec = TaskSpec.from_json(t.kind, t.spec or {})
            mark = marks.get((r.user_id, t.id))
            need = (spec.count or cfg.questions) if t.kind == "quiz" else 0
            views.append(TaskView(t.id, t.position, t.kind, spec, spec.title(cfg.questions),
                                  mark.status if mark else "todo", mark.correct if mark else 0, need))
        user = users.get(r.user_id)
        out.append(Progress(r.user_id, user.name if user else r.user_id, user.manager_id if user else None,
                            r.path_id, r.started_at, r.completed_at, tuple(views)))
    return out


async def mark(session: AsyncSession, user_id: str, task_id: int, now: datetime) -> RampProgress:
    """The rep's row for a task of their path (created on first use); RampError for another path's task."""
    stmt = select(RampProgress).where(RampProgress.user_id == user_id, RampProgress.task_id == task_id)
    if session.get_bind().dialect.name == "postgresql":  # two clicks on one question: the second waits, then sees it
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is not None:
        return row
    enrolled = await session.get(RampEnrollment, user_id)
    task = await session.get(RampTask, task_id)
    if enrolled is None or task is None or task.path_id != enrolled.path_id:
        raise RampError("这一关已不在你的通关路径里了，发「通关」看当前的任务。")
    row = RampProgress(user_id=user_id, task_id=task_id, status="open", correct=0, asked=0, state={},
                       updated_at=now)
    session.add(row)
    await session.flush()
    return row


async def finish_task(session: AsyncSession, row: RampProgress, now: datetime, cfg: RampSettings,
                      by: str | None = None) -> Progress | None:
    """The task is done; returns the rep's progress when this completed the whole path (rights unlock)."""
    row.status, row.done_at, row.updated_at, row.state = "done", now, now, {}
    if by is not None:
        row.confirmed_by = by
    await session.flush()
    now_progress = await progress(session, row.user_id, cfg)
    if now_progress is None or now_progress.complete or now_progress.left:
        return None
    enrolled = await session.get(RampEnrollment, row.user_id)
    assert enrolled is not None
    enrolled.completed_at = now
    add_audit(session, by or row.user_id, "ramp.complete", row.user_id, now, path=enrolled.path_id)
    log.info("ramp: %s completed path %s", row.user_id, enrolled.path_id)
    return await progress(session, row.user_id, cfg)


# -- a written question waiting for its answer ------------------------------------------------------------
def _written_pending(rows: Sequence[tuple[int, dict[str, Any]]], now: datetime, minutes: int) -> int | None:
    """The id of the progress row whose written question still waits for its answer, if any."""
    for row_id, state in rows:
        q = (state or {}).get("q") or {}
        if q and not q.get("options") and "reply" not in q and q.get("at"):
            if (now - datetime.fromisoformat(q["at"])).total_seconds() <= minutes * 60:
                return row_id
    return None


def _open_rows(user_id: str) -> Any:
    return (select(RampProgress.id, RampProgress.state)
            .where(RampProgress.status == "open", RampProgress.user_id == user_id).order_by(RampProgress.id))


async def written_row(session: AsyncSession, user_id: str, now: datetime, minutes: int) -> int | None:
    """The rep's progress row whose written question waits for its answer (in the handler's transaction)."""
    rows = (await session.execute(_open_rows(user_id))).all()
    return _written_pending([(r.id, r.state) for r in rows], now, minutes)


async def written_waiting(db: Database, user_id: str, now: datetime, minutes: int) -> bool:
    """Whether a written question waits for the rep's answer; asked of many texts, so on the read-only
    connection (never queued for SQLite's write lock)."""
    async with db.reader() as conn:
        rows = (await conn.execute(_open_rows(user_id))).all()
    return _written_pending([(r.id, r.state) for r in rows], now, minutes) is not None


# -- the gate ---------------------------------------------------------------------------------------------
async def locked(session: AsyncSession, user_id: str | None, right: str, cfg: RampSettings) -> Progress | None:
    """The rep's unfinished progress when `right` is still locked for them, else None."""
    if not user_id or right not in cfg.rights:
        return None
    found = await progress(session, user_id, cfg)
    return found if found is not None and not found.complete else None


async def locked_ids(session: AsyncSession, right: str, cfg: RampSettings) -> set[str]:
    """Reps for whom `right` is still locked."""
    if right not in cfg.rights:
        return set()
    rows = await session.execute(select(RampEnrollment.user_id).where(RampEnrollment.completed_at.is_(None)))
    return set(rows.scalars())


def refusal(found: Progress, right: str, *, own: bool = True) -> str:
    """「你还在新人通关中（已完成 5/12），推进到「签约回款」或赢单要等通关后开通。还差：…」"""
    who = "你" if own else found.name
    tail = "发「通关」继续。" if own else f"可提醒{found.name}发「通关」继续。"
    if right == "pool" and not own:
        tail += f"（线索池的线索指没人负责或已冻结的线索；其他同事手上的线索仍可直接改派给{found.name}。）"
    return (f"{who}还在新人通关中（已完成 {found.done}/{found.total}），{RIGHT_CN.get(right, right)}要等通关后开通。"
            f"还差：{found.left_text()}。{tail}")


def pool_note(found: Progress) -> str:
    """Said to a manager who hands a rep on the ramp a lead another rep owned: allowed, and why pool leads differ."""
    return (f"{found.name}还在新人通关中（已完成 {found.done}/{found.total}）：主管直接改派不受限制；"
            f"线索池的线索（没人负责或已冻结）要等通关后才会派给{found.name}。")


def locked_text(cfg: RampSettings) -> str:
    return "、".join(RIGHT_CN.get(r, r) for r in cfg.rights) or "（没有锁定的功能）"


def unlocked_text(cfg: RampSettings) -> str:
    rights = "、".join(RIGHT_CN.get(r, r) for r in cfg.rights)
    return f"已开通：{rights}" if rights else "所有功能都已开通"
