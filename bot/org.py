"""Users, roles and manager links: from `[[org.users]]`, `salesbot org import`, the demo org, or
auto-registration of unknown channel users as reps."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ROLES, OrgUser
from bot.context import UserInfo
from storage.db import Database
from storage.models import User

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


async def import_users_file(db: Database, path: Path, now: datetime) -> int:
    users = parse_users_csv(path.read_text(encoding="utf-8-sig"))
    async with db.session() as session:
        known = set((await session.execute(select(User.id))).scalars()) | {u.id for u in users}
        for u in users:
            if u.manager and u.manager not in known:
                raise OrgError(f"user {u.id}: manager {u.manager!r} is unknown")
        return await upsert_users(session, users, now)


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.replace("、", ";").replace(",", ";").split(";") if p.strip()]


async def identify(
    db: Database, user_id: str, channel: str, display_name: str | None, auto_register: bool, now: datetime
) -> UserInfo | None:
    """The caller as a UserInfo; unknown users become reps when auto-registration is on. Deactivated
    (offboarded) users get None, like unknown ones: they see nothing and can change nothing."""
    async with db.session() as session:
        user = await session.get(User, user_id)
        if user is None:
            if not auto_register:
                return None
            user = User(id=user_id, name=display_name or user_id, role="rep", created_at=now, channel=channel)
            session.add(user)
            log.info("auto-registered %s (%s) as rep", user_id, channel)
        elif not user.active:
            log.info("message from deactivated user %s refused", user_id)
            return None
        elif user.channel != channel:
            user.channel = channel
        return to_info(user)
