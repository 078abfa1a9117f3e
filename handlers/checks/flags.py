"""Flags on leads: run the cross-check rules over a lead's facts, keep each finding as a LeadFlag row (one per
lead, rule and subject), resolve the ones that no longer hold, take the rep's one-line answer and the manager's
clearance. Session-level functions: the caller owns the transaction.

Life of a flag: open → answered (the rep explained, the answer is kept) → cleared (a manager); resolved when the
rule stops firing (the evidence arrived, the budget was corrected). A cleared flag stays cleared for that subject.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, cast, column, exists, literal, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ChecksSettings
from bot.org import in_team
from bot.usertext import user_text
from handlers.checks import rules
from handlers.checks.evidence import DEMO, classify, demo_said
from handlers.checks.rules import Finding, OtherLead
from storage import chain
from storage.leads import DROPPED, OPEN_STATUSES, company_core, is_filled
from storage.models import Activity, Evidence, Lead, LeadFlag, User

OPEN = ("open", "answered")
LEVEL_ORDER = {rules.RED: 0, rules.YELLOW: 1}
DEMO_DONE = re.compile(r"(?:演示|讲解|试用|路演|汇报)(?:了|过|完|完了|结束)"
                       r"|(?:已|已经|做了|完成了?)\s*(?:产品|方案)?(?:演示|讲解|试用)")
OTHERS_LIMIT = 50
HISTORY_LIMIT = 200  # the most recent known budgets are history enough for a median


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at for one lead, as plain values."""

    lead_id: int
    owner_id: str | None
    stage: str
    status: str
    budget: int | None
    industry: str | None
    phone: str | None
    company: str | None
    proofs: frozenset[str]
    summaries: tuple[str, ...] = ()
    budget_history: tuple[int, ...] = ()
    others: tuple[OtherLead, ...] = ()
    key_known: frozenset[str] = frozenset()
    reused_with: tuple[int, ...] = ()
    contract_texts: tuple[str, ...] = field(default=())


def evaluate(f: Facts, cfg: ChecksSettings, jumps: Iterable[tuple[str, str]] = ()) -> list[Finding]:
    """All findings for a lead; `jumps` are stage moves (before, after) to judge, recorded or just made."""
    found: list[Finding | None] = [
        rules.budget_outlier(f.budget, f.industry, f.budget_history, cfg),
        rules.won_without_proof(f.status, f.proofs),
        rules.repeated_summary(f.summaries, cfg),
        rules.stage_lag(f.stage, f.status, f.summaries),
        rules.key_fields_unknown(f.stage, f.key_known) if f.status != "lost" else None,  # won: still unknown
        *(rules.stage_jump(a, b, f.proofs, cfg) for a, b in jumps),
        *(rules.contract_mismatch(t, f.company) for t in f.contract_texts),
        *(rules.contract_unread(t, f.company) for t in f.contract_texts),
    ]
    if f.status in OPEN_STATUSES or f.status == "draft":
        found += rules.shared_contact(f.owner_id, f.phone, f.company, f.others)
    found += rules.evidence_reused(f.reused_with)
    return [x for x in found if x is not None]


# -- facts -----------------------------------------------------------------------------------------------------
def proof_kind(ev: Any) -> str | None:
    """What an evidence row proves: its recorded type; a confirmed note by its words; screenshots are chats."""
    if ev.kind == "screenshot":
        return "chat"
    if ev.kind == "note":
        return classify(ev.note or "") if ev.confirmed_by else None
    if ev.kind in ("image", "file"):
        return ev.proof or "other"
    return None


def proofs_of(lead: Lead, evidence: Sequence[Any], summaries: Sequence[str]) -> frozenset[str]:
    kinds = {k for ev in evidence if (k := proof_kind(ev))}
    if "chat" in kinds or any(is_filled(getattr(lead, f)) for f in ("phone", "wechat_id", "email")):
        kinds.add("contact")
    if is_filled(lead.needs):
        kinds.add("need")
    if any(demo_said(s, DEMO_DONE) for s in summaries) or any(
            ev.kind == "file" and DEMO.search(ev.path or "") for ev in evidence):
        kinds.add("demo")
    return frozenset(kinds)


