"""Users, roles and manager links: from `[[org.users]]`, `salesbot org import`, the demo org, or
auto-registration of unknown channel users as reps."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Executable, ScalarSelect, Select, bindparam, event, func, or_, select, text, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.config import ROLES, OrgUser
from bot.context import UserInfo
from storage.db import Database
from storage.models import ChangeCount, User
from storage.sql import table_of
from storage.users import CHANNEL_ONLY, NEWCOMER, set_channels

log = logging.getLogger(__name__)

DEMO_ORG: tuple[OrgUser, ...] = (
    OrgUser("admin01", "赵管理", "admin"),
    OrgUser("manager01", "王经理", "manager", region="华东", industries=["医疗", "教育"]),
    OrgUser("rep01", "张伟", "rep", "manager01", "华东", ["CRM"], ["医疗"]),
    OrgUser("rep02", "李娜", "rep", "manager01", "华东", ["CRM", "ERP"], ["教育"]),
    OrgUser("rep03", "刘洋", "rep", "manager01", "华北", ["ERP"], ["制造"]),
    OrgUser("manager02", "陈经理", "manager", region="华南", industries=["零售", "金融"]),
    OrgUser("rep04", "杨静", "rep", "manager02", "华南", ["CRM"], ["零售"]),
    OrgUser("rep05", "黄磊", "rep", "manager02", "华南", ["ERP"], ["金融"]),
)

CSV_COLUMNS = {"id": "id", "name": "name", "role": "role", "manager": "manager", "region": "region",
               "product_lines": "product_lines", "industries": "industries", "capacity": "capacity",
               "工号": "id", "姓名": "name", "角色": "role", "主管": "manager", "区域": "region",
               "产品线": "product_lines", "行业": "industries", "容量": "capacity",
               "work_start": "work_start", "work_end": "work_end", "上班": "work_start", "下班": "work_end"}


class OrgError(ValueError):
    pass


def to_info(user: User) -> UserInfo:
    return UserInfo(id=user.id, name=user.name, role=user.role, manager_id=user.manager_id)


async def upsert_users(session: AsyncSession, users: Iterable[OrgUser], now: datetime) -> int:
    """Insert or update users; managers first so manager links always resolve. New users start active; an
    existing user's `active` flag is left alone, so someone offboarded stays out at the next start."""
    ordered = sorted(users, key=lambda u: 0 if not u.manager else 1)
    for u in ordered:
        row = await session.get(User, u.id)
        if row is None:
            row = User(id=u.id, created_at=now, active=True)
            session.add(row)
        row.name, row.role, row.manager_id = u.name, u.role, u.manager or None
        row.region, row.product_lines, row.industries = u.region or None, list(u.product_lines), list(u.industries)
        row.capacity = u.capacity
        row.work_start, row.work_end = u.work_start or None, u.work_end or None
        await session.flush()
    return len(ordered)


async def seed_org(db: Database, config_users: list[OrgUser], demo: bool, now: datetime) -> None:
    """Config users always win; the demo org is added only to an empty users table."""
    async with db.session() as session:
        empty = (await session.execute(select(func.count()).select_from(User))).scalar_one() == 0
        if demo and empty and not config_users:
            await upsert_users(session, DEMO_ORG, now)
        if config_users:
            await upsert_users(session, config_users, now)


