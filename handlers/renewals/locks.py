"""The renewal lock and the warning's answers. While a warning is locked, its owner's actions on the customer's
leads (the account's lead and their other leads of the same company) are refused — except filing the renewal
proof itself; managers and admins are never locked. The lock ends with a renewal proof (an evidence item on the
account's lead: a file or picture, or a note a manager confirmed) or when the manager lifts it (`lift_lock`:
chat's button and typed 解除锁定, the console's 续约 page). Which leads a lock holds is reminders/renewal_hold.py,
the one rule the lead gate and the ladder's SLA pause both read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import UserInfo
from bot.messages import Outbound, Text
from bot.outbox import enqueue
from bot.result import Result
from bot.usertext import user_text
from reminders.directory import load_directory
from reminders.messages import lead_label
from reminders.policies import RENEWAL
from reminders.store import cancel_timers
from storage.activity import add_activity
from storage.leads import normalize_phone, same_company
from storage.models import Contract, Evidence, Lead, RenewalWarning, User

GONE = "这条续约预警不存在，或你没有查看权限。"
ACTIVE = ("open", "contacted")  # answered or not, still waiting for the proof
PROOFS = ("contract", "payment")  # what a file or picture must show to count (handlers/checks/evidence.py)
LOCKED = ("🔒 客户「{customer}」的续约预警还没有处理完（合同 {end} 到期），提交续签证明前暂不能操作线索 #{lead}。"
          "请点预警卡片上的「提交续签证明」，或发送「证据 {account}」后发来续签合同或回款凭证；也可以请主管解除锁定。")


async def locked_accounts(session: AsyncSession, phone: str | None, company: str | None) -> list[Lead]:
    """The accounts (usually won leads) of locked warnings whose customer has this phone or company: a new lead
    for such a customer is their duplicate, so a second lead can neither slip past the lock nor split the
    account (the next contracts import would find the customer twice)."""
    phone = normalize_phone(phone)
    if not phone and not company:
        return []
    rows = await session.execute(select(Lead, RenewalWarning.company).join(
        RenewalWarning, RenewalWarning.lead_id == Lead.id).where(RenewalWarning.locked.is_(True)).order_by(Lead.id))
    return [lead for lead, warned in rows.all()
            if (phone and lead.phone == phone) or same_company(lead.company, company) or same_company(warned, company)]


async def locked_text(session: AsyncSession, warning: RenewalWarning, lead: Lead) -> str:
    contract = await session.get(Contract, warning.contract_id)
    account = await session.get(Lead, warning.lead_id)
    customer = (account.company or account.customer_name) if account else None
    return LOCKED.format(customer=customer or warning.company or "该客户", lead=lead.id, account=warning.lead_id,
                         end=contract.end_on.isoformat() if contract else "即将")


async def proof_pending(session: AsyncSession, lead_id: int) -> RenewalWarning | None:
    """The warning on this account waiting for a renewal proof, if any."""
    return (await session.execute(select(RenewalWarning).where(
        RenewalWarning.lead_id == lead_id, RenewalWarning.status.in_(ACTIVE)).limit(1))).scalar_one_or_none()


async def mark_contacted(session: AsyncSession, warning: RenewalWarning, actor_id: str, now: datetime) -> bool:
    """已联系: the ladder stops; the lock stays until the proof. False when it was answered already."""
    if warning.status != "open":
        return False
    warning.status = "contacted"
    await cancel_timers(session, warning.lead_id, now, (RENEWAL,))
    add_activity(session, warning.lead_id, actor_id, "renewal_contacted", now, "续约预警：已联系客户",
                 warning_id=warning.id)
    account = await session.get(Lead, warning.lead_id)
    if account is not None:  # a contact like any other: it meets the first-contact deadline
        add_activity(session, account.id, actor_id, "contact", now, "续约预警：已联系客户", warning_id=warning.id)
        account.first_contact_at = account.first_contact_at or now
        account.last_activity_at = now
    return True


async def on_proof(session: AsyncSession, lead: Lead, ev: Evidence, actor_id: str, now: datetime) -> str | None:
    """An evidence item on the account's lead: a contract page or payment record (file or picture), or a note a
    manager wrote or confirmed, answers the warning and ends the lock. Returns the line to add to the reply, None
    when no warning was waiting."""
    warning = await proof_pending(session, lead.id)
    if warning is None:
        return None
    if ev.kind in ("image", "file") and ev.proof not in PROOFS:
        return (f"这份文件看不出是续签合同或回款凭证，续约预警仍锁定：请发合同页或回款截图，"
                f"或发送「证据 {lead.id} <说明>」由主管确认。")
    if ev.kind == "note" and not ev.confirmed_by:
        return None
    await _close(session, warning, "proof", actor_id, now)
    add_activity(session, lead.id, actor_id, "renewal_proof", now, "续约预警：已提交续签证明，锁定解除",
                 warning_id=warning.id, evidence_id=ev.id)
    await _tell_managers(session, warning, lead, actor_id, now)
    return "✅ 已作为续签证明，续约预警已处理，这个客户的线索操作已解锁。"


async def _tell_managers(session: AsyncSession, warning: RenewalWarning, lead: Lead, actor_id: str,
                         now: datetime) -> None:
    """The owner's manager (who got the warning card) hears that the proof is in; not whoever filed it."""
    people = await load_directory(session)
    bosses = [b for b in people.supervisors_of(warning.owner_id) if b != actor_id]
    if not bosses:
        return
    text = Text(f"✅ {user_text(people.name(actor_id))} 已为客户 {lead_label(lead)} 提交续签证明，"
                f"续约预警已处理，锁定已解除。")
    channel = await session.scalar(select(User.channel).where(User.id == actor_id))  # the org's channel
    await enqueue(session, [Outbound(b, text, dedup_key=f"renewal:{warning.id}:proof:{b}") for b in bosses], now,
                  channel or "")


