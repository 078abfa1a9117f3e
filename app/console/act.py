"""The console's actions (改派 / 延期 / 接手 on a lead, 解除锁定 of a renewal warning, 确认跟岗) run the same use
cases chat runs (handlers/leads/manage.py, handlers/renewals/locks.py, handlers/ramp/shadow.py) in one transaction
of their own: the state change and the messages it causes (to the new owner, the rep, the manager's freeze card in
chat) land together, held for quiet hours as chat's are. What the use case says to the actor is shown on the page
instead of in chat."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import UserInfo, commit_with_messages
from bot.dispatch import FAILED
from bot.messages import Body, Card, CardUpdate, Markdown, Outbound, Text
from bot.result import Result
from bot.services import Services
from bot.usertext import plain
from storage.models import User

log = logging.getLogger("salesbot.console")

UseCase = Callable[[AsyncSession], Awaitable[Result]]


async def perform(services: Services, user: UserInfo, use_case: UseCase, what: str) -> tuple[bool, list[str]]:
    """(whether it changed anything, what it says) — or (False, [FAILED]) when it failed (rolled back, logged)."""
    try:
        async with services.db.session() as session:
            result = await use_case(session)
            outgoing = await _outgoing(session, services, user, result)
            await commit_with_messages(services, session, outgoing, user.id, services.clock.now())
    except Exception:
        log.exception("console action %s by %s failed", what, user.id)
        return False, [FAILED]
    said = [result.reply] if result.reply is not None else []
    return result.changed, [plain(_plain(body)) for body in [*said, *result.more]]  # a page shows text as is


async def _outgoing(session: AsyncSession, services: Services, user: UserInfo, result: Result) -> list[Outbound]:
    """The messages to others, and the status line on the actor's cards in chat the outcome settles (e.g. the
    freeze card shows 「已由 … 接手」)."""
    channel = await session.scalar(select(User.channel).where(User.id == user.id))
    channel = channel or services.default_channel
    tag = uuid.uuid4().hex
    cards = [Outbound(to=user.id, body=CardUpdate(card_ref=ref, text=result.card_status), channel=channel,
                      dedup_key=f"in:web:{tag}:{n}")
             for n, (on, ref) in enumerate(result.cards) if result.card_status and on == channel]
    return cards + [Outbound(to=to, body=body, dedup_key=key) for to, body, key in result.sends]


def _plain(body: Body) -> str:
    if isinstance(body, Text):
        return body.text
    if isinstance(body, Markdown):
        return f"{body.title}\n{body.text}"
    if isinstance(body, Card):
        return "\n".join([body.title, body.description, *(f"{f.label}：{f.value}" for f in body.fields)]).strip()
    return ""
