"""Who may act on which lead, checked by every command and every card button.

A rep acts on own leads only (and own drafts), a manager on the team's (users.manager_id) and the shared
pool (公海: no owner, not a draft), an admin on all; the visibility queries below say so in SQL. A lead
someone may not see gets exactly the same answer as a lead that does not exist, so a refusal never tells
whether the number is in use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phrases as P
from bot.context import Context, UserInfo
from bot.messages import Text
from bot.org import manages, team_of
from bot.router import LeadPolicy, split_command
from handlers.ramp import service as ramp
from handlers.renewals.locks import locked_text, proof_pending
from reminders.lifecycle import frozen_message, is_frozen
from reminders.renewal_hold import lock_on
from storage.leads import DROPPED, OPEN_STATUSES, previous_owner
from storage.models import Lead, User

NOT_FOUND = "找不到线索 #{id}，或你没有查看权限。发送「我的线索」看看你的线索编号。"
NEED_ID = "请带上线索编号，例如「{example}」。"
CLOSED = "线索 #{id} 已{status}，不能再操作。"

_ID = re.compile(r"^#?(\d{1,9})号?(?:[\s,，:：、]+|$)")


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
def command_arg(text: str, *words: str) -> str | None:
    """The text after the longest of `words` that starts `text` ('跟进记录 1 好' → '1 好', never '记录 1 好')."""
    for word in sorted(words, key=len, reverse=True):
        arg = split_command(text, word)
        if arg is not None:
            return arg
    return None


def parse_id(arg: str) -> tuple[int | None, str]:
    """'12 已电话沟通' / '#12' / '12号 好' / '12，好' / '12：好' → (12, rest); no leading number → (None, arg)."""
    m = _ID.match(arg.strip())
    if not m:
        return None, arg.strip()
    return int(m.group(1)), arg.strip()[m.end():].strip()


def _id_refusal(lead_id: int | None, example: str) -> str | None:
    if lead_id is None:
        return NEED_ID.format(example=example)
    if not 0 < lead_id < 2**31:  # beyond PostgreSQL INTEGER: no such lead (not a database error)
        return NOT_FOUND.format(id=lead_id)
    return None


async def find_lead(session: AsyncSession, user: UserInfo, lead_id: int | None,
                    example: str = "线索 12") -> Lead | str:
    """The lead if `user` may see it (locked for the transaction); otherwise why not (not found / no permission:
    one wording, so nothing leaks; a rep's own lead frozen into the pool: why it is frozen)."""
    why = _id_refusal(lead_id, example)
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
    if lead.status in ("won", "lost", "draft"):
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
    for a renewal proof takes it (won or locked); "manage": it is not closed — who may manage is the route's
    declaration (`roles=MANAGERS`, implied by `card_action(…, lead="manage")`), refused once by
    bot.dispatch.run_route, and the console's `@allow("manager", "admin")`."""
    if policy == "any" or (policy == "edit" and lead.status == "draft"):
        return None
    if policy == "manage":
        return closed_text(lead)
    why = frozen_text(user, lead)
    if why is not None:
        return why
    if policy == "evidence" and await proof_pending(session, lead.id) is not None:
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


# -- the same, answered in chat ------------------------------------------------------------------
def _answered(ctx: Context, found: Lead | str) -> Lead | None:
    if isinstance(found, str):
        ctx.reply(Text(found))
        return None
    return found


async def lead_for(ctx: Context, lead_id: int | None, example: str = "线索 12") -> Lead | None:
    """The lead if the caller may see it; otherwise replies (not found / no permission) and returns None."""
    why = _id_refusal(lead_id, example)
    if why is not None:  # said without opening a transaction
        ctx.reply(Text(why))
        return None
    return _answered(ctx, await find_lead(await ctx.db(), ctx.user, lead_id, example))


async def lead_gate(ctx: Context, lead_id: int | None, policy: LeadPolicy = "any",
                    example: str = "线索 12") -> Lead | None:
    """`gate` for chat (the router's lead gate): replies why not and returns None when refused."""
    if policy == "manage" and not ctx.user.is_manager:  # a route that forgot its roles: a bug, not a refusal
        raise PermissionError(f"a route acting on lead {lead_id} as its manager declares no manager roles")
    lead = await lead_for(ctx, lead_id, example)
    if lead is None or await policy_refused(ctx, lead, policy):
        return None
    return lead


async def policy_refused(ctx: Context, lead: Lead, policy: LeadPolicy) -> bool:
    """True (and replied) when `policy_refusal` refuses."""
    why = await policy_refusal(await ctx.db(), ctx.user, lead, policy)
    if why is not None:
        ctx.reply(Text(why))
    return why is not None


async def ramp_refused(ctx: Context, right: str, rep_id: str | None = None) -> bool:
    """True (and replied) when `right` is still locked by the new-rep ramp-up (新人通关) for the caller, or for
    `rep_id` (a rep a manager hands a pool lead to)."""
    found = await ramp.locked(await ctx.db(), rep_id or ctx.user.id, right, ctx.settings.ramp)
    if found is None:
        return False
    ctx.reply(Text(ramp.refusal(found, right, own=rep_id is None or rep_id == ctx.user.id)))
    return True