async def lift(session: AsyncSession, warning: RenewalWarning, actor_id: str, now: datetime) -> bool:
    """The manager lifts the lock (the warning is closed as lifted). False when it was not locked."""
    if not warning.locked:
        return False
    await _close(session, warning, "lifted", actor_id, now)
    add_activity(session, warning.lead_id, actor_id, "renewal_lifted", now, "续约预警：主管解除锁定",
                 warning_id=warning.id)
    return True


def customer_of(lead: Lead) -> str:
    return user_text(lead.customer_name or lead.company or f"线索 #{lead.id}")


async def lift_lock(session: AsyncSession, actor: UserInfo, warning: RenewalWarning, lead: Lead,
                    now: datetime) -> Result:
    """解除锁定 by a manager (chat's button and 「解除锁定 1」, the console's 续约 page): the lock ends, the owner
    hears of it. `lead` is the warning's account, which the caller has checked `actor` may see."""
    if not await lift(session, warning, actor.id, now):
        return Result(reply=Text("这条续约预警已经没有锁定了。"), card_status="锁定已解除")
    customer = customer_of(lead)
    result = Result(reply=Text(f"已解除客户 {customer}（线索 #{lead.id}）的续约预警锁定，负责人可以继续操作。"),
                    card_status=f"已解除锁定（{user_text(actor.name)}）", changed=True)
    if warning.owner_id and warning.owner_id != actor.id:
        result.sends.append((warning.owner_id, Text(f"🔓 {user_text(actor.name)} 已解除客户 {customer}（#{lead.id}）"
                                                    f"的续约预警锁定，可以继续操作这个客户的线索了。"),
                             f"renewal:{warning.id}:lifted"))
    return result


async def _close(session: AsyncSession, warning: RenewalWarning, status: str, actor_id: str, now: datetime) -> None:
    await session.execute(update(RenewalWarning).where(RenewalWarning.id == warning.id).values(
        status=status, locked=False, resolved_by=actor_id, resolved_at=now))
    await session.refresh(warning)
    await cancel_timers(session, warning.lead_id, now, (RENEWAL,))
