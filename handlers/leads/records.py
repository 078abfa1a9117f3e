"""The lead use cases as plain session functions: no Context, no chat. Chat routes (handlers/chat/leads.py)
and screenshot capture call these (a manager's 改派 / 延期 / 接手, which the web console runs too, are manage.py;
the CLI calls assignment.py and handover.py); each returns what happened (an
`Outcome` with the Chinese sentence to show) and leaves sending to its caller. Who may act is checked before, by
handlers/leads/permissions.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ChecksSettings, RemindersSettings
from bot.context import UserInfo
from handlers.checks import flags, hooks
from handlers.checks.evidence import Reading
from handlers.leads.assignment import activate_lead
from handlers.leads.insights import Insights
from handlers.renewals.evidence import record_from_evidence
from handlers.renewals.locks import locked_accounts, on_proof, proof_pending
from reminders import lifecycle
from storage.activity import add_activity
from storage.facts import PROOF_CN
from storage.leads import (
    DROPPED,
    SOURCE_CN,
    STAGE_CODES,
    STATUS_CN,
    create_lead,
    evidence_state,
    find_duplicates,
    stage_index,
    stage_label,
)
from storage.models import Evidence, Lead, User

NEED_EVIDENCE = ("推进到「签约回款」或赢单需要证据：发送「证据 {id}」后 5 分钟内发合同/回款截图，"
                 "或发送「证据 {id} <说明>」由主管确认。")
PENDING_EVIDENCE = "线索 #{id} 的证据说明还在等主管确认，确认后才能签约/赢单。"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    duplicate_of: int | None = None


async def draft_duplicates(session: AsyncSession, lead: Lead) -> list[Lead]:
    """The open leads of the same customer, then the locked renewal accounts of its phone or company."""
    dups = await find_duplicates(session, phone=lead.phone, company=lead.company, customer_name=lead.customer_name,
                                 exclude_id=lead.id)
    seen = {d.id for d in dups} | {lead.id}
    return dups + [a for a in await locked_accounts(session, lead.phone, lead.company) if a.id not in seen]


async def save_draft(session: AsyncSession, fields: Mapping[str, Any], *, source: str, by: str, now: datetime,
                     confidence: float | None = None, follow_up: datetime | None = None,
                     extra: Mapping[str, Any] | None = None) -> tuple[Lead, list[Lead]]:
    """A draft lead with provenance on every known field, and the open leads it duplicates."""
    data = dict(extra or {})
    if follow_up is not None:
        data["follow_up"] = follow_up.isoformat()
    lead = await create_lead(session, fields, source=source, by=by, now=now, confidence=confidence, extra=data)
    add_activity(session, lead.id, by, "created", now, f"{SOURCE_CN.get(source, source)}草稿")
    return lead, await draft_duplicates(session, lead)


async def confirm_draft(session: AsyncSession, lead: Lead, user: UserInfo, now: datetime,
                        cfg: RemindersSettings) -> Outcome:
    """Activate a draft for its creator: owner, assigned_at, timers, the agreed follow-up.

    Refused when the customer already has an open lead (same phone, or company + name)."""
    if lead.status != "draft":
        return Outcome(False, f"线索 #{lead.id} 已经处理过了（{STATUS_CN.get(lead.status, lead.status)}）。")
    dups = await draft_duplicates(session, lead)
    if dups:
        other = dups[0]
        if other.owner_id == (lead.created_by or user.id):
            return Outcome(False, f"你已有同一客户的线索 #{other.id}，请直接在那条线索上跟进。", other.id)
        return Outcome(False, f"同一客户已有同事在跟进（线索 #{other.id}），这条草稿未启用，如需协作请联系主管。",
                             other.id)
    creator = lead.created_by
    known = creator is not None and await session.get(User, creator) is not None
    owner = creator if known and creator else user.id
    await activate_lead(session, lead, owner, user.id, now, cfg, reason="本人录入")
    hours = cfg.first_contact_hours
    return Outcome(True, f"✅ 线索 #{lead.id} 已启用，请在 {hours:g} 个工作小时内完成首次联系。")


def fields_from_extract(extracted: Any) -> tuple[dict[str, Any], datetime | None, float | None]:
    """Fields, follow-up time and confidence from `ocr.extract` output (dataclass or dict)."""
    get = extracted.get if isinstance(extracted, dict) else (lambda k, d=None: getattr(extracted, k, d))
    fields = {k: get(k) for k in ("customer_name", "company", "title", "phone", "email", "wechat_id",
                                  "budget_cny", "needs", "industry", "region", "product_line")}
    follow = get("follow_up")
    if isinstance(follow, str) and follow:
        try:
            follow = datetime.fromisoformat(follow)
        except ValueError:
            follow = None
    if not isinstance(follow, datetime) or follow.tzinfo is None:
        follow = None
    conf = get("confidence")
    return fields, follow, float(conf) if isinstance(conf, int | float) else None


async def log_contact(session: AsyncSession, lead: Lead, actor_id: str, summary: str, insights: Insights,
                      now: datetime, cfg: RemindersSettings, source: str = "text") -> None:
    """Activity row + first/last contact times + insights on the lead + timers. `source`: "text" | "voice"."""
    by_voice = {"source": "voice"} if source == "voice" else {}
    add_activity(session, lead.id, actor_id, "contact", now, summary, insights=insights.to_json(),
                 insights_text=insights.describe(), **by_voice)
    if lead.first_contact_at is None:
        lead.first_contact_at = now
    lead.last_activity_at = now
    if lead.next_follow_up_at is not None and lead.next_follow_up_at <= now + timedelta(hours=12):
        lead.next_follow_up_at = None
    if lead.status == "dormant":
        lead.status = "active"
    if not insights.empty:
        extra = dict(lead.extra or {})
        merged = dict(extra.get("insights") or {})
        for key, values in insights.to_json().items():
            merged[key] = list(dict.fromkeys([*merged.get(key, []), *values]))
        extra["insights"] = merged
        lead.extra = extra
    await lifecycle.on_contact_logged(session, lead, now, cfg)


# -- stages, won, lost ----------------------------------------------------------------------------------
async def evidence_missing(session: AsyncSession, lead: Lead, checks: ChecksSettings) -> str | None:
    """Why `lead` may not reach 签约回款 or 赢单 yet (a contract page or a payment record is needed: a receipt
    or a chat proves neither; or a note still waits for the manager); None: it may."""
    why = await hooks.gate_refusal(session, lead, checks)
    state = await evidence_state(session, lead.id)
    if why is None and (state.ok or checks.enabled):
        return None
    pending = state.pending_notes and not state.ok
    return PENDING_EVIDENCE.format(id=lead.id) if pending else why or NEED_EVIDENCE.format(id=lead.id)


async def change_stage(session: AsyncSession, lead: Lead, stage: str, actor_id: str, now: datetime,
                       cfg: RemindersSettings, checks: ChecksSettings) -> Outcome:
    if stage == lead.stage:
        return Outcome(False, f"线索 #{lead.id} 已经在「{stage_label(stage)}」。")
    if stage == "close" and (why := await evidence_missing(session, lead, checks)):
        return Outcome(False, why)
    before = lead.stage
    lines = await _move_stage(session, lead, stage, actor_id, now, cfg, checks)
    return Outcome(True, "\n".join([f"✅ 线索 #{lead.id} 阶段: {stage_label(before)} → {stage_label(stage)}", *lines]))


async def _move_stage(session: AsyncSession, lead: Lead, stage: str, actor_id: str, now: datetime,
                      cfg: RemindersSettings | None, checks: ChecksSettings) -> list[str]:
    """The stage change itself: timeline, lifecycle (`cfg`; None for a lead being closed), record and cross-checks
    (the stage-jump rule among them); returns the lines the checks have to say."""
    before = lead.stage
    lead.stage, lead.stage_changed_at, lead.last_activity_at = stage, now, now
    extra = dict(lead.extra or {})
    extra["max_stage"] = STAGE_CODES[max(stage_index(stage), stage_index(extra.get("max_stage", "new")))]
    lead.extra = extra
    add_activity(session, lead.id, actor_id, "stage", now, f"{stage_label(before)} → {stage_label(stage)}",
                 before=before, after=stage)
    if cfg is not None:
        await lifecycle.on_stage_changed(session, lead, now, cfg)
    return await hooks.after_stage(session, lead, before, actor_id, now, checks)


async def close_lead(session: AsyncSession, lead: Lead, won: bool, reason: str, actor_id: str, now: datetime,
                     checks: ChecksSettings) -> Outcome:
    if won and (why := await evidence_missing(session, lead, checks)):
        return Outcome(False, why)
    lead.status = "won" if won else "lost"
    moved = await _move_stage(session, lead, "close", actor_id, now, None, checks) if won and lead.stage != "close" \
        else []  # 赢单 from an early stage is a stage change too: judged (stage jump) and recorded like 阶段
    lead.close_reason = reason[:255] or None
    lead.last_activity_at = now
    lead.next_follow_up_at = None
    add_activity(session, lead.id, actor_id, "won" if won else "lost", now, reason)
    await lifecycle.on_lead_closed(session, lead, now)
    lines = await hooks.after_close(session, lead, reason, actor_id, now, checks)
    head = f"🎉 线索 #{lead.id} 已赢单！" if won else f"已记录线索 #{lead.id} 输单：{reason}"
    return Outcome(True, "\n".join([head, *moved, *lines]))


async def drop_draft(session: AsyncSession, draft: Lead, actor_id: str, now: datetime) -> tuple[Outcome, list[Path]]:
    """放弃 a draft; also returns the screenshot files nothing uses any more, to delete once committed."""
    if draft.status != "draft":
        return Outcome(False, f"线索 #{draft.id} 已启用，不能放弃；不跟了请发送「输单 {draft.id} <原因>」。"), []
    add_activity(session, draft.id, actor_id, "dropped", now, "放弃草稿")
    paths = await forget_screenshots(session, draft)
    draft.status = "lost"
    draft.close_reason = DROPPED
    await flags.drop_with_draft(session, draft, now)
    return Outcome(True, f"已放弃草稿 #{draft.id}。"), paths


async def forget_screenshots(session: AsyncSession, draft: Lead) -> list[Path]:
    """A draft's screenshots stop being evidence; returns the files no other evidence row shares
    (content-addressed: the same screenshot may back another lead)."""
    rows = list((await session.execute(select(Evidence).where(Evidence.lead_id == draft.id,
                                                              Evidence.kind == "screenshot"))).scalars())
    for row in rows:
        await session.delete(row)
    draft.evidence_hash = draft.evidence_path = None
    await session.flush()
    hashes = {row.sha256 for row in rows if row.sha256}
    still_used = set((await session.execute(select(Evidence.sha256).where(Evidence.sha256.in_(hashes)))).scalars())
    return [Path(row.path) for row in rows if row.path and row.sha256 not in still_used]


# -- evidence -------------------------------------------------------------------------------------------
EVIDENCE_WAIT = timedelta(minutes=5)


async def add_evidence_note(session: AsyncSession, lead: Lead, user: UserInfo, note: str, now: datetime,
                            checks: ChecksSettings) -> tuple[Evidence, Outcome]:
    """A written note as evidence: a manager's counts at once, a rep's waits for the manager (ok=False)."""
    ev = Evidence(lead_id=lead.id, kind="note", note=note[:2000], added_by=user.id, created_at=now)
    session.add(ev)
    await session.flush()
    add_activity(session, lead.id, user.id, "evidence", now, f"说明（待确认）: {note[:200]}", evidence_id=ev.id)
    if user.is_manager:
        ev.confirmed_by = user.id
    lines = await hooks.after_evidence(session, lead, ev, None, user.id, now, checks)
    if user.is_manager:
        renewal = await on_proof(session, lead, ev, user.id, now)
        return ev, Outcome(True, "\n".join([f"✅ 已记录线索 #{lead.id} 的证据说明（主管录入，直接生效）。", *lines,
                                            *([renewal] if renewal else [])]))
    if await proof_pending(session, lead.id) is not None:
        return ev, Outcome(False, f"已记录证据说明，等待主管确认；确认后作为续签证明，这个客户的续约预警锁定随即解除"
                                  f"（线索 #{lead.id}）。")
    if lead.status == "won":
        return ev, Outcome(False, f"已记录证据说明，等待主管确认后补入赢单证据（线索 #{lead.id}）。")
    return ev, Outcome(False, f"已记录证据说明，等待主管确认后即可签约/赢单（线索 #{lead.id}）。")


async def attach_evidence_file(session: AsyncSession, lead: Lead, actor_id: str, kind: str, digest: str, path: str,
                               now: datetime, reading: Reading | None, checks: ChecksSettings) -> Outcome:
    """A stored screenshot or file (EvidenceStore) as the lead's evidence; `kind` is image or file; `reading`:
    what the picture or file name shows (a contract page, a payment record…), read before the transaction."""
    ev = Evidence(lead_id=lead.id, kind=kind, sha256=digest, path=path, added_by=actor_id, created_at=now)
    session.add(ev)
    await session.flush()
    lead.evidence_hash, lead.evidence_path = digest, path
    item = "图片" if kind == "image" else "文件"
    what = f"{PROOF_CN.get(reading.kind, reading.kind)}（{item}）" if reading is not None else f"{item}证据"
    add_activity(session, lead.id, actor_id, "evidence", now, what, evidence_id=ev.id, sha256=digest)
    lines = await hooks.after_evidence(session, lead, ev, reading, actor_id, now, checks)
    account = [line for line in (await record_from_evidence(session, lead, ev, now),
                                 await on_proof(session, lead, ev, actor_id, now)) if line]
    return Outcome(True, "\n".join([f"📎 已保存线索 #{lead.id} 的证据。", *lines, *account]))


async def decide_evidence(session: AsyncSession, ev: Evidence, lead: Lead, user: UserInfo, approve: bool,
                          now: datetime, checks: ChecksSettings) -> str:
    """A manager's verdict on a rep's evidence note; returns what was done (已确认…/已驳回…)."""
    if approve:
        ev.confirmed_by = user.id
        text = f"已确认线索 #{lead.id} 的证据"
    else:
        ev.kind = "rejected"
        text = f"已驳回线索 #{lead.id} 的证据说明"
    add_activity(session, lead.id, user.id, "evidence", now, text, evidence_id=ev.id)
    await hooks.after_decision(session, lead, ev, user.id, approve, now, checks)
    if approve and await on_proof(session, lead, ev, user.id, now):
        text += "（作为续签证明，续约预警锁定已解除）"
    return text
