"""Who may act on which lead, checked by every command, every card button and the web console: the visibility
queries and the lead gate (`gate`), plain session functions without Context. Their chat form (a refusal said as
the reply) is handlers/leads/chat_gate.py.

A rep acts on own leads only (and own drafts), a manager on the team's (users.manager_id) and the shared
pool (公海: no owner, not a draft), an admin on all; the visibility queries below say so in SQL. A lead
someone may not see gets exactly the same answer as a lead that does not exist, so a refusal never tells
whether the number is in use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phrases as P
from bot.context import UserInfo
from bot.org import manages, team_clause, team_of
from bot.router import LeadPolicy
from handlers.checks.flags import missing_won_proof
from handlers.renewals.locks import locked_text, proof_pending
from reminders.lifecycle import frozen_message, is_frozen
from reminders.renewal_hold import lock_on
from storage.leads import DROPPED, OPEN_STATUSES, is_closed, previous_owner
from storage.models import Lead, RenewalWarning, User

NOT_FOUND = "找不到线索 #{id}，或你没有查看权限。发送「我的线索」看看你的线索编号。"
NEED_ID = "请带上线索编号，例如「{example}」。"
CLOSED = "线索 #{id} 已{status}，不能再操作。"

# -- visibility (whom a manager acts for: bot/org.py `manages`, `team_of`, `team_clause`) --------------------
def visible_clause(user: UserInfo) -> ColumnElement[bool]:
    """SQL condition: the leads `user` may see and act on."""
    if user.role == "admin":
        return true()
    own = or_(Lead.owner_id == user.id, and_(Lead.owner_id.is_(None), Lead.status == "draft",
                                              Lead.created_by == user.id))
    if user.role != "manager":
        return own
    pool = and_(Lead.owner_id.is_(None), Lead.status != "draft")
    return or_(own, Lead.owner_id.in_(team_of(user.id)), pool)


def renewals_visible(user: UserInfo, owner: Any = RenewalWarning.owner_id) -> ColumnElement[bool]:
    """SQL condition: the 续约预警 (or, with `owner=Contract.owner_id`, the contracts) `user` may see and act on:
    a rep's own, a manager's team's and their own, an admin's all (chat's 续约 and the console's page)."""
    return team_clause(user, owner)


async def _pool_ok(session: AsyncSession, user: UserInfo, lead: Lead) -> bool:
    """A pool lead released by freezing belongs to the previous owner's manager; other pool leads to every
    manager."""
    prev = previous_owner(lead)
    if prev is None:
        return True
    owner = await session.get(User, prev)
    return owner is not None and manages(user, owner)


async def can_see(session: AsyncSession, user: UserInfo, lead: Lead) -> bool:
    if user.role == "admin":
        return True
    if lead.owner_id == user.id:
        return True
    if lead.owner_id is None:
        if lead.status == "draft":
            return lead.created_by == user.id
        return user.role == "manager" and await _pool_ok(session, user, lead)
    if user.role != "manager":
        return False
    owner = await session.get(User, lead.owner_id)
    return owner is not None and manages(user, owner)


async def load_lead(session: AsyncSession, user: UserInfo, lead_id: int, *, for_update: bool = False) -> Lead | None:
    """The lead if it exists and `user` may see it; None otherwise (same answer, so nothing leaks)."""
    stmt = select(Lead).where(Lead.id == lead_id, visible_clause(user))
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    lead = (await session.execute(stmt)).scalar_one_or_none()
    pool = lead is not None and lead.owner_id is None and user.role == "manager"
    if pool and lead is not None and not await _pool_ok(session, user, lead):
        return None
    return lead


async def list_leads(session: AsyncSession, user: UserInfo, *, scope: str = "own",
                     statuses: Iterable[str] = OPEN_STATUSES) -> list[Lead]:
    """scope 'own': the user's own leads; 'visible': everything the user may see."""
    clause = Lead.owner_id == user.id if scope == "own" else visible_clause(user)
    stmt = select(Lead).where(clause, Lead.status.in_(list(statuses))).order_by(Lead.id)
    leads = list((await session.execute(stmt)).scalars())
    if user.role == "manager":
        leads = [lead for lead in leads if lead.owner_id is not None or await _pool_ok(session, user, lead)]
    return leads



