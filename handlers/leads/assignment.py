"""Who gets an ownerless lead, and the owner changes that follow (activation, reassignment, offboarding).

Rules (`rank_reps`), for every active rep with room (open leads < capacity):
- score: region equals the lead's region +3; the lead's product line is one of the rep's +2; the lead's
  industry appears among the rep's wins of the last 90 days +2, else among the rep's industries +1;
- order: score (high first), then load ratio open/capacity (low first), then leads received in the last
  7 days (few first), then the oldest last assignment (round-robin on ties), then the user id.
Dedup comes first: an open lead of the same customer (same phone, or same company + name) that already
has an active owner sends the lead to that owner, so no two reps work the same customer.
The reason is stored in `lead.assign_reason`, e.g. "按区域 华东 · 行业 医疗 匹配，当前负荷 12/30".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import ViewLead
from bot.config import RampSettings, RemindersSettings
from bot.context import UserInfo
from bot.messages import Button, Card, Field, Outbound
from bot.org import active_admins, active_reps, handover_team, in_team
from bot.phrases import OFFBOARD_LAST_ADMIN, UNNAMED_CUSTOMER
from bot.usertext import user_text
from handlers.ramp.service import locked_ids
from reminders import lifecycle
from storage.activity import add_activity
from storage.leads import (
    OPEN_STATUSES,
    OPEN_WARNINGS,
    clean_value,
    create_lead,
    find_duplicates,
    previous_owner,
    set_owner,
)
from storage.models import Contract, Lead, RenewalWarning, User

log = logging.getLogger(__name__)

WIN_LOOKBACK = timedelta(days=90)
RECENT_WINDOW = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RepProfile:
    id: str
    name: str
    manager_id: str | None
    region: str | None
    product_lines: tuple[str, ...]
    industries: tuple[str, ...]
    capacity: int
    open_leads: int = 0
    recent_intake: int = 0  # leads assigned in the last 7 days
    last_assigned_at: datetime = EPOCH
    win_industries: frozenset[str] = field(default_factory=frozenset)

    @property
    def has_room(self) -> bool:
        return self.open_leads < max(self.capacity, 0)


@dataclass(frozen=True)
class Pick:
    rep: RepProfile
    score: int
    matches: tuple[str, ...]

    @property
    def reason(self) -> str:
        load = f"当前负荷 {self.rep.open_leads}/{self.rep.capacity}"
        if not self.matches:
            return f"无匹配规则，按负荷轮转，{load}"
        return f"按{' · '.join(self.matches)} 匹配，{load}"


def score_rep(lead: Lead, rep: RepProfile) -> Pick:
    score, matches = 0, []
    if lead.region and rep.region == lead.region:
        score += 3
        matches.append(f"区域 {lead.region}")
    if lead.product_line and lead.product_line in rep.product_lines:
        score += 2
        matches.append(f"产品线 {lead.product_line}")
    if lead.industry and lead.industry in rep.win_industries:
        score += 2
        matches.append(f"行业 {lead.industry}（近期赢单）")
    elif lead.industry and lead.industry in rep.industries:
        score += 1
        matches.append(f"行业 {lead.industry}")
    return Pick(rep, score, tuple(matches))


def rank_reps(lead: Lead, reps: Iterable[RepProfile]) -> list[Pick]:
    """Reps with room, best first (see the module docstring for the order)."""
    picks = [score_rep(lead, r) for r in reps if r.has_room]
    return sorted(picks, key=lambda p: (-p.score, p.rep.open_leads / max(p.rep.capacity, 1), p.rep.recent_intake,
                                        p.rep.last_assigned_at, p.rep.id))


async def load_profiles(session: AsyncSession, now: datetime, *, team_of: str | None = None,
                        skip: Iterable[str] = ()) -> list[RepProfile]:
    """Every active rep (optionally one manager's team; not those in `skip`) with load figures."""
    stmt = active_reps(team_of)
    if skip := set(skip):
        stmt = stmt.where(User.id.not_in(skip))
    users = list((await session.execute(stmt)).scalars())
    ids = [u.id for u in users]
    if not ids:
        return []
    open_counts = dict((await session.execute(
        select(Lead.owner_id, func.count()).where(Lead.owner_id.in_(ids), Lead.status.in_(OPEN_STATUSES))
        .group_by(Lead.owner_id))).all())
    recent = dict((await session.execute(
        select(Lead.owner_id, func.count()).where(Lead.owner_id.in_(ids), Lead.assigned_at >= now - RECENT_WINDOW)
        .group_by(Lead.owner_id))).all())
    last = dict((await session.execute(
        select(Lead.owner_id, func.max(Lead.assigned_at)).where(Lead.owner_id.in_(ids)).group_by(Lead.owner_id)
    )).all())
    wins: dict[str, set[str]] = {}
    rows = await session.execute(select(Lead.owner_id, Lead.industry).where(
        Lead.owner_id.in_(ids), Lead.status == "won", Lead.industry.is_not(None),
        Lead.last_activity_at >= now - WIN_LOOKBACK))
    for owner, industry in rows.all():
        if owner is not None and industry is not None:  # (the query excludes both; the types do not know)
            wins.setdefault(owner, set()).add(industry)
    return [RepProfile(
        id=u.id, name=u.name, manager_id=u.manager_id, region=u.region, product_lines=tuple(u.product_lines or ()),
        industries=tuple(u.industries or ()), capacity=u.capacity, open_leads=open_counts.get(u.id, 0),
        recent_intake=recent.get(u.id, 0), last_assigned_at=_aware(last.get(u.id)) or EPOCH,
        win_industries=frozenset(wins.get(u.id, ())),
    ) for u in users]


async def reassign_options(session: AsyncSession, lead: Lead, user: UserInfo, now: datetime,
                           *, limit: int = 4, ramp: RampSettings | None = None) -> list[Pick]:
    """The engine's ranking for a manual 改派 (lead card, or the freeze card's picker) among the team the caller
    hands the lead to (bot/org.handover_team: their own; an admin's, the lead's team, else every rep), leaving
    out the current owner, the rep a freeze took the lead from and, for a pool lead, reps still on the ramp-up
    (新人通关). Store the chosen `Pick.reason` as the lead's assign_reason."""
    skip = {lead.owner_id, previous_owner(lead)}
    if lead.owner_id is None:
        skip |= await locked_ids(session, "pool", ramp or RampSettings())
    holder_id = lead.owner_id or previous_owner(lead)
    team = handover_team(user, await session.get(User, holder_id) if holder_id else None)
    picks = [p for p in rank_reps(lead, await load_profiles(session, now, team_of=team)) if p.rep.id not in skip]
    return picks[:limit]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    lead_id: int
    owner_id: str | None
    owner_name: str | None
    reason: str
    duplicate_of: int | None = None


class Assigner:
    """Assigns a batch of leads, keeping the rep load figures current between picks."""

    def __init__(self, session: AsyncSession, now: datetime, cfg: RemindersSettings, actor_id: str | None,
                 profiles: Sequence[RepProfile]) -> None:
        self.session, self.now, self.cfg, self.actor_id = session, now, cfg, actor_id
        self.profiles = {p.id: p for p in profiles}
        self._seq = 0

    @classmethod
    async def create(cls, session: AsyncSession, now: datetime, cfg: RemindersSettings, actor_id: str | None,
                     *, team_of: str | None = None, ramp: RampSettings | None = None) -> Assigner:
        """Pool leads never go to a rep still on the ramp-up (新人通关, `[ramp] rights` "pool")."""
        skip = await locked_ids(session, "pool", ramp or RampSettings())
        return cls(session, now, cfg, actor_id, await load_profiles(session, now, team_of=team_of, skip=skip))

    async def assign(self, lead: Lead, *, exclude: Iterable[str] = ()) -> Outcome:
        """Give `lead` an owner (dedup first, then the rules); without a candidate it stays in the pool."""
        dup = await self._duplicate_owner(lead)
        if dup is not None:
            owner, other = dup
            reason = f"同一客户已由 {owner.name} 跟进 (线索 #{other.id})"
            await self._give(lead, owner.id, reason)
            return Outcome(lead.id, owner.id, owner.name, reason, other.id)
        skip = set(exclude)
        picks = rank_reps(lead, (p for p in self.profiles.values() if p.id not in skip))
        if not picks:
            lead.assign_reason = "暂无有空余容量的销售, 留在线索池"
            return Outcome(lead.id, None, None, lead.assign_reason)
        best = picks[0]
        reason = best.reason
        await self._give(lead, best.rep.id, reason)
        return Outcome(lead.id, best.rep.id, best.rep.name, reason)

    async def _duplicate_owner(self, lead: Lead) -> tuple[User, Lead] | None:
        others = await find_duplicates(self.session, phone=lead.phone, company=lead.company,
                                       customer_name=lead.customer_name, exclude_id=lead.id)
        for other in others:
            if other.owner_id and other.owner_id != lead.owner_id:
                owner = await self.session.get(User, other.owner_id)
                if owner is not None and owner.active:
                    return owner, other
        return None

    async def _give(self, lead: Lead, owner_id: str, reason: str) -> None:
        if lead.status == "draft" or (lead.owner_id is None and lead.assigned_at is None):
            await activate_lead(self.session, lead, owner_id, self.actor_id, self.now, self.cfg, reason=reason)
        else:
            await change_owner(self.session, lead, owner_id, self.actor_id, self.now, self.cfg, reason=reason)
        self._seq += 1
        prof = self.profiles.get(owner_id)
        if prof is not None:
            self.profiles[owner_id] = replace(prof, open_leads=prof.open_leads + 1,
                                              recent_intake=prof.recent_intake + 1,
                                              last_assigned_at=self.now + timedelta(microseconds=self._seq))


async def activate_lead(session: AsyncSession, lead: Lead, owner_id: str, actor_id: str | None, now: datetime,
                        cfg: RemindersSettings, *, reason: str | None = None) -> None:
    """Draft or pool lead → active with an owner; starts its timers (and the agreed follow-up, if any).

    Shared by 新线索 confirmation, screenshot drafts (source ocr), import and the pool assigner.
    """
    lead.status = "active"
    await set_owner(session, lead, owner_id)
    lead.assigned_at = now
    lead.stage_changed_at = lead.stage_changed_at or now
    lead.last_activity_at = lead.last_activity_at or now
    if reason:
        lead.assign_reason = reason[:255]
    await session.flush()
    add_activity(session, lead.id, actor_id, "assign", now, reason or "确认线索", owner=owner_id)
    await lifecycle.on_lead_activated(session, lead, now, cfg)
    await plan_follow_up(session, lead, (lead.extra or {}).get("follow_up"), actor_id, now, cfg)


async def plan_follow_up(session: AsyncSession, lead: Lead, when_iso: str | None, actor_id: str | None,
                         now: datetime, cfg: RemindersSettings) -> None:
    """A time agreed with the customer (ISO, e.g. from a screenshot) becomes the lead's next follow-up with its
    reminder; a time already past is left alone."""
    when = _aware(datetime.fromisoformat(when_iso)) if when_iso else None
    if when is None or when <= now:
        return
    lead.next_follow_up_at = when
    add_activity(session, lead.id, actor_id, "plan", now, "约定回访", due=when.isoformat())
    await lifecycle.schedule_follow_up(session, lead, when, now, cfg)


async def change_owner(session: AsyncSession, lead: Lead, owner_id: str, actor_id: str | None, now: datetime,
                       cfg: RemindersSettings, *, reason: str, kind: str = "reassign") -> str | None:
    """Move a lead to another owner (reassign, take over, offboarding); a frozen lead becomes active again.
    Returns the previous owner."""
    previous = await set_owner(session, lead, owner_id)
    lead.assigned_at = now
    lead.assign_reason = reason[:255]
    if lead.status == "frozen":
        lead.status = "active"
        lead.frozen_at = None
        lead.extra = {k: v for k, v in (lead.extra or {}).items() if k != "frozen"}
    add_activity(session, lead.id, actor_id, kind, now, reason, previous=previous, owner=owner_id)
    await lifecycle.on_owner_changed(session, lead, now, cfg)
    return previous



# -- import and offboarding (used by the CLI) ----------------------------------------------------
@dataclass(frozen=True)
class RowResult:
    line: int
    status: str  # assigned | pool | duplicate | error
    text: str
    lead_id: int | None = None
    owner_id: str | None = None


def check_row(fields: dict[str, object]) -> str | None:
    """Why a row cannot be imported, or None."""
    from storage.leads import is_filled, normalize_phone, parse_budget

    if not any(is_filled(fields.get(k)) for k in ("customer_name", "company", "phone", "wechat_id")):
        return "至少需要客户、公司、电话或微信之一"
    phone = fields.get("phone")
    if is_filled(phone) and len(normalize_phone(str(phone)) or "") < 7:
        return f"电话 {phone!r} 无法识别"
    budget = fields.get("budget_cny")
    if is_filled(budget) and parse_budget(budget) is None:
        return f"预算 {budget!r} 无法识别（例: 50万、300000）"
    return None


async def import_leads(session: AsyncSession, rows: Sequence[tuple[int, dict[str, object]]], now: datetime,
                       cfg: RemindersSettings, *, by: str = "import", ramp: RampSettings | None = None,
                       ) -> tuple[list[RowResult], list[Outbound]]:
    """Create and assign imported leads; duplicates (of open leads or earlier rows) and bad rows are skipped.
    Returns a result per row and the notices for the new owners (to enqueue in the same transaction)."""
    assigner = await Assigner.create(session, now, cfg, None, ramp=ramp)
    results: list[RowResult] = []
    notices: list[Outbound] = []
    for line, fields in rows:
        problem = check_row(fields)
        if problem:
            results.append(RowResult(line, "error", problem))
            continue
        dups = await find_duplicates(session, phone=clean_value("phone", fields.get("phone")),
                                     company=clean_value("company", fields.get("company")),
                                     customer_name=clean_value("customer_name", fields.get("customer_name")))
        if dups:
            d = dups[0]
            results.append(RowResult(line, "duplicate", f"与线索 #{d.id} 重复，已跳过", d.id, d.owner_id))
            continue
        lead = await create_lead(session, fields, source="import", by=by, now=now, status="draft")
        add_activity(session, lead.id, None, "created", now, "导入")
        out = await assigner.assign(lead)
        if out.owner_id is None:
            lead.status = "active"
            results.append(RowResult(line, "pool", out.reason, lead.id))
            continue
        results.append(RowResult(line, "assigned", f"→ {out.owner_name}: {out.reason}", lead.id, out.owner_id))
        who = f"{user_text(lead.customer_name or UNNAMED_CUSTOMER)} · {user_text(lead.company or '未知公司')}"
        notices.append(Outbound(out.owner_id, Card(
            title=f"新分配线索 #{lead.id}", description=who,
            fields=(Field("分配原因", user_text(out.reason)),),
            buttons=(Button(ViewLead(lead.id).pack(), "查看", "primary"),)),
            dedup_key=f"assign:{lead.id}:{out.owner_id}"))
    return results, notices


async def handed_over(session: AsyncSession, user_id: str) -> list[Lead]:
    """What `offboard` hands to the successor: the open leads of `user_id` and the frozen pool leads released from
    them, then their drafts (the confirm question counts the same list)."""
    return [*await _open_handed_over(session, user_id), *await _drafts_of(session, user_id)]


async def _drafts_of(session: AsyncSession, user_id: str) -> list[Lead]:
    return list((await session.execute(select(Lead).where(
        Lead.owner_id.is_(None), Lead.status == "draft", Lead.created_by == user_id).order_by(Lead.id))).scalars())


async def _open_handed_over(session: AsyncSession, user_id: str) -> list[Lead]:
    owned = (await session.execute(select(Lead).where(
        Lead.owner_id == user_id, Lead.status.in_(OPEN_STATUSES)).order_by(Lead.id))).scalars()
    pool = (await session.execute(select(Lead).where(
        Lead.owner_id.is_(None), Lead.status == "frozen").order_by(Lead.id))).scalars()
    return sorted([*owned, *(lead for lead in pool if previous_owner(lead) == user_id)], key=lambda x: x.id)


async def offboard_refusal(session: AsyncSession, leaving: User) -> str | None:
    """Why `leaving` may not leave: the last active admin (nobody could administer the team after)."""
    if leaving.role == "admin" and await active_admins(session) == [leaving.id]:
        return OFFBOARD_LAST_ADMIN.format(who=leaving.name)
    return None


async def offboard(session: AsyncSession, user_id: str, to_id: str, now: datetime, cfg: RemindersSettings,
                   *, actor_id: str | None = None) -> list[Lead]:
    """Hand everything open of `user_id` to `to_id` and deactivate `user_id`: open leads (with their timers),
    frozen pool leads released from them, their drafts, their open renewal warnings and their contracts (whose
    renewals someone active must watch). Closed leads stay theirs (history, and the team's
    figures); an inactive user is refused at the door, so nobody reads them through the leaver's account."""
    leaving, taking = await session.get(User, user_id), await session.get(User, to_id)
    if leaving is None or taking is None:
        raise ValueError(f"找不到成员「{user_id if leaving is None else to_id}」")
    if user_id == to_id:
        raise ValueError("离职人和接手人不能是同一人")
    if not taking.active:
        raise ValueError(f"接手人「{taking.name}」已停用")
    if (why := await offboard_refusal(session, leaving)) is not None:
        raise ValueError(why)
    reason = f"{leaving.name} 离职交接"
    leads = await _open_handed_over(session, user_id)
    for lead in leads:  # a frozen pool lead is unfrozen for the successor (the confirm question says so)
        await change_owner(session, lead, to_id, actor_id, now, cfg, reason=reason, kind="offboard")
    drafts = await _drafts_of(session, user_id)
    for draft in drafts:
        draft.created_by = to_id
        add_activity(session, draft.id, actor_id, "offboard", now, reason, previous=user_id, owner=to_id)
    await session.execute(update(RenewalWarning).where(  # on won leads too: a closed lead stays the leaver's
        RenewalWarning.owner_id == user_id, RenewalWarning.status.in_(OPEN_WARNINGS)).values(owner_id=to_id))
    await session.execute(update(Contract).where(Contract.owner_id == user_id).values(owner_id=to_id))  # renewals
    await _hand_over_team(session, leaving, taking)
    leaving.active = False
    return leads + drafts


async def _hand_over_team(session: AsyncSession, leaving: User, taking: User) -> None:
    """A leaving manager's reps report to the successor, so the team's leads, digests and 团队线索 stay someone's."""
    team = (await session.execute(select(User).where(in_team(leaving.id), User.id != taking.id))).scalars()
    for member in team:
        member.manager_id = taking.id
        log.info("%s now reports to %s (%s left)", member.id, taking.id, leaving.id)
