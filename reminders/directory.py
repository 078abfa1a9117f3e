"""Who is who for the ticker: names, managers, admins and working hours, loaded once per tick.

Working hours: the user's own (`users.work_start/work_end`), else the team's (their manager's), else
`[reminders] work_start/work_end`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RemindersSettings
from bot.messages import GROUP_RECIPIENT
from reminders.calendar import BusinessCalendar, WorkHours, load_calendar
from storage.models import User


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    manager_id: str | None
    work_start: str | None
    work_end: str | None
    active: bool
    channel: str | None = None  # where we last heard from the user


class Directory:
    def __init__(self, people: dict[str, Person]) -> None:
        self.people = people

    def get(self, user_id: str | None) -> Person | None:
        return self.people.get(user_id) if user_id else None

    def name(self, user_id: str | None) -> str:
        person = self.get(user_id)
        return person.name if person else (user_id or "无人")

    def manager_of(self, user_id: str | None) -> str | None:
        person = self.get(user_id)
        return person.manager_id if person else None

    def admins(self) -> list[str]:
        return sorted(p.id for p in self.people.values() if p.role == "admin" and p.active)

    def supervisors_of(self, user_id: str | None) -> list[str]:
        """The user's nearest active manager (past a departed one, their manager), else the admins: someone
        must be able to act on an escalation."""
        seen: set[str] = set()
        boss = self.get(self.manager_of(user_id))
        while boss is not None and boss.id not in seen:
            if boss.active:
                return [boss.id]
            seen.add(boss.id)
            boss = self.get(boss.manager_id)
        return self.admins()

    def hours(self, cal: BusinessCalendar, user_id: str | None) -> WorkHours:
        person = self.get(user_id)
        return cal.hours(person.work_start, person.work_end) if person else cal.default_hours


def _with_team_hours(p: Person, manager: Person | None) -> Person:
    if (p.work_start or p.work_end) or manager is None:
        return p
    return replace(p, work_start=manager.work_start, work_end=manager.work_end)


async def load_directory(session: AsyncSession) -> Directory:
    u = User
    rows = await session.execute(select(u.id, u.name, u.role, u.manager_id, u.work_start, u.work_end, u.active,
                                        u.channel))
    people = {row[0]: Person(*row) for row in rows.all()}
    return Directory({k: _with_team_hours(p, people.get(p.manager_id or "")) for k, p in people.items()})


def _person(user: User) -> Person:
    return Person(user.id, user.name, user.role, user.manager_id, user.work_start, user.work_end, user.active,
                  user.channel)


async def person(session: AsyncSession, user_id: str | None) -> Person | None:
    """One user (with the team's hours when they have none), for handlers and lifecycle hooks."""
    user = await session.get(User, user_id) if user_id else None
    if user is None:
        return None
    manager = await session.get(User, user.manager_id) if user.manager_id else None
    return _with_team_hours(_person(user), _person(manager) if manager else None)


async def next_reachable(session: AsyncSession, user_ids: set[str], now: datetime, *,
                         cfg: RemindersSettings) -> dict[str, datetime]:
    """For each person outside their working hours now: their next working moment (people inside their hours,
    and recipients that are not people, e.g. group chats, are left out)."""
    people = [u for u in user_ids if not u.startswith(GROUP_RECIPIENT)]
    if not people:
        return {}
    cal = await load_calendar(session, cfg)
    held: dict[str, datetime] = {}
    for user_id in people:
        hours = await working_hours(session, cal, user_id)
        if not cal.in_working_hours(now, hours):
            held[user_id] = cal.next_working_moment(now, hours)
    return held


async def working_hours(session: AsyncSession, cal: BusinessCalendar, user_id: str | None) -> WorkHours:
    owner = await person(session, user_id)
    return cal.hours(owner.work_start, owner.work_end) if owner else cal.default_hours