# -- refusals -----------------------------------------------------------------------------------
def id_refusal(lead_id: int | None, example: str) -> str | None:
    if lead_id is None:
        return NEED_ID.format(example=example)
    if not 0 < lead_id < 2**31:  # beyond PostgreSQL INTEGER: no such lead (not a database error)
        return NOT_FOUND.format(id=lead_id)
    return None


async def find_lead(session: AsyncSession, user: UserInfo, lead_id: int | None,
                    example: str = "线索 12") -> Lead | str:
    """The lead if `user` may see it (locked for the transaction); otherwise why not (not found / no permission:
    one wording, so nothing leaks; a rep's own lead frozen into the pool: why it is frozen)."""
    why = id_refusal(lead_id, example)
    if why is not None or lead_id is None:
        return why or ""
    lead = await load_lead(session, user, lead_id, for_update=True)
    if lead is not None:
        return lead
    released = await session.get(Lead, lead_id)
    if (released is not None and released.owner_id is None and released.status == "frozen"
            and previous_owner(released) == user.id):
        return frozen_message(released)  # frozen and released to the pool: explain, show nothing
    return NOT_FOUND.format(id=lead_id)


def frozen_text(user: UserInfo, lead: Lead) -> str | None:
    """Why a rep may not work a frozen lead; None: not frozen, or a manager (who may act on it)."""
    return frozen_message(lead) if is_frozen(lead) and not user.is_manager else None


def closed_text(lead: Lead) -> str | None:
    """Why nobody acts on `lead` any more (won, lost, a dropped or unconfirmed draft); None: it is open."""
    if lead.status == "lost" and lead.close_reason == DROPPED:
        return f"线索 #{lead.id} 是已放弃的草稿，不能再操作。"
    if is_closed(lead.status) or lead.status == "draft":
        status = {"won": "赢单", "lost": "输单", "draft": "是草稿（请先确认）"}[lead.status]
        return CLOSED.format(id=lead.id, status=status)
    return None


async def renewal_text(session: AsyncSession, user: UserInfo, lead: Lead) -> str | None:
    """Why an unanswered 续约预警 holds `user`'s actions on this customer's leads; None: it does not."""
    warning = await lock_on(session, user.id, lead)
    return await locked_text(session, warning, lead) if warning is not None else None


async def policy_refusal(session: AsyncSession, user: UserInfo, lead: Lead, policy: LeadPolicy) -> str | None:
    """Why `policy` does not let `user` act on `lead`, a lead they may see (found by a number, or by its
    customer's name, or as the draft in progress); None: it does.

    "any": always lets them; "open": it is neither frozen (for a rep) nor closed or a draft, nor held by a renewal
    lock; "edit": a draft (its own card) or as "open"; "evidence": as "open", except that a customer's lead waiting
    for a renewal proof takes it (won or locked), and so does a won lead whose 🔴 still asks for its contract or
payment record (nothing else on it changes); "manage": it is not closed — who may manage is the route's
    declaration (`roles=MANAGERS`, implied by `card_action(…, lead="manage")`), refused once by
    bot.dispatch.run_route, and the console's `@allow("manager", "admin")`."""
    if policy == "any" or (policy == "edit" and lead.status == "draft"):
        return None
    if policy == "manage":
        return closed_text(lead)
    why = frozen_text(user, lead)
    if why is not None:
        return why
    if policy == "evidence" and (await proof_pending(session, lead.id) is not None
                                 or await missing_won_proof(session, lead)):
        return None
    return closed_text(lead) or await renewal_text(session, user, lead)


async def gate(session: AsyncSession, user: UserInfo, lead_id: int | None, policy: LeadPolicy = "any",
               example: str = "线索 12") -> Lead | str:
    """The one check before acting on a lead, for chat commands, buttons and the web console alike: the lead
    `user` may see (`find_lead`) and that `policy` lets them act on (`policy_refusal`); otherwise why not. "manage"
    refuses a rep as chat's route declaration does (P.MANAGER_ONLY), for callers without one (the console)."""
    if policy == "manage" and not user.is_manager:  # the words chat's run_route says for the route's roles
        return P.MANAGER_ONLY
    found = await find_lead(session, user, lead_id, example)
    if isinstance(found, str):
        return found
    why = await policy_refusal(session, user, found, policy)
    return why if why is not None else found