def key_known(lead: Lead) -> frozenset[str]:
    """Decision chain, next step, objection: known from explicit entries or mined from follow-ups; unknown else."""
    extra = lead.extra or {}
    insights = extra.get("insights") or {}
    known = set()
    if extra.get("decision_chain") or insights.get("roles"):
        known.add("decision_chain")
    if extra.get("next_step") or lead.next_follow_up_at is not None:
        known.add("next_step")
    if extra.get("objection") or insights.get("pain_points"):
        known.add("objection")
    return frozenset(known)


def _budget_history_stmt(by_industry: bool) -> Select[Any]:
    """Built once (a statement built per call costs more CPU than the database spends on it): the known budgets of
    the team's other leads (same manager as the owner, or the owner's own), newest first, in the lead's industry.
    A budget still under an open 🔴 (neither confirmed by the rep's answer nor cleared by a manager) is no history:
    five absurd budgets flagged and left open must not make the sixth look normal."""
    manager = select(User.manager_id).where(User.id == bindparam("owner")).scalar_subquery()
    doubted = exists().where(LeadFlag.lead_id == Lead.id, LeadFlag.rule == "budget_outlier",
                             LeadFlag.status == "open")
    stmt = (select(Lead.budget_cny).join(User, User.id == Lead.owner_id)
            .where(or_(in_team(manager), Lead.owner_id == bindparam("owner")), Lead.id != bindparam("lead"),
                   Lead.status != "draft", Lead.budget_cny.is_not(None),
                   or_(Lead.close_reason.is_(None), Lead.close_reason != DROPPED), ~doubted)
            .order_by(Lead.id.desc()).limit(HISTORY_LIMIT))
    return stmt.where(Lead.industry == bindparam("industry")) if by_industry else stmt


_BUDGETS = {by_industry: _budget_history_stmt(by_industry) for by_industry in (True, False)}


async def _budget_history(session: AsyncSession, lead: Lead, owner: str | None) -> tuple[int, ...]:
    """Known budgets of the team's other leads (same manager as the owner, or the owner's own), same industry."""
    if owner is None:
        return ()
    params = {"owner": owner, "lead": lead.id, "industry": lead.industry}
    budgets = (await session.execute(_BUDGETS[bool(lead.industry)], params)).scalars()
    return tuple(int(b) for b in budgets if b)


async def budget_check(session: AsyncSession, lead: Lead, budget: int, cfg: ChecksSettings) -> Finding | None:
    """The budget rule on a value about to be stored on `lead` (the front door asks about it before keeping it;
    the flag on the stored value is the same rule, so the two never disagree)."""
    history = await _budget_history(session, lead, lead.owner_id or lead.created_by)
    return rules.budget_outlier(budget, lead.industry, history, cfg)


def company_prefix(company: str) -> str:
    """The start every short/full spelling of one company shares (storage.leads.same_company): ≤ 4 characters
    of its name without legal and trade suffixes."""
    return company_core(company)[:4]


@functools.cache
def _others_stmt(phone: bool, company: bool, sqlite: bool) -> Select[int, str | None, str | None, str | None, str]:
    """Built once per shape: open leads of other ids sharing the phone, or whose company starts with the prefix."""
    conds = [Lead.phone == bindparam("phone")] if phone else []
    if company and sqlite:  # BINARY collation: an index range
        conds.append(and_(Lead.company >= bindparam("prefix"), Lead.company < bindparam("prefix_end")))
    elif company:  # a locale collation does not keep prefixes together: LIKE 'prefix%'
        conds.append(Lead.company.like(bindparam("pattern"), escape="/"))
    return (select(Lead.id, Lead.owner_id, Lead.phone, Lead.company, User.name)
            .join(User, User.id == Lead.owner_id)
            .where(or_(*conds), Lead.id != bindparam("lead"), Lead.status.in_(OPEN_STATUSES)).limit(OTHERS_LIMIT))


def _like_prefix(prefix: str) -> str:
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _others_params(lead: Lead, prefix: str) -> dict[str, Any]:
    return {"lead": lead.id, "phone": lead.phone, "prefix": prefix, "prefix_end": prefix + "\U0010ffff",
            "pattern": _like_prefix(prefix)}


