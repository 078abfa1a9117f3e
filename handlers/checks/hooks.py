"""What the lead use cases call at each change (session-level, no Context): stage gates, the tamper-evident
record and the flags. Each returns the Chinese lines to add to the reply.

- `gate_refusal` before a move to 签约回款 or a win: the close gate's proof (contract or payment) must exist;
- `after_stage` / `after_close` / `after_evidence` / `after_decision`: append to the record, re-run the checks;
- `after_values` after a draft, an edit, a confirmation or a follow-up: re-run the checks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ChecksSettings
from handlers.checks import flags, rules
from handlers.checks.evidence import KINDS_CN, Reading
from handlers.checks.rules import Finding, missing_proofs, proof_names
from storage import chain
from storage.facts import evidence_data
from storage.leads import stage_label
from storage.models import Evidence, Lead

CLOSE_PROOFS = ("contract", "payment")
ANSWER_HINT = "如属实可一句话说明，例如「{topic} 确认 <原因>」，主管核实后清除。"
# a draft is still the rep's own: an odd budget on it is a question before it is a record
DRAFT_BUDGET_ASK = ("预算是不是写错了？写错了直接发正确金额，例如「预算 50万」；"
                    "没写错就确认，再发「预算 确认 <原因>」说明。")


WON_PROOF_DONE = "✅ 赢单的合同和回款凭证已齐。"
def finding_lines(found: list[Finding], draft: bool = False) -> list[str]:
    lines = [f.line for f in sorted(found, key=lambda f: flags.LEVEL_ORDER[f.level])]
    if draft and any(f.rule == "budget_outlier" for f in found):
        lines.append(DRAFT_BUDGET_ASK)
    elif lines:
        lines.append(ANSWER_HINT.format(topic=rules.TOPICS[found[0].rule][0]))
    return lines


async def gate_refusal(session: AsyncSession, lead: Lead, cfg: ChecksSettings) -> str | None:
    """Why `lead` may not reach 签约回款 / 赢单 yet: neither a contract page nor a payment record among its evidence
    (a receipt, a chat or an unreadable image proves neither). None: it may."""
    if not cfg.enabled:
        return None
    have = await flags.lead_proofs(session, lead)
    need = [p for p in cfg.gate("close") or CLOSE_PROOFS if p in CLOSE_PROOFS] or list(CLOSE_PROOFS)
    if any(p in have for p in need):
        return None
    what = proof_names(need).replace("、", "或")
    return (f"推进到「签约回款」或赢单需要证据（{what}）：发送「证据 {lead.id}」后 5 分钟内"
            f"发合同页或回款截图，或发送「证据 {lead.id} <说明>」由主管确认。")


def gate_prompt(stage: str, have: frozenset[str], lead_id: int, cfg: ChecksSettings) -> str | None:
    """What the new stage still needs, asked at the moment of the change."""
    missing = missing_proofs(stage, have, cfg)
    if not missing:
        return None
    return f"📋 {stage_label(stage)} 需要：{proof_names(missing)}。请发送「证据 {lead_id}」后补充。"


async def after_stage(session: AsyncSession, lead: Lead, before: str, actor_id: str, now: datetime,
                      cfg: ChecksSettings) -> list[str]:
    await chain.append(session, "stage", lead_id=lead.id, actor_id=actor_id, now=now, before=before, after=lead.stage)
    if not cfg.enabled:
        return []
    facts = await flags.gather(session, lead, values=False)
    lines = finding_lines(await flags.refresh(session, lead, now, cfg, jump=(before, lead.stage), facts=facts,
                                              values=False))
    if ask := gate_prompt(lead.stage, facts.proofs, lead.id, cfg):
        lines.insert(0, ask)
    return lines


async def after_close(session: AsyncSession, lead: Lead, reason: str, actor_id: str, now: datetime,
                      cfg: ChecksSettings) -> list[str]:
    await chain.append(session, lead.status, lead_id=lead.id, actor_id=actor_id, now=now, reason=reason[:255])
    return finding_lines(await flags.refresh(session, lead, now, cfg, values=False))


async def after_evidence(session: AsyncSession, lead: Lead, ev: Evidence, reading: Reading | None, actor_id: str,
                         now: datetime, cfg: ChecksSettings) -> list[str]:
    """Record an evidence item (file by its SHA-256) and say what it was taken for."""
    if reading is not None:
        ev.proof, ev.ocr_text = reading.kind, reading.text[:4000] or None
    await session.flush()
    waiting = await flags.missing_won_proof(session, lead)  # a won lead taking the proof its 🔴 asks for
    await chain.append(session, "evidence", lead_id=lead.id, actor_id=actor_id, now=now, **evidence_data(ev))
    lines = []
    if reading is not None:
        lines.append(f"识别为：{KINDS_CN.get(reading.kind, reading.kind)}。")
        if reading.kind not in CLOSE_PROOFS:
            lines.append("这份证据不能作为合同或回款凭证。")
    lines += finding_lines(await flags.refresh(session, lead, now, cfg, values=False))
    await flags.refresh_sharing(session, ev, now, cfg)
    if waiting and not await flags.missing_won_proof(session, lead):
        lines.append(WON_PROOF_DONE)
    return lines


async def after_decision(session: AsyncSession, lead: Lead, ev: Evidence, actor_id: str, approve: bool,
                         now: datetime, cfg: ChecksSettings) -> list[str]:
    """A manager confirmed or rejected a rep's evidence note."""
    await chain.append(session, "confirm", lead_id=lead.id, actor_id=actor_id, now=now, evidence_id=ev.id,
                       verdict="ok" if approve else "no")
    return finding_lines(await flags.refresh(session, lead, now, cfg, values=False))


async def after_values(session: AsyncSession, lead: Lead, now: datetime, cfg: ChecksSettings) -> list[str]:
    return finding_lines(await flags.refresh(session, lead, now, cfg), draft=lead.status == "draft")
