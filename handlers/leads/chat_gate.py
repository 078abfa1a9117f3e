"""The lead gate answered in chat: handlers/leads/permissions.py's checks with their refusal said as the reply
(`lead_for`, `lead_gate` — the router's —, `policy_refused`, `ramp_refused`), and the reading of a command's lead
number (`command_arg`; the number itself: `handlers.leads.rules.parse_id`)."""

from __future__ import annotations

from bot.context import Context
from bot.messages import Text
from bot.router import LeadPolicy, split_command
from handlers.leads.permissions import find_lead, id_refusal, policy_refusal
from handlers.ramp import service as ramp
from storage.models import Lead


# -- a command's lead number ---------------------------------------------------------------------
def command_arg(text: str, *words: str) -> str | None:
    """The text after the longest of `words` that starts `text` ('跟进记录 1 好' → '1 好', never '记录 1 好')."""
    for word in sorted(words, key=len, reverse=True):
        arg = split_command(text, word)
        if arg is not None:
            return arg
    return None


# -- the same, answered in chat ------------------------------------------------------------------
def _answered(ctx: Context, found: Lead | str) -> Lead | None:
    if isinstance(found, str):
        ctx.reply(Text(found))
        return None
    return found


async def lead_for(ctx: Context, lead_id: int | None, example: str = "线索 12") -> Lead | None:
    """The lead if the caller may see it; otherwise replies (not found / no permission) and returns None."""
    why = id_refusal(lead_id, example)
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