def _shared(lead: Lead, rows: Iterable[Sequence[Any]]) -> tuple[OtherLead, ...]:
    """Rows of _others_stmt that share the phone or the company (same_company)."""
    return tuple(OtherLead(r[0], r[1], r[4], r[2], r[3]) for r in rows
                 if (lead.phone and r[2] == lead.phone) or rules.same_company(lead.company, r[3]))


async def _others(session: AsyncSession, lead: Lead) -> tuple[OtherLead, ...]:
    """Open leads sharing the phone, or a company name of the same start (index range, then same_company)."""
    prefix = company_prefix(lead.company) if lead.company else ""
    if not lead.phone and not prefix:
        return ()
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows = (await session.execute(_others_stmt(bool(lead.phone), bool(prefix), sqlite),
                                  _others_params(lead, prefix))).all()
    return _shared(lead, rows)


_EV_COLS = (Evidence.kind, Evidence.note, Evidence.confirmed_by, Evidence.proof, Evidence.path, Evidence.sha256,
            Evidence.ocr_text)


def _evidence_and_summaries_stmt() -> Any:
    """Built once: the lead's evidence (what proofs_of and gather read of it) and its follow-up summaries, oldest
    first, in ONE round trip (a union: part 0 evidence, part 1 summaries)."""
    evidence = select(literal(0).label("part"), *(c.label(c.key) for c in _EV_COLS),
                      cast(null(), Activity.summary.type).label("summary"),
                      cast(null(), Activity.created_at.type).label("at"), Evidence.id.label("n")
                      ).where(Evidence.lead_id == bindparam("lead"))
    summaries = select(literal(1), *(cast(null(), c.type) for c in _EV_COLS), Activity.summary, Activity.created_at,
                       Activity.id).where(Activity.lead_id == bindparam("lead"), Activity.kind == "contact")
    return union_all(evidence, summaries).order_by(column("part"), column("at"), column("n"))


_EVIDENCE_AND_SUMMARIES = _evidence_and_summaries_stmt()
_LEAD_FLAGS = select(LeadFlag).where(LeadFlag.lead_id == bindparam("lead"))


async def _evidence_and_summaries(session: AsyncSession, lead: Lead) -> tuple[list[Any], tuple[str, ...]]:
    """The lead's evidence rows (read-only: kind, note, confirmed_by, proof, path, sha256, ocr_text) and its
    follow-up summaries in order."""
    rows = (await session.execute(_EVIDENCE_AND_SUMMARIES, {"lead": lead.id})).all()
    return [r for r in rows if r.part == 0], tuple(r.summary for r in rows if r.part == 1)


async def lead_proofs(session: AsyncSession, lead: Lead) -> frozenset[str]:
    """What the lead's evidence, fields and follow-ups prove (the stage gates need only this)."""
    return proofs_of(lead, *await _evidence_and_summaries(session, lead))


# Rules that look at other leads (team budgets, colleagues' customers): re-run when the lead's values change
# (draft, edit, confirm, follow-up), skipped on stage changes and evidence, whose facts they do not read.
VALUE_RULES = frozenset({"budget_outlier", "shared_contact"})


async def gather(session: AsyncSession, lead: Lead, *, values: bool = True) -> Facts:
    """The lead's facts; `values=False` leaves out the other-lead queries of VALUE_RULES."""
    evidence, summaries = await _evidence_and_summaries(session, lead)
    owner = lead.owner_id or lead.created_by
    hashes = {ev.sha256 for ev in evidence if ev.sha256 and ev.kind in ("image", "file")}
    reused: tuple[int, ...] = ()
    if hashes:
        reused = tuple(sorted({i for i in (await session.execute(select(Evidence.lead_id).where(
            Evidence.sha256.in_(hashes), Evidence.kind.in_(("image", "file")), Evidence.lead_id != lead.id)))
            .scalars() if i is not None}))
    history, others = await _team_values(session, lead, owner) if values else ((), ())
    return Facts(lead.id, owner, lead.stage, lead.status, lead.budget_cny, lead.industry, lead.phone, lead.company,
                 proofs_of(lead, evidence, summaries), summaries, history, others, key_known(lead), reused,
                 tuple(ev.ocr_text or "" for ev in evidence if ev.proof == "contract" and ev.ocr_text))