def parse_users_csv(text: str) -> list[OrgUser]:
    """CSV with English or Chinese headers; lists separated by ';' or '、'. Errors name the line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    users: list[OrgUser] = []
    for line, raw in enumerate(reader, start=2):
        row = {CSV_COLUMNS[k.strip()]: (v or "").strip() for k, v in raw.items() if k and k.strip() in CSV_COLUMNS}
        if not row.get("id") or not row.get("name"):
            raise OrgError(f"line {line}: id and name are required")
        role = row.get("role") or "rep"
        if role not in ROLES:
            raise OrgError(f"line {line}: role must be one of {sorted(ROLES)}, got {role!r}")
        users.append(OrgUser(
            id=row["id"], name=row["name"], role=role, manager=row.get("manager", ""),
            region=row.get("region", ""), product_lines=_split(row.get("product_lines", "")),
            industries=_split(row.get("industries", "")), capacity=int(row.get("capacity") or 30),
            work_start=row.get("work_start", ""), work_end=row.get("work_end", ""),
        ))
    return users


# called in the import's transaction with the ids of the reps the file added (e.g. to start their ramp-up)
NewReps = Callable[[AsyncSession, list[str]], Awaitable[object]]


async def import_users_file(db: Database, path: Path, now: datetime, on_new_reps: NewReps | None = None) -> int:
    users = parse_users_csv(path.read_text(encoding="utf-8-sig"))
    async with db.session() as session:
        existing = set((await session.execute(select(User.id))).scalars())
        known = existing | {u.id for u in users}
        for u in users:
            if u.manager and u.manager not in known:
                raise OrgError(f"user {u.id}: manager {u.manager!r} is unknown")
        n = await upsert_users(session, users, now)
        new_reps = [u.id for u in users if u.role == "rep" and u.id not in existing]
        if on_new_reps is not None and new_reps:
            await on_new_reps(session, new_reps)
        return n


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.replace("、", ";").replace(",", ";").split(";") if p.strip()]


class UserCache:
    """Who is who, kept in memory so a message from a known, active user costs no database round trip.

    Any INSERT/UPDATE/DELETE on `users` through any engine of this process empties every cache at once
    (`_on_execute`). A change made by another process (a second instance, `salesbot org import`) is seen
    within `ttl_s`. An entry read while a change was being written is not kept (the version moved)."""

    version = 0  # bumped by every write to the users table in this process

    def __init__(self, ttl_s: float = 10.0) -> None:
        self.ttl_s = ttl_s
        self._users: dict[str, tuple[UserInfo, str | None, int, float]] = {}  # id → info, channel, version, at

    def get(self, user_id: str, channel: str) -> UserInfo | None:
        hit = self._users.get(user_id)
        if hit is None:
            return None
        info, known_channel, version, at = hit
        if version != UserCache.version or time.monotonic() - at > self.ttl_s or known_channel != channel:
            del self._users[user_id]
            return None
        return info

    def put(self, info: UserInfo, channel: str, version: int) -> None:
        if version == UserCache.version:
            self._users[info.id] = (info, channel, version, time.monotonic())


class TeamCache:
    """Every user (id, name, role, manager, active, channel) in one read, kept in memory: the front door reads
    the active people a message may name (「改派 3 给 张伟」) for every text, and a rep's first message of the
    day finds who they are here instead of one read per message (a morning burst of first messages made that
    read most of a reply's database trips). Reloaded when it changed: at once for a write to `users` in this
    process (`UserCache.version`); for any process's, when the count of changes the database's triggers keep
    (`change_counts`, migration 0013) has moved — one row read at most every `check_s`. (It reloaded every 10 s
    whether or not anything had changed: ~100 ms of the event loop at 10,000 reps.) A reload costs a full read, so
    the next one waits at least LOAD_GAP times as long as the last took (a burst of newcomers, each counted,
    reloads the team at most ~1% of the time: 10,000 reps, ~100 ms a load, every ~10 s as the old TTL did)."""

    LOAD_GAP = 100.0

    def __init__(self, check_s: float = 1.0) -> None:
        self.check_s = check_s
        self._people: tuple[tuple[str, str], ...] | None = None
        self._users: dict[str, tuple[UserInfo, str | None, bool]] = {}  # id → info, channel, active
        self._version = -1  # UserCache.version the snapshot was read at
        self._changes: int | None = None  # change_counts' count for `users` the snapshot was read at
        self._checked = 0.0  # when the count was last read (monotonic)
        self._next_load = 0.0  # no reload for another process's change before then
        self._settling = False  # load once more at the next check (PostgreSQL, after a change was counted)
        self.loads = 0
        self._loading = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._version == UserCache.version and time.monotonic() - self._checked < self.check_s

    async def people(self, db: Database) -> tuple[tuple[str, str], ...]:
        """The active people (id, name), by id."""
        await self._ensure(db)
        return self._people or ()

    async def find(self, db: Database, user_id: str) -> tuple[UserInfo, str | None, bool] | None:
        """(who, the channel on record, active) from the snapshot; None when the snapshot does not know them
        (a newcomer another process registered since: the caller reads the row)."""
        await self._ensure(db)
        return self._users.get(user_id)

    def channel_written(self, user_id: str, channel: str) -> None:
        """The caller is recording this channel for the user: their next message does not write it again.
        (Should that write fail, that message writes it again.)"""
        hit = self._users.get(user_id)
        if hit is not None:
            self._users[user_id] = (hit[0], channel, hit[2])

    async def _ensure(self, db: Database) -> None:
        if self._fresh():
            return
        async with self._loading:  # one check (and load) for the handlers that all found it due at once
            if self._fresh():
                return
            here = self._version != UserCache.version
            async with db.reader(inline=True) as conn:  # one small row
                changes = (await conn.execute(_change_count(db.is_sqlite))).scalar()
            self._checked = time.monotonic()
            if here or self._settling or (changes != self._changes and self._checked >= self._next_load):
                # PostgreSQL's count moves before the change commits: load again at the next check
                self._settling = not db.is_sqlite and not here and not self._settling
                await self._load(db, changes)

    async def _load(self, db: Database, changes: int | None) -> None:
        """Read after the count: a change landing in between moves the count again, and the next check reloads."""
        started, version = time.monotonic(), UserCache.version
        u = table_of(User).c
        async with db.reader() as conn:
            rows = (await conn.execute(select(u.id, u.name, u.role, u.manager_id, u.active, u.channel)
                                       .order_by(u.id))).all()
        people = tuple((row.id, row.name) for row in rows if row.active)
        users = {row.id: (UserInfo(id=row.id, name=row.name, role=row.role, manager_id=row.manager_id), row.channel,
                          bool(row.active)) for row in rows}
        self.loads += 1
        self._next_load = time.monotonic() + self.LOAD_GAP * (time.monotonic() - started)
        if version == UserCache.version:  # not kept when a change landed while reading
            self._people, self._users, self._version, self._changes = people, users, version, changes
        else:
            self._people, self._users = people, {}  # this caller still gets the people it read


@cache
def _change_count(sqlite: bool) -> Executable:
    """The count of changes to `users` (migration 0013): SQLite a row of `change_counts`, PostgreSQL a sequence."""
    if not sqlite:
        return text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM users_changes")  # 1 before any
    c = table_of(ChangeCount).c
    return select(c.n).where(c.name == "users")


@event.listens_for(Engine, "after_cursor_execute")
def _on_execute(conn: object, cursor: object, statement: str, params: object, context: object, many: bool) -> None:
    table = getattr(getattr(getattr(context, "compiled", None), "statement", None), "table", None)
    if table is not None:  # INSERT / UPDATE / DELETE of a table
        if getattr(table, "name", None) == "users" and not _channel_only(context):
            UserCache.version += 1
    elif "users" in statement.lower() and not statement.lstrip()[:6].upper().startswith("SELECT"):
        UserCache.version += 1  # textual SQL: be conservative


def _channel_only(context: object) -> bool:
    """Writes that leave every cached entry true, so the caches of every other user stay warm: a user's channel
    changed, nothing else (a cached identity is kept per channel and re-read when the channel differs); or a
    newcomer was registered (an insert-if-absent changes no existing user; the team shows them within its TTL —
    a burst of first messages from unknown reps emptied every cache once per message)."""
    options = getattr(context, "execution_options", None) or {}
    return bool(options.get(CHANNEL_ONLY) or options.get(NEWCOMER))


async def identify_cached(
    db: Database, cache: UserCache, user_id: str, channel: str, display_name: str | None, auto_register: bool,
    now: datetime, team: TeamCache | None = None,
) -> tuple[UserInfo | None, str | None]:
    """Who is asking, from `cache`, the `team` snapshot or one read (Core, no write lock); an unknown user is
    registered as a rep in a short transaction of its own. Returns the user and, when the user now writes from
    another channel than the one on record, that channel: the caller records it in the handler's transaction
    (`set_channel`)."""
    info = cache.get(user_id, channel)
    if info is not None:
        return info, None
    version = UserCache.version
    known = await team.find(db, user_id) if team is not None else None
    if known is None and auto_register:
        # Not in the snapshot: most likely a newcomer. Insert-if-absent first (on PostgreSQL one statement in
        # autocommit, one round trip; the read and a transaction of its own took four), the row read only when
        # someone registered them already.
        registered = await _register(db, user_id, channel, display_name, now)
        if registered is not None:
            cache.put(registered, channel, version)  # their next message is a cache hit
            return registered, None
    if known is not None:
        info, on_record, active = known
    else:
        async with db.reader() as conn:
            row = (await conn.execute(_who_is(), {"w_id": user_id})).first()
        if row is None:
            return None, None  # not registered, and auto_register is off
        info = UserInfo(id=row.id, name=row.name, role=row.role, manager_id=row.manager_id)
        on_record, active = row.channel, bool(row.active)
    if not active:
        log.info("message from deactivated user %s refused", user_id)
        return None, None
    if on_record != channel:
        if team is not None:
            team.channel_written(user_id, channel)
        return info, channel
    cache.put(info, channel, version)
    return info, None


@cache
def _who_is() -> Select[Any]:
    """Built once: building the statement per message cost more than running it."""
    u = table_of(User).c
    return select(u.id, u.name, u.role, u.manager_id, u.active, u.channel).where(
        u.id == bindparam("w_id", type_=u.id.type))


async def _register(db: Database, user_id: str, channel: str, display_name: str | None, now: datetime
                    ) -> UserInfo | None:
    """A newcomer registered as a rep (insert-if-absent: two instances may see the same newcomer); None when
    the row was there already (the caller reads it). Users are not in the tamper-evident record: no session."""
    name = display_name or user_id
    values = {"r_id": user_id, "r_name": name, "r_at": now, "r_channel": channel}
    async with db.writer() as conn:
        new = (await conn.execute(_newcomer_insert(conn.dialect.name), values,
                                  execution_options={NEWCOMER: True})).first()
    if new is None:
        return None
    log.info("auto-registered %s (%s) as rep", user_id, channel)
    return UserInfo(id=user_id, name=name, role="rep", manager_id=None)


@cache
def _newcomer_insert(dialect: str) -> Any:
    """Built once per dialect: a burst of newcomers registers one per message."""
    table = table_of(User)
    factory = pg_insert if dialect == "postgresql" else sqlite_insert
    return factory(table).on_conflict_do_nothing().values(
        id=bindparam("r_id"), name=bindparam("r_name"), role="rep", created_at=bindparam("r_at"),
        channel=bindparam("r_channel"), active=True).returning(table.c.id)


async def set_channel(session: AsyncSession, user_id: str, channel: str) -> None:
    """Record where the user now writes from (reminders and digests go there)."""
    await set_channels(session, [(user_id, channel)])


async def active_admins(session: AsyncSession) -> list[str]:
    """The ids of every active admin, in id order: who hears of the system's own troubles (dead letters, the
    audit anchor, holiday data, knowledge gaps, ramp-up questions)."""
    stmt = select(User.id).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    return list((await session.execute(stmt)).scalars())


# -- reach: whom a manager acts for ------------------------------------------------------------------------
# The one team rule: the visibility queries and the lead gate (handlers/leads/permissions.py), 改派 / 接手 / 延期
# and whom a lead may go to (handlers/leads/manage.py, assignment.reassign_options, the freeze card's
# reminders/actions.py), the team pages and lists (app/console) all read it here.
class Managed(Protocol):
    """Someone with a manager link: a `User` row, a reminders `Person`."""

    @property
    def manager_id(self) -> str | None: ...


def manages(user: UserInfo, person: Managed) -> bool:
    """Whether `user` acts for `person` as their manager: `person`'s manager (users.manager_id), or an admin for
    everyone. The role is the caller's door (a route's `roles`, the console's `@allow`); a freeze card goes to
    the frozen rep's manager, whatever their role (reminders/directory.supervisors_of)."""
    return user.is_admin or person.manager_id == user.id


