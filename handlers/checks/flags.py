"""Flags on leads: run the cross-check rules over a lead's facts, keep each finding as a LeadFlag row (one per
lead, rule and subject), resolve the ones that no longer hold, take the rep's one-line answer and the manager's
clearance. Session-level functions: the caller owns the transaction.

Life of a flag: open → answered (the rep explained, the answer is kept) → cleared (a manager); resolved when the
rule stops firing (the evidence arrived, the budget was corrected). A cleared flag stays cleared for that subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ChecksSettings
from handlers.checks import rules
from handlers.checks.evidence import DEMO, classify
from handlers.checks.rules import Finding, OtherLead
from storage import chain
from storage.leads import OPEN_STATUSES, is_filled
from storage.models import Activity, Evidence, Lead, LeadFlag, User

OPEN = ("open", "answered")
LEVEL_ORDER = {rules.RED: 0, rules.YELLOW: 1}
DEMO_DONE = re.compile(r"(?:演示|讲解|试用|路演|汇报)(?:了|过|完|完了|结束)"
                       r"|(?:已|已经|做了|完成了?)\s*(?:产品|方案)?(?:演示|讲解|试用)")
HISTORY_LIMIT = 500


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
        rules.key_fields_unknown(f.stage, f.key_known) if f.status not in ("won", "lost") else None,
        *(rules.stage_jump(a, b, f.proofs, cfg) for a, b in jumps),
        *(rules.contract_mismatch(t, f.company) for t in f.contract_texts),
    ]
    if f.status in OPEN_STATUSES or f.status == "draft":
        found += rules.shared_contact(f.owner_id, f.phone, f.company, f.others)
    found += rules.evidence_reused(f.reused_with)
    return [x for x in found if x is not None]


# -- facts -----------------------------------------------------------------------------------------------------
def proof_kind(ev: Evidence) -> str | None:
    """What an evidence row proves: its recorded type; a confirmed note by its words; screenshots are chats."""
    if ev.kind == "screenshot":
        return "chat"
    if ev.kind == "note":
        return classify(ev.note or "") if ev.confirmed_by else None
    if ev.kind in ("image", "file"):
        return ev.proof or "other"
    return None


def proofs_of(lead: Lead, evidence: Sequence[Evidence], summaries: Sequence[str]) -> frozenset[str]:
    kinds = {k for ev in evidence if (k := proof_kind(ev))}
    if "chat" in kinds or any(is_filled(getattr(lead, f)) for f in ("phone", "wechat_id", "email")):
        kinds.add("contact")
    if is_filled(lead.needs):
        kinds.add("need")
    if any(DEMO_DONE.search(s) for s in summaries) or any(
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


async def _team(session: AsyncSession, owner_id: str | None) -> list[str]:
    if owner_id is None:
        return []
    manager = (await session.execute(select(User.manager_id).where(User.id == owner_id))).scalar()
    if manager is None:
        return [owner_id]
    ids = (await session.execute(select(User.id).where(or_(User.manager_id == manager, User.id == manager))))
    return list(ids.scalars())


async def _budget_history(session: AsyncSession, lead: Lead, owner: str | None) -> tuple[int, ...]:
    team = await _team(session, owner)
    if not team:
        return ()
    stmt = (select(Lead.budget_cny).where(Lead.owner_id.in_(team), Lead.id != lead.id, Lead.status != "draft",
                                          Lead.budget_cny.is_not(None))
            .order_by(Lead.id.desc()).limit(HISTORY_LIMIT))
    if lead.industry:
        stmt = stmt.where(Lead.industry == lead.industry)
    return tuple(b for b in (await session.execute(stmt)).scalars() if b)


async def _others(session: AsyncSession, lead: Lead) -> tuple[OtherLead, ...]:
    conds = []
    if lead.phone:
        conds.append(Lead.phone == lead.phone)
    if lead.company:
        conds.append(Lead.company.is_not(None))
    if not conds:
        return ()
    stmt = (select(Lead.id, Lead.owner_id, Lead.phone, Lead.company, User.name)
            .join(User, User.id == Lead.owner_id)
            .where(or_(*conds), Lead.id != lead.id, Lead.status.in_(OPEN_STATUSES)))
    if lead.company and not lead.phone:
        stmt = stmt.where(Lead.company.like(f"{lead.company[:2]}%"))
    rows = (await session.execute(stmt.limit(200))).all()
    return tuple(OtherLead(r[0], r[1], r[4], r[2], r[3]) for r in rows
                 if (lead.phone and r[2] == lead.phone) or rules.same_company(lead.company, r[3]))


async def gather(session: AsyncSession, lead: Lead) -> Facts:
    evidence = list((await session.execute(select(Evidence).where(Evidence.lead_id == lead.id))).scalars())
    summaries = tuple((await session.execute(
        select(Activity.summary).where(Activity.lead_id == lead.id, Activity.kind == "contact")
        .order_by(Activity.created_at, Activity.id))).scalars())
    owner = lead.owner_id or lead.created_by
    hashes = {ev.sha256 for ev in evidence if ev.sha256 and ev.kind in ("image", "file")}
    reused: tuple[int, ...] = ()
    if hashes:
        reused = tuple(sorted(set((await session.execute(select(Evidence.lead_id).where(
            Evidence.sha256.in_(hashes), Evidence.kind.in_(("image", "file")), Evidence.lead_id != lead.id)))
            .scalars()) - {None}))  # type: ignore[arg-type]
    return Facts(lead.id, owner, lead.stage, lead.status, lead.budget_cny, lead.industry, lead.phone, lead.company,
                 proofs_of(lead, evidence, summaries), summaries, await _budget_history(session, lead, owner),
                 await _others(session, lead), key_known(lead), reused,
                 tuple(ev.ocr_text or "" for ev in evidence if ev.proof == "contract" and ev.ocr_text))


# -- flags -----------------------------------------------------------------------------------------------------
async def flags_of(session: AsyncSession, lead_ids: Iterable[int], statuses: Sequence[str] = OPEN) -> list[LeadFlag]:
    ids = list(lead_ids)
    if not ids:
        return []
    rows = await session.execute(select(LeadFlag).where(LeadFlag.lead_id.in_(ids), LeadFlag.status.in_(statuses))
                                 .order_by(LeadFlag.lead_id, LeadFlag.id))
    return list(rows.scalars())


def _recorded_jumps(flags: Sequence[LeadFlag]) -> list[tuple[str, str]]:
    return [tuple(f.subject.split(">", 1)) for f in flags  # type: ignore[misc]
            if f.rule == "stage_jump" and ">" in f.subject and f.status in OPEN]


async def refresh(session: AsyncSession, lead: Lead, now: datetime, cfg: ChecksSettings, *,
                  jump: tuple[str, str] | None = None) -> list[Finding]:
    """Re-run every rule on `lead`; new findings become open flags, flags that no longer hold are resolved.
    Returns the findings that were not flagged before (for the reply)."""
    if not cfg.enabled:
        return []
    existing = list((await session.execute(select(LeadFlag).where(LeadFlag.lead_id == lead.id))).scalars())
    jumps = _recorded_jumps(existing) + ([jump] if jump else [])
    findings = evaluate(await gather(session, lead), cfg, jumps)
    by_key = {(f.rule, f.subject): f for f in existing}
    fresh = []
    for finding in findings:
        row = by_key.get((finding.rule, finding.subject))
        if row is None or row.status == "resolved":
            fresh.append(finding)
            if row is None:
                session.add(LeadFlag(lead_id=lead.id, rule=finding.rule, subject=finding.subject,
                                     level=finding.level, reason=finding.reason, status="open", owner_id=lead.owner_id,
                                     created_at=now, updated_at=now))
                continue
            row.status, row.created_at = "open", now
        if row.status in OPEN and row.reason != finding.reason:
            row.reason, row.level, row.updated_at = finding.reason, finding.level, now
    still = {(f.rule, f.subject) for f in findings}
    for row in existing:
        if row.status in OPEN and (row.rule, row.subject) not in still:
            row.status, row.updated_at = "resolved", now
    await session.flush()
    return fresh


def topic_rules(word: str) -> set[str]:
    return {rule for rule, words in rules.TOPICS.items() if word in words}


def flag_line(flag: LeadFlag) -> str:
    """🔴 reason [· 销售说明：…] as shown on cards and digests."""
    line = f"{rules.ICON.get(flag.level, '')} {flag.reason}"
    if flag.answer:
        line += f"（说明：{flag.answer}）"
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