@functools.cache
def _team_values_stmt(by_industry: bool, phone: bool, company: bool, sqlite: bool) -> Any:
    """The team's budgets (part 0) and the colleagues' leads sharing the contact (part 1) in ONE round trip."""
    budgets = _BUDGETS[by_industry].subquery()
    others = _others_stmt(phone, company, sqlite).subquery()
    return union_all(
        select(literal(0).label("part"), budgets.c.budget_cny.label("budget"), *(
            cast(null(), c.type).label(c.name) for c in others.c)),
        select(literal(1), cast(null(), budgets.c.budget_cny.type), *others.c))


async def _team_values(session: AsyncSession, lead: Lead, owner: str | None
                       ) -> tuple[tuple[int, ...], tuple[OtherLead, ...]]:
    """_budget_history and _others, one statement when both ask the database."""
    prefix = company_prefix(lead.company) if lead.company else ""
    if owner is None or not (lead.phone or prefix):
        return await _budget_history(session, lead, owner), await _others(session, lead)
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows = (await session.execute(_team_values_stmt(bool(lead.industry), bool(lead.phone), bool(prefix), sqlite),
                                  {**_others_params(lead, prefix), "owner": owner, "industry": lead.industry})).all()
    return (tuple(int(r[1]) for r in rows if r[0] == 0 and r[1]),
            _shared(lead, [r[2:] for r in rows if r[0] == 1]))


# -- flags -----------------------------------------------------------------------------------------------------
async def flags_of(session: AsyncSession, lead_ids: Iterable[int], statuses: Sequence[str] = OPEN) -> list[LeadFlag]:
    ids = list(lead_ids)
    if not ids:
        return []
    rows = await session.execute(select(LeadFlag).where(LeadFlag.lead_id.in_(ids), LeadFlag.status.in_(statuses))
                                 .order_by(LeadFlag.lead_id, LeadFlag.id))
    return list(rows.scalars())


async def rep_flags(session: AsyncSession, user_id: str, lead_ids: Iterable[int]) -> list[LeadFlag]:
    """A rep's open flags: on the leads they hold (their drafts included) and those they caused on leads that have
    since gone to the pool or to a colleague."""
    stmt = select(LeadFlag).where(LeadFlag.status.in_(OPEN),
                                  or_(LeadFlag.lead_id.in_(list(lead_ids)), LeadFlag.owner_id == user_id))
    return list((await session.execute(stmt.order_by(LeadFlag.lead_id, LeadFlag.id))).scalars())


async def drop_with_draft(session: AsyncSession, draft: Lead, now: datetime) -> None:
    """A dropped draft takes its open flags with it: they asked about values that were never kept."""
    for row in await flags_of(session, [draft.id]):
        row.status, row.updated_at = "resolved", now


def _recorded_jumps(flags: Sequence[LeadFlag]) -> list[tuple[str, str]]:
    return [(f.subject.partition(">")[0], f.subject.partition(">")[2]) for f in flags
            if f.rule == "stage_jump" and ">" in f.subject and f.status in OPEN]


async def refresh(session: AsyncSession, lead: Lead, now: datetime, cfg: ChecksSettings, *,
                  jump: tuple[str, str] | None = None, facts: Facts | None = None, values: bool = True
                  ) -> list[Finding]:
    """Re-run the rules on `lead` (over `facts` when the caller gathered them with the same `values`); new findings
    become open flags, flags that no longer hold are resolved (VALUE_RULES only when `values`). Returns the
    findings that were not flagged before (for the reply)."""
    if not cfg.enabled:
        return []
    existing = list((await session.execute(_LEAD_FLAGS, {"lead": lead.id})).scalars())
    jumps = _recorded_jumps(existing) + ([jump] if jump else [])
    findings = evaluate(facts or await gather(session, lead, values=values), cfg, jumps)
    if not values:
        findings = [f for f in findings if f.rule not in VALUE_RULES]
    by_key = {(f.rule, f.subject): f for f in existing}
    fresh = []
    for finding in findings:
        row = by_key.get((finding.rule, finding.subject))
        if row is None or row.status == "resolved":
            fresh.append(finding)
            if row is None:
                session.add(LeadFlag(lead_id=lead.id, rule=finding.rule, subject=finding.subject,
                                     level=finding.level, reason=finding.reason, status="open",
                                     owner_id=lead.owner_id or lead.created_by,
                                     created_at=now, updated_at=now))
                continue
            row.status, row.created_at, row.owner_id = "open", now, lead.owner_id or lead.created_by
        if row.status in OPEN and row.reason != finding.reason:
            row.reason, row.level, row.updated_at = finding.reason, finding.level, now
    still = {(f.rule, f.subject) for f in findings}
    for row in existing:
        if row.status in OPEN and (row.rule, row.subject) not in still and (values or row.rule not in VALUE_RULES):
            row.status, row.updated_at = "resolved", now
    await session.flush()
    return fresh


