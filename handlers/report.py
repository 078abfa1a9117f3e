"""The manager's view of the truth: funnel, response colours, overdue leads and the process health index.

Definitions (window = [since, now]; NULL is never counted as a positive, and a rate without any case is 未知
rather than 100%):

- Team leads: leads whose owner is the manager or one of the users whose users.manager_id is the manager
  (offboarded members included, so their wins stay counted), and frozen pool leads whose previous owner is.
  Each counts for that person, with that person's working hours (own, else the team's, else the default).
- A lead's response clock starts at its first assignment (the earliest "assign" activity, else assigned_at):
  reassigning or taking over a lead does not restart it, and its response figures (R, colours) stay with the
  member who got it first, in that member's working hours.
- Funnel (pipeline, not windowed): team leads that were ever assigned (assigned_at NOT NULL, not a draft).
  A lead has reached stage i when max(current stage, highest stage recorded in extra["max_stage"]) ≥ i;
  won leads have reached 签约回款. Conversion i→i+1 = reached(i+1) / reached(i); then 赢单 / reached(签约回款).
- Response colours: team leads first assigned in the window; response = first_contact_at − first assignment, or
  now − first assignment while there is no contact yet; < 12 h green, 12–24 h yellow, > 24 h red.
- Response-on-time rate R: among team leads first assigned in the window whose outcome is known (contacted, or
  uncontacted with the SLA window `first_contact_hours` of working time already over), the share whose first
  contact came within that SLA window (working time from the first assignment to first_contact_at ≤ SLA).
- Key-action completion rate K: key actions are the agreed follow-up times (activity kind "plan",
  detail.due) of team leads with due in the window; an action is completed when a contact (activity kind
  "contact") was logged on the lead from due − 12 h (not before the plan was made) to due + 24 h — the call in
  which a call-back was agreed is not that call-back. Actions whose due + 24 h is
  still ahead and that have no contact yet are pending and left out.
- Lead info completeness C: over the team's open leads (active, frozen, dormant) now, the mean share of the
  8 key fields that are filled (customer_name, company, title, phone, industry, region, budget_cny, needs;
  NULL, "" and [] are unfilled).
- PHI = 0.3 × R + 0.4 × K + 0.3 × C. When a component is unknown PHI is 未知 too (an unknown is neither
  counted as 0 nor as a positive), and the digest names the unknown components next to it.
- Renewal rate (handlers/renewals/figures.py): the team's contracts that ended in the last 90 days, renewed /
  (renewed + not renewed); a contract whose outcome nobody recorded is 状态未知, counted and shown, never renewed.
- 在跟 (team line under the funnel, and per member): the leads someone works (active, dormant), a lead held by a
  renewal lock included; a lead frozen into the pool is nobody's work until a manager settles it: counted apart
  (冻结待处理, for the rep it was frozen from). 在跟 + 赢单 + 输单 + 冻结待处理 = the funnel's first stage, and the
  members' 在跟 add up to the team's.
- Overdue (top 5 per rep): active or frozen team leads whose first contact is past the SLA deadline of the
  current assignment, or whose agreed follow-up time (next_follow_up_at) has passed, and frozen leads waiting
  for the manager; ordered by how long overdue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import fmt_cn, parse_hhmm, to_cn
from bot.config import RampSettings, RemindersSettings
from bot.engines import Engines
from bot.messages import Image, Markdown, Outbound
from bot.org import team_and_manager
from bot.phrases import UNNAMED_CUSTOMER
from bot.usertext import user_text
from handlers.checks.quality import Quality, quality_by_rep, quality_lines
from handlers.ramp.service import team_progress
from handlers.renewals.figures import RenewalFigures, renewal_figures
from handlers.report_chart import Bar, Layout, draw_png, layout
from reminders.calendar import BusinessCalendar, WorkHours, load_calendar
from reminders.directory import working_hours
from reminders.policies import FIRST_CONTACT
from reminders.renewal_hold import held_lead_ids
from storage.leads import OPEN_STATUSES, STAGE_CODES, STAGES, is_filled, previous_owner, stage_index
from storage.models import Activity, KeyValue, Lead, Reminder, User
from storage.sql import insert_ignore, rowcount

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

KEY_FIELDS = ("customer_name", "company", "title", "phone", "industry", "region", "budget_cny", "needs")
W_RESPONSE, W_ACTIONS, W_COMPLETE = 0.3, 0.4, 0.3
PLAN_GRACE = timedelta(hours=24)
PLAN_EARLY = timedelta(hours=12)  # a contact this long before the agreed time already counts as keeping it
GREEN_H, RED_H = 12.0, 24.0
TOP_OVERDUE = 5
DIGEST_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def text(self) -> str:
        return "未知" if self.value is None else f"{self.value:.0%}（{self.hits}/{self.total}）"


@dataclass(frozen=True)
class Health:
    response: Rate
    actions: Rate
    completeness: float | None
    open_leads: int  # 在跟: active and dormant
    frozen: int = 0  # frozen into the pool, waiting for a manager

    @property
    def phi(self) -> float | None:
        r, k, c = self.response.value, self.actions.value, self.completeness
        if r is None or k is None or c is None:
            return None
        return W_RESPONSE * r + W_ACTIONS * k + W_COMPLETE * c

    @property
    def unknown(self) -> list[str]:
        names = []
        if self.response.value is None:
            names.append("响应及时率")
        if self.actions.value is None:
            names.append("关键动作完成率")
        if self.completeness is None:
            names.append("信息完整度")
        return names


@dataclass(frozen=True)
class Overdue:
    lead_id: int
    label: str
    what: str
    due: datetime


@dataclass
class RepFigures:
    id: str
    name: str
    health: Health
    colours: dict[str, int]
    overdue: list[Overdue] = field(default_factory=list)


@dataclass
class TeamReport:
    manager_id: str | None
    manager_name: str
    since: datetime
    now: datetime
    reached: list[int]  # per stage
    won: int
    lost: int
    team: Health
    colours: dict[str, int]
    reps: list[RepFigures]
    quality: dict[str, Quality] = field(default_factory=dict)  # per rep: key fields complete, open 🔴 flags
    cleanup: bool = False  # the monthly 数据清洁日: list each rep's oldest flags
    ramp: list[tuple[str, str]] = field(default_factory=list)  # (name, progress) of the team's reps on 新人通关
    renewals: RenewalFigures | None = None  # contracts that ended lately: renewed / lost / unknown

    @property
    def is_empty(self) -> bool:
        """Nothing to report: no leads in the funnel, none open, nothing won or lost, no contract to renew, nobody
        on the ramp."""
        renewals = self.renewals is not None and (self.renewals.total or self.renewals.warned_total)
        return (not any(self.reached) and not self.won and not self.lost and not self.team.open_leads
                and not renewals and not self.ramp)

    def conversions(self) -> list[Rate]:
        rates = [Rate(self.reached[i + 1], self.reached[i]) for i in range(len(STAGES) - 1)]
        return [*rates, Rate(self.won, self.reached[-1])]


# -- computation ------------------------------------------------------------------------------
def response_colour(hours: float) -> str:
    if hours < GREEN_H:
        return "green"
    return "yellow" if hours <= RED_H else "red"


def max_stage(lead: Lead) -> int:
    if lead.status == "won":
        return len(STAGES) - 1
    recorded = (lead.extra or {}).get("max_stage", "new")
    return max(stage_index(lead.stage), stage_index(recorded if recorded in STAGE_CODES else "new"))


def completeness(lead: Lead) -> float:
    return sum(1 for f in KEY_FIELDS if is_filled(getattr(lead, f))) / len(KEY_FIELDS)


@dataclass(frozen=True)
class Counted:
    """A lead as the report counts it: who answers for it now (and in whose working hours), and for the
    response figures who got it first, when (a reassignment or take-over must not restart the clock) and
    in whose working hours."""

    lead: Lead
    rep_id: str
    hours: WorkHours
    start: datetime | None
    responder: str
    responder_hours: WorkHours
    first_due: datetime | None = None  # the first-contact deadline its open timer keeps (延期 moves it)


def health(items: Sequence[Counted], plans: Sequence[Activity], contacts: dict[int, list[datetime]],
           since: datetime, now: datetime, cfg: RemindersSettings, cal: BusinessCalendar,
           responses: Sequence[Counted] | None = None) -> Health:
    """`responses`: the leads whose first response counts here (default: `items`)."""
    sla = timedelta(hours=cfg.first_contact_hours)
    on_time = known = 0
    for it in items if responses is None else responses:
        if it.start is None or not since <= it.start <= now:
            continue
        contact = it.lead.first_contact_at
        if contact is not None:
            known += 1
            on_time += cal.working_time_between(it.start, contact, it.responder_hours) <= sla
        elif cal.working_time_between(it.start, now, it.responder_hours) > sla:
            known += 1
    done = due_total = 0
    for plan in plans:
        due = datetime.fromisoformat((plan.detail or {})["due"])
        if not since <= due <= now:
            continue
        start = max(plan.created_at, due - PLAN_EARLY)  # the call in which it was agreed is not the call-back
        hit = any(start <= t <= due + PLAN_GRACE for t in contacts.get(plan.lead_id, []))
        if hit or due + PLAN_GRACE <= now:
            due_total += 1
            done += hit
    open_leads = [it.lead for it in items if it.lead.status in OPEN_STATUSES]
    comp = sum(completeness(lead) for lead in open_leads) / len(open_leads) if open_leads else None
    frozen = sum(1 for lead in open_leads if lead.status == "frozen")
    return Health(Rate(on_time, known), Rate(done, due_total), comp, len(open_leads) - frozen, frozen)


def colours(items: Sequence[Counted], since: datetime, now: datetime) -> dict[str, int]:
    out = {"green": 0, "yellow": 0, "red": 0}
    for it in items:
        if it.start is None or not since <= it.start <= now:
            continue
        end = it.lead.first_contact_at or now
        out[response_colour(max((end - it.start).total_seconds(), 0.0) / 3600)] += 1
    return out


def overdue(items: Sequence[Counted], now: datetime, cfg: RemindersSettings, cal: BusinessCalendar) -> list[Overdue]:
    """Deadlines of the current assignment (what the owner's timers say); frozen leads stay listed."""
    out = []
    for it in items:
        lead = it.lead
        if lead.status not in ("active", "frozen"):
            continue
        label = f"#{lead.id} {lead.customer_name or UNNAMED_CUSTOMER}"
        frozen = "（已冻结）" if lead.status == "frozen" else ""
        if lead.first_contact_at is None and lead.assigned_at is not None:
            deadline = it.first_due or cal.add_working_time(lead.assigned_at, timedelta(hours=cfg.first_contact_hours),
                                                            it.hours)
            if deadline < now:
                out.append(Overdue(lead.id, label, f"首次联系{frozen}", deadline))
                continue
        if lead.next_follow_up_at is not None and lead.next_follow_up_at < now:
            out.append(Overdue(lead.id, label, f"约定回访{frozen}", lead.next_follow_up_at))
        elif frozen and lead.frozen_at is not None:
            out.append(Overdue(lead.id, label, "已冻结，待主管处理", lead.frozen_at))
    return sorted(out, key=lambda o: (o.due, o.lead_id))


def responsible(lead: Lead, people: dict[str, User]) -> str | None:
    """Who the lead counts for: its owner, or for a frozen pool lead the owner it was taken from; None when
    that person is not in `people` (another team)."""
    who = lead.owner_id if lead.owner_id is not None else previous_owner(lead)
    return who if who in people else None


async def _people(session: AsyncSession, manager_id: str | None) -> dict[str, User]:
    """The team as it was: members whatever their state now (offboarded reps keep their record) and the
    manager; manager_id None → everyone."""
    stmt = select(User)
    if manager_id:
        stmt = stmt.where(team_and_manager(manager_id, User.id))
    return {u.id: u for u in (await session.execute(stmt.order_by(User.id))).scalars()}


async def compute_report(session: AsyncSession, manager_id: str | None, since: datetime, now: datetime,
                         cfg: RemindersSettings, cleanup_day: int = 0, ramp: RampSettings | None = None,
                         ) -> TeamReport:
    """Figures for one manager's team (manager_id None → every team); on `cleanup_day` of the month (1–28) the
    data-quality part lists each rep's oldest open flags (数据清洁日)."""
    people = await _people(session, manager_id)
    leads = await _counted_leads(session, manager_id, people)
    plans, contacts, first = await _activities(session, leads)
    cal = await load_calendar(session, cfg)
    items = await _counted(session, cal, leads, people, first)
    reached = [sum(1 for lead in leads if max_stage(lead) >= i) for i in range(len(STAGES))]
    held = await held_lead_ids(session, leads)  # SLA paused by a renewal lock: never counted late
    rep_figs = _rep_figures(people, manager_id, items, plans, contacts, held, since, now, cfg, cal)
    manager = people.get(manager_id) if manager_id else None
    return TeamReport(
        manager_id=manager_id, manager_name=manager.name if manager else "全部团队", since=since, now=now,
        reached=reached, won=sum(1 for lead in leads if lead.status == "won"),
        lost=sum(1 for lead in leads if lead.status == "lost"),
        team=health(items, plans, contacts, since, now, cfg, cal), colours=colours(items, since, now), reps=rep_figs,
        quality=await quality_by_rep(session, [r.id for r in rep_figs], now),
        renewals=await renewal_figures(session, list(people) if manager_id else None, to_cn(now).date()),
        cleanup=bool(cleanup_day) and to_cn(now).day == cleanup_day,
        ramp=[(p.name, p.summary()) for p in await team_progress(session, manager_id, ramp or RampSettings())])


async def _counted_leads(session: AsyncSession, manager_id: str | None, people: dict[str, User]) -> list[Lead]:
    """The assigned leads (no drafts) that count for someone in `people`."""
    stmt = select(Lead).where(Lead.status != "draft", Lead.assigned_at.is_not(None))
    if manager_id:
        stmt = stmt.where(or_(Lead.owner_id.in_(list(people)), Lead.owner_id.is_(None)))
    return [lead for lead in (await session.execute(stmt.order_by(Lead.id))).scalars()
            if responsible(lead, people)]


async def _activities(session: AsyncSession, leads: Sequence[Lead]
                      ) -> tuple[list[Activity], dict[int, list[datetime]], dict[int, Activity]]:
    """The leads' agreed plans (with a due time), their contact times per lead, and each lead's first assignment."""
    ids = [lead.id for lead in leads]
    acts = list((await session.execute(select(Activity).where(
        Activity.lead_id.in_(ids), Activity.kind.in_(("plan", "contact", "assign"))))).scalars()) if ids else []
    plans = [a for a in acts if a.kind == "plan" and (a.detail or {}).get("due")]
    contacts: dict[int, list[datetime]] = {}
    first: dict[int, Activity] = {}
    for a in sorted(acts, key=lambda a: (a.created_at, a.id)):
        if a.kind == "contact":
            contacts.setdefault(a.lead_id, []).append(a.created_at)
        elif a.kind == "assign":
            first.setdefault(a.lead_id, a)
    return plans, contacts, first


async def _counted(session: AsyncSession, cal: BusinessCalendar, leads: Sequence[Lead], people: dict[str, User],
                   first: dict[int, Activity]) -> list[Counted]:
    """Each lead with whom it counts for, when its clock started (its first assignment) and who had to answer
    it then, with both people's working hours."""
    hours: dict[str, WorkHours] = {}

    async def hours_of(user_id: str) -> WorkHours:
        if user_id not in hours:
            hours[user_id] = await working_hours(session, cal, user_id)
        return hours[user_id]

    due = await first_contact_deadlines(session, {lead.id for lead in leads if lead.first_contact_at is None})
    items = []
    for lead in leads:
        rep_id = responsible(lead, people)
        assert rep_id is not None and lead.assigned_at is not None
        start, responder = lead.assigned_at, rep_id
        if lead.id in first and first[lead.id].created_at <= start:
            start = first[lead.id].created_at
            first_owner = (first[lead.id].detail or {}).get("owner")
            responder = first_owner if first_owner in people else rep_id
        items.append(Counted(lead, rep_id, await hours_of(rep_id), start, responder, await hours_of(responder),
                             due.get(lead.id)))
    return items


async def first_contact_deadlines(session: AsyncSession, lead_ids: set[int]) -> dict[int, datetime]:
    """The deadline each lead's open first-contact timer holds: the one truth after a 延期 restarted it."""
    if not lead_ids:
        return {}
    rows = await session.execute(select(Reminder.lead_id, Reminder.due_at, Reminder.payload).where(
        Reminder.rule == FIRST_CONTACT, Reminder.status == "pending", Reminder.lead_id.is_not(None))
        .order_by(Reminder.id))  # a lead with two open timers: the newest (the 延期's) wins below
    return {lid: datetime.fromisoformat(raw) if (raw := (payload or {}).get("deadline")) else due_at
            for lid, due_at, payload in rows if lid in lead_ids}


def _rep_figures(people: dict[str, User], manager_id: str | None, items: Sequence[Counted],
                 plans: Sequence[Activity], contacts: dict[int, list[datetime]], held: set[int], since: datetime,
                 now: datetime, cfg: RemindersSettings, cal: BusinessCalendar) -> list[RepFigures]:
    """One row per member (`_rows`): health, response colours and overdue leads."""
    by_rep: dict[str, list[Counted]] = {}
    by_responder: dict[str, list[Counted]] = {}
    for it in items:  # one pass, not one per member: a 50-rep team with 10,000 leads spent 0.7 s here
        by_rep.setdefault(it.rep_id, []).append(it)
        by_responder.setdefault(it.responder, []).append(it)
    rep_of = {it.lead.id: it.rep_id for it in items}
    plans_of: dict[str, list[Activity]] = {}
    for p in plans:
        if p.lead_id in rep_of:
            plans_of.setdefault(rep_of[p.lead_id], []).append(p)
    rep_figs = []
    for user in _rows(people, items, manager_id):
        mine = by_rep.get(user.id, [])  # a held lead is still 在跟 (the funnel counts it): only never late
        answered = [it for it in by_responder.get(user.id, [])
                    if it.lead.id not in held or it.lead.first_contact_at is not None]
        name = user.name if user.active else f"{user.name}（已离职）"
        rep_figs.append(RepFigures(
            user.id, name, health(mine, plans_of.get(user.id, []), contacts, since, now, cfg, cal, answered),
            colours(answered, since, now), overdue([it for it in mine if it.lead.id not in held], now, cfg, cal)))
    return rep_figs


def _rows(people: dict[str, User], items: Sequence[Counted], manager_id: str | None) -> list[User]:
    """Active reps of the team, then anyone else with counted leads (offboarded reps, a manager who took
    leads over)."""
    with_leads = {it.rep_id for it in items} | {it.responder for it in items}
    reps = [u for u in people.values() if u.role == "rep" and u.active and u.id != manager_id]
    others = [u for u in people.values() if u.id in with_leads and u not in reps]
    return reps + sorted(others, key=lambda u: (u.role != "rep", u.id))


# -- rendering ----------------------------------------------------------------------------------
def pct(value: float | None) -> str:
    return "未知" if value is None else f"{value:.0%}"


def report_lines(rep: TeamReport) -> list[str]:
    """The figures as Markdown lines (the digest and `salesbot report` print the same); names and customers
    are user-written (`bot.usertext`)."""
    t = rep.team
    lines = [f"**📊 {user_text(rep.manager_name)} 团队 · {fmt_cn(rep.since)} – {fmt_cn(rep.now)}**",
             f"**过程健康指数：{pct(t.phi)}**"
             + (f"（{'、'.join(t.unknown)} 未知，无法计算）" if t.unknown else ""),
             f"- 响应及时率 {t.response.text()} · 关键动作完成率 {t.actions.text()} · 信息完整度 {pct(t.completeness)}",
             f"- 响应时效: 🟢 {rep.colours['green']} · 🟡 {rep.colours['yellow']} · 🔴 {rep.colours['red']}",
             "**漏斗**"]
    conv = rep.conversions()
    for i, (_, name) in enumerate(STAGES):
        arrow = f" → 转化 {pct(conv[i].value)}" if conv[i].total else ""
        lines.append(f"- {i + 1}.{name} {rep.reached[i]}{arrow}")
    frozen = f" · 冻结待处理 {t.frozen}" if t.frozen else ""
    lines.append(f"- 在跟 {t.open_leads} · 赢单 {rep.won} · 输单 {rep.lost}{frozen}")  # together: the first stage
    if rep.renewals is not None:  # always: a team with nothing ended lately reads 未知, never a silent 100 %
        lines.append(f"- {rep.renewals.text()}")
    if rep.renewals is not None and rep.renewals.warned_total:
        lines.append(f"- {rep.renewals.warned_text()}")
    lines.append("**当前超时（待处理）**")
    any_overdue = False
    for r in rep.reps:
        if not r.overdue:
            continue
        any_overdue = True
        shown = "；".join(f"{user_text(o.label)} {o.what} 应于 {fmt_cn(o.due)}" for o in r.overdue[:TOP_OVERDUE])
        more = f"（共 {len(r.overdue)} 条）" if len(r.overdue) > TOP_OVERDUE else ""
        lines.append(f"- {user_text(r.name)}: {shown}{more}")
    if not any_overdue:  # 🔴 above counts late first responses of the period, not deadlines missed now
        late = rep.colours["red"]
        note = f"（上方 🔴 {late} 条是本期首次响应超过 24 小时的线索，不是待处理的超时）" if late else ""
        lines.append(f"- 暂无待处理 👍{note}")
    lines.append("**成员**")
    for r in rep.reps:
        c = r.colours
        lines.append(f"- {user_text(r.name)}: 健康指数 {pct(r.health.phi)} · 在跟 {r.health.open_leads} · "
                     f"🟢{c['green']} 🟡{c['yellow']} 🔴{c['red']} · 超时 {len(r.overdue)}")
    if rep.ramp:
        lines.append("**新人通关**")
        lines += [f"- {user_text(name)}: {progress}" for name, progress in rep.ramp]
    if rep.quality:
        lines += quality_lines([(r.id, r.name) for r in rep.reps], rep.quality, rep.cleanup, rep.now)
    return lines


def phi_bars(rep: TeamReport) -> list[Bar]:
    """PHI per member in percent; an unknown PHI is a grey 未知, never a red 0."""
    bars = []
    for r in rep.reps:
        phi = r.health.phi
        if phi is None:
            bars.append(Bar(r.name, 0.0, "#9aa0a6", "未知"))
            continue
        p = phi * 100
        bars.append(Bar(r.name, p, "#34a853" if p >= 70 else "#fbbc05" if p >= 40 else "#ea4335", f"{p:.0f}%"))
    return bars


def chart_layout(rep: TeamReport) -> Layout:
    """The chart's shapes and texts: funnel counts on the left, PHI per member on the right."""
    funnel = [*zip([n for _, n in STAGES], rep.reached, strict=True), ("赢单", rep.won)]
    return layout(funnel, phi_bars(rep), f"健康指数（团队 {pct(rep.team.phi)}）")


def render_chart(rep: TeamReport, engines: Engines) -> bytes:
    """Funnel and PHI per member as a PNG (a few ms of CPU; `chart_png` runs it off the loop)."""
    return draw_png(chart_layout(rep), engines)


async def chart_png(rep: TeamReport, engines: Engines) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(None, render_chart, rep, engines)


# -- the daily digest ---------------------------------------------------------------------------
def digest_due(now: datetime, cfg: RemindersSettings, cal: BusinessCalendar) -> bool:
    """A working day at or after `digest_time`; an empty `digest_time` turns digests off."""
    if not cfg.digest_time:
        return False
    local = to_cn(now)
    return cal.is_workday(local.date()) and local.time() >= parse_hhmm(cfg.digest_time)


async def send_due_digests(services: Services) -> int:
    """On working days from `reminders.digest_time` on: one digest (Markdown + PNG chart) per manager with a
    team, once per manager per date (KeyValue claim + outbox dedup keys). Returns how many were queued."""
    cfg, now = services.settings.reminders, services.clock.now()
    async with services.db.session() as session:
        cal = await load_calendar(session, cfg)
        if not digest_due(now, cfg, cal):
            return 0
        day = to_cn(now).date().isoformat()
        managers = list((await session.execute(select(User.id).where(
            User.role == "manager", User.active.is_(True)).order_by(User.id))).scalars())
        done = set((await session.execute(select(KeyValue.key).where(
            KeyValue.key.in_([f"digest:{m}:{day}" for m in managers])))).scalars())
        todo = [m for m in managers if f"digest:{m}:{day}" not in done]
        cleanup_day = services.settings.checks.cleanup_day
        reports = [await compute_report(session, m, now - DIGEST_WINDOW, now, cfg, cleanup_day, services.settings.ramp)
                   for m in todo]
    sent = 0
    for report in reports:
        if not report.reps or report.is_empty:
            continue
        png = await chart_png(report, services.engines)  # outside any transaction
        key = f"digest:{report.manager_id}:{day}"
        async with services.outbox.sending() as out:
            claimed = await out.session.execute(insert_ignore(out.session, KeyValue).values(
                key=key, value={"sent_at": now.isoformat()}, updated_at=now))
            if rowcount(claimed) == 0:
                continue  # another process got there first
            body = Markdown(title="📊 团队跟进日报", text="\n".join(report_lines(report)))
            chart = Image(data=png, file_name=f"digest-{day}.png", caption="漏斗与健康指数")
            assert report.manager_id is not None
            await out.add([Outbound(report.manager_id, body, dedup_key=f"{key}:text"),
                           Outbound(report.manager_id, chart, dedup_key=f"{key}:chart")])
        sent += 1
    return sent