def in_team(manager: str | ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL condition on `User` rows: the person's manager is `manager` (an id, or a statement giving one)."""
    return User.manager_id == manager


def team_of(manager: str | ColumnElement[Any]) -> ScalarSelect[str]:
    """SQL: the ids of the people whose manager is `manager`."""
    return select(User.id).where(in_team(manager)).scalar_subquery()


def team_and_manager(manager_id: str, person: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """SQL condition on a person's id column: a member of `manager_id`'s team, or the manager themselves."""
    return or_(person.in_(team_of(manager_id)), person == manager_id)


def team_clause(user: UserInfo, person: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """SQL condition on a person's id column (an owner, a member): within `user`'s reach — an admin's everyone, a
    manager's team and themselves, a rep themselves. For leads, warnings, pages and lists."""
    if user.is_admin:
        return true()
    if user.role != "manager":
        return person == user.id
    return team_and_manager(user.id, person)


def handover_team(user: UserInfo, holder: Managed | None) -> str | None:
    """Whose team a lead goes to when `user` hands it on (改派: the lead card, the console, the freeze card's
    picker): their own; an admin's, the team of `holder` (the rep holding the lead, or the one a freeze took it
    from), every rep (None) when the holder has no manager."""
    if not user.is_admin:
        return user.id
    return holder.manager_id if holder is not None else None


def active_reps(team: str | None) -> Select[User]:
    """The active reps of `team` (a manager's id; None: every active rep), by id."""
    stmt = select(User).where(User.role == "rep", User.active.is_(True))
    return (stmt.where(in_team(team)) if team else stmt).order_by(User.id)