SHARING_CAP = 20  # other leads holding one file re-checked at once; any beyond are re-checked on their next change


async def refresh_sharing(session: AsyncSession, ev: Evidence, now: datetime, cfg: ChecksSettings) -> None:
    """The other leads holding the same file as `ev` get their 🟡 now, not on their next, unrelated upload. Loaded
    in one query; on PostgreSQL locked in id order, skipping a lead another transaction holds (it is being changed
    and re-checked there): two uploads of one file to A and B would otherwise each wait for the other's lead (a
    deadlock) or both write the same flag on it. SQLite runs write transactions one at a time."""
    if not ev.sha256 or ev.kind not in ("image", "file"):
        return
    holders = select(Evidence.lead_id).where(Evidence.sha256 == ev.sha256, Evidence.kind.in_(("image", "file")),
                                             Evidence.lead_id != ev.lead_id)
    stmt = select(Lead).where(Lead.id.in_(holders)).order_by(Lead.id).limit(SHARING_CAP)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    for other in (await session.execute(stmt)).scalars().all():
        await refresh(session, other, now, cfg, values=False)


async def missing_won_proof(session: AsyncSession, lead: Lead) -> bool:
    """A won lead whose 「已赢单但缺少…」 flag is still open: the proof it asks for is welcome (the evidence gate lets
    it through, and only it)."""
    if lead.status != "won":
        return False
    found = await session.execute(select(LeadFlag.id).where(
        LeadFlag.lead_id == lead.id, LeadFlag.rule == "won_without_proof", LeadFlag.status.in_(OPEN)).limit(1))
    return found.first() is not None


def topic_rules(word: str) -> set[str]:
    return {rule for rule, words in rules.TOPICS.items() if word in words}


REP_HINT = re.compile(r"（可回复「[^」]*」补充）$")  # how the rep answers: not for the manager's digest


def flag_line(flag: LeadFlag, manager: bool = False) -> str:
    """🔴 reason [· 销售说明：…] as shown on cards and digests (`manager`: without the hint meant for the rep)."""
    reason = REP_HINT.sub("", flag.reason) if manager else flag.reason
    line = f"{rules.ICON.get(flag.level, '')} {reason}"
    if flag.answer:
        line += f"（说明：{user_text(flag.answer)}）"
    return line


def sort_flags(flags: Iterable[LeadFlag]) -> list[LeadFlag]:
    return sorted(flags, key=lambda f: (LEVEL_ORDER.get(f.level, 9), f.created_at, f.id))


async def answer(session: AsyncSession, flag: LeadFlag, text: str, by: str, now: datetime) -> None:
    flag.answer, flag.answered_by, flag.answered_at = text[:500], by, now
    flag.status, flag.updated_at = "answered", now


async def clear(session: AsyncSession, flag: LeadFlag, by: str, now: datetime) -> None:
    """A manager's clearance: the flag is closed and the decision goes into the tamper-evident record."""
    flag.status, flag.cleared_by, flag.cleared_at, flag.updated_at = "cleared", by, now, now
    await chain.append(session, "confirm", lead_id=flag.lead_id, actor_id=by, now=now, flag_id=flag.id,
                       rule=flag.rule, verdict="clear", answer=flag.answer)
